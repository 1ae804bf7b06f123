"""Frame-accurate reading of any frame range, as one uninterrupted read would deliver it.

:func:`build_frame_table` demuxes the video packets once (no decoding) for every frame's pts and
the keyframes. :func:`read_range` then gives frames ``[a, b)`` with the same ``index``, ``pts``,
``time_base`` and pixels as :class:`vidrestore.io.reader.FrameReader` gives them in a full pass:
it seeks to the last keyframe at or before frame ``a``, decodes, and drops what comes before ``a``.
Every decoded frame's pts is checked against the table; where a file does not allow that (missing
or repeated pts, the decord backend) the range is read by decoding from the start instead.
Image sequences are read directly by file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

from vidrestore.errors import MediaError
from vidrestore.io.config import IOConfig
from vidrestore.io.reader import FrameReader, decoded_to_rgb, rotate_rgb
from vidrestore.jobs.plan import FrameTable
from vidrestore.types import Frame, VideoInfo

log = logging.getLogger(__name__)


class _SeekMiss(Exception):
    """The demuxer did not land where the table says (handled by reading from the start)."""


def build_frame_table(info: VideoInfo) -> FrameTable:
    """Every frame's pts and the keyframes, from the packets of the video stream."""
    if info.is_image_sequence:
        n = int(info.num_frames or 0)
        return FrameTable(count=n, time_base=info.time_base, pts=tuple(range(n)), keyframes=tuple(range(n)),
                          seekable=True)
    import av

    path = Path(info.path)
    try:
        container = av.open(str(path), mode="r", metadata_errors="replace")
    except av.error.FFmpegError as err:
        raise MediaError(path, f"cannot open ({err})") from err
    entries: list[tuple[int | None, bool]] = []
    try:
        vs = container.streams.video[0]
        for packet in container.demux(vs):
            if packet.size == 0 or packet.is_discard:
                continue
            entries.append((packet.pts, bool(packet.is_keyframe)))
    except av.error.FFmpegError as err:
        raise MediaError(path, f"cannot read the packets ({err})") from err
    finally:
        container.close()
    seekable = bool(entries) and all(p is not None for p, _ in entries)
    pts_sorted = sorted(int(p) for p, _ in entries if p is not None)
    if seekable and any(b <= a for a, b in zip(pts_sorted, pts_sorted[1:])):
        seekable = False
    if not seekable:
        log.info("%s: packets lack distinct timestamps; segments are read by decoding from the start", path)
        return FrameTable(count=len(entries), time_base=info.time_base, pts=(), keyframes=(0,), seekable=False)
    position = {p: i for i, p in enumerate(pts_sorted)}
    keys = sorted(position[int(p)] for p, k in entries if k and p is not None)
    if not keys or keys[0] != 0:
        keys = [0] + keys
    return FrameTable(count=len(pts_sorted), time_base=info.time_base, pts=tuple(pts_sorted),
                      keyframes=tuple(keys), seekable=True)


def read_range(info: VideoInfo, table: FrameTable, a: int, b: int, *, io_cfg: IOConfig | None = None,
               native: bool = False) -> Iterator[Frame]:
    """Frames ``[a, b)`` (``b`` clipped to the video), exactly as a full read gives them."""
    io_cfg = io_cfg or IOConfig()
    b = min(b, table.count) if table.count else b
    if a >= b:
        return
    if info.is_image_sequence:
        yield from _read_images(info, io_cfg, a, b)
        return
    if table.seekable and io_cfg.reader == "pyav" and a > 0:
        try:
            yield from _read_seeking(info, table, io_cfg, a, b, native=native)
            return
        except _SeekMiss as miss:
            log.warning("%s: seeking to frame %d failed (%s); decoding from the start instead", info.path, a, miss)
    yield from _read_sequential(info, io_cfg, a, b, native=native)


def _read_sequential(info: VideoInfo, io_cfg: IOConfig, a: int, b: int, *, native: bool) -> Iterator[Frame]:
    reader = FrameReader(info.path, io_cfg, info)
    reader.native = native
    try:
        for frame in reader:
            if frame.index >= b:
                break
            if frame.index >= a:
                yield frame
    finally:
        reader.close()


def _read_images(info: VideoInfo, io_cfg: IOConfig, a: int, b: int) -> Iterator[Frame]:
    from vidrestore.io.images import ImageSequence, read_image
    from vidrestore.io.probe import DEFAULT_SEQUENCE_FPS, parse_rate

    seq = ImageSequence(Path(info.path), fps=parse_rate(io_cfg.fps) or DEFAULT_SEQUENCE_FPS)
    if len(seq) != table_count(info):
        raise MediaError(info.path, f"the folder now holds {len(seq)} images, the job was planned for "
                                    f"{table_count(info)}")
    for i in range(a, b):
        path = seq.files[i]
        rgb = read_image(path)
        if rgb.shape[:2] != (seq.height, seq.width):
            raise MediaError(path, f"image is {rgb.shape[1]}x{rgb.shape[0]}, the sequence is {seq.width}x{seq.height}")
        if rgb.dtype != seq.dtype:
            raise MediaError(path, f"image has {rgb.dtype} samples, the sequence has {seq.dtype}")
        yield Frame(index=i, pts=i, time_base=seq.time_base, rgb=rgb, duration=1)


def table_count(info: VideoInfo) -> int:
    return int(info.num_frames or 0)


def _read_seeking(info: VideoInfo, table: FrameTable, io_cfg: IOConfig, a: int, b: int, *,
                  native: bool) -> Iterator[Frame]:
    """Seek to the keyframe before ``a`` and decode; every frame's pts is checked against the table."""
    import av

    rotation = info.rotation if io_cfg.apply_rotation else 0
    out_fmt = "rgb48le" if info.is_high_bit_depth else "rgb24"
    key = table.keyframe_at_or_before(a)
    container = av.open(info.path, mode="r", metadata_errors="replace")
    try:
        vs = container.streams.video[0]
        vs.thread_type = "AUTO"
        if io_cfg.threads:
            vs.codec_context.thread_count = io_cfg.threads
        if key > 0:
            container.seek(table.pts[key], stream=vs, backward=True, any_frame=False)
        expected = a
        yielded = 0
        for decoded in container.decode(vs):
            if decoded.pts is None:
                if yielded:
                    raise MediaError(info.path, f"frame {expected} has no pts after seeking")
                raise _SeekMiss("a decoded frame has no pts")
            index = table.index_of_pts(int(decoded.pts))
            if index is None:
                if yielded:
                    raise MediaError(info.path, f"decoded a frame (pts {decoded.pts}) that its packets do not list")
                continue  # a leading picture of an open GOP: not part of the range
            if index < a:
                continue
            if index != expected:
                if yielded == 0:
                    raise _SeekMiss(f"decoding resumed at frame {index}, not {a}")
                raise MediaError(info.path, f"frame {expected} is missing after seeking (got frame {index})")
            if native and rotation == 0:
                frame = Frame(index=index, pts=int(decoded.pts), time_base=info.time_base, rgb=None, native=decoded)
            else:
                rgb = rotate_rgb(decoded_to_rgb(decoded, out_fmt), rotation)
                frame = Frame(index=index, pts=int(decoded.pts), time_base=info.time_base, rgb=rgb)
            yield frame
            yielded += 1
            expected += 1
            if expected >= b:
                return
        if expected < b:
            raise MediaError(info.path, f"truncated or corrupt: decoding stopped at frame {expected} of {b}")
    except av.error.FFmpegError as err:
        raise MediaError(info.path, f"decoding frames {a}..{b - 1} failed ({err})") from err
    finally:
        container.close()


def frame_time(frame: Frame) -> Fraction:
    """Presentation time of a frame in seconds, exactly."""
    return Fraction(frame.pts) * Fraction(frame.time_base)


def scan_scene_cuts(info: VideoInfo, *, threshold: float, io_cfg: IOConfig | None = None,
                    size: tuple[int, int] = (128, 72)) -> list[int]:
    """Frame indices that start a new shot (:class:`vidrestore.flow.scenecut.SceneCutDetector`).

    Decodes every frame once, scaled straight to a ``size`` thumbnail by the decoder's scaler (the
    detector only looks at 64x36 thumbnails), so it costs a fraction of a full-size read.
    """
    from vidrestore.flow.scenecut import SceneCutDetector

    detector = SceneCutDetector(threshold=threshold)
    if info.is_image_sequence:
        import cv2

        table = build_frame_table(info)
        for frame in read_range(info, table, 0, table.count, io_cfg=io_cfg):
            detector.push(cv2.resize(frame.rgb, size, interpolation=cv2.INTER_AREA))
        return list(detector.cuts)
    import av

    try:
        with av.open(info.path, mode="r", metadata_errors="replace") as container:
            vs = container.streams.video[0]
            vs.thread_type = "AUTO"
            for decoded in container.decode(vs):
                detector.push(decoded.reformat(width=size[0], height=size[1], format="rgb24").to_ndarray())
    except av.error.FFmpegError as err:
        raise MediaError(info.path, f"decoding failed while looking for scene cuts ({err})") from err
    return list(detector.cuts)
