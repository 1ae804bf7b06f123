"""RGB frames (or decoded pictures) to an encoder's pixel format, keeping the source's colour."""

from __future__ import annotations

from typing import Any

import numpy as np

from vidrestore.io import colors
from vidrestore.types import ColorInfo, Frame, OutputSpec, VideoInfo

_SITED_FORMATS = {"yuv420p", "yuv422p", "yuv420p10le"}


def _subsample_left(c: np.ndarray, vertical: bool) -> np.ndarray:
    """Chroma subsampling for MPEG-2/H.264 "left" siting (the default encoders declare).

    Horizontally the chroma sample is co-sited with the even luma column: taps [1, 2, 1] / 4.
    Vertically (4:2:0) it sits between two luma rows: taps [1, 1] / 2. Integer arithmetic with
    rounding. swscale's own 4:2:0 conversion sites chroma at the centre, which shifts colour by
    half a pixel against what the stream declares: a decoder that honours the declared siting would
    put every colour edge of our output in the wrong place.
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

    # No resampling happens in an RGB -> 4:4:4 conversion, so swscale's fast path loses nothing to
    # ACCURATE_RND here and is cheaper.
    exact = Interpolation.BILINEAR
    if pix_fmt == "yuv420p10le":
        # swscale's fast path is not exact at 16 bits (its rounding shows in a round trip): keep ACCURATE_RND
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
