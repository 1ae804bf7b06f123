"""Cloud/shadow mask classes and the decoding of user mask files.

Every mask inside the decloud engine is a ``uint8`` array of classes: :data:`CLEAR` (0),
:data:`CLOUD` (1), :data:`SHADOW` (2) and :data:`NODATA` (255). The same coding is written to
``<stem>_mask.tif``.

Mask files come in the conventions of common products; the values that mean cloud, shadow and
no data are configurable (``cloud_values`` / ``shadow_values`` / ``invalid_values``) with these
defaults:

=============  =============================================  ========  =========
mask_type      cloud                                          shadow    no data
=============  =============================================  ========  =========
binary         any non-zero value                             -         -
s2cloudless    probability >= probability_threshold (float    -         -
               0..1, uint8 0..255, other integers 0..100)
scl            8, 9, 10 (Sentinel-2 L2A: cloud medium/high,   3         0, 1
               thin cirrus)
fmask          4                                              2         255
qa_pixel       Landsat Collection 2 QA_PIXEL bit flags: cloud     bit 4 or  bit 0
               (bit 3), dilated cloud (bit 1), cirrus (bit 2),    shadow    (fill)
               or cloud confidence (bits 8-9) >= qa_confidence    conf.
cmask          255 (CBERS-4/4A cloud mask of INPE/Brazil Data     -         0
               Cube: 0 no data, 127 clear, 255 cloud)
values         cloud_values (required)                        shadow_v  invalid_v
=============  =============================================  ========  =========

``qa_pixel`` confidences are 1 low, 2 medium, 3 high; USGS sets "low" on most clear pixels, so the
default threshold is medium. ``cloud_values``/``shadow_values`` do not apply to it (bit flags).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidrestore.errors import ConfigError
from vidrestore.sections import choice

CLEAR = 0
CLOUD = 1
SHADOW = 2
NODATA = 255

_DEFAULTS: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = {
    "binary": ((), (), ()),
    "s2cloudless": ((), (), ()),
    "scl": ((8, 9, 10), (3,), (0, 1)),
    "fmask": ((4,), (2,), (255,)),
    "qa_pixel": ((), (), ()),
    "cmask": ((255,), (), (0,)),
    "values": ((), (), ()),
}


@dataclass(frozen=True)
class MaskSpec:
    """How to turn the values of a mask file into :data:`CLEAR`/:data:`CLOUD`/:data:`SHADOW`/:data:`NODATA`."""

    kind: str  # binary | s2cloudless | scl | fmask | values
    cloud_values: tuple[int, ...] = ()
    shadow_values: tuple[int, ...] = ()
    invalid_values: tuple[int, ...] = ()
    probability_threshold: float = 0.4
    qa_confidence: int = 2  # qa_pixel: 1 low, 2 medium, 3 high

    def describe(self) -> str:
        if self.kind == "qa_pixel":
            return f"Landsat C2 QA_PIXEL bits (cloud/shadow flags, confidence >= {self.qa_confidence})"
        if self.kind == "s2cloudless":
            return f"s2cloudless probability >= {self.probability_threshold:g}"
        if self.kind == "binary" and not self.cloud_values:
            return "binary (non-zero = cloud)"
        return (f"{self.kind} (cloud {list(self.cloud_values)}, shadow {list(self.shadow_values)}, "
                f"no data {list(self.invalid_values)})")


def guess_mask_type(path: Path, dtype: str) -> str:
    """Mask convention from the file name (SCL, Fmask, CLP/probability, CLM) or, failing that, the dtype."""
    name = path.name.lower()
    if "qa_pixel" in name or "qa-pixel" in name:
        return "qa_pixel"
    if "cmask" in name:
        return "cmask"
    if "scl" in name:
        return "scl"
    if "fmask" in name:
        return "fmask"
    if "clp" in name or "prob" in name or "s2cloudless" in name:
        return "s2cloudless"
    if np.dtype(dtype).kind == "f":
        return "s2cloudless"
    return "binary"


def make_mask_spec(
    kind: str,
    *,
    cloud_values: tuple[int, ...] = (),
    shadow_values: tuple[int, ...] = (),
    invalid_values: tuple[int, ...] = (),
    probability_threshold: float = 0.4,
    qa_confidence: str | int = "medium",
) -> MaskSpec:
    """A :class:`MaskSpec` with the type's defaults for the value lists left empty."""
    choice("decloud.mask_type", kind, _DEFAULTS)
    d_cloud, d_shadow, d_invalid = _DEFAULTS[kind]
    if kind == "values" and not cloud_values:
        raise ConfigError("decloud.mask_type: 'values' needs decloud.cloud_values (e.g. --set decloud.cloud_values=[4])")
    return MaskSpec(
        kind=kind,
        cloud_values=tuple(cloud_values) or d_cloud,
        shadow_values=tuple(shadow_values) or d_shadow,
        invalid_values=tuple(invalid_values) or d_invalid,
        probability_threshold=probability_threshold,
        qa_confidence=QA_LEVELS[qa_confidence] if isinstance(qa_confidence, str) else int(qa_confidence),
    )


QA_LEVELS = {"low": 1, "medium": 2, "high": 3}


def decode_qa_pixel(v: np.ndarray, level: int) -> np.ndarray:
    """Classes of Landsat Collection 2 QA_PIXEL values (uint16 bit flags, see the table above)."""
    q = v.astype(np.uint32)
    out = np.zeros(q.shape, np.uint8)
    bit = lambda n: ((q >> n) & 1).astype(bool)  # noqa: E731
    conf = lambda n: (q >> n) & 3  # noqa: E731
    shadow = bit(4) | (conf(10) >= level)
    cloud = bit(3) | bit(1) | bit(2) | (conf(8) >= level) | (conf(14) >= max(level, 3))
    out[shadow] = SHADOW
    out[cloud] = CLOUD
    out[bit(0)] = NODATA
    return out


def probability_scale(dtype: np.dtype) -> float:
    """Value that means probability 1 in an s2cloudless mask of this dtype."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return 1.0
    if dtype == np.uint8:
        return 255.0
    return 100.0


def decode_mask(values: np.ndarray, spec: MaskSpec, *, file_dtype: np.dtype | None = None) -> np.ndarray:
    """Classes (uint8, same shape) of a mask file's values. NaN values (outside the file) are NODATA.

    ``file_dtype`` is the dtype of the file (``values`` may have been read as float to carry NaN).
    """
    dtype = np.dtype(file_dtype if file_dtype is not None else values.dtype)
    out = np.zeros(values.shape, np.uint8)
    outside = np.isnan(values) if values.dtype.kind == "f" else np.zeros(values.shape, bool)
    v = np.where(outside, 0, values)
    if spec.kind == "qa_pixel":
        out = decode_qa_pixel(v, spec.qa_confidence)
        out[outside] = NODATA
        return out
    if spec.kind == "s2cloudless":
        prob = v.astype(np.float32) / np.float32(probability_scale(dtype))
        out[prob >= spec.probability_threshold] = CLOUD
    elif spec.kind == "binary" and not spec.cloud_values:
        out[v != 0] = CLOUD
    else:
        out[np.isin(v, spec.cloud_values)] = CLOUD
    if spec.shadow_values:
        out[np.isin(v, spec.shadow_values) & (out == CLEAR)] = SHADOW
    if spec.invalid_values:
        out[np.isin(v, spec.invalid_values)] = NODATA
    out[outside] = NODATA
    return out


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation of a bool mask by a disc of ``radius`` pixels."""
    if radius <= 0 or not mask.any():
        return mask.copy()
    import cv2

    if radius <= 3:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        return cv2.dilate(mask.astype(np.uint8), k).astype(bool)
    # large discs: a distance transform costs the same for any radius
    dist = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5)
    return dist <= radius


def buffer_classes(classes: np.ndarray, radius: int) -> np.ndarray:
    """Grow CLOUD and SHADOW by ``radius`` px into CLEAR pixels (cloud wins where both reach)."""
    if radius <= 0:
        return classes
    out = classes.copy()
    clear = classes == CLEAR
    shadow = dilate(classes == SHADOW, radius)
    cloud = dilate(classes == CLOUD, radius)
    out[clear & shadow] = SHADOW
    out[clear & cloud] = CLOUD
    return out
