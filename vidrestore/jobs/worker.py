"""Run one segment: read its frames, process them, keep the outputs it owns, write its part.

This is the unit of work of both engines (in the job's process for ``local``, in a Ray task for
``ray``); everything it needs travels in a :class:`SegmentTask` (picklable, no open files), and
its result is a small :class:`SegmentResult`: the frames themselves only ever go to the part file
in the work directory.

Which outputs a segment owns: those whose presentation time lies in ``[time(start), time(stop))``
(times of the input frames ``start`` and ``stop``; no upper bound for the last segment). For a
restorer that is exactly the outputs of the input frames ``[start, stop)``; for an interpolator it
also covers the frames it makes between ``stop - 1`` and ``stop``.

Job context: some processors need a few facts about the whole video that a segment cannot see
(an interpolator's output-time origin, the scene cuts of one full pass). The job computes them
once (``run_job_segmented(context_fn=...)``), keeps them in the manifest and hands them to every
task; a processor with a ``use_job_context(context)`` method receives them before each
``process()`` call. A run that is not segmented never calls it (the processor then finds the same
facts itself while streaming).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from vidrestore.config import Config
from vidrestore.errors import VidrestoreError
from vidrestore.jobs.manifest import sha256_file, sha256_tree
from vidrestore.jobs.media import frame_time, read_range
from vidrestore.jobs.plan import FrameTable, Segment
from vidrestore.pipeline.base import FrameProcessor
from vidrestore.types import Frame, VideoInfo

log = logging.getLogger(__name__)

#: Part files: final-codec video in NUT (any codec, any time base, readable up to a crash point),
#: or a folder of images when the output is an image sequence.
PART_CONTAINER = ".nut"


class SegmentCountError(VidrestoreError):
    """A segment produced another number of frames than it owns (never joined silently)."""


@dataclass(frozen=True)
class SegmentTask:
    """Everything a worker needs to run one segment (picklable)."""

    segment: Segment
    info: VideoInfo
    table: FrameTable
    cfg: Config
    processor_ref: str  # "module:function" building the processor from (cfg, info)
    part_path: str  # where the finished part is placed (renamed into place when complete)
    codec: str  # the final output's encoder (parts are joined by stream copy)
    one_to_one: bool = True  # one output per input frame (checked)
    threads: int = 0  # torch / OpenCV threads for this task; 0 = leave the process default
    context: dict[str, Any] | None = None  # job-wide facts for ``use_job_context`` (see the module docstring)


@dataclass(frozen=True)
class SegmentResult:
    id: int
    part: str  # file or folder name inside the work directory
    frames: int  # output frames written
    frames_read: int  # input frames decoded and fed (owned + warm-up + look-ahead)
    seconds: float
    sha256: str
    bytes: int
    first_time: str  # presentation time (s, exact "num/den") of the first frame written
    host: str
    pid: int
    stats: dict[str, Any] = field(default_factory=dict)


def part_name(seg_id: int, images: bool) -> str:
    return f"part_{seg_id:05d}" + ("" if images else PART_CONTAINER)


_CACHE: dict[tuple[str, str, str], FrameProcessor] = {}


def load_processor_factory(ref: str) -> Callable[[Config, VideoInfo], FrameProcessor]:
    from vidrestore.pipeline.factory import _load

    return _load(ref)


def cached_processor(task: SegmentTask) -> FrameProcessor:
    """One processor per (builder, config, input) in this process, reused by later segments.

    Reuse is allowed by the :class:`~vidrestore.pipeline.base.Segmentable` promise that every
    ``process()`` call starts from a clean state; it saves loading the model for every segment.
    """
    from vidrestore.jobs.manifest import config_hash
    from vidrestore.config import config_to_dict

    key = (task.processor_ref, config_hash(config_to_dict(task.cfg)), task.info.path)
    proc = _CACHE.get(key)
    if proc is None:
        _CACHE.clear()  # one model in memory at a time
        proc = load_processor_factory(task.processor_ref)(task.cfg, task.info)
        _CACHE[key] = proc
    return proc


def set_thread_budget(threads: int) -> None:
    """Limit torch and OpenCV to ``threads`` threads in this process (0: leave as is)."""
    if threads <= 0:
        return
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    try:
        import cv2

        cv2.setNumThreads(threads)
    except ImportError:  # pragma: no cover - cv2 is a dependency
        pass


def _frame_size(info: VideoInfo, cfg: Config) -> tuple[int, int]:
    rotation = info.rotation if cfg.io.apply_rotation else 0
    return (info.height, info.width) if rotation % 180 == 90 else (info.width, info.height)


def run_segment(task: SegmentTask, *, processor: FrameProcessor | None = None,
                progress: Callable[[int], None] | None = None) -> SegmentResult:
    """Process one segment into its part file (see the module docstring)."""
    from vidrestore.io.writer import open_writer

    t0 = time.perf_counter()
    set_thread_budget(task.threads)
    seg, info, cfg = task.segment, task.info, task.cfg
    proc = processor if processor is not None else cached_processor(task)
    spec = proc.output_spec(info, _frame_size(info, cfg))
    if task.context is not None and hasattr(proc, "use_job_context"):
        proc.use_job_context(task.context)
    part = Path(task.part_path)
    images = part.suffix == ""
    native = not images and not getattr(proc, "uses_pixels", True) and cfg.encode.backend == "pyav"
    encode = replace(cfg.encode, codec=task.codec, audio="none", subtitles="none")
    carry = 0 if cfg.io.apply_rotation else info.rotation
    writer = open_writer(part, spec=spec, source=info, encode=encode, overwrite=True, inputs=(info.path,),
                         carry_rotation=carry)
    bounds: dict[str, Fraction | None] = {"start": None, "stop": None, "latest": None}
    fed = {"n": 0}

    def feed() -> Iterator[Frame]:
        """Frames read_start..read_stop - 1, each fetched one ahead so time(stop) is known in time."""
        last = min(max(seg.read_stop, seg.stop + 1), task.table.count or seg.read_stop)
        source = read_range(info, task.table, seg.read_start, last, io_cfg=cfg.io, native=native)
        pending: Frame | None = None
        for frame in source:
            bounds["latest"] = frame_time(frame)
            if frame.index == seg.start:
                bounds["start"] = frame_time(frame)
            if frame.index == seg.stop:
                bounds["stop"] = frame_time(frame)
            if pending is not None:
                fed["n"] += 1
                yield pending
            pending = frame if frame.index < seg.read_stop else None
        if pending is not None:
            fed["n"] += 1
            yield pending

    written = 0
    first_time: Fraction | None = None
    try:
        for out in proc.process(feed()):
            t = frame_time(out)
            start = bounds["start"]
            if start is None or t < start:
                continue  # warm-up output
            stop, latest = bounds["stop"], bounds["latest"]
            # before frame ``stop`` is read, time(stop) is above the time of every frame read so far
            if stop is None and seg.stop < (task.table.count or seg.stop) and (latest is None or t > latest):
                raise SegmentCountError(f"segment {seg.id}: an output (time {float(t):.3f} s) came before input frame "
                                        f"{seg.stop} was read; cannot tell which segment owns it")
            if stop is not None and t >= stop:
                continue  # look-ahead output: the next segment's
            writer.write(out)
            if first_time is None:
                first_time = t
            written += 1
            if progress is not None:
                progress(1)
        if task.one_to_one and written != seg.frames:
            raise SegmentCountError(f"{info.path}: segment {seg.id} (frames {seg.start}..{seg.stop - 1}) produced "
                                    f"{written} frames, expected {seg.frames}; part not kept")
        writer.close()
    except BaseException:
        writer.abort()
        raise
    digest = sha256_tree(part) if images else sha256_file(part)
    size = sum(p.stat().st_size for p in part.iterdir()) if images else part.stat().st_size
    stats = {k: v for k, v in dict(proc.stats()).items() if isinstance(v, (int, float, str, bool))}
    return SegmentResult(id=seg.id, part=part.name, frames=written, frames_read=fed["n"],
                         seconds=round(time.perf_counter() - t0, 3), sha256=digest, bytes=size,
                         first_time=str(first_time if first_time is not None else Fraction(0)),
                         host=socket.gethostname(), pid=os.getpid(), stats=stats)
