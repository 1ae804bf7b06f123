"""Typed values that travel between the stages: io -> flow -> temporal -> restore -> io.

Conventions (the one place they are written down; ``vidrestore.tensors`` implements them):

* A decoded frame is a :class:`Frame`: ``rgb`` is a numpy array ``(H, W, 3)``, ``uint8`` for
  8-bit sources and ``uint16`` over the full 0..65535 range (as FFmpeg's rgb48 conversion
  gives) for deeper sources, so a 10-bit source never passes through 8 bits.
* Model-side frames are torch tensors ``(T, C, H, W)`` float32 in ``[0, 1]``, RGB.
  Latents are ``(T, C', h, w)``.
* Flow is ``(N, 2, H, W)`` float32 in pixels; channel 0 is dx, channel 1 is dy. Names carry
  the direction: ``flow_t_to_s`` gives, for each pixel of frame t, where it is in frame s,
  so ``backward_warp(frame_s, flow_t_to_s)`` looks like frame t.
* Timing is kept from the source: ``pts`` in units of ``time_base`` (a ``Fraction``);
  nothing is re-timed to a constant rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One decoded (or produced) video frame with its timing.

    ``index`` is the position in decode (presentation) order starting at 0. ``pts`` is in
    ``time_base`` units; ``duration`` too when known (image sequences, last frame).

    Native mode: a processor that passes frames through untouched (``uses_pixels = False``) gets
    frames whose ``rgb`` is None and whose ``native`` is the decoded picture, which the writer
    encodes without any colour conversion (decode -> encode, like ffmpeg).
    """

    index: int
    pts: int
    time_base: Fraction
    rgb: np.ndarray | None  # None only for frames read in native mode (a processor that never looks at pixels)
    duration: int | None = None
    native: Any = field(default=None, compare=False, repr=False)  # decoded av.VideoFrame, native mode only

    @property
    def time(self) -> float:
        return float(self.pts * self.time_base)

    @property
    def bit_depth(self) -> int:
        return 16 if self.rgb is not None and self.rgb.dtype == np.uint16 else 8

    def with_rgb(self, rgb: np.ndarray) -> Frame:
        return replace(self, rgb=rgb)


@dataclass(frozen=True)
class ColorInfo:
    """Colour description as FFmpeg names it (None when unspecified)."""

    range: str | None = None  # "tv" / "pc"
    primaries: str | None = None  # "bt709", "bt2020", ...
    transfer: str | None = None  # "bt709", "smpte2084", "arib-std-b67", ...
    matrix: str | None = None  # "bt709", "bt2020nc", ...

    @property
    def is_hdr(self) -> bool:
        return self.transfer in {"smpte2084", "arib-std-b67"}


@dataclass(frozen=True)
class StreamInfo:
    """A non-video stream (audio, subtitle, data) of the source."""

    index: int
    kind: str  # "audio" | "subtitle" | "data" | "attachment"
    codec: str | None
    language: str | None = None
    time_base: Fraction | None = None
    duration: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    layout: str | None = None
    bit_rate: int | None = None


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`vidrestore.io.probe.probe_video` learns about an input."""

    path: str
    container: str  # "mp4", "matroska,webm", "image2" (folder) ...
    codec: str
    width: int  # coded size, before rotation
    height: int
    pix_fmt: str
    bit_depth: int
    avg_rate: Fraction | None
    real_rate: Fraction | None
    time_base: Fraction
    num_frames: int | None
    num_frames_exact: bool
    duration: float | None
    start_time: float | None
    rotation: int  # degrees counter-clockwise as stored in the display matrix (0/90/180/270)
    color: ColorInfo = field(default_factory=ColorInfo)
    is_vfr: bool = False
    is_image_sequence: bool = False
    video_stream_index: int = 0
    streams: tuple[StreamInfo, ...] = ()

    @property
    def audio(self) -> tuple[StreamInfo, ...]:
        return tuple(s for s in self.streams if s.kind == "audio")

    @property
    def subtitles(self) -> tuple[StreamInfo, ...]:
        return tuple(s for s in self.streams if s.kind == "subtitle")

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) after rotation is applied."""
        if self.rotation % 180 == 90:
            return self.height, self.width
        return self.width, self.height

    @property
    def is_high_bit_depth(self) -> bool:
        return self.bit_depth > 8


@dataclass(frozen=True)
class OutputSpec:
    """What a stage will emit, known before the first frame (for the encoder and the progress bar)."""

    width: int
    height: int
    time_base: Fraction
    rate: Fraction | None  # nominal output frame rate (encoder rate control); None = unknown
    num_frames: int | None  # expected output frame count; None = unknown
    bit_depth: int = 8  # 8 -> uint8 frames, 16 -> uint16 frames
