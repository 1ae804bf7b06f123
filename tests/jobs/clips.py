"""Clips and a deterministic temporal processor for the job tests.

:class:`WindowAverage` is a temporally-conditioned processor written for these tests: each output
frame is an integer-weighted mean of the input frames ``t - past .. t + future`` that exist, so it
depends on previous (and next) frames like a temporal restorer, is bit-exact, and runs in
microseconds. It declares ``warmup_frames = past`` and ``lookahead_frames = future``. With
``declare=(0, 0)`` it lies about its reach: the naive chunking every seam test must catch.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from vidrestore.types import Frame, OutputSpec, VideoInfo

WEIGHTS = (1, 2, 4, 2)  # for t-2, t-1, t, t+1
DELAY_ENV = "VIDRESTORE_TEST_FRAME_DELAY_MS"
SEGMENT_DELAY_ENV = "VIDRESTORE_TEST_SEGMENT_DELAY_MS"  # cli_main: a pause after every segment (any processor)
TEST_PROCESSORS = {"jobs_test_window": "tests.jobs.clips:build_window",
                   "jobs_test_doubler": "tests.jobs.clips:build_doubler"}

LOSSLESS = ["--set", "encode.codec=libx264rgb", "--set", "encode.crf=0", "--set", "encode.pix_fmt=rgb24",
            "--set", "encode.preset=ultrafast"]


class WindowAverage:
    uses_pixels = True

    def __init__(self, *, past: int = 2, future: int = 1, delay_s: float = 0.0,
                 declare: tuple[int, int] | None = None) -> None:
        self.past, self.future = past, future
        self.weights = WEIGHTS[2 - past:3 + future]
        self.delay_s = delay_s
        self.warmup_frames, self.lookahead_frames = declare if declare is not None else (past, future)
        self.frames_in = 0

    def output_spec(self, info: VideoInfo, frame_size: tuple[int, int]) -> OutputSpec:
        return OutputSpec(width=frame_size[0], height=frame_size[1], time_base=info.time_base,
                          rate=info.avg_rate, num_frames=info.num_frames)

    def _emit(self, window: deque[Frame], pos: int) -> Frame:
        acc = None
        total = 0
        cur = window[pos]
        for k, frame in enumerate(window):
            d = frame.index - cur.index
            if -self.past <= d <= self.future:
                w = self.weights[d + self.past]
                term = frame.rgb.astype(np.int32) * w
                acc = term if acc is None else acc + term
                total += w
        out = (acc + total // 2) // total
        return cur.with_rgb(out.astype(cur.rgb.dtype))

    def process(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        window: deque[Frame] = deque()
        pos = 0  # next frame of ``window`` to emit
        for frame in frames:
            self.frames_in += 1
            if self.delay_s:
                time.sleep(self.delay_s)
            window.append(frame)
            while pos < len(window) and window[pos].index + self.future <= frame.index:
                yield self._emit(window, pos)
                pos += 1
                while pos > self.past:
                    window.popleft()
                    pos -= 1
        while pos < len(window):
            yield self._emit(window, pos)
            pos += 1

    def stats(self) -> dict[str, Any]:
        return {"frames_in": self.frames_in}


class Doubler:
    """An interpolator's shape: every input frame, then the mean of it and the next one halfway in
    time (the last input frame alone). Output time base is half the input's; needs one frame of
    look-ahead, no warm-up: segments must own the in-between frames up to the next segment's start."""

    uses_pixels = True
    warmup_frames = 0
    lookahead_frames = 1

    def output_spec(self, info: VideoInfo, frame_size: tuple[int, int]) -> OutputSpec:
        return OutputSpec(width=frame_size[0], height=frame_size[1], time_base=info.time_base / 2,
                          rate=info.avg_rate * 2 if info.avg_rate else None, num_frames=None)

    def process(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        prev: Frame | None = None
        for frame in frames:
            if prev is not None:
                yield from self._pair(prev, frame)
            prev = frame
        if prev is not None:
            yield Frame(index=2 * prev.index, pts=2 * prev.pts, time_base=prev.time_base / 2, rgb=prev.rgb)

    @staticmethod
    def _pair(a: Frame, b: Frame) -> Iterator[Frame]:
        tb = a.time_base / 2
        mid = ((a.rgb.astype(np.uint16) + b.rgb + 1) // 2).astype(np.uint8)
        yield Frame(index=2 * a.index, pts=2 * a.pts, time_base=tb, rgb=a.rgb)
        yield Frame(index=2 * a.index + 1, pts=a.pts + b.pts, time_base=tb, rgb=mid)

    def stats(self) -> dict[str, Any]:
        return {}


def build_window(cfg: Any, info: VideoInfo) -> WindowAverage:
    """``PROCESSORS["jobs_test_window"]`` (``--set restorer.name=jobs_test_window``)."""
    delay = float(os.environ.get(DELAY_ENV, "0") or 0) / 1000.0
    return WindowAverage(delay_s=delay)


def build_doubler(cfg: Any, info: VideoInfo) -> Doubler:
    return Doubler()


def register(processors: dict[str, str] | None = None) -> None:
    """Add the test processors to the factory registry (in this process)."""
    if processors is None:
        from vidrestore.pipeline.factory import PROCESSORS as processors  # noqa: N811
    processors.update(TEST_PROCESSORS)


def make_clip(path: Path, *, frames: int = 48, size: tuple[int, int] = (96, 64), noise: float = 14.0,
              gop: int = 12, audio: bool = True, seed: int = 0, moving: bool = False) -> Path:
    """A small H.264 clip with keyframes every ``gop`` frames, B-frames and an AAC tone.

    The picture is a fixed texture (shifted by one pixel per frame with ``moving``) plus fresh
    Gaussian noise in every frame: a temporal filter has something to smooth, evenly over time.
    """
    import av

    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w * 2]
    base = 128 + 60 * np.sin(xx / 7.0)[..., None] * np.cos(yy / 5.0)[..., None] + 30 * np.array([1.0, -0.5, 0.2])
    rate = 25
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=rate, options={"crf": "8", "g": str(gop), "bf": "2", "preset": "fast",
                                                           "sc_threshold": "0"})
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.codec_context.time_base = Fraction(1, rate)
        astream = None
        if audio:
            astream = out.add_stream("aac", rate=48000, layout="mono")
            astream.codec_context.bit_rate = 64_000
        for i in range(frames):
            shift = i if moving else 0
            img = base[:, shift:shift + w] + rng.normal(0, noise, (h, w, 3))
            vf = av.VideoFrame.from_ndarray(np.clip(img, 0, 255).astype(np.uint8), format="rgb24")
            vf.pts = i
            for p in vs.encode(vf):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
        if astream is not None:
            n = int(48000 * frames / rate)
            fs = astream.codec_context.frame_size or 1024
            tone = (0.3 * np.sin(2 * math.pi * 440 * np.arange(n) / 48000)).astype(np.float32)
            for k, start in enumerate(range(0, n, fs)):
                chunk = tone[start:start + fs]
                af = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
                af.sample_rate = 48000
                af.pts = start
                for p in astream.encode(af):
                    out.mux(p)
            for p in astream.encode():
                out.mux(p)
    return path
