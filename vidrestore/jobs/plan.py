"""Segment planning: which input frames each segment owns, and which it must read.

A segment owns the input frames ``[start, stop)`` and writes their outputs. To make those outputs
equal to one uninterrupted run it reads ``[read_start, read_stop)``: ``warmup`` frames before
``start`` (the temporal state at ``start`` is rebuilt from them) and ``lookahead`` frames after
``stop`` (a centred window needs them), clipped to the video. See
:class:`vidrestore.stage.Segmentable`.

Where segments start (``jobs.split``):

* ``scenes``: at a scene cut near the ideal boundary (a seam there cannot be seen even for a
  processor whose state only fades out), else as for ``keyframes``;
* ``keyframes``: so that ``read_start`` falls on a keyframe: the segment decodes nothing it drops;
* ``frames``: at the ideal boundaries (multiples of the segment length).

Boundaries move by at most a quarter of the segment length from the ideal ones.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

log = logging.getLogger(__name__)

#: Auto segment length bounds (input frames): long enough that the warm-up overlap stays a small
#: share of the work, short enough that a crash loses little.
AUTO_MIN_FRAMES = 48
AUTO_MAX_FRAMES = 300
#: Auto length aims at this many segments per worker (load balance across workers).
SEGMENTS_PER_WORKER = 4


@dataclass(frozen=True)
class Segment:
    """Input frames ``[start, stop)`` are this segment's; ``[read_start, read_stop)`` are read."""

    id: int
    start: int
    stop: int
    read_start: int
    read_stop: int

    @property
    def frames(self) -> int:
        return self.stop - self.start

    @property
    def frames_read(self) -> int:
        return self.read_stop - self.read_start

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        return cls(id=int(data["id"]), start=int(data["start"]), stop=int(data["stop"]),
                   read_start=int(data["read_start"]), read_stop=int(data["read_stop"]))


@dataclass(frozen=True)
class FrameTable:
    """Presentation timestamps and keyframes of the video stream, from its packets (no decoding).

    ``pts[i]`` is frame i's pts in ``time_base``; ``keyframes`` are frame indices a decoder can start
    at. ``seekable`` is False when the packets do not give every frame a distinct pts (the reader
    then repairs timestamps while decoding): segments are then read by decoding from the start and
    dropping frames, which is slower but gives the same frames.
    """

    count: int
    time_base: Fraction
    pts: tuple[int, ...]
    keyframes: tuple[int, ...]
    seekable: bool

    def keyframe_at_or_before(self, index: int) -> int:
        """The last keyframe index <= ``index`` (0 when there is none)."""
        pos = bisect.bisect_right(self.keyframes, index) - 1
        return self.keyframes[pos] if pos >= 0 else 0

    def index_of_pts(self, pts: int) -> int | None:
        pos = bisect.bisect_left(self.pts, pts)
        if pos < len(self.pts) and self.pts[pos] == pts:
            return pos
        return None


def auto_segment_frames(total: int, *, workers: int = 1, reach: int = 0) -> int:
    """A segment length for ``total`` frames: about SEGMENTS_PER_WORKER segments per worker.

    The length is at least ``AUTO_MIN_FRAMES`` and 16x the overlap ``reach`` (warm-up + look-ahead),
    so the overlap costs at most ~6% extra work, and at most ``AUTO_MAX_FRAMES`` (a crash loses little).
    """
    ideal = math.ceil(total / max(1, SEGMENTS_PER_WORKER * workers))
    low = max(AUTO_MIN_FRAMES, 16 * reach)
    return max(low, min(AUTO_MAX_FRAMES, ideal))


def _nearest(candidates: Sequence[int], target: int, lo: int, hi: int) -> int | None:
    """The candidate in ``[lo, hi]`` closest to ``target`` (the earlier one on a tie), or None."""
    i = bisect.bisect_left(candidates, lo)
    best: int | None = None
    while i < len(candidates) and candidates[i] <= hi:
        c = candidates[i]
        if best is None or abs(c - target) < abs(best - target):
            best = c
        i += 1
    return best


def plan_boundaries(total: int, segment_frames: int, *, split: str = "frames", warmup: int = 0,
                    scene_cuts: Sequence[int] = (), keyframes: Sequence[int] = ()) -> list[int]:
    """Segment start indices (the first is 0), ``segment_frames`` apart give or take a quarter.

    ``split`` is ``scenes``, ``keyframes`` or ``frames`` (see the module docstring); ``scene_cuts``
    are first frames of new shots, ``keyframes`` frame indices a decoder can start at.
    """
    if total <= 0:
        raise ValueError(f"cannot plan segments of {total} frames")
    if segment_frames < 1:
        raise ValueError(f"segment length must be >= 1, got {segment_frames}")
    slack = segment_frames // 4
    cuts = sorted(c for c in scene_cuts if 0 < c < total)
    # a segment starting at k reads from k - warmup: that should be a keyframe
    key_starts = sorted(k + warmup for k in keyframes if 0 < k + warmup < total)
    starts = [0]
    ideal = segment_frames
    while ideal < total:
        lo = max(starts[-1] + max(1, segment_frames - slack), 1)
        hi = min(ideal + slack, total - 1)
        choice: int | None = None
        if lo <= hi:
            if split == "scenes":
                choice = _nearest(cuts, ideal, lo, hi)
            if choice is None and split in ("scenes", "keyframes"):
                choice = _nearest(key_starts, ideal, lo, hi)
        if choice is None:
            choice = ideal if ideal >= lo else lo
        if choice >= total:
            break
        starts.append(choice)
        ideal = choice + segment_frames
    # a last segment much shorter than the others is merged into the previous one
    if len(starts) > 1 and total - starts[-1] < max(1, segment_frames // 4):
        starts.pop()
    return starts


def make_segments(starts: Sequence[int], total: int, *, warmup: int, lookahead: int) -> list[Segment]:
    """Segments from their start indices, with the read range each needs."""
    bounds = list(starts) + [total]
    out = []
    for i, (a, b) in enumerate(zip(bounds, bounds[1:])):
        if not 0 <= a < b <= total:
            raise ValueError(f"bad segment boundaries {list(starts)} for {total} frames")
        out.append(Segment(id=i, start=a, stop=b, read_start=max(0, a - warmup), read_stop=min(total, b + lookahead)))
    return out


def overlap_share(segments: Sequence[Segment]) -> float:
    """Extra frames processed because of warm-up and look-ahead, as a share of the frames owned."""
    owned = sum(s.frames for s in segments)
    read = sum(s.frames_read for s in segments)
    return (read - owned) / owned if owned else 0.0
