"""Stream frames with their timestamps, never the whole clip.

``open_reader(path, io_cfg)`` returns a :class:`FrameReader`: iterate it for :class:`Frame`
values in presentation order. 8-bit sources give uint8 RGB, deeper sources uint16 RGB over the
full 16-bit range. The YUV -> RGB conversion uses the source's own matrix and range. Rotation
metadata is applied (``io.apply_rotation``) or left for the writer to carry. Backends: PyAV
(default, threaded decode) and decord (decord2, 8-bit sources only).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from vidrestore.errors import ConfigError, MediaError
from vidrestore.io import colors
from vidrestore.io.config import IOConfig
from vidrestore.io.images import ImageSequence
from vidrestore.io.probe import DEFAULT_SEQUENCE_FPS, parse_rate, probe_video
from vidrestore.types import Frame, VideoInfo

log = logging.getLogger(__name__)


def rotate_rgb(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """Apply a display rotation (degrees counter-clockwise, as FFmpeg's display matrix gives)."""
    r = rotation % 360
    if r == 0:
        return rgb
    return np.ascontiguousarray(np.rot90(rgb, k=r // 90))


def decoded_to_rgb(frame: Any, out_fmt: str = "rgb24") -> np.ndarray:
    """A decoded picture -> RGB (``rgb24`` uint8 or ``rgb48le`` uint16) with its own matrix, range and siting.

    Bilinear chroma upsampling with exact rounding; swscale honours the frame's chroma siting. It is
    the middle of swscale's choices: Lanczos keeps a little more of a YUV -> RGB -> YUV round trip
    but costs several times as much on every frame of every job, and the fast path (no exact
    rounding) is quicker but visibly loses colour fidelity in the same round trip.
    """
    from av.video.reformatter import Colorspace
    from av.video.reformatter import Interpolation as I

    matrix = colors.name_of(colors.MATRIX, frame.colorspace)
    src_cs = {
        "bt709": Colorspace.ITU709, "fcc": Colorspace.FCC, "bt470bg": Colorspace.ITU601,
        "smpte170m": Colorspace.ITU601, "smpte240m": Colorspace.SMPTE240M, "bt2020nc": Colorspace.BT2020,
        "bt2020c": Colorspace.BT2020,
    }.get(matrix or "", None)
    # (at 16-bit output swscale's bilinear + FULL_CHR_H_INT path shifts the mean: bicubic there)
    interp = (I.BILINEAR | I.ACCURATE_RND | I.FULL_CHR_H_INT if out_fmt == "rgb24"
              else I.BICUBIC | I.ACCURATE_RND | I.FULL_CHR_H_INT | I.FULL_CHR_H_INP)
    kwargs: dict[str, Any] = {"format": out_fmt, "interpolation": interp}
    if src_cs is not None:
        kwargs["src_colorspace"] = src_cs
        kwargs["dst_colorspace"] = src_cs
    if int(frame.color_range) in (1, 2):
        kwargs["src_color_range"] = int(frame.color_range)
        kwargs["dst_color_range"] = 2
    return frame.reformat(**kwargs).to_ndarray()


class FrameReader:
    """Iterable of :class:`Frame`; use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | Path, io_cfg: IOConfig | None = None, info: VideoInfo | None = None) -> None:
        self.path = Path(path)
        self.cfg = io_cfg or IOConfig()
        self.info = info or probe_video(self.path, fps=self.cfg.fps)
        self.rotation = self.info.rotation if self.cfg.apply_rotation else 0
        w, h = self.info.width, self.info.height
        self.frame_size = (h, w) if self.rotation % 180 == 90 else (w, h)
        self.frames_read = 0
        self.pts_repaired = 0
        self._container: Any = None
        # Native mode: yield decoded pictures without converting them to RGB (see Frame.native).
        self.native = False
        if self.cfg.reader == "decord" and self.info.is_high_bit_depth and not self.info.is_image_sequence:
            raise ConfigError(f"io.reader=decord reads 8-bit only; {self.path} is {self.info.bit_depth}-bit "
                              "(use io.reader=pyav to keep its precision)")

    # -- context manager
    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            finally:
                self._container = None

    def __iter__(self) -> Iterator[Frame]:
        if self.info.is_image_sequence:
            seq = ImageSequence(self.path, fps=parse_rate(self.cfg.fps) or DEFAULT_SEQUENCE_FPS)
            for frame in seq.frames():
                self.frames_read += 1
                yield frame
            return
        source = self._iter_decord() if self.cfg.reader == "decord" else self._iter_pyav()
        yield from self._check_count(self._monotonic(source))

    # -- timing guards
    def _monotonic(self, frames: Iterator[tuple[int | None, Any]]) -> Iterator[Frame]:
        """Give every frame a pts strictly above the previous one (repairs missing/duplicate pts)."""
        tb = self.info.time_base
        rate = self.info.avg_rate or self.info.real_rate or Fraction(25)
        step = max(1, int(round(1 / (rate * tb))))
        prev: int | None = None
        for index, (pts, rgb) in enumerate(frames):
            if pts is None or (prev is not None and pts <= prev):
                fixed = (prev + step) if prev is not None else 0
                if self.pts_repaired == 0:
                    log.warning("%s: frame %d has %s pts; timestamps repaired from the frame rate",
                                self.path, index, "no" if pts is None else "a non-increasing")
                self.pts_repaired += 1
                pts = fixed
            prev = pts
            self.frames_read += 1
            if isinstance(rgb, np.ndarray):
                yield Frame(index=index, pts=pts, time_base=tb, rgb=rgb)
            else:  # native mode: the decoded picture itself
                yield Frame(index=index, pts=pts, time_base=tb, rgb=None, native=rgb)

    def _check_count(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        n = 0
        for frame in frames:
            n += 1
            yield frame
        expected = self.info.num_frames
        if self.info.num_frames_exact and expected is not None and n < expected:
            raise MediaError(self.path, f"truncated or corrupt: decoded {n} of {expected} frames")
        if n == 0:
            raise MediaError(self.path, "no frame could be decoded")

    # -- PyAV
    def _iter_pyav(self) -> Iterator[tuple[int | None, np.ndarray]]:
        import av

        try:
            self._container = av.open(str(self.path), mode="r", metadata_errors="replace")
        except av.error.FFmpegError as err:
            raise MediaError(self.path, f"cannot open ({err})") from err
        vs = self._container.streams.video[0]
        vs.thread_type = "AUTO"
        if self.cfg.threads:
            vs.codec_context.thread_count = self.cfg.threads
        out_fmt = "rgb48le" if self.info.is_high_bit_depth else "rgb24"
        try:
            native = self.native and self.rotation == 0
            for frame in self._container.decode(vs):
                if native:
                    yield frame.pts, frame
                else:
                    yield frame.pts, self._to_rgb(frame, out_fmt)
        except av.error.FFmpegError as err:
            raise MediaError(self.path, f"decoding failed after {self.frames_read} frames ({err})") from err
        finally:
            self.close()

    def _to_rgb(self, frame: Any, out_fmt: str) -> np.ndarray:
        return rotate_rgb(decoded_to_rgb(frame, out_fmt), self.rotation)

    # -- decord
    def _iter_decord(self) -> Iterator[tuple[int | None, np.ndarray]]:
        try:
            import decord
        except ImportError as err:
            raise ConfigError("io.reader=decord needs the decord2 package (pip install decord2)") from err
        try:
            vr = decord.VideoReader(str(self.path), ctx=decord.cpu(0), num_threads=self.cfg.threads or 0)
        except Exception as err:  # noqa: BLE001 - decord raises its own DECORDError types
            raise MediaError(self.path, f"decord cannot open the file ({err})") from err
        tb = self.info.time_base
        n = len(vr)
        batch = 8
        for start in range(0, n, batch):
            idx = list(range(start, min(n, start + batch)))
            try:
                arr = vr.get_batch(idx).asnumpy()
                stamps = vr.get_frame_timestamp(idx)
            except Exception as err:  # noqa: BLE001
                raise MediaError(self.path, f"decord failed at frame {start} ({err})") from err
            for k in range(len(idx)):
                pts = int(round(Fraction(float(stamps[k][0])).limit_denominator(1_000_000) / tb))
                yield pts, rotate_rgb(np.ascontiguousarray(arr[k]), self.rotation)
        del vr


def open_reader(path: str | Path, io_cfg: IOConfig | None = None, info: VideoInfo | None = None) -> FrameReader:
    return FrameReader(path, io_cfg, info)
