"""One :class:`Chain` that runs stages one after the other as a single stage.

Film cleaning then a GAN restorer, interpolation then upscaling (or the reverse), film cleaning then
interpolation: every composition of stages goes through this class, so the four things a
composition must get right are written once:

* **output spec**: each stage is asked in turn, with what the stage before it will emit
  (:func:`next_input`);
* **process**: nested generators, the first stage reading the decoded frames, each later stage
  reading the one before it, the last one driving them all;
* **reach** (:meth:`Chain.reach`): warm-up and look-ahead in *input* frames of the chain;
* **uses_pixels** (any stage does) and **stats** (merged, each stage's keys under its name);
* **own_frames**: the input frames a segment owns, passed to the stages that read input frames
  (those before any stage that changes the frame count).

How reach composes. A stage's reach counts frames of *its own* input. After stages that emit one
frame per input frame (``frame_ratio`` 1, the default) it adds up as it is. After a stage that
changes the frame count, ``r`` frames of its output are covered by ``ceil(r / ratio)`` frames of the
chain's input, where ``ratio`` is the output frames per input frame of everything before it
(an interpolation factor of 2 gives ``ceil(r / 2)``); the earlier stages' own reach is added on top,
so the frames the later stage reads are themselves exact. Rounding each stage up on its own is at
least as far as the exact sum, so it is conservative. When a stage before it has no fixed ratio
(interpolation to a target rate: ``frame_ratio`` None) a later stage with any reach makes the chain
unsplittable (None); a later stage with reach 0 still adds nothing. Any stage that declares no
reach makes the chain unsplittable, and so does a stage that writes files named by frame
(:func:`~vidrestore.stage.writes_per_frame`) after a stage that changes the frame count: its frame
numbers are no longer input frames, so it cannot be told which of them a segment owns.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from fractions import Fraction
from typing import Any

from vidrestore.stage import FrameProcessor, frame_ratio, own_frames, segment_reach, uses_pixels, writes_per_frame
from vidrestore.types import Frame, OutputSpec, VideoInfo

__all__ = ["Chain", "next_input"]


class Chain:
    """Stages run one after the other, as one :class:`~vidrestore.stage.FrameProcessor`.

    ``stages`` are ``(name, stage)`` pairs in the order frames go through them. The name prefixes the
    stage's stats keys (``restorer`` -> ``restorer_frames_restored``; a key that already starts with
    the name keeps it); the empty name keeps the stage's keys as they are (the chain's main stage).

    Every stage but the last is told that another stage runs after it (``followed = True``, when it
    has that attribute): a stage that holds process-wide state across its yields (torch's thread
    count) must not, since the next stage runs between them.
    """

    def __init__(self, stages: Sequence[tuple[str, FrameProcessor]]) -> None:
        if not stages:
            raise ValueError("Chain: needs at least one stage")
        names = [name for name, _ in stages]
        named = [n for n in names if n]
        if len(set(named)) != len(named) or names.count("") > 1:
            raise ValueError(f"Chain: stage names must be distinct (at most one empty), got {names}")
        self.stages: tuple[tuple[str, FrameProcessor], ...] = tuple(stages)
        for _, stage in self.stages[:-1]:
            if hasattr(stage, "followed"):
                stage.followed = True  # type: ignore[attr-defined]

    # ----------------------------------------------------------------- contract

    def output_spec(self, info: VideoInfo, frame_size: tuple[int, int]) -> OutputSpec:
        spec: OutputSpec | None = None
        for _, stage in self.stages:
            spec = stage.output_spec(info, frame_size)
            info, frame_size = next_input(info, frame_size, spec)
        assert spec is not None  # noqa: S101 - the constructor refuses an empty chain
        return spec

    def process(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        for _, stage in self.stages:
            frames = stage.process(frames)
        return frames

    def reach(self) -> tuple[int, int] | None:
        """``(warmup_frames, lookahead_frames)`` in input frames of the chain (module docstring), or None."""
        warmup = lookahead = 0
        ratio: Fraction | None = Fraction(1)  # output frames per input frame of the stages so far
        for _, stage in self.stages:
            reach = segment_reach(stage)
            if reach is None:
                return None
            warm, ahead = reach
            if ratio != 1 and writes_per_frame(stage):
                return None
            if (warm or ahead) and ratio != 1:
                if ratio is None:
                    return None
                warm, ahead = math.ceil(warm / ratio), math.ceil(ahead / ratio)
            warmup, lookahead = warmup + warm, lookahead + ahead
            own = frame_ratio(stage)
            ratio = None if ratio is None or own is None else ratio * own
        return warmup, lookahead

    @property
    def warmup_frames(self) -> int | None:
        reach = self.reach()
        return None if reach is None else reach[0]

    @property
    def lookahead_frames(self) -> int | None:
        reach = self.reach()
        return None if reach is None else reach[1]

    @property
    def frame_ratio(self) -> Fraction | None:
        ratio: Fraction | None = Fraction(1)
        for _, stage in self.stages:
            own = frame_ratio(stage)
            ratio = None if ratio is None or own is None else ratio * own
        return ratio

    @property
    def uses_pixels(self) -> bool:
        return any(uses_pixels(stage) for _, stage in self.stages)

    def use_job_context(self, context: Mapping[str, Any]) -> None:
        """Job-wide facts (:mod:`vidrestore.jobs.worker`) go to every stage that takes them."""
        for _, stage in self.stages:
            take = getattr(stage, "use_job_context", None)
            if take is not None:
                take(context)

    def own_frames(self, start: int, stop: int | None) -> None:
        """A segment owns input frames ``[start, stop)``: told to the stages whose frames are input frames."""
        for _, stage in self.stages:
            own_frames(stage, start, stop)
            if frame_ratio(stage) != 1:
                break

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, stage in self.stages:
            for key, value in stage.stats().items():
                out[key if not name or key.startswith(name) else f"{name}_{key}"] = value
        return out

    def stage(self, name: str) -> FrameProcessor:
        """The stage called ``name``."""
        for own, stage in self.stages:
            if own == name:
                return stage
        raise KeyError(f"Chain: no stage named {name!r} (stages: {[n for n, _ in self.stages]})")


def next_input(info: VideoInfo, frame_size: tuple[int, int], spec: OutputSpec) -> tuple[VideoInfo, tuple[int, int]]:
    """What a stage reads when the stage before it emits ``spec``: ``info`` with the timing, count,
    depth and size that stage changed (the very same object when it changed nothing)."""
    changes: dict[str, Any] = {}
    if spec.time_base != info.time_base:
        changes["time_base"] = spec.time_base
    if spec.rate != (info.avg_rate or info.real_rate):
        changes["avg_rate"] = changes["real_rate"] = spec.rate
    if spec.num_frames != info.num_frames:
        changes["num_frames"] = spec.num_frames
    if (spec.bit_depth > 8) != info.is_high_bit_depth:
        changes["bit_depth"] = spec.bit_depth
    size = (spec.width, spec.height)
    if size != frame_size:
        changes.update(width=spec.width, height=spec.height, rotation=0)  # frames leave a stage upright
    return (replace(info, **changes) if changes else info), size
