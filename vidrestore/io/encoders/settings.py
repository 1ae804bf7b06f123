"""Which codec and pixel format an output gets, from ``encode.*`` and what the frames are."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vidrestore.io.config import EncodeConfig

log = logging.getLogger("vidrestore.io.writer")  # the writer's logger, as before the split into encoders

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
