"""The processing-stage contract the streaming pipeline drives.

A :class:`FrameProcessor` turns the stream of decoded frames into the stream of frames to
encode. It is a generator so that it can hold a bounded look-ahead (a temporal window),
emit more frames than it reads (interpolation) and keep state across windows. It must emit
frames in presentation order with strictly increasing ``pts`` in ``OutputSpec.time_base``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol, runtime_checkable

from vidrestore.types import Frame, VideoInfo


@dataclass(frozen=True)
class OutputSpec:
    """What the processor will emit, known before the first frame (for the encoder and the progress bar)."""

    width: int
    height: int
    time_base: Fraction
    rate: Fraction | None  # nominal output frame rate (encoder rate control); None = unknown
    num_frames: int | None  # expected output frame count; None = unknown
    bit_depth: int = 8  # 8 -> uint8 frames, 16 -> uint16 frames


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


class Passthrough:
    """Emit every frame unchanged: the ``passthrough`` preset.

    It never looks at pixels (``uses_pixels = False``), so the pipeline reads in native mode and the
    decoded pictures go to the encoder without a round trip through RGB.
    """

    uses_pixels = False

    def output_spec(self, info: VideoInfo, frame_size: tuple[int, int]) -> OutputSpec:
        rate = info.avg_rate or info.real_rate
        return OutputSpec(
            width=frame_size[0], height=frame_size[1], time_base=info.time_base, rate=rate,
            num_frames=info.num_frames, bit_depth=16 if info.is_high_bit_depth else 8,
        )

    def process(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        yield from frames

    def stats(self) -> dict[str, Any]:
        return {}
