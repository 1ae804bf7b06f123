"""Probe a video file or an image-sequence folder into a :class:`~vidrestore.types.VideoInfo`.

The probe decodes the first frame (so an undecodable file fails here, with its name, and not in
the middle of a job) and, for files up to ``COUNT_LIMIT_BYTES``, demuxes the video packets without
decoding them to count frames exactly and to see whether the frame rate varies.
"""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

from vidrestore.errors import MediaError, UnsupportedMediaError
from vidrestore.io import colors
from vidrestore.io.images import ImageSequence, is_image_sequence_dir
from vidrestore.types import ColorInfo, StreamInfo, VideoInfo

log = logging.getLogger(__name__)

COUNT_LIMIT_BYTES = 4 << 30  # demux-count frames of files up to 4 GiB (I/O bound, no decoding)
DEFAULT_SEQUENCE_FPS = Fraction(25)


def parse_rate(text: str | float | int | Fraction | None) -> Fraction | None:
    """``"24000/1001"``, ``"23.976"``, ``24`` -> Fraction (decimal strings are kept exact)."""
    if text is None:
        return None
    try:
        rate = Fraction(str(text)) if not isinstance(text, Fraction) else text
    except (ValueError, ZeroDivisionError) as err:
        raise MediaError("--fps", f"not a frame rate: {text!r}") from err
    if rate <= 0:
        raise MediaError("--fps", f"frame rate must be positive, got {text!r}")
    return rate


def bit_depth_of(pix_fmt: str) -> int:
    """Bits per component of an FFmpeg pixel format name."""
    import av

    try:
        fmt = av.VideoFormat(pix_fmt)
    except (ValueError, TypeError):
        return 8
    depths = [c.bits for c in fmt.components if c.bits]
    return max(depths) if depths else 8


def probe_video(path: str | os.PathLike[str], *, fps: str | float | Fraction | None = None,
                count_frames: bool = True) -> VideoInfo:
    """Describe INPUT (video file or folder of numbered images); raise MediaError when unusable."""
    p = Path(path)
    if not p.exists():
        raise MediaError(p, "no such file or directory")
    if p.is_dir():
        if not is_image_sequence_dir(p):
            raise UnsupportedMediaError(p, "folder holds no numbered images (png, tif/tiff, jpg/jpeg, dpx)")
        return ImageSequence(p, fps=parse_rate(fps) or DEFAULT_SEQUENCE_FPS).info()
    if p.stat().st_size == 0:
        raise MediaError(p, "file is empty")
    if not os.access(p, os.R_OK):
        raise MediaError(p, "file is not readable (permission denied)")
    return _probe_file(p, count_frames=count_frames)


def _open(p: Path) -> Any:
    import av

    try:
        return av.open(str(p), mode="r", metadata_errors="replace")
    except av.error.FFmpegError as err:
        raise MediaError(p, f"not a readable media file ({_ff(err)})") from err
    except (OSError, UnicodeDecodeError) as err:
        raise MediaError(p, f"cannot open ({err})") from err


def _ff(err: Exception) -> str:
    msg = getattr(err, "strerror", None) or str(err)
    return str(msg).split(": '")[0]


def _probe_file(p: Path, *, count_frames: bool) -> VideoInfo:
    container = _open(p)
    try:
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams})
            what = f"only {', '.join(kinds)} streams" if kinds else "no streams"
            raise UnsupportedMediaError(p, f"no video stream ({what})")
        vs = container.streams.video[0]
        cc = vs.codec_context
        if cc is None or cc.codec is None or not cc.name:
            raise UnsupportedMediaError(p, "video codec unknown to FFmpeg: no decoder for this stream")
        if cc.width <= 0 or cc.height <= 0:
            raise UnsupportedMediaError(p, f"video stream ({cc.name}) has no frame size; file damaged?")
        time_base = Fraction(vs.time_base) if vs.time_base else Fraction(1, 90000)
        avg = Fraction(vs.average_rate) if vs.average_rate else None
        real = Fraction(vs.base_rate) if vs.base_rate else None
        pix_fmt = cc.format.name if cc.format is not None else (cc.pix_fmt or "unknown")

        first = _decode_first(container, vs, p)
        rotation = int(getattr(first, "rotation", 0) or 0) % 360
        color = ColorInfo(
            range=colors.name_of(colors.RANGE, first.color_range),
            primaries=colors.name_of(colors.PRIMARIES, first.color_primaries),
            transfer=colors.name_of(colors.TRANSFER, first.color_trc),
            matrix=colors.name_of(colors.MATRIX, first.colorspace),
        )
        pix_fmt = first.format.name or pix_fmt
        streams = tuple(_stream_info(s) for s in container.streams if s.index != vs.index and s.type != "video")
        start = float(vs.start_time * time_base) if vs.start_time is not None else None
        duration = float(vs.duration * time_base) if vs.duration else (
            container.duration / 1_000_000 if container.duration else None)
        video_index = vs.index
        codec = cc.codec.canonical_name if cc.codec is not None else cc.name
        fmt_name = container.format.name
        declared_frames = int(vs.frames or 0)  # read while open: PyAV >= 18.1.1 refuses a closed container's streams
    finally:
        container.close()

    num_frames, exact, is_vfr = _count(p, video_index, avg, count_frames=count_frames, duration=duration,
                                       fallback=declared_frames)
    return VideoInfo(
        path=str(p), container=fmt_name, codec=codec, width=first.width, height=first.height, pix_fmt=pix_fmt,
        bit_depth=bit_depth_of(pix_fmt), avg_rate=avg, real_rate=real, time_base=time_base,
        num_frames=num_frames, num_frames_exact=exact, duration=duration, start_time=start, rotation=rotation,
        color=color, is_vfr=is_vfr, is_image_sequence=False, video_stream_index=video_index, streams=streams,
    )


def _decode_first(container: Any, vs: Any, p: Path) -> Any:
    import av

    try:
        for frame in container.decode(vs):
            return frame
    except av.error.FFmpegError as err:
        raise MediaError(p, f"cannot decode the video stream ({vs.codec_context.name}: {_ff(err)})") from err
    raise MediaError(p, "video stream holds no decodable frame (empty or truncated)")


def _count(p: Path, index: int, avg: Fraction | None, *, count_frames: bool, duration: float | None,
           fallback: int) -> tuple[int | None, bool, bool]:
    """Exact frame count and VFR flag from the packets; else an estimate."""
    import av

    if count_frames and p.stat().st_size <= COUNT_LIMIT_BYTES:
        container = _open(p)
        end = 0.0
        try:
            container.streams.video[index]  # IndexError when the file has no such video stream
            declared = container.duration / 1_000_000 if container.duration else None
            start = container.start_time / 1_000_000 if container.start_time else 0.0
            pts: list[int] = []
            n = 0
            for packet in container.demux():
                if packet.size == 0:
                    continue
                ts = packet.pts if packet.pts is not None else packet.dts
                if ts is not None and packet.time_base is not None:
                    end = max(end, float((ts + (packet.duration or 0)) * packet.time_base))
                if packet.stream.index != index or packet.is_discard:  # other stream / cut by an edit list
                    continue
                n += 1
                if packet.pts is not None:
                    pts.append(packet.pts)
        except av.error.FFmpegError:
            n = 0  # fall through to the estimate; the reader will report the decode problem
        finally:
            container.close()
        if declared is not None and n > 0:
            missing = (start + declared) - end
            if missing > max(0.25, 0.02 * declared):
                raise MediaError(p, f"truncated: the header promises {declared:.2f} s but the data ends at "
                                    f"{end - start:.2f} s")
            lost = int(round(missing * float(avg))) if avg else 0
            if lost >= 1:
                log.warning("%s: truncated: the header promises %.3f s but the data ends at %.3f s; about %d "
                            "frame%s missing at the end (the %d frames present are processed)", p, declared,
                            end - start, lost, "s are" if lost > 1 else " is", n)
        if n > 0:
            pts.sort()
            deltas = {b - a for a, b in zip(pts, pts[1:])}
            deltas.discard(0)
            is_vfr = len(deltas) > 1 and (max(deltas) - min(deltas)) > 1
            return n, True, is_vfr
    if fallback > 0:
        return fallback, False, False
    if duration and avg:
        return int(round(duration * float(avg))), False, False
    return None, False, False


def _stream_info(s: Any) -> StreamInfo:
    cc = s.codec_context
    tb = Fraction(s.time_base) if s.time_base else None
    info: dict[str, Any] = {}
    if s.type == "audio":
        info = {
            "sample_rate": getattr(cc, "sample_rate", None),
            "channels": getattr(cc, "channels", None),
            "layout": getattr(getattr(cc, "layout", None), "name", None),
        }
    return StreamInfo(
        index=s.index, kind=s.type, codec=_canonical(cc),
        language=s.language if hasattr(s, "language") else s.metadata.get("language"),
        time_base=tb, duration=float(s.duration * tb) if (s.duration and tb) else None,
        bit_rate=getattr(cc, "bit_rate", None) or None, **info,
    )


def _canonical(cc: Any) -> str | None:
    if cc is None:
        return None
    codec = getattr(cc, "codec", None)
    return getattr(codec, "canonical_name", None) or cc.name


def info_to_dict(info: VideoInfo) -> dict[str, Any]:
    """JSON-friendly view of a VideoInfo (fractions as strings)."""

    def rate(r: Fraction | None) -> str | None:
        return None if r is None else f"{r.numerator}/{r.denominator}"

    return {
        "path": info.path,
        "container": info.container,
        "video": {
            "index": info.video_stream_index,
            "codec": info.codec,
            "width": info.width,
            "height": info.height,
            "display_width": info.display_size[0],
            "display_height": info.display_size[1],
            "pix_fmt": info.pix_fmt,
            "bit_depth": info.bit_depth,
            "avg_frame_rate": rate(info.avg_rate),
            "avg_fps": float(info.avg_rate) if info.avg_rate else None,
            "real_frame_rate": rate(info.real_rate),
            "time_base": rate(info.time_base),
            "frames": info.num_frames,
            "frames_exact": info.num_frames_exact,
            "duration": info.duration,
            "start_time": info.start_time,
            "rotation": info.rotation,
            "variable_frame_rate": info.is_vfr,
            "color_range": info.color.range,
            "color_primaries": info.color.primaries,
            "color_transfer": info.color.transfer,
            "color_matrix": info.color.matrix,
            "hdr": info.color.is_hdr,
            "image_sequence": info.is_image_sequence,
        },
        "audio": [
            {"index": s.index, "codec": s.codec, "sample_rate": s.sample_rate, "channels": s.channels,
             "layout": s.layout, "language": s.language, "duration": s.duration}
            for s in info.audio
        ],
        "subtitles": [{"index": s.index, "codec": s.codec, "language": s.language} for s in info.subtitles],
        "other": [{"index": s.index, "kind": s.kind, "codec": s.codec} for s in info.streams
                  if s.kind not in ("audio", "subtitle")],
    }
