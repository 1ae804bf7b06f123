"""Join finished parts into the output: video packets by stream copy, audio once from the source.

Video: the parts' packets are copied in order into one stream (no re-encoding: the parts were made
with the output's encoder and settings, and must agree on codec, size, pixel format and codec
headers, which is checked). Timestamps are the source's, so they only need rescaling to the
output's time base (rounded as FFmpeg rounds, so a joined file has the pts a one-pass write
would have). Where a part's first decode timestamps (B-frame delay) fall at or before the previous
part's last one, they are raised just enough to keep dts strictly increasing (never above pts).
Audio and subtitles are remuxed from the source exactly as a one-pass write does
(:class:`vidrestore.io.remux.AuxMuxer`: packet copy, bit-exact, interleaved by time).

Image sequences: the parts' images are linked (or copied) into the output folder, numbered on.
Either way the output appears under its final name only when complete.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from vidrestore.errors import MediaError, VidrestoreError
from vidrestore.io.config import EncodeConfig
from vidrestore.io.output import OutputTarget, commit_output, create_temp, discard_output
from vidrestore.types import VideoInfo

log = logging.getLogger(__name__)


class JoinError(VidrestoreError):
    """Parts that cannot be joined by stream copy (they disagree on codec settings)."""


@dataclass(frozen=True)
class JoinStats:
    frames: int
    packets: int
    aux_packets: int
    dts_raised: int


def rescale(value: int, src: Fraction, dst: Fraction) -> int:
    """``value * src / dst`` rounded to nearest, halves away from zero (FFmpeg's AV_ROUND_NEAR_INF)."""
    x = Fraction(value) * src / dst
    if x >= 0:
        return int((x + Fraction(1, 2)).__floor__())
    return -int((-x + Fraction(1, 2)).__floor__())


def _stream_signature(stream: Any) -> tuple[Any, ...]:
    cc = stream.codec_context
    fmt = cc.format.name if cc.format is not None else None
    return (cc.name, cc.width, cc.height, fmt, bytes(cc.extradata or b""))


def part_timestamps(path: Path) -> tuple[Fraction, list[int | None], list[int | None]]:
    """Time base, pts and dts of the video packets of a part, with the missing dts filled in.

    NUT stores no dts: its demuxer derives them from the reordering, except for the first
    packets of a stream with B-frames (the decoder delay). Those get the dts a one-pass encode
    gives them: the first pts minus one frame interval per packet still to come before it.
    """
    import av

    with av.open(str(path), mode="r") as c:
        vs = c.streams.video[0]
        tb = Fraction(vs.time_base)
        stamps = [(p.pts, p.dts) for p in c.demux(vs) if p.size]
    pts = [p for p, _ in stamps]
    dts = [d for _, d in stamps]
    lead = next((i for i, d in enumerate(dts) if d is not None), len(dts))
    if lead:
        known = sorted(p for p in pts if p is not None)
        if not known:
            raise JoinError(f"{path}: packets without timestamps; cannot join")
        gaps = [b - a for a, b in zip(known, known[1:]) if b > a]
        step = min(gaps) if gaps else 1
        for i in range(lead):
            dts[i] = known[0] - (lead - i) * step
    for i in range(1, len(dts)):
        if dts[i] is None:
            dts[i] = dts[i - 1] + 1  # type: ignore[operator]
    return tb, pts, dts


def join_video(parts: Sequence[Path], target: OutputTarget, *, source: VideoInfo, encode: EncodeConfig,
               time_base: Fraction, first_times: Sequence[Fraction], carry_rotation: int = 0) -> JoinStats:
    """Copy the parts' video packets, then the source's audio/subtitles, into ``target`` and commit it.

    ``time_base`` is the processor's output time base (what a one-pass write gives the encoder): the
    output stream is declared with it, so the muxer picks the same time base as in a one-pass write.
    ``first_times`` are the presentation times (s) of each part's first frame as the worker wrote it:
    a muxer that moved a part's timestamps (NUT keeps dts non-negative by shifting the whole part)
    is undone with them, so every frame keeps its source time exactly.
    """
    if len(first_times) != len(parts):
        raise ValueError(f"{len(parts)} parts but {len(first_times)} first times")
    import av

    from vidrestore.io.remux import AuxMuxer, plan_aux_streams

    if not parts:
        raise JoinError(f"{target.final}: no part to join")
    muxer = target.container or "mp4"
    create_temp(target)
    try:
        out = av.open(str(target.temp), mode="w", format=muxer)
    except (av.error.FFmpegError, OSError) as err:
        discard_output(target)
        raise MediaError(target.final, f"cannot create output ({err})") from err
    aux = None
    frames = packets = raised = 0
    try:
        with av.open(str(parts[0]), mode="r") as first:
            template = first.streams.video[0]
            signature = _stream_signature(template)
            out_v = out.add_stream_from_template(template)
            out_v.time_base = time_base
        if carry_rotation:
            out_v.set_display_rotation(carry_rotation)
        if not source.is_image_sequence and (source.audio or source.subtitles):
            with av.open(source.path, mode="r", metadata_errors="replace") as probe_c:
                plans = plan_aux_streams(probe_c, muxer, audio=encode.audio, subtitles=encode.subtitles,
                                         source_name=source.path)
            aux = AuxMuxer(source.path, out, plans) if plans else None
        out.start_encoding()
        out_tb = Fraction(out_v.time_base)
        last_dts: int | None = None
        for part, first_time in zip(parts, first_times):
            with av.open(str(part), mode="r") as c:
                vs = c.streams.video[0]
                if _stream_signature(vs) != signature:
                    raise JoinError(f"{part}: codec settings differ from the first part's "
                                    f"({_stream_signature(vs)[:4]} vs {signature[:4]}); cannot join by stream copy")
                part_tb, part_pts, part_dts = part_timestamps(part)
                shift = _shift_of(part, part_tb, part_pts, first_time)
                k = 0
                for packet in c.demux(vs):
                    if packet.size == 0:
                        continue
                    raw_pts, raw_dts = part_pts[k], part_dts[k]
                    raw_pts = raw_pts - shift if raw_pts is not None else None
                    raw_dts = raw_dts - shift if raw_dts is not None else None
                    k += 1
                    pts = rescale(raw_pts, part_tb, out_tb) if raw_pts is not None else None
                    dts = rescale(raw_dts, part_tb, out_tb) if raw_dts is not None else None
                    if dts is not None and last_dts is not None and dts <= last_dts:
                        dts = last_dts + 1
                        raised += 1
                        if pts is not None and dts > pts:
                            raise JoinError(f"{part}: decode timestamps cannot be kept increasing at the join "
                                            f"(pts {pts}); write the output in one pass (jobs.mode=direct)")
                    if dts is not None:
                        last_dts = dts
                    packet.pts, packet.dts = pts, dts
                    if packet.duration:
                        packet.duration = rescale(packet.duration, part_tb, out_tb)
                    packet.time_base = out_tb
                    packet.stream = out_v
                    if aux is not None:
                        ts = dts if dts is not None else pts
                        if ts is not None:
                            aux.feed_until(float(ts * out_tb))
                    out.mux(packet)
                    packets += 1
                    frames += 1
        if aux is not None:
            aux.feed_until(None)
        aux_packets = aux.packets_written if aux is not None else 0
        out.close()
    except BaseException:
        try:
            out.close()
        except Exception:  # noqa: BLE001 - the partial file is removed below anyway
            pass
        discard_output(target)
        raise
    finally:
        if aux is not None:
            aux.close()
    if raised:
        log.debug("joined %d parts: %d decode timestamps raised at part borders", len(parts), raised)
    commit_output(target)
    return JoinStats(frames=frames, packets=packets, aux_packets=aux_packets, dts_raised=raised)


def _shift_of(part: Path, tb: Fraction, pts: Sequence[int | None], first_time: Fraction) -> int:
    """How far (in ``tb`` units) the part's muxer moved its timestamps from the times written."""
    known = [p for p in pts if p is not None]
    if not known:
        raise JoinError(f"{part}: packets without timestamps; cannot join")
    offset = (Fraction(min(known)) * tb - Fraction(first_time)) / tb
    if offset.denominator != 1:
        raise JoinError(f"{part}: timestamps moved by a fraction of the time base {tb} ({float(offset):.3f}); "
                        "cannot restore them exactly")
    if offset:
        log.debug("%s: the muxer moved timestamps by %d x %s; moved back", part.name, int(offset), tb)
    return int(offset)


def join_images(parts: Sequence[Path], target: OutputTarget) -> JoinStats:
    """Link (or copy) the parts' images into the output folder as ``frame_000000.png``..."""
    create_temp(target)
    n = 0
    try:
        for part in parts:
            for src in sorted(p for p in part.iterdir() if p.is_file() and not p.name.startswith(".")):
                dst = target.temp / f"frame_{n:06d}{src.suffix}"
                try:
                    os.link(src, dst)
                except OSError:
                    shutil.copy2(src, dst)
                n += 1
    except BaseException:
        discard_output(target)
        raise
    if n == 0:
        discard_output(target)
        raise MediaError(target.final, "no frame was written; output not created")
    commit_output(target)
    return JoinStats(frames=n, packets=n, aux_packets=0, dts_raised=0)
