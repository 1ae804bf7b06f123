"""The stage contract: what every processing stage (film cleaning, a restorer, interpolation ...) promises.

A stage turns the stream of decoded frames into the stream of frames to encode. It is a generator
so that it can hold a bounded look-ahead (a temporal window), emit more frames than it reads
(interpolation) and keep state across windows. It must emit frames in presentation order with
strictly increasing ``pts`` in ``OutputSpec.time_base``.

The contract lives at the bottom of the layers (it imports only :mod:`vidrestore.types`) so that
every stage package, the writer and the orchestrator can name it without importing each other.
Besides the three methods of :class:`FrameProcessor`, a stage may declare:

* its **reach** (:class:`Segmentable`: ``warmup_frames``, ``lookahead_frames``), which lets a job
  be cut into segments; read it with :func:`segment_reach`;
* ``uses_pixels = False`` when it never looks at pixels, so frames can go from the decoder to the
  encoder without a round trip through RGB; read it with :func:`uses_pixels` (default True);
* ``frame_ratio``: output frames per input frame, a ``Fraction`` when fixed (an interpolation
  factor), None when it depends on the timing (a target frame rate); read it with
  :func:`frame_ratio` (default 1: one frame out per frame in). A chain needs it to convert a later
  stage's reach into input frames (:mod:`vidrestore.pipeline.chain`).
* ``writes_per_frame = True`` when it writes files named by input frame beside the output (film's
  review masks) and has ``own_frames(start, stop)``: a segment runner calls it with the input frames
  the segment owns, before ``process()``, so a warm-up or look-ahead frame never writes the file of a
  frame another segment owns. Read it with :func:`writes_per_frame`; tell it with :func:`own_frames`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol, runtime_checkable

from vidrestore.types import Frame, OutputSpec, VideoInfo

__all__ = ["FrameProcessor", "OutputSpec", "Passthrough", "ProcessorStats", "Segmentable", "frame_ratio",
           "own_frames", "same_frames_spec", "segment_reach", "uses_pixels", "writes_per_frame"]


@dataclass
class ProcessorStats:
    """Counters a processor reports at the end of a run (printed in the summary, saved as JSON)."""

    values: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class FrameProcessor(Protocol):
    def output_spec(self, info: VideoInfo, frame_size: tuple[int, int]) -> OutputSpec:
        """``frame_size`` is (width, height) of the frames the reader delivers (rotation applied)."""

    def process(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        """Consume input frames, yield output frames in order."""

    def stats(self) -> dict[str, Any]:
        """Counters for the run summary (e.g. flows computed per frame)."""


@runtime_checkable
class Segmentable(Protocol):
    """What a processor declares so that a job can be cut into segments (resume, many workers).

    A segment is the output frames of input frames ``[start, stop)``. It is run alone by feeding the
    input frames ``[start - warmup_frames, stop + lookahead_frames)`` (clipped to the video) to a
    fresh ``process()`` call and keeping the outputs whose time lies in ``[time(start), time(stop))``.
    Declaring these two numbers is a promise:

    * ``warmup_frames``: how many input frames before ``start`` must be fed so that every output from
      ``start`` on equals the output of one uninterrupted run over the whole video (bit-exact, or
      within a tolerance the processor states in its docstring when its state is recursive and only
      fades out). 0 for processors that look at one frame at a time.
    * ``lookahead_frames``: how many input frames after ``stop - 1`` the outputs before ``stop`` may
      depend on (a centred temporal window, an interpolator that needs the next frame). 0 when none.
    * Every call of ``process()`` starts from a clean state (nothing carried over from a previous
      call), and outputs are a function of the input frames and their ``index``/``pts`` only (seeds
      derived from the frame index, never from a running counter of frames seen).

    A processor that does not declare them (or declares None) is never split: its job runs as one segment.
    """

    warmup_frames: int
    lookahead_frames: int


def segment_reach(processor: object) -> tuple[int, int] | None:
    """``(warmup_frames, lookahead_frames)`` of a processor, or None when it declares no reach."""
    warmup = getattr(processor, "warmup_frames", None)
    lookahead = getattr(processor, "lookahead_frames", None)
    if warmup is None or lookahead is None:
        return None
    warmup, lookahead = int(warmup), int(lookahead)
    if warmup < 0 or lookahead < 0:
        raise ValueError(f"{type(processor).__name__}: warmup_frames and lookahead_frames must be >= 0, "
                         f"got {warmup} and {lookahead}")
    return warmup, lookahead


def uses_pixels(processor: object) -> bool:
    """Whether a stage reads the frames' pixels; a stage that does not say is assumed to."""
    return bool(getattr(processor, "uses_pixels", True))


def writes_per_frame(processor: object) -> bool:
    """Whether a stage writes files named by input frame (it then needs :func:`own_frames` when split)."""
    return bool(getattr(processor, "writes_per_frame", False))


def own_frames(processor: object, start: int, stop: int | None) -> None:
    """Tell a stage (a chain passes it on) that this run owns the outputs of input frames ``[start, stop)``
    (``stop`` None: to the end); a stage without ``own_frames`` ignores it."""
    tell = getattr(processor, "own_frames", None)
    if tell is not None:
        tell(start, stop)


def frame_ratio(processor: object) -> Fraction | None:
    """Output frames per input frame of a stage: its ``frame_ratio``, 1 when it declares none."""
    if not hasattr(processor, "frame_ratio"):
        return Fraction(1)
    ratio = processor.frame_ratio
    return None if ratio is None else Fraction(ratio)


class Passthrough:
    """Emit every frame unchanged: the ``passthrough`` preset.

    It never looks at pixels (``uses_pixels = False``), so the pipeline reads in native mode and the
    decoded pictures go to the encoder without a round trip through RGB. It has no temporal state
    (``warmup_frames = lookahead_frames = 0``).
    """

    uses_pixels = False
    warmup_frames = 0
    lookahead_frames = 0

    def output_spec(self, info: VideoInfo, frame_size: tuple[int, int]) -> OutputSpec:
        return same_frames_spec(info, frame_size)

    def process(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        yield from frames

    def stats(self) -> dict[str, Any]:
        return {}


def same_frames_spec(info: VideoInfo, frame_size: tuple[int, int]) -> OutputSpec:
    """The spec of a stage that emits one frame per input frame at the input size and timing."""
    return OutputSpec(width=frame_size[0], height=frame_size[1], time_base=info.time_base,
                      rate=info.avg_rate or info.real_rate, num_frames=info.num_frames,
                      bit_depth=16 if info.is_high_bit_depth else 8)
