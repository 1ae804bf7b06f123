"""Config section ``jobs.*``: segmented, resumable and distributed runs.

Field help lives in each field's ``metadata["help"]`` (see vidrestore.sections).
"""

from __future__ import annotations

from dataclasses import dataclass

from vidrestore.sections import check, choice, knob


@dataclass(frozen=True)
class JobsConfig:
    """Long jobs: segments, work directory, resume and engines (``vidrestore/jobs``; docs/DISTRIBUTED.md).

    None of these keys changes a single output pixel, so they are left out of the config hash that
    ``--resume`` compares (a resumed job may use another engine, worker count or segment size: the
    plan of the interrupted job is kept).
    """

    mode: str = knob("auto", "auto (segmented when long, or any job flag given) | segmented | direct (one pass, no "
                             "work dir)")
    segment_frames: int = knob(0, "input frames per segment; 0 = auto (about 4 segments per worker, 48..300 frames)")
    split: str = knob("auto", "where segments start: auto | scenes (scene cuts, then keyframes) | keyframes | frames")
    engine: str = knob("local", "local (this process) | ray (segments as Ray tasks)")
    address: str | None = knob(None, "ray: cluster address (\"auto\", \"ray://head:10001\"); None = start Ray on this "
                                     "machine")
    workers: int = knob(0, "ray: segments run at once; 0 = the cluster's CPUs / threads_per_worker")
    threads_per_worker: int = knob(1, "ray: torch/OpenCV threads of each task (and CPUs it reserves)")
    gpus_per_worker: float = knob(0.0, "ray: GPUs each task reserves (0 = CPU tasks)")
    object_store_mb: int = knob(512, "ray started here: object store cap (frames never travel through it)")
    workdir: str | None = knob(None, "segments and manifest; default OUTPUT.vidrestore-work beside the output")
    keep_workdir: bool = knob(False, "keep the work directory (parts, manifest, log) after the join")
    part_seconds: float = knob(2.0, "a segment is written in parts of this much video; a killed job resumes from its "
                                    "last finished part after one warm-up (0 = one part per segment)")

    def __post_init__(self) -> None:
        choice("jobs.mode", self.mode, ("auto", "segmented", "direct"))
        choice("jobs.split", self.split, ("auto", "scenes", "keyframes", "frames"))
        choice("jobs.engine", self.engine, ("local", "ray"))
        check("jobs.segment_frames", self.segment_frames >= 0, "must be >= 0 (0 = auto)")
        check("jobs.workers", self.workers >= 0, "must be >= 0 (0 = auto)")
        check("jobs.threads_per_worker", self.threads_per_worker >= 1, "must be >= 1")
        check("jobs.gpus_per_worker", self.gpus_per_worker >= 0, "must be >= 0")
        check("jobs.object_store_mb", self.object_store_mb >= 80, "must be >= 80 (Ray's minimum)")
        check("jobs.part_seconds", self.part_seconds >= 0, "must be >= 0 (seconds; 0 = one part per segment)")
