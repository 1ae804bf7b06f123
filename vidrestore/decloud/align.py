"""Sub-pixel co-registration of dates: phase correlation on clear pixels, and shifting.

Convention: the shift ``(dx, dy)`` of a date is where a pixel of the reference date lies in that
date: ``aligned(x, y) = date(x + dx, y + dy)`` (``flow_t_to_s`` with t = reference, s = date).
:func:`shift_image` applies it; :func:`estimate_shift` measures it.

Why gradients: clouds, shadows and no-data are blanked before correlating, and a blanked area
in the intensity image is a hard edge that would lock the peak at zero shift. In the gradient
magnitude a blanked area is just "no texture", so only the land's own edges correlate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shift:
    dx: float = 0.0
    dy: float = 0.0
    response: float = 0.0  # phase-correlation peak strength of the estimate (0 = not measured)

    @property
    def is_zero(self) -> bool:
        return abs(self.dx) < 1e-3 and abs(self.dy) < 1e-3

    @property
    def magnitude(self) -> float:
        return float(np.hypot(self.dx, self.dy))


def _texture(img: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Gradient magnitude of ``img`` with bad pixels (and their 2-px rim) set to 0, zero-mean on good pixels."""
    import cv2

    work = img.astype(np.float32, copy=True)
    good = ~bad & np.isfinite(work)
    if not good.any():
        return np.zeros_like(work)
    work[~good] = float(np.median(work[good]))
    gx = cv2.Sobel(work, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(work, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.sqrt(gx * gx + gy * gy)
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))
    keep = cv2.erode(good.astype(np.uint8), k).astype(bool)
    if not keep.any():
        return np.zeros_like(work)
    mag -= float(mag[keep].mean())
    mag[~keep] = 0.0
    return mag


def estimate_shift(ref: np.ndarray, mov: np.ndarray, *, ref_bad: np.ndarray | None = None,
                   mov_bad: np.ndarray | None = None, iterations: int = 2) -> Shift:
    """Shift of ``mov`` relative to ``ref`` (2-D arrays of one band), measured on pixels neither marks bad.

    Returns ``Shift(dx, dy, response)`` with ``mov(x + dx, y + dy) ~ ref(x, y)``. Re-estimates the
    remainder after shifting ``mov`` (``iterations``), which removes most of the sub-pixel bias of
    the peak interpolation.
    """
    import cv2

    if ref.shape != mov.shape or ref.ndim != 2:
        raise ValueError(f"estimate_shift: need two 2-D arrays of one shape, got {ref.shape} and {mov.shape}")
    h, w = ref.shape
    if min(h, w) < 16:
        return Shift()
    ref_bad = np.zeros(ref.shape, bool) if ref_bad is None else ref_bad
    mov_bad = np.zeros(mov.shape, bool) if mov_bad is None else mov_bad
    win = cv2.createHanningWindow((w, h), cv2.CV_32F)
    a = _texture(ref, ref_bad)
    dx = dy = 0.0
    response = 0.0
    for _ in range(max(iterations, 1)):
        moved = shift_image(mov, dx, dy) if (dx or dy) else mov
        moved_bad = shift_mask(mov_bad, dx, dy, fill=True) | ~np.isfinite(moved)
        b = _texture(moved, moved_bad)
        if not a.any() or not b.any():
            return Shift()
        (sx, sy), response = cv2.phaseCorrelate(a, b, win)
        # phaseCorrelate reports how far b's content moved relative to a: b(x + s) = a(x)
        dx += float(sx)
        dy += float(sy)
        if abs(sx) < 0.01 and abs(sy) < 0.01:
            break
    return Shift(dx, dy, float(response))


def refine_shift(ref: np.ndarray, mov: np.ndarray, start: Shift, *, ref_bad: np.ndarray | None = None,
                 mov_bad: np.ndarray | None = None, iterations: int = 12, smooth: float = 1.0) -> Shift:
    """Polish a shift to a few hundredths of a pixel by Gauss-Newton (Lucas-Kanade) on good pixels.

    Minimises ``sum w (mov(x + s) - a ref(x) - b)^2`` over the shift ``s`` and a per-chip gain/offset
    ``(a, b)``, with Tukey weights that discount residual outliers (unmasked haze, land change). Both
    images are smoothed by a Gaussian of ``smooth`` px first, which widens the basin of convergence.
    Phase correlation's peak interpolation alone is biased by up to ~0.3 px on masked, cloudy chips.
    Returns ``start`` unchanged when the system is degenerate (no texture) or the step diverges.
    """
    import cv2

    ref_bad = np.zeros(ref.shape, bool) if ref_bad is None else ref_bad
    mov_bad = np.zeros(mov.shape, bool) if mov_bad is None else mov_bad

    def prep(img: np.ndarray, bad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        good = ~bad & np.isfinite(img)
        if not good.any():
            return np.zeros(img.shape, np.float32), good
        work = np.where(good, img, float(np.median(img[good]))).astype(np.float32)
        if smooth > 0:
            work = cv2.GaussianBlur(work, (0, 0), smooth)
        k = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))
        return work, cv2.erode(good.astype(np.uint8), k).astype(bool)

    r_img, r_good = prep(ref, ref_bad)
    m_img, m_good = prep(mov, mov_bad)
    m_good_f = m_good.astype(np.float32)
    dx, dy = start.dx, start.dy
    scale = None
    for _ in range(iterations):
        warped = shift_image(m_img, dx, dy, interpolation="cubic")
        good_w = shift_image(m_good_f, dx, dy) > 0.999
        good = r_good & good_w & np.isfinite(warped)
        if good.sum() < 500:
            return start
        gx = cv2.Sobel(np.nan_to_num(warped), cv2.CV_32F, 1, 0, ksize=3) / 8.0
        gy = cv2.Sobel(np.nan_to_num(warped), cv2.CV_32F, 0, 1, ksize=3) / 8.0
        x, y = r_img[good].astype(np.float64), warped[good].astype(np.float64)
        a = np.cov(x, y, bias=True)[0, 1] / max(float(np.var(x)), 1e-12)
        b = y.mean() - a * x.mean()
        res = y - (a * x + b)
        if scale is None:
            scale = max(4.685 * 1.4826 * float(np.median(np.abs(res - np.median(res)))), 1e-9)
        wts = np.clip(1.0 - (res / scale) ** 2, 0.0, None) ** 2
        gxs, gys = gx[good].astype(np.float64), gy[good].astype(np.float64)
        h11, h12, h22 = (wts * gxs * gxs).sum(), (wts * gxs * gys).sum(), (wts * gys * gys).sum()
        det = h11 * h22 - h12 * h12
        if det <= 1e-12 * max(h11 * h22, 1e-30):
            return start
        g1, g2 = (wts * gxs * res).sum(), (wts * gys * res).sum()
        step_x = -(h22 * g1 - h12 * g2) / det
        step_y = -(h11 * g2 - h12 * g1) / det
        dx += float(step_x)
        dy += float(step_y)
        if np.hypot(dx - start.dx, dy - start.dy) > 2.0:
            return start  # walked away from the phase-correlation peak: keep that
        if abs(step_x) < 1e-3 and abs(step_y) < 1e-3:
            break
    return Shift(dx, dy, start.response)


def correlation_at(ref: np.ndarray, mov: np.ndarray, shift: Shift, *, ref_bad: np.ndarray | None = None,
                   mov_bad: np.ndarray | None = None) -> float:
    """Pearson correlation of ``ref`` and ``mov`` shifted by ``shift`` over pixels good in both (NaN if < 100)."""
    moved = mov if shift.is_zero else shift_image(mov, shift.dx, shift.dy, interpolation="cubic")
    good = np.isfinite(ref) & np.isfinite(moved)
    if ref_bad is not None:
        good &= ~ref_bad
    if mov_bad is not None:
        good &= ~shift_mask(mov_bad, shift.dx, shift.dy, fill=True)
    if good.sum() < 100:
        return float("nan")
    a = ref[good].astype(np.float64)
    b = moved[good].astype(np.float64)
    sa, sb = a.std(), b.std()
    if sa < 1e-12 or sb < 1e-12:
        return float("nan")
    return float(((a - a.mean()) * (b - b.mean())).mean() / (sa * sb))


def combine_shifts(shifts: list[Shift], *, min_response: float) -> Shift:
    """One shift from several chips: response-weighted median of the reliable ones (else zero)."""
    good = [s for s in shifts if s.response >= min_response]
    if not good:
        return Shift()
    w = np.array([s.response for s in good])

    def wmedian(values: np.ndarray) -> float:
        order = np.argsort(values)
        cw = np.cumsum(w[order])
        return float(values[order][np.searchsorted(cw, 0.5 * cw[-1])])

    dx = wmedian(np.array([s.dx for s in good]))
    dy = wmedian(np.array([s.dy for s in good]))
    return Shift(dx, dy, float(np.median(w)))


def shift_image(img: np.ndarray, dx: float, dy: float, *, interpolation: str = "bilinear") -> np.ndarray:
    """``out[..., y, x] = img[..., y + dy, x + dx]`` (float32); outside the array and NaN neighbours give NaN.

    Integer shifts are exact copies; fractional ones interpolate (bilinear or cubic) plane by plane.
    """
    import cv2

    arr = np.asarray(img, np.float32)
    if abs(dx - round(dx)) < 1e-3 and abs(dy - round(dy)) < 1e-3:
        return _shift_int(arr, int(round(dx)), int(round(dy)), np.nan)
    h, w = arr.shape[-2:]
    m = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]], np.float64)
    flag = cv2.INTER_CUBIC if interpolation == "cubic" else cv2.INTER_LINEAR
    planes = arr.reshape(-1, h, w)
    out = np.empty_like(planes)
    for i, p in enumerate(planes):
        out[i] = cv2.warpAffine(p, m, (w, h), flags=flag | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=float("nan"))
    return out.reshape(arr.shape)


def shift_mask(mask: np.ndarray, dx: float, dy: float, *, fill: int | bool) -> np.ndarray:
    """Nearest-neighbour shift of a mask (any dtype): ``out[y, x] = mask[y + round(dy), x + round(dx)]``."""
    return _shift_int(mask, int(round(dx)), int(round(dy)), fill)


def _shift_int(arr: np.ndarray, dx: int, dy: int, fill: float | int | bool) -> np.ndarray:
    if dx == 0 and dy == 0:
        return arr.copy()
    h, w = arr.shape[-2:]
    out = np.full(arr.shape, fill, arr.dtype)
    ys, yd = (slice(dy, h), slice(0, h - dy)) if dy >= 0 else (slice(0, h + dy), slice(-dy, h))
    xs, xd = (slice(dx, w), slice(0, w - dx)) if dx >= 0 else (slice(0, w + dx), slice(-dx, w))
    if abs(dy) < h and abs(dx) < w:
        out[..., yd, xd] = arr[..., ys, xs]
    return out
