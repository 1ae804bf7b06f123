"""The system ffmpeg as encoder (``encode.backend: ffmpeg``), fed a NUT stream that carries every pts."""

from __future__ import annotations

import logging
import subprocess
import threading
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from vidrestore.errors import ConfigError, MediaError
from vidrestore.io.encoders.convert import RgbToEncoder, _native_to_encoder
from vidrestore.io.encoders.settings import _CRF_CODECS, _PRESET_CODECS, choose_codec, choose_pix_fmt
from vidrestore.io.output import OutputTarget, create_temp, discard_output, finalize_output
from vidrestore.io.remux import plan_aux_streams
from vidrestore.types import ColorInfo, Frame, OutputSpec, VideoInfo

if TYPE_CHECKING:
    from vidrestore.io.config import EncodeConfig

log = logging.getLogger("vidrestore.io.writer")  # the writer's logger, as before the split into encoders

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
