"""Full-reference fidelity metrics: PSNR and SSIM with BasicSR's evaluation conventions.

Conventions (the same as ``basicsr.metrics.calculate_psnr`` / ``calculate_ssim``, which is what
video-restoration papers report, so numbers here can be put beside theirs):

* Images are ``(H, W, 3)`` RGB (or ``(H, W)`` / ``(H, W, 1)`` single channel). uint8 is used as
  is, uint16 is scaled by ``255 / 65535`` and floats are taken to be in ``[0, 1]`` and scaled by
  255: every metric is computed in float64 on a ``0..255`` scale with peak value ``L = 255``.
  BasicSR reads BGR with OpenCV; the channel order changes nothing for RGB metrics, and the
  Y channel below uses RGB weights, so results equal BasicSR's on the same pixels.
* ``crop_border = n`` drops ``n`` pixels on every edge of both images before measuring.
* ``test_y_channel = True`` measures the luma Y of YCbCr in ITU-R BT.601 "studio swing" form
  (MATLAB ``rgb2ycbcr``): ``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` for ``R, G, B`` in
  ``[0, 1]``, so Y lies in ``[16, 235]``; the peak value stays 255.
* PSNR = ``10 log10(255^2 / MSE)`` with the MSE over all pixels and channels; identical
  images give ``inf``.
* SSIM (Wang et al. 2004): an 11x11 Gaussian window with sigma 1.5, ``K1 = 0.01``,
  ``K2 = 0.03``, population (not sample) variances; the SSIM map is kept only where the
  window fits inside the image (5 px from each edge dropped, "valid" filtering); the mean of
  the map is taken per channel, then over channels. This equals scikit-image's
  ``structural_similarity(..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
  data_range=255)``. Identical images give exactly 1.
"""

from __future__ import annotations

import math

import numpy as np

from vidrestore.errors import ShapeError

#: Peak value every metric here works with (images are brought to a 0..255 scale).
PEAK = 255.0
#: BT.601 studio-swing luma weights for R, G, B in [0, 1] (MATLAB rgb2ycbcr), plus the offset.
Y_WEIGHTS = (65.481, 128.553, 24.966)
Y_OFFSET = 16.0

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def to_255(img: np.ndarray) -> np.ndarray:
    """uint8 / uint16 / float-in-[0, 1] image -> float64 on the 0..255 scale (no rounding)."""
    arr = np.asarray(img)
    if arr.dtype == np.uint8:
        return arr.astype(np.float64)
    if arr.dtype == np.uint16:
        return arr.astype(np.float64) * (PEAK / 65535.0)
    if np.issubdtype(arr.dtype, np.floating):
        return arr.astype(np.float64) * PEAK
    raise ValueError(f"expected a uint8, uint16 or float image, got {arr.dtype}")


def rgb_to_y(img255: np.ndarray) -> np.ndarray:
    """RGB ``(H, W, 3)`` on the 0..255 scale -> BT.601 studio-swing Y ``(H, W)`` in [16, 235]."""
    if img255.ndim != 3 or img255.shape[2] != 3:
        raise ShapeError("image", img255.shape, "(H, W, 3) RGB to convert to Y")
    w = np.asarray(Y_WEIGHTS, dtype=np.float64) / PEAK
    return img255 @ w + Y_OFFSET


def _prepare(img: np.ndarray, other: np.ndarray, crop_border: int, test_y_channel: bool) -> tuple[np.ndarray, np.ndarray]:
    """Validate a pair, bring both to float64 0..255 ``(H, W, C)``, Y-convert and crop."""
    a, b = np.asarray(img), np.asarray(other)
    if a.shape != b.shape:
        raise ShapeError("images", b.shape, f"the shape of the first image {tuple(a.shape)}")
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3)):
        raise ShapeError("image", a.shape, "(H, W), (H, W, 1) or (H, W, 3)")
    if crop_border < 0:
        raise ValueError(f"crop_border must be >= 0, got {crop_border}")
    a, b = to_255(a), to_255(b)
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    if test_y_channel:
        if a.shape[2] != 3:
            raise ShapeError("image", a.shape, "(H, W, 3) RGB for test_y_channel")
        a, b = rgb_to_y(a)[..., None], rgb_to_y(b)[..., None]
    if crop_border:
        h, w = a.shape[:2]
        if 2 * crop_border >= min(h, w):
            raise ValueError(f"crop_border {crop_border} leaves nothing of a {w}x{h} image")
        a = a[crop_border:-crop_border, crop_border:-crop_border]
        b = b[crop_border:-crop_border, crop_border:-crop_border]
    return a, b


def psnr(img: np.ndarray, other: np.ndarray, *, crop_border: int = 0, test_y_channel: bool = False) -> float:
    """PSNR in dB between two images of the same shape (BasicSR conventions, see module doc).

    Returns ``inf`` when the images are identical after conversion and cropping.
    """
    a, b = _prepare(img, other, crop_border, test_y_channel)
    mse = float(np.mean((a - b) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(PEAK * PEAK / mse)


def _gaussian_kernel() -> np.ndarray:
    x = np.arange(SSIM_WINDOW, dtype=np.float64) - (SSIM_WINDOW - 1) / 2.0
    k = np.exp(-(x * x) / (2.0 * SSIM_SIGMA * SSIM_SIGMA))
    return k / k.sum()


def _ssim_channel(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of one float64 channel pair (0..255), valid region only."""
    import cv2

    pad = SSIM_WINDOW // 2
    h, w = a.shape
    if h <= 2 * pad or w <= 2 * pad:
        raise ValueError(f"SSIM needs images larger than {SSIM_WINDOW}x{SSIM_WINDOW} after cropping, got {w}x{h}")
    k = _gaussian_kernel()

    def blur(x: np.ndarray) -> np.ndarray:
        # Separable Gaussian; the border mode does not matter because the border is dropped.
        return cv2.sepFilter2D(x, cv2.CV_64F, k, k)[pad:-pad, pad:-pad]

    c1 = (SSIM_K1 * PEAK) ** 2
    c2 = (SSIM_K2 * PEAK) ** 2
    mu_a, mu_b = blur(a), blur(b)
    mu_aa, mu_bb, mu_ab = mu_a * mu_a, mu_b * mu_b, mu_a * mu_b
    var_a = blur(a * a) - mu_aa
    var_b = blur(b * b) - mu_bb
    cov = blur(a * b) - mu_ab
    num = (2.0 * mu_ab + c1) * (2.0 * cov + c2)
    den = (mu_aa + mu_bb + c1) * (var_a + var_b + c2)
    return float(np.mean(num / den))


def ssim(img: np.ndarray, other: np.ndarray, *, crop_border: int = 0, test_y_channel: bool = False) -> float:
    """SSIM in [-1, 1] between two images of the same shape (BasicSR conventions, see module doc).

    Identical images give exactly 1.0.
    """
    a, b = _prepare(img, other, crop_border, test_y_channel)
    if np.array_equal(a, b):
        return 1.0
    values = [_ssim_channel(np.ascontiguousarray(a[..., c]), np.ascontiguousarray(b[..., c])) for c in range(a.shape[2])]
    return float(np.mean(values))
