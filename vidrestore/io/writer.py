"""Encode frames to a video file or an image sequence, keeping timing, colour and sound.

* The source's pts and time base are kept (VFR survives); frames must come with strictly
  increasing pts.
* 10-bit output by default when the source is deeper than 8 bits; colour metadata copied.
* Odd frame sizes never crash a 4:2:0 encoder: the chroma layout switches to 4:4:4 (a warning
  says so) so that the picture keeps its exact size.
* Audio and subtitles are remuxed from the source (see :mod:`vidrestore.io.remux`).
* The file is written under a temporary name and renamed only by :meth:`close`;
  :meth:`abort` removes it.

Backends: PyAV (default) and the system ffmpeg through ffmpeg-python (``encode.backend: ffmpeg``)
for encoders only that ffmpeg has (NVENC, newer AV1 encoders), with the same guarantees: frames go to
ffmpeg as a NUT stream of raw video that carries every pts.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vidrestore.config import EncodeConfig
from vidrestore.errors import ConfigError, MediaError, OutputError
from vidrestore.io import colors
from vidrestore.io.images import write_image
from vidrestore.io.output import OutputTarget, commit_output, create_temp, discard_output, prepare_output
from vidrestore.io.remux import AuxMuxer, plan_aux_streams
from vidrestore.types import ColorInfo, Frame, OutputSpec, VideoInfo

log = logging.getLogger(__name__)

_DEFAULT_CODEC = {  # muxer -> (8-bit codec, >8-bit codec)
    "mp4": ("libx264", "libx265"),
    "mov": ("libx264", "libx265"),
    "matroska": ("libx264", "libx265"),
    "nut": ("libx264", "libx265"),
    "avi": ("libx264", "libx264"),
    "webm": ("libvpx-vp9", "libvpx-vp9"),
}
_CRF_CODECS = {"libx264", "libx264rgb", "libx265", "libvpx-vp9", "libvpx", "libsvtav1", "libaom-av1"}
_PRESET_CODECS = {"libx264", "libx264rgb", "libx265", "libsvtav1", "h264_nvenc", "hevc_nvenc", "av1_nvenc"}


def finalize_output(target: OutputTarget, frames_written: int) -> None:
    """Move a finished output into place; an output without frames is removed and refused."""
    if frames_written == 0:
        discard_output(target)
        raise MediaError(target.final, "no frame was written; output not created")
    commit_output(target)


class FrameWriter(Protocol):
    frames_written: int

    def write(self, frame: Frame) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


def choose_codec(encode: EncodeConfig, muxer: str, bit_depth: int) -> str:
    if encode.codec != "auto":
        return encode.codec
    eight, deep = _DEFAULT_CODEC.get(muxer, ("libx264", "libx265"))
    return deep if bit_depth > 8 else eight


def choose_pix_fmt(encode: EncodeConfig, codec: str, bit_depth: int, width: int, height: int) -> str:
    """The encoder pixel format; 4:2:0/4:2:2 becomes 4:4:4 for odd sizes."""
    if encode.pix_fmt != "auto":
        pix = encode.pix_fmt
    elif codec in ("ffv1",):
        pix = "yuv444p16le" if bit_depth > 8 else "yuv444p"
    elif codec in ("prores_ks", "prores"):
        pix = "yuv422p10le"
    elif codec == "png":
        pix = "rgb48be" if bit_depth > 8 else "rgb24"
    else:
        pix = "yuv420p10le" if bit_depth > 8 else "yuv420p"
    if (width % 2 or height % 2) and ("420" in pix or "422" in pix or pix.startswith("nv12")):
        odd = pix.replace("420", "444").replace("422", "444")
        if odd == pix:
            odd = "yuv444p10le" if bit_depth > 8 else "yuv444p"
        log.warning("frame size %dx%d is odd: encoding %s instead of %s to keep every pixel", width, height, odd, pix)
        pix = odd
    return pix


def _supported_pix_fmts(codec: str) -> set[str]:
    import av

    try:
        formats = av.Codec(codec, "w").video_formats or ()
    except (ValueError, av.error.FFmpegError):
        return set()
    return {f.name for f in formats}


_SITED_FORMATS = {"yuv420p", "yuv422p", "yuv420p10le"}


def _subsample_left(c: np.ndarray, vertical: bool) -> np.ndarray:
    """Chroma subsampling for MPEG-2/H.264 "left" siting (the default encoders declare).

    Horizontally the chroma sample is co-sited with the even luma column: taps [1, 2, 1] / 4.
    Vertically (4:2:0) it sits between two luma rows: taps [1, 1] / 2. Integer arithmetic with
    rounding. swscale's own 4:2:0 conversion sites chroma at the centre, which shifts colour by
    half a pixel against what the stream declares (a 7 dB loss in an RGB round trip).
    Returns uint32 sums already divided (same scale as the input).
    """
    acc_t = np.uint16 if c.dtype == np.uint8 else np.uint32  # 8-bit sums fit 16 bits (<= 2040)
    x = c.astype(acc_t)
    if vertical:
        x = x[0::2] + x[1::2]
        shift = 3
    else:
        shift = 2
    even, odd = x[:, 0::2], x[:, 1::2]
    acc = even * acc_t(2)
    acc[:, : odd.shape[1]] += odd  # x[2k + 1]
    acc[:, odd.shape[1]:] += even[:, odd.shape[1]:]  # odd width: replicate the last column
    acc[:, 1:] += odd[:, : acc.shape[1] - 1]  # x[2k - 1]
    acc[:, 0] += even[:, 0]  # left edge: replicate the first column
    acc += acc_t(1 << (shift - 1))
    acc >>= acc_t(shift)
    return acc


def _rgb_to_sited_yuv(vf: Any, pix_fmt: str, cs: Any, dst_range: int) -> Any:
    import av
    from av.video.reformatter import Interpolation

    # No resampling happens in an RGB -> 4:4:4 conversion: swscale's fast path is exact enough here
    # (measured: same YUV round trip as ACCURATE_RND, at a third of the time).
    exact = Interpolation.BILINEAR
    if pix_fmt == "yuv420p10le":
        # swscale's fast path is not exact at 16 bits (a 33 dB round trip): keep ACCURATE_RND here
        full = vf.reformat(format="yuv444p16le", src_colorspace=cs, dst_colorspace=cs, src_color_range=2,
                           dst_color_range=dst_range,
                           interpolation=Interpolation.POINT | Interpolation.ACCURATE_RND).to_ndarray()  # (H, W, 3)
        y, u, v = (full[..., i] for i in range(3))
        y10 = (y.astype(np.int32) + 32) >> 6
        u10 = (_subsample_left(u, True) + 32) >> 6
        v10 = (_subsample_left(v, True) + 32) >> 6
        h, w = y.shape
        packed = np.concatenate([y10.ravel(), u10.ravel(), v10.ravel()]).clip(0, 1023).astype(np.uint16)
        out = av.VideoFrame.from_ndarray(packed.reshape(h * 3 // 2, w), format="yuv420p10le")
    else:
        full = vf.reformat(format="yuv444p", src_colorspace=cs, dst_colorspace=cs, src_color_range=2,
                           dst_color_range=dst_range, interpolation=exact).to_ndarray()  # (3, H, W) uint8
        y, u, v = full[0], full[1], full[2]
        vertical = pix_fmt == "yuv420p"
        us, vs = _subsample_left(u, vertical), _subsample_left(v, vertical)
        h, w = y.shape
        packed = np.concatenate([y.ravel(), us.ravel().clip(0, 255).astype(np.uint8),
                                 vs.ravel().clip(0, 255).astype(np.uint8)])
        rows = h * 3 // 2 if vertical else h * 2
        out = av.VideoFrame.from_ndarray(packed.reshape(rows, w), format=pix_fmt)
    out.color_range = dst_range
    return out


def _native_to_encoder(frame: Frame, pix_fmt: str, spec: OutputSpec, converter: RgbToEncoder) -> Any:
    """A decoded picture straight to the encoder: no conversion when formats match (passthrough);
    otherwise through RGB with the same conversions as every other frame."""
    vf = frame.native
    if vf is None:
        raise ValueError(f"frame {frame.index} has neither pixels nor a decoded picture")
    if (vf.width, vf.height) != (spec.width, spec.height):
        raise ValueError(f"frame {frame.index} is {vf.width}x{vf.height}, the output is {spec.width}x{spec.height}")
    if vf.format.name != pix_fmt:
        from vidrestore.io.reader import decoded_to_rgb

        deep = max((c.bits for c in vf.format.components), default=8) > 8
        return converter.convert(decoded_to_rgb(vf, "rgb48le" if deep else "rgb24"))
    vf.pict_type = 0  # let the encoder choose frame types
    return vf


class RgbToEncoder:
    """RGB frames -> the encoder's pixel format, with the source's matrix, range and chroma siting.

    Tagging follows the source: an untagged source stays untagged (and is converted back with the
    matrix the reader used, swscale's default BT.601); image sequences get the usual matrix for their
    size, tagged. 4:2:0/4:2:2 chroma is subsampled for "left" siting (see ``_subsample_left``).
    """

    def __init__(self, pix_fmt: str, *, source: VideoInfo | None, height: int) -> None:
        from av.video.reformatter import Colorspace, Interpolation

        self.pix_fmt = pix_fmt
        self.is_rgb = pix_fmt.startswith(("rgb", "bgr", "gbr"))
        color = source.color if source is not None else ColorInfo()
        self.color = color
        is_images = source is None or source.is_image_sequence
        rng = "tv" if is_images else (color.range or "tv")  # video is stored limited range by convention
        self.range = colors.value_of(colors.RANGE, rng, 1)
        if color.matrix:
            self.matrix = color.matrix
        elif is_images:  # RGB images: the usual matrix for the size, said in the stream
            self.matrix = "bt709" if height >= 720 else "smpte170m"
        else:  # untagged source: convert back with the matrix the reader used (swscale's default)
            self.matrix = "smpte170m"
        self.tag_matrix = bool(color.matrix) or is_images
        self._cs = {
            "bt709": Colorspace.ITU709, "fcc": Colorspace.FCC, "bt470bg": Colorspace.ITU601,
            "smpte170m": Colorspace.ITU601, "smpte240m": Colorspace.SMPTE240M, "bt2020nc": Colorspace.BT2020,
            "bt2020c": Colorspace.BT2020,
        }.get(self.matrix, Colorspace.ITU601)
        self._interp = Interpolation.AREA | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INP

    def tag(self, cc: Any) -> None:
        """Write colour metadata on an encoder context."""
        if self.is_rgb:
            return
        cc.color_range = self.range
        if self.tag_matrix:
            cc.colorspace = colors.value_of(colors.MATRIX, self.matrix, 2)
        if self.color.primaries:
            cc.color_primaries = colors.value_of(colors.PRIMARIES, self.color.primaries, 2)
        if self.color.transfer:
            cc.color_trc = colors.value_of(colors.TRANSFER, self.color.transfer, 2)

    def convert(self, rgb: np.ndarray) -> Any:
        import av

        rgb = np.ascontiguousarray(rgb)
        vf = av.VideoFrame.from_ndarray(rgb, format="rgb48le" if rgb.dtype == np.uint16 else "rgb24")
        if self.is_rgb:
            return vf.reformat(format=self.pix_fmt)
        if self.pix_fmt in _SITED_FORMATS:
            return _rgb_to_sited_yuv(vf, self.pix_fmt, self._cs, self.range)
        return vf.reformat(format=self.pix_fmt, src_colorspace=self._cs, dst_colorspace=self._cs, src_color_range=2,
                           dst_color_range=self.range, interpolation=self._interp)


def _rate_of(spec: OutputSpec) -> Fraction:
    if spec.rate:
        return Fraction(spec.rate).limit_denominator(1_000_000)
    return Fraction(25)


class VideoWriter:
    """PyAV encoder + muxer writing to a temporary file, renamed into place on close."""

    def __init__(self, target: OutputTarget, *, spec: OutputSpec, source: VideoInfo | None, encode: EncodeConfig,
                 carry_rotation: int = 0) -> None:
        import av

        self.target = target
        self.spec = spec
        self.encode = encode
        self.source = source
        self.frames_written = 0
        self._last_pts: int | None = None
        self._closed = False
        muxer = target.container or "mp4"
        self.codec = choose_codec(encode, muxer, spec.bit_depth)
        if self.codec not in av.codecs_available:
            raise ConfigError(f"encode.codec: encoder {self.codec!r} is not in this PyAV build; "
                              "use encode.backend=ffmpeg to use the system ffmpeg's encoders")
        self.pix_fmt = choose_pix_fmt(encode, self.codec, spec.bit_depth, spec.width, spec.height)
        create_temp(target)
        try:
            self.out = av.open(str(target.temp), mode="w", format=muxer)
        except (av.error.FFmpegError, OSError) as err:
            discard_output(target)
            raise OutputError(f"{target.final}: cannot create output ({err})") from err
        try:
            self.stream = self._add_video_stream(carry_rotation)
            plans = []
            if source is not None and not source.is_image_sequence and (source.audio or source.subtitles):
                with av.open(source.path, mode="r", metadata_errors="replace") as probe_c:
                    plans = plan_aux_streams(probe_c, muxer, audio=encode.audio, subtitles=encode.subtitles,
                                             source_name=source.path)
            self.aux = AuxMuxer(source.path, self.out, plans) if plans else None
        except BaseException:
            self.out.close()
            discard_output(target)
            raise

    def _add_video_stream(self, carry_rotation: int) -> Any:
        import av

        rate = _rate_of(self.spec)
        options = {str(k): str(v) for k, v in self.encode.options.items()}
        if self.encode.crf is not None and self.codec in _CRF_CODECS:
            options.setdefault("crf", str(self.encode.crf))
            if self.codec.startswith("libvpx"):
                options.setdefault("b", "0")
        if self.encode.preset and self.codec in _PRESET_CODECS:
            options.setdefault("preset", str(self.encode.preset))
        if self.codec == "libx265":
            options.setdefault("x265-params", "log-level=error")
        supported = _supported_pix_fmts(self.codec)
        if supported and self.pix_fmt not in supported:
            raise ConfigError(f"encode.pix_fmt: {self.codec} cannot encode {self.pix_fmt}; it takes "
                              f"{', '.join(sorted(supported))}")
        try:
            stream = self.out.add_stream(self.codec, rate=rate, options=options)
        except (av.error.FFmpegError, ValueError) as err:
            raise ConfigError(f"encode.codec: cannot use encoder {self.codec!r} ({err})") from err
        stream.width = self.spec.width
        stream.height = self.spec.height
        try:
            stream.pix_fmt = self.pix_fmt
        except (ValueError, av.error.FFmpegError) as err:
            raise ConfigError(f"encode.pix_fmt: {self.pix_fmt!r} not usable with {self.codec} ({err})") from err
        stream.time_base = self.spec.time_base
        stream.codec_context.time_base = self.spec.time_base
        stream.codec_context.framerate = rate
        if self.encode.threads:
            stream.codec_context.thread_count = self.encode.threads
        stream.thread_type = "AUTO"
        self.converter = RgbToEncoder(self.pix_fmt, source=self.source, height=self.spec.height)
        self.converter.tag(stream.codec_context)
        if carry_rotation:
            stream.set_display_rotation(carry_rotation)
        return stream

    def _to_av_frame(self, frame: Frame) -> Any:
        if frame.rgb is None:
            return _native_to_encoder(frame, self.pix_fmt, self.spec, self.converter)
        h, w = frame.rgb.shape[:2]
        if (w, h) != (self.spec.width, self.spec.height):
            raise ValueError(f"frame {frame.index} is {w}x{h}, the output is {self.spec.width}x{self.spec.height}")
        return self.converter.convert(frame.rgb)

    def write(self, frame: Frame) -> None:
        import av

        if self._last_pts is not None and frame.pts <= self._last_pts:
            raise ValueError(f"frame {frame.index}: pts {frame.pts} not above the previous {self._last_pts}")
        vf = self._to_av_frame(frame)
        pts = frame.pts
        if frame.time_base != self.spec.time_base:
            pts = int(round(frame.pts * frame.time_base / self.spec.time_base))
        vf.pts = pts
        vf.time_base = self.spec.time_base
        self._last_pts = frame.pts
        try:
            packets = self.stream.encode(vf)
        except av.error.FFmpegError as err:
            raise ConfigError(f"encode: {self.codec} refused the settings (codec {self.codec}, pix_fmt "
                              f"{self.pix_fmt}, options {dict(self.stream.codec_context.options)}): "
                              f"{getattr(err, 'strerror', err)}") from err
        self._mux(packets)
        self.frames_written += 1

    def _mux(self, packets: list[Any]) -> None:
        import av

        for packet in packets:
            if self.aux is not None and packet.dts is not None:
                # interleave: first every source packet up to this video packet's time
                self.aux.feed_until(float(packet.dts * Fraction(packet.time_base)))
            try:
                self.out.mux(packet)
            except av.error.FFmpegError as err:
                raise MediaError(self.target.final, f"muxing failed ({err})") from err

    def close(self) -> None:
        """Flush the encoder, copy the remaining audio, finalize and rename into place."""
        if self._closed:
            return
        try:
            self._mux(self.stream.encode(None))
            if self.aux is not None:
                self.aux.feed_until(None)
            self.out.close()
        except BaseException:
            self.abort()
            raise
        finally:
            if self.aux is not None:
                self.aux.close()
        self._closed = True
        finalize_output(self.target, self.frames_written)

    def abort(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self.aux is not None:
                self.aux.close()
            self.out.close()
        except Exception:  # noqa: BLE001 - the partial file is removed below anyway
            pass
        discard_output(self.target)


class ImageSequenceWriter:
    """PNG (or TIFF) frames in a folder: ``frame_000000.png``...; 16-bit when frames are uint16."""

    def __init__(self, target: OutputTarget, *, spec: OutputSpec, image_format: str = "png") -> None:
        self.target = target
        self.spec = spec
        self.ext = ".tif" if image_format in ("tif", "tiff") else ".png"
        self.frames_written = 0
        self._closed = False
        create_temp(target)

    def write(self, frame: Frame) -> None:
        rgb = frame.rgb
        if rgb is None:  # a decoded picture (native mode): to RGB at its own depth
            from vidrestore.io.reader import decoded_to_rgb

            deep = max((c.bits for c in frame.native.format.components), default=8) > 8
            rgb = decoded_to_rgb(frame.native, "rgb48le" if deep else "rgb24")
        write_image(self.target.temp / f"frame_{self.frames_written:06d}{self.ext}", rgb)
        self.frames_written += 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        finalize_output(self.target, self.frames_written)

    def abort(self) -> None:
        self._closed = True
        discard_output(self.target)


class FfmpegWriter:
    """Drive the system ``ffmpeg`` (ffmpeg-python builds the command line).

    Frames are sent as rawvideo inside a NUT stream on ffmpeg's stdin, so every frame keeps its
    pts (VFR survives); audio/subtitles are mapped from the source with ``-c copy`` (or AAC when the
    container cannot hold them). ``-fps_mode passthrough`` stops ffmpeg from duplicating or dropping
    frames.
    """

    def __init__(self, target: OutputTarget, *, spec: OutputSpec, source: VideoInfo | None, encode: EncodeConfig,
                 carry_rotation: int = 0, ffmpeg_bin: str = "ffmpeg") -> None:
        import av
        import ffmpeg  # ffmpeg-python

        self.target = target
        self.spec = spec
        self.frames_written = 0
        self._closed = False
        self._last_pts: int | None = None
        muxer = target.container or "mp4"
        codec = choose_codec(encode, muxer, spec.bit_depth)
        pix_fmt = choose_pix_fmt(encode, codec, spec.bit_depth, spec.width, spec.height)
        video_in = ffmpeg.input("pipe:", format="nut")
        out_kwargs: dict[str, Any] = {"vcodec": codec, "pix_fmt": pix_fmt, "format": muxer, "fps_mode": "passthrough",
                                      "map_metadata": -1}
        if encode.crf is not None and codec in _CRF_CODECS:
            out_kwargs["crf"] = encode.crf
            if codec.startswith("libvpx"):
                out_kwargs["b:v"] = 0
        if encode.preset and codec in _PRESET_CODECS:
            out_kwargs["preset"] = encode.preset
        for k, v in encode.options.items():
            out_kwargs[str(k)] = v
        color = source.color if source is not None else ColorInfo()
        if color.matrix:
            out_kwargs["colorspace"] = color.matrix
        if color.primaries:
            out_kwargs["color_primaries"] = color.primaries
        if color.transfer:
            out_kwargs["color_trc"] = color.transfer
        out_kwargs["color_range"] = color.range or "tv"
        streams = [video_in["v:0"]]
        if source is not None and not source.is_image_sequence and encode.audio != "none" and source.audio:
            src = ffmpeg.input(source.path)
            streams.append(src["a?"])
            with av.open(source.path, metadata_errors="replace") as c:
                plans = plan_aux_streams(c, muxer, audio=encode.audio, subtitles="none", source_name=source.path)
            need_transcode = any(p.action == "transcode" for p in plans)
            out_kwargs["acodec"] = ("libopus" if muxer == "webm" else "aac") if need_transcode else "copy"
        if carry_rotation:
            out_kwargs["metadata:s:v:0"] = f"rotate={carry_rotation}"
        create_temp(target, create=False)
        cmd = ffmpeg.output(*streams, str(target.temp), **out_kwargs).global_args(
            "-hide_banner", "-loglevel", "error", "-nostdin", "-copyts").compile(cmd=ffmpeg_bin)
        log.debug("ffmpeg backend: %s", " ".join(cmd))
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as err:
            raise ConfigError(f"encode.backend=ffmpeg: cannot run {ffmpeg_bin!r} ({err})") from err
        self._stderr: list[bytes] = []
        self._err_thread = threading.Thread(target=self._drain, daemon=True)
        self._err_thread.start()
        # NUT muxer writing rawvideo frames (with their pts) to ffmpeg's stdin.
        self.nut = av.open(self.proc.stdin, mode="w", format="nut")
        # Convert to the encoder's format here, with the same colour handling as the PyAV writer, so
        # ffmpeg does no conversion of its own (its default would site chroma differently).
        self.converter = RgbToEncoder(pix_fmt, source=source, height=spec.height)
        self.raw_fmt = pix_fmt
        # The rate ffmpeg sees sets its encoder time base (1/rate): declare 1/time_base so that every
        # pts survives exactly (ffmpeg 5.1 would otherwise round VFR timestamps to 1/fps).
        self.vstream = self.nut.add_stream("rawvideo", rate=Fraction(1) / spec.time_base)
        self.vstream.width, self.vstream.height = spec.width, spec.height
        self.vstream.pix_fmt = self.raw_fmt
        self.vstream.time_base = spec.time_base
        self.vstream.codec_context.time_base = spec.time_base

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    def write(self, frame: Frame) -> None:
        import av

        if self._last_pts is not None and frame.pts <= self._last_pts:
            raise ValueError(f"frame {frame.index}: pts {frame.pts} not above the previous {self._last_pts}")
        vf = (_native_to_encoder(frame, self.raw_fmt, self.spec, self.converter) if frame.rgb is None
              else self.converter.convert(frame.rgb))
        vf.pts = frame.pts
        vf.time_base = self.spec.time_base
        self._last_pts = frame.pts
        try:
            for packet in self.vstream.encode(vf):
                self.nut.mux(packet)
        except (BrokenPipeError, av.error.FFmpegError, OSError) as err:
            raise MediaError(self.target.final, f"ffmpeg stopped: {self._error_text() or err}") from err
        self.frames_written += 1

    def _error_text(self) -> str:
        self.proc.poll()
        return b" ".join(self._stderr[-5:]).decode(errors="replace").strip()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            for packet in self.vstream.encode(None):
                self.nut.mux(packet)
            self.nut.close()
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            rc = self.proc.wait()
            self._err_thread.join(timeout=5)
        except BaseException:
            self._kill()
            raise
        if rc != 0:
            discard_output(self.target)
            raise MediaError(self.target.final, f"ffmpeg failed (exit {rc}): {self._error_text()}")
        finalize_output(self.target, self.frames_written)

    def _kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001
            pass
        discard_output(self.target)

    def abort(self) -> None:
        if self._closed and not self.target.temp.exists():
            return
        self._closed = True
        try:
            self.nut.close()
        except Exception:  # noqa: BLE001
            pass
        self._kill()


def open_writer(output: str | os.PathLike[str], *, spec: OutputSpec, source: VideoInfo | None,
                encode: EncodeConfig, overwrite: bool = False, inputs: tuple[str, ...] = (),
                carry_rotation: int = 0, image_format: str = "png", sidecar: bool = False) -> FrameWriter:
    """Check OUTPUT (and its config sidecar when the run writes one), lock it and open the right
    writer for it (nothing is left behind on failure)."""
    if inputs == () and source is not None:
        inputs = (source.path,)
    target = prepare_output(output, inputs=inputs, overwrite=overwrite, sidecar=sidecar)
    try:
        return _open_target(target, spec=spec, source=source, encode=encode, carry_rotation=carry_rotation,
                            image_format=image_format)
    except BaseException:
        discard_output(target)
        raise


def _open_target(target: OutputTarget, *, spec: OutputSpec, source: VideoInfo | None, encode: EncodeConfig,
                 carry_rotation: int, image_format: str) -> FrameWriter:
    if target.kind == "images":
        return ImageSequenceWriter(target, spec=spec, image_format=image_format)
    if encode.backend == "ffmpeg":
        return FfmpegWriter(target, spec=spec, source=source, encode=encode, carry_rotation=carry_rotation)
    return VideoWriter(target, spec=spec, source=source, encode=encode, carry_rotation=carry_rotation)


def output_path_for_config(output: str | os.PathLike[str]) -> Path:
    """Where the resolved config of a run is written: ``OUTPUT.vidrestore.yaml`` beside OUTPUT."""
    from vidrestore.io.safety import sibling

    return sibling(output, ".vidrestore.yaml")
