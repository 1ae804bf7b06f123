"""The default encoder: PyAV encodes and muxes, the source's audio and subtitles are copied beside."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

from vidrestore.errors import ConfigError, MediaError, OutputError
from vidrestore.io.encoders.convert import RgbToEncoder, _native_to_encoder
from vidrestore.io.encoders.settings import (
    _CRF_CODECS,
    _PRESET_CODECS,
    _supported_pix_fmts,
    choose_codec,
    choose_pix_fmt,
)
from vidrestore.io.output import OutputTarget, create_temp, discard_output, finalize_output
from vidrestore.io.remux import AuxMuxer, plan_aux_streams
from vidrestore.types import Frame, OutputSpec, VideoInfo

if TYPE_CHECKING:
    from vidrestore.io.config import EncodeConfig

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
