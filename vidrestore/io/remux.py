"""Audio and subtitle streams from the source into the output, bit-exactly where possible.

Packets are copied one by one (``packet.stream = out_stream; out.mux(packet)``) and interleaved
with the video by time. Only when the output container cannot hold a codec (Vorbis or PCM in MP4,
MP3 in WebM, ...) is audio transcoded (AAC, or Opus for WebM), with a warning saying so.
Subtitles a container cannot hold are dropped with a warning (Matroska holds them all).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from vidrestore.errors import MediaError

log = logging.getLogger(__name__)

# What each muxer takes by stream copy (canonical codec names). Matroska and NUT take everything.
_AUDIO_OK = {
    "mp4": {"aac", "mp3", "ac3", "eac3", "opus", "flac", "alac", "mp2", "dts", "truehd"},
    "mov": {"aac", "mp3", "ac3", "eac3", "alac", "mp2", "pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_s24be",
            "pcm_s32le", "pcm_f32le", "pcm_u8", "flac", "opus"},
    "webm": {"opus", "vorbis"},
    "avi": {"mp3", "ac3", "pcm_s16le", "pcm_u8", "mp2", "aac"},
}
_SUBS_OK = {
    "mp4": {"mov_text"},
    "mov": {"mov_text"},
    "webm": {"webvtt"},
    "avi": set(),
}
_TRANSCODE_TO = {"mp4": "aac", "mov": "aac", "webm": "libopus", "avi": "mp3"}


@dataclass(frozen=True)
class AuxPlan:
    source_index: int
    kind: str  # audio | subtitle
    action: str  # copy | transcode
    codec: str | None  # source codec
    target_codec: str | None = None  # for transcode


def plan_aux_streams(container: Any, muxer: str, *, audio: str, subtitles: str, source_name: str) -> list[AuxPlan]:
    """Decide, per source audio/subtitle stream, copy / transcode / drop (drops are logged)."""
    plans: list[AuxPlan] = []
    for s in container.streams:
        if s.type not in ("audio", "subtitle"):
            continue
        codec = _canonical(s)
        if s.type == "audio":
            if audio == "none":
                continue
            ok = muxer in ("matroska", "nut") or codec in _AUDIO_OK.get(muxer, set())
            if audio == "copy" and ok:
                plans.append(AuxPlan(s.index, "audio", "copy", codec))
            else:
                target = "aac" if audio == "aac" and muxer != "webm" else _TRANSCODE_TO.get(muxer, "aac")
                if audio == "copy":
                    log.warning("%s: audio stream %d (%s) cannot be copied into %s; transcoding it to %s",
                                source_name, s.index, codec, muxer, target.replace("lib", ""))
                plans.append(AuxPlan(s.index, "audio", "transcode", codec, target))
        else:
            if subtitles == "none":
                continue
            ok = muxer in ("matroska", "nut") or codec in _SUBS_OK.get(muxer, set())
            if ok:
                plans.append(AuxPlan(s.index, "subtitle", "copy", codec))
            else:
                log.warning("%s: subtitle stream %d (%s) cannot be stored in %s and is left out; "
                            "write .mkv to keep it", source_name, s.index, codec, muxer)
    return plans


def _canonical(stream: Any) -> str | None:
    cc = stream.codec_context
    codec = getattr(cc, "codec", None) if cc is not None else None
    return getattr(codec, "canonical_name", None) or (cc.name if cc is not None else None)


class AuxMuxer:
    """Feeds the planned source streams into an output container, in time order, on demand."""

    def __init__(self, source_path: str, out: Any, plans: list[AuxPlan]) -> None:
        import av

        self.source_path = source_path
        self.plans = {p.source_index: p for p in plans}
        self.out = out
        self.packets_copied = 0
        self.packets_written = 0
        self._src = av.open(source_path, mode="r", metadata_errors="replace") if plans else None
        self._out_streams: dict[int, Any] = {}
        self._transcoders: dict[int, _AudioTranscoder] = {}
        if self._src is None:
            self._iter: Iterator[Any] | None = None
            return
        for idx, plan in self.plans.items():
            s = self._src.streams[idx]
            if plan.action == "copy":
                self._out_streams[idx] = out.add_stream_from_template(s)
            else:
                tc = _AudioTranscoder(s, out, plan.target_codec or "aac")
                self._transcoders[idx] = tc
                self._out_streams[idx] = tc.out_stream
        self._iter = self._src.demux([self._src.streams[i] for i in self.plans])
        self._pending: Any = None
        self._done = False

    @property
    def has_streams(self) -> bool:
        return bool(self.plans)

    def feed_until(self, t: float | None) -> None:
        """Mux source packets whose time is <= ``t`` seconds (all remaining when ``t`` is None)."""
        if self._iter is None or self._done:
            return
        import av

        try:
            while True:
                packet = self._pending if self._pending is not None else next(self._iter, None)
                self._pending = None
                if packet is None:
                    self._finish()
                    return
                if packet.size == 0:  # the demuxer's flush packet
                    continue
                ts = packet.dts if packet.dts is not None else packet.pts
                if t is not None and ts is not None and packet.time_base is not None:
                    if float(ts * Fraction(packet.time_base)) > t:
                        self._pending = packet
                        return
                self._mux(packet)
        except av.error.FFmpegError as err:
            raise MediaError(self.source_path, f"cannot copy audio/subtitle packets ({err})") from err

    def _mux(self, packet: Any) -> None:
        idx = packet.stream.index
        if idx in self._transcoders:
            for out_packet in self._transcoders[idx].encode(packet):
                self.out.mux(out_packet)
                self.packets_written += 1
            return
        if packet.dts is None and packet.pts is None:
            return
        packet.stream = self._out_streams[idx]
        self.out.mux(packet)
        self.packets_copied += 1
        self.packets_written += 1

    def _finish(self) -> None:
        for tc in self._transcoders.values():
            for out_packet in tc.flush():
                self.out.mux(out_packet)
                self.packets_written += 1
        self._done = True

    def close(self) -> None:
        if self._src is not None:
            self._src.close()
            self._src = None


class _AudioTranscoder:
    """Decode -> resample -> encode one audio stream (only when a copy is impossible)."""

    def __init__(self, src_stream: Any, out: Any, codec: str) -> None:
        import av

        cc = src_stream.codec_context
        rate = cc.sample_rate or 48000
        if codec == "libopus" and rate not in (8000, 12000, 16000, 24000, 48000):
            rate = 48000
        layout = cc.layout.name if cc.layout is not None else "stereo"
        self.out_stream = out.add_stream(codec, rate=rate, layout=layout)
        if codec == "aac":
            self.out_stream.codec_context.bit_rate = max(128_000, int(cc.bit_rate or 0))
        self.out_stream.time_base = Fraction(1, rate)
        self.decoder = av.CodecContext.create(cc.codec.name, "r")
        if cc.extradata:
            self.decoder.extradata = cc.extradata
        self.decoder.sample_rate = cc.sample_rate
        self.decoder.layout = cc.layout
        self.src_tb = Fraction(src_stream.time_base)
        fmt = self.out_stream.codec_context.codec.audio_formats[0].name
        self._resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate,
                                            frame_size=self.out_stream.codec_context.frame_size or None)

    def encode(self, packet: Any) -> Iterator[Any]:
        for frame in self.decoder.decode(packet):
            frame.pts = None  # let the resampler/encoder lay samples end to end
            for rf in self._resampler.resample(frame):
                yield from self.out_stream.encode(rf)

    def flush(self) -> Iterator[Any]:
        for frame in self.decoder.decode(None):
            frame.pts = None
            for rf in self._resampler.resample(frame):
                yield from self.out_stream.encode(rf)
        for rf in self._resampler.resample(None):
            yield from self.out_stream.encode(rf)
        yield from self.out_stream.encode(None)
