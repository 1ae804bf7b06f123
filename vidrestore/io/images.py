"""Folders of numbered images (PNG, TIFF 8/16-bit, JPEG, DPX) as a frame source and as an output.

Frames are ordered by the last number in the file name (``reel_0009.tif`` before ``reel_0010.tif``).
A folder mixing image types, or with an image of another size, is refused with the file named.
16-bit images stay 16-bit; DPX (10/12/16-bit) is decoded through FFmpeg's dpx decoder.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from vidrestore.errors import MediaError, UnsupportedMediaError
from vidrestore.types import ColorInfo, Frame, VideoInfo

log = logging.getLogger(__name__)

IMAGE_EXTS = {".png": "png", ".tif": "tiff", ".tiff": "tiff", ".jpg": "jpeg", ".jpeg": "jpeg", ".dpx": "dpx"}
_NUM = re.compile(r"(\d+)")


def _sort_key(p: Path) -> tuple[str, int, str]:
    nums = _NUM.findall(p.stem)
    if not nums:
        return (p.stem, -1, p.name)
    last = nums[-1]
    prefix = p.stem[: p.stem.rfind(last)]
    return (prefix, int(last), p.name)


def list_images(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS and not p.name.startswith(".")]


def is_image_sequence_dir(folder: Path) -> bool:
    return folder.is_dir() and bool(list_images(folder))


def read_image(path: Path) -> np.ndarray:
    """Read one image as RGB ``(H, W, 3)`` uint8 or uint16."""
    kind = IMAGE_EXTS.get(path.suffix.lower())
    if kind == "dpx":
        return _read_with_ffmpeg(path)
    import cv2

    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise MediaError(path, f"cannot decode {kind} image (corrupt or truncated)")
    if img.dtype not in (np.uint8, np.uint16):
        if img.dtype == np.float32:
            img = np.clip(np.rint(img * 65535.0), 0, 65535).astype(np.uint16)
        else:
            raise UnsupportedMediaError(path, f"unsupported sample type {img.dtype} (8/16-bit integer or float images)")
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    elif img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    else:
        raise UnsupportedMediaError(path, f"unsupported channel count {img.shape[2]}")
    return np.ascontiguousarray(img)


def _read_with_ffmpeg(path: Path) -> np.ndarray:
    import av

    try:
        with av.open(str(path)) as c:
            frame = next(c.decode(video=0))
            depth = max((comp.bits for comp in frame.format.components), default=8)
            return frame.to_ndarray(format="rgb48le" if depth > 8 else "rgb24")
    except (av.error.FFmpegError, StopIteration, OSError) as err:
        raise MediaError(path, f"cannot decode image ({err})") from err


class ImageSequence:
    """A folder of numbered images read in order."""

    def __init__(self, folder: Path, *, fps: Fraction) -> None:
        self.folder = Path(folder)
        files = sorted(list_images(self.folder), key=_sort_key)
        if not files:
            raise UnsupportedMediaError(self.folder, "folder holds no numbered images")
        kinds = {IMAGE_EXTS[p.suffix.lower()] for p in files}
        if len(kinds) > 1:
            raise UnsupportedMediaError(self.folder, f"folder mixes image types ({', '.join(sorted(kinds))}); "
                                        "keep one type per sequence")
        prefixes = {_sort_key(p)[0] for p in files}
        if len(prefixes) > 1:
            sample = ", ".join(sorted(prefixes)[:3])
            raise UnsupportedMediaError(self.folder, f"folder mixes image sequences with different names ({sample})")
        if any(_sort_key(p)[1] < 0 for p in files) and len(files) > 1:
            odd = next(p for p in files if _sort_key(p)[1] < 0)
            raise UnsupportedMediaError(odd, "image without a frame number in a sequence folder")
        self.files = files
        self.kind = kinds.pop()
        self.fps = fps
        first = read_image(files[0])
        self.height, self.width = first.shape[:2]
        self.dtype = first.dtype
        self._first = first

    @property
    def time_base(self) -> Fraction:
        return 1 / self.fps

    def info(self) -> VideoInfo:
        return VideoInfo(
            path=str(self.folder), container="image2", codec=self.kind, width=self.width, height=self.height,
            pix_fmt="rgb48le" if self.dtype == np.uint16 else "rgb24", bit_depth=16 if self.dtype == np.uint16 else 8,
            avg_rate=self.fps, real_rate=self.fps, time_base=self.time_base, num_frames=len(self.files),
            num_frames_exact=True, duration=float(len(self.files) / self.fps), start_time=0.0, rotation=0,
            color=ColorInfo(range="pc"), is_vfr=False, is_image_sequence=True, video_stream_index=0, streams=(),
        )

    def __len__(self) -> int:
        return len(self.files)

    def frames(self) -> Iterator[Frame]:
        for i, path in enumerate(self.files):
            rgb = self._first if i == 0 else read_image(path)
            if rgb.shape[:2] != (self.height, self.width):
                raise MediaError(path, f"image is {rgb.shape[1]}x{rgb.shape[0]}, the sequence is "
                                       f"{self.width}x{self.height}")
            if rgb.dtype != self.dtype:
                raise MediaError(path, f"image has {rgb.dtype} samples, the sequence has {self.dtype}")
            yield Frame(index=i, pts=i, time_base=self.time_base, rgb=rgb, duration=1)
        self._first = None  # type: ignore[assignment]


def write_image(path: Path, rgb: np.ndarray) -> None:
    """Write RGB uint8/uint16 as PNG or TIFF (by extension), losslessly."""
    import cv2

    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    ext = path.suffix.lower()
    params: list[int] = []
    if ext == ".png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, 3]
    ok, buf = cv2.imencode(ext, bgr, params)
    if not ok:
        raise MediaError(path, "cannot encode image")
    from vidrestore.io.safety import open_new

    # a new name in a folder of this run (O_EXCL | O_NOFOLLOW); a full disk raises ENOSPC
    with os.fdopen(open_new(path), "wb") as fh:
        fh.write(buf.tobytes())
