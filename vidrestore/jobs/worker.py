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
from vidrestore.stage import FrameProcessor
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
    pieces: list[dict[str, Any]] = field(default_factory=list)  # the segment's parts, when written in parts
    resumed_at: int | None = None  # input frame this run started at (after parts an earlier run finished)


def part_name(seg_id: int, images: bool) -> str:
    return f"part_{seg_id:05d}" + ("" if images else PART_CONTAINER)


_CACHE: dict[tuple[str, str, str], FrameProcessor] = {}


def load_processor_factory(ref: str) -> Callable[[Config, VideoInfo], FrameProcessor]:
    from vidrestore.pipeline.factory import load_builder

    return load_builder(ref)


def cached_processor(task: SegmentTask) -> FrameProcessor:
    """One processor per (builder, config, input) in this process, reused by later segments.

    Reuse is allowed by the :class:`~vidrestore.stage.Segmentable` promise that every
    ``process()`` call starts from a clean state; it saves loading the model for every segment.
    """
    from vidrestore.config import config_to_dict
    from vidrestore.jobs.manifest import config_hash

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


def part_frames(cfg: Config, info: VideoInfo) -> int:
    """Input frames per part of a segment: ``jobs.part_seconds`` of the video (at least 8; 0 = no parts)."""
    seconds = float(cfg.jobs.part_seconds)
    if seconds <= 0:
        return 0
    rate = info.avg_rate or info.real_rate or Fraction(25)
    return max(8, round(float(rate) * seconds))


def piece_name(part: str, number: int) -> str:
    """``part_00003.nut`` -> ``part_00003-0007.nut`` (``part_00003`` -> ``part_00003-0007`` for image folders)."""
    path = Path(part)
    return f"{path.stem}-{number:04d}{path.suffix}"


def _pieces_file(part: Path) -> Path:
    return part.with_name(part.stem + ".pieces.json")


def load_pieces(part: Path) -> list[dict[str, Any]]:
    """The finished parts of a segment written in parts, in order, as recorded beside them ([] when none)."""
    import json

    path = _pieces_file(part)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return list(data.get("pieces", [])) if isinstance(data, dict) else []


def _save_pieces(part: Path, pieces: list[dict[str, Any]]) -> None:
    """Record the finished parts atomically (through the file-safety module)."""
    import json

    from vidrestore.io import safety

    safety.atomic_write(_pieces_file(part), json.dumps({"pieces": pieces}, indent=1), overwrite=True,
                        what="segment parts record")


def remove_pieces(part: Path) -> None:
    """Delete a segment's parts and their record (a job that starts over)."""
    from vidrestore.io import safety

    for entry in load_pieces(part):
        piece = part.with_name(entry["part"])
        if piece.is_dir() and not piece.is_symlink():
            safety.remove_output_folder(piece)
        else:
            piece.unlink(missing_ok=True)
    _pieces_file(part).unlink(missing_ok=True)


def _digest(path: Path) -> tuple[str, int]:
    if path.is_dir():
        return sha256_tree(path), sum(p.stat().st_size for p in path.iterdir())
    return sha256_file(path), path.stat().st_size


def intact_pieces(part: Path, seg: Segment, *, resumable: bool) -> list[dict[str, Any]]:
    """The finished parts a resumed segment keeps: the longest run from the segment's start whose files are
    intact (sha256 as recorded). What follows is deleted; with ``resumable`` False (a processor that
    cannot start mid-segment) nothing is kept."""
    kept: list[dict[str, Any]] = []
    pieces = load_pieces(part)
    expect = seg.start
    for entry in pieces:
        piece = part.with_name(entry["part"])
        ok = resumable and entry.get("start") == expect and piece.exists() and _digest(piece)[0] == entry.get("sha256")
        if not ok:
            break
        kept.append(entry)
        expect = int(entry["stop"])
    if len(kept) != len(pieces):
        for entry in pieces[len(kept):]:
            log.warning("%s: part %s of segment %d is missing, damaged or not resumable; computed again",
                        part.parent, entry.get("part"), seg.id)
            piece = part.with_name(entry["part"])
            if piece.is_dir() and not piece.is_symlink():
                from vidrestore.io import safety

                safety.remove_output_folder(piece)
            else:
                piece.unlink(missing_ok=True)
        _save_pieces(part, kept)
    return kept


def run_segment(task: SegmentTask, *, processor: FrameProcessor | None = None,
                progress: Callable[[int], None] | None = None,
                check: Callable[[], None] | None = None) -> SegmentResult:
    """Process one segment into its part file, or into parts of ``jobs.part_seconds`` (see the module docstring).

    ``progress(n)`` is told of every ``n`` output frames written; ``check()`` runs before every input
    frame is fed (a cancel raises there, also during the warm-up, when no output comes yet).
    """
    from vidrestore.stage import own_frames, segment_reach

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
    step = part_frames(cfg, info)
    in_pieces = 0 < step < seg.frames
    reach = segment_reach(proc)
    kept = intact_pieces(part, seg, resumable=reach is not None) if in_pieces else []
    begin = int(kept[-1]["stop"]) if kept else seg.start
    written_before = sum(int(e["frames"]) for e in kept)
    if kept:
        log.info("segment %d: %d frames already in %d finished parts; resuming at frame %d", seg.id,
                 written_before, len(kept), begin)
        if progress is not None:
            progress(written_before)
    own_frames(proc, begin, seg.stop)  # files named by frame (masks): only those this segment owns
    warmup = reach[0] if reach is not None else 0
    read_start = seg.read_start if begin == seg.start else max(0, begin - warmup)
    times: dict[int, Fraction] = {}
    latest: list[Fraction | None] = [None]
    fed = {"n": 0}

    def feed() -> Iterator[Frame]:
        """Frames read_start..read_stop - 1, each fetched one ahead so the time of a boundary is known in time."""
        last = min(max(seg.read_stop, seg.stop + 1), task.table.count or seg.read_stop)
        source = read_range(info, task.table, read_start, last, io_cfg=cfg.io, native=native)
        pending: Frame | None = None
        for frame in source:
            if check is not None:
                check()
            t = frame_time(frame)
            latest[0] = t
            if begin <= frame.index <= seg.stop:
                times[frame.index] = t
            if pending is not None:
                fed["n"] += 1
                yield pending
            pending = frame if frame.index < seg.read_stop else None
        if pending is not None:
            fed["n"] += 1
            yield pending

    def boundary_time(index: int, t: Fraction) -> Fraction | None:
        """Time of input frame ``index`` (None: not read yet, so later than ``t``; an error if that is unsure)."""
        if index in times:
            return times[index]
        if index < (task.table.count or index) and (latest[0] is None or t > latest[0]):
            raise SegmentCountError(f"segment {seg.id}: an output (time {float(t):.3f} s) came before input frame "
                                    f"{index} was read; cannot tell which segment owns it")
        return None

    pieces = list(kept)
    piece_start = begin
    piece_stop = min(begin + step, seg.stop) if in_pieces else seg.stop

    def open_piece() -> tuple[Any, Path]:
        path = part.with_name(piece_name(part.name, len(pieces))) if in_pieces else part
        from vidrestore.io.writer import open_writer

        return open_writer(path, spec=spec, source=info, encode=encode, overwrite=True, inputs=(info.path,),
                           carry_rotation=carry), path

    writer, piece_path = open_piece()
    written = 0  # in the open piece
    first_time: Fraction | None = None
    try:
        for out in proc.process(feed()):
            t = frame_time(out)
            start = times.get(begin)
            if start is None or t < start:
                continue  # warm-up output
            stop = boundary_time(seg.stop, t)
            if stop is not None and t >= stop:
                continue  # look-ahead output: the next segment's
            while in_pieces and piece_stop < seg.stop:
                edge = boundary_time(piece_stop, t)
                if edge is None or t < edge:
                    break
                if written:  # a part that got no output yet takes in the next frames too
                    pieces.append(_finish_piece(writer, piece_path, piece_start, piece_stop, written, first_time))
                    _save_pieces(part, pieces)
                    writer, piece_path = open_piece()
                    piece_start, written, first_time = piece_stop, 0, None
                piece_stop = min(piece_stop + step, seg.stop)
            writer.write(out)
            if first_time is None:
                first_time = t
            written += 1
            if progress is not None:
                progress(1)
        total = written_before + sum(int(e["frames"]) for e in pieces[len(kept):]) + written
        if task.one_to_one and total != seg.frames:
            raise SegmentCountError(f"{info.path}: segment {seg.id} (frames {seg.start}..{seg.stop - 1}) produced "
                                    f"{total} frames, expected {seg.frames}; part not kept")
        if in_pieces and (written or not pieces):
            pieces.append(_finish_piece(writer, piece_path, piece_start, seg.stop, written, first_time))
            _save_pieces(part, pieces)
        elif in_pieces:
            writer.abort()
            pieces[-1]["stop"] = seg.stop  # nothing after the last part's outputs: it ends the segment
            _save_pieces(part, pieces)
        else:
            writer.close()
    except BaseException:
        writer.abort()
        raise
    stats = {k: v for k, v in dict(proc.stats()).items() if isinstance(v, (int, float, str, bool))}
    common = dict(id=seg.id, frames_read=fed["n"], seconds=round(time.perf_counter() - t0, 3),
                  host=socket.gethostname(), pid=os.getpid(), stats=stats)
    if in_pieces:
        import hashlib

        digest = hashlib.sha256("".join(e["sha256"] for e in pieces).encode()).hexdigest()
        return SegmentResult(part=part.name, frames=sum(int(e["frames"]) for e in pieces), sha256=digest,
                             bytes=sum(int(e["bytes"]) for e in pieces), first_time=pieces[0]["first_time"],
                             pieces=pieces, resumed_at=begin if kept else None, **common)
    digest, size = _digest(part)
    return SegmentResult(part=part.name, frames=written, sha256=digest, bytes=size,
                         first_time=str(first_time if first_time is not None else Fraction(0)), **common)


def _finish_piece(writer: Any, path: Path, start: int, stop: int, frames: int,
                  first_time: Fraction | None) -> dict[str, Any]:
    """Close a part (it appears under its name only now) and describe it for the record."""
    writer.close()
    digest, size = _digest(path)
    return {"part": path.name, "start": start, "stop": stop, "frames": frames, "sha256": digest, "bytes": size,
            "first_time": str(first_time if first_time is not None else Fraction(0))}
