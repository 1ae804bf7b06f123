"""Deflicker: per-frame (optionally per-region) brightness and contrast toward a smoothed exposure.

Model. Within a shot every frame is the same scene seen through an exposure ``E_t``: an affine map
``I_t = G_t * R + O_t`` of a common reference ``R`` (gain ``G_t``, offset ``O_t``; one pair per
region of a ``grid x grid`` layout). Consecutive frames are related by ``I_{t+1} = a I_t + b``,
measured on *motion-compensated* pixels: frame t+1 is warped onto t with the flow, and only pixels
whose flow passes the forward-backward check are used, so moving objects, occlusions and dirt do
not bias the fit. The pairs are chained (``G_{t+1} = a G_t``, ``O_{t+1} = a O_t + b``) from the
frame being corrected (``G = 1``, ``O = 0``) over the window only (see :class:`ExposureTrack`).

Flicker is the fast part of ``E_t``; fades and exposure changes are the slow part. The target
exposure ``Ê_t`` is a local *linear* fit over time (weighted least squares of ``log G`` and ``O``
in a window of ``+-window`` frames of the same shot, triangular weights). A linear fit reproduces
a linear trend exactly, so a fade passes through while frame-to-frame jitter is averaged out. Near
the ends of a shot the window is one-sided and a fitted slope would extrapolate the jitter, so the
slope is shrunk by its significance (a fade is a slope well above the jitter; see
:func:`_local_linear`). The
correction of frame t maps it from its exposure to the target one:
``I'_t = Ê_t(E_t^{-1}(I_t)) = c I_t + d`` with ``c = Ĝ_t / G_t``, ``d = Ô_t - c O_t``.

Per pair fit (on luma at reduced resolution): gain and offset match the mean and standard
deviation of the block medians of the two frames over the reliable pixels, refitted twice without
the blocks whose residual exceeds three robust sigmas. Flat frames (black of a fade) fall back to a gain from the
means. Regions with too few reliable pixels take the whole-frame values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

#: Gain corrections are kept within these bounds (a frame is never brightened or darkened more).
GAIN_LIMITS = (0.5, 2.0)
_FLAT_STD = 0.01


@dataclass(frozen=True)
class PairFit:
    """``I_s = gain * I_t + offset`` per region ``(grid, grid)``; ``reliable`` False where it is a fallback."""

    gain: np.ndarray
    offset: np.ndarray
    reliable: np.ndarray


def _block_medians(x: np.ndarray, y: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Medians of x and y over the valid pixels of square blocks (about 10 per side) at least half valid."""
    h, w = x.shape
    b = max(2, min(h, w) // 10)
    hb, wb = h // b, w // b
    if hb == 0 or wb == 0:
        return np.zeros(0), np.zeros(0)

    def blocks(a: np.ndarray) -> np.ndarray:
        return a[:hb * b, :wb * b].reshape(hb, b, wb, b).transpose(0, 2, 1, 3).reshape(hb * wb, b * b)

    v = blocks(valid)
    ok = v.sum(1) >= 0.5 * b * b
    xb = np.where(v, blocks(x.astype(np.float64)), np.nan)[ok]
    yb = np.where(v, blocks(y.astype(np.float64)), np.nan)[ok]
    if xb.shape[0] == 0:
        return np.zeros(0), np.zeros(0)
    return np.nanmedian(xb, axis=1), np.nanmedian(yb, axis=1)


def _fit(x: np.ndarray, y: np.ndarray, valid: np.ndarray) -> tuple[float, float, bool]:
    """Robust gain/offset of y on x (``(h, w)`` arrays, ``valid`` the trusted pixels).

    Fitted on block medians, not pixels: the sub-pixel warp smooths fine texture and grain in one
    of the two images, which biases a per-pixel spread (by 6 % on satellite texture), and dirt or a
    scratch (which do not follow the exposure) pull block means; block medians are immune to all
    three. Mean/std matching, refitted twice without blocks off by three robust sigmas.
    """
    xs, ys = _block_medians(x, y, valid)
    if xs.size < 8:
        return 1.0, 0.0, False
    keep = np.ones(xs.size, dtype=bool)
    a, b = 1.0, 0.0
    for _ in range(3):
        xk, yk = xs[keep], ys[keep]
        if xk.size < 8:
            break
        sx, sy = float(xk.std()), float(yk.std())
        mx, my = float(xk.mean()), float(yk.mean())
        if sx < _FLAT_STD or sy < _FLAT_STD:  # no spread to tell gain from offset: a gain from the means
            a = my / mx if mx > 1e-3 else 1.0
            b = 0.0 if mx > 1e-3 else my - mx
        else:
            a = sy / sx
            b = my - a * mx
        r = ys - (a * xs + b)
        med = float(np.median(r[keep]))
        sigma = 1.4826 * float(np.median(np.abs(r[keep] - med)))
        keep = np.abs(r - med) <= max(3.0 * sigma, 0.005)
    return a, b, float(keep.mean()) >= 0.5


def fit_pair(lum_t: np.ndarray, lum_s_on_t: np.ndarray, valid: np.ndarray, *, grid: int = 1) -> PairFit:
    """Gain/offset from frame t to frame s per region.

    ``lum_t`` and ``lum_s_on_t`` are ``(h, w)`` luma of t and of s warped onto t (low resolution is
    enough); ``valid`` ``(h, w)`` bool marks the pixels whose alignment is trusted.
    """
    if lum_t.shape != lum_s_on_t.shape or lum_t.shape != valid.shape:
        raise ValueError(f"fit_pair: shapes differ: {lum_t.shape}, {lum_s_on_t.shape}, {valid.shape}")
    ga, gb, gok = _fit(lum_t, lum_s_on_t, valid)
    if not gok:  # not one scene under one exposure change (dissolve, failed flow): match the means
        mx, my = float(lum_t.mean()), float(lum_s_on_t.mean())
        ga, gb = (my / mx, 0.0) if mx > 1e-3 else (1.0, my - mx)
    gain = np.full((grid, grid), ga)
    offset = np.full((grid, grid), gb)
    reliable = np.full((grid, grid), gok)
    if grid > 1:
        h, w = lum_t.shape
        ys = np.linspace(0, h, grid + 1).round().astype(int)
        xs = np.linspace(0, w, grid + 1).round().astype(int)
        for i in range(grid):
            for j in range(grid):
                sl = (slice(ys[i], ys[i + 1]), slice(xs[j], xs[j + 1]))
                a, b, ok = _fit(lum_t[sl], lum_s_on_t[sl], valid[sl])
                if ok:
                    gain[i, j], offset[i, j] = a, b
                reliable[i, j] = ok and gok
    return PairFit(gain=gain, offset=offset, reliable=reliable)


class ExposureTrack:
    """Relative exposures of the frames of a stream, shot by shot, and their smoothed targets.

    Bounded memory: the correction of frame t reads only the pair fits of the frames
    ``t - window .. t + window`` of its shot. The exposures of that window are chained from t
    itself (t is the reference: ``G_t = 1``, ``O_t = 0``; forward ``G_k = a_k G_{k-1}``,
    ``O_k = a_k O_{k-1} + b_k``, backward the inverse map), never from the first frame of the shot,
    so a segment fed ``window`` frames of context reproduces the correction of an uninterrupted run
    exactly. Chaining from the shot's first frame gives the same gain correction (the local fit of
    ``log G`` moves with a constant) and an offset that differs at second order in the gain jitter;
    over a long shot that chain is a random walk of products, which the window bounds.
    """

    def __init__(self, *, window: int, grid: int = 1) -> None:
        if window < 0:
            raise ValueError(f"deflicker window must be >= 0, got {window}")
        self.window = int(window)
        self.grid = int(grid)
        self._pair: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # k -> (a, b): I_k = a I_{k-1} + b
        self._shot: dict[int, int] = {}

    def start_shot(self, index: int) -> None:
        """Frame ``index`` begins a shot: nothing before it is chained to it."""
        self._shot[index] = index

    def push(self, index: int, fit: PairFit) -> None:
        """Frame ``index`` follows ``index - 1`` in the same shot, related by ``fit`` (t = index - 1, s = index)."""
        prev = index - 1
        if prev not in self._shot:
            raise KeyError(f"exposure of frame {prev} unknown: push frames in order")
        self._pair[index] = (fit.gain.clip(*GAIN_LIMITS), fit.offset)
        self._shot[index] = self._shot[prev]

    def __contains__(self, index: int) -> bool:
        return index in self._shot

    def _same(self, k: int, shot: int) -> bool:
        return self._shot.get(k) == shot

    def exposures(self, index: int) -> tuple[list[int], list[np.ndarray], list[np.ndarray]]:
        """Offsets ``k - index``, gains and offsets of the known frames of the shot within the window,
        relative to frame ``index`` (whose gain is 1 and offset 0)."""
        shot = self._shot[index]
        one, zero = np.ones((self.grid, self.grid)), np.zeros((self.grid, self.grid))
        ts, gains, offs = [0], [one], [zero]
        g, o = one, zero
        for k in range(index + 1, index + self.window + 1):
            if not self._same(k, shot):
                break
            a, b = self._pair[k]
            g, o = a * g, a * o + b
            ts.append(k - index)
            gains.append(g)
            offs.append(o)
        g, o = one, zero
        for k in range(index - 1, index - self.window - 1, -1):
            if not self._same(k, shot):
                break
            a, b = self._pair[k + 1]  # I_{k+1} = a I_k + b
            g, o = g / a, (o - b) / a
            ts.insert(0, k - index)
            gains.insert(0, g)
            offs.insert(0, o)
        return ts, gains, offs

    def target(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Smoothed ``(Ĝ, Ô)`` of frame ``index``, relative to its own exposure, from its window."""
        ts, gains, offs = self.exposures(index)
        t = np.asarray(ts, dtype=np.float64)[:, None, None]
        w = (self.window + 1.0 - np.abs(t))
        lg = np.stack([np.log(np.maximum(g, 1e-6)) for g in gains])
        return np.exp(_local_linear(t, w, lg)), _local_linear(t, w, np.stack(offs))

    def correction(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """``(c, d)`` per region: the corrected frame is ``c * I + d``."""
        tg, to = self.target(index)
        c = tg.clip(*GAIN_LIMITS)  # the frame's own exposure is (1, 0)
        return c, to

    def evict(self, before: int) -> None:
        for store in (self._pair, self._shot):
            for k in [k for k in store if k < before]:
                del store[k]


def _local_linear(t: np.ndarray, w: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Value at t = 0 of a weighted line through ``(t, y)`` whose slope is shrunk by its significance.

    The slope is multiplied by ``b^2 / (b^2 + se^2)`` (``se`` its standard error from the weighted
    residuals): a real fade (a slope well above the jitter) is kept, while the spurious slope random
    flicker produces is mostly removed. In the middle of a symmetric window the slope does not
    matter; at the ends of a shot it would otherwise extrapolate the jitter. Fewer than 4 points
    give the weighted mean.
    """
    s0 = w.sum(0)
    t_bar = (w * t).sum(0) / s0
    y_bar = (w * y).sum(0) / s0
    n = t.shape[0]
    if n < 4:
        return y_bar
    dt = t - t_bar
    stt = (w * dt * dt).sum(0)
    slope = (w * dt * (y - y_bar)).sum(0) / np.maximum(stt, 1e-12)
    resid = y - (y_bar + slope * dt)
    var = (w * resid * resid).sum(0) / s0 * n / (n - 2)
    se2 = var / np.maximum(stt, 1e-12)
    shrink = slope * slope / np.maximum(slope * slope + se2, 1e-18)
    return y_bar - shrink * slope * t_bar


def apply_correction(frame: torch.Tensor, c: np.ndarray, d: np.ndarray) -> torch.Tensor:
    """``(1, 3, H, W)`` -> ``c * frame + d`` with the region maps bilinearly interpolated, clipped to [0, 1]."""
    import torch
    import torch.nn.functional as F

    h, w = frame.shape[-2:]
    if c.size == 1:
        return (frame * float(c.flat[0]) + float(d.flat[0])).clamp_(0.0, 1.0)
    maps = torch.from_numpy(np.stack([c, d]).astype(np.float32))[None].to(frame.device)
    maps = F.interpolate(maps, size=(h, w), mode="bilinear", align_corners=False)
    return (frame * maps[:, 0:1] + maps[:, 1:2]).clamp_(0.0, 1.0)


def downscale_factor(height: int, width: int, target: int = 128) -> int:
    """Integer factor that brings the longer side near ``target`` px for the pair fits."""
    return max(1, int(math.floor(max(height, width) / target)))


def identity_fit(grid: int) -> PairFit:
    """The fit of a pair that is not measured (deflicker off): the same exposure."""
    return PairFit(gain=np.ones((grid, grid)), offset=np.zeros((grid, grid)), reliable=np.ones((grid, grid), bool))


def measure_pair(a: torch.Tensor, b: torch.Tensor, fwd: torch.Tensor, bwd: torch.Tensor, *,
                 occlusion_threshold: float, grid: int) -> PairFit:
    """:func:`fit_pair` of frames ``a`` and ``b`` (``(1, 3, H, W)``, as scanned) with the flows between them
    (``(2, H, W)`` each way), at about 128 px: ``b`` warped onto ``a``, reliable and unclipped pixels only."""
    import torch.nn.functional as F

    from vidrestore.film.align import fb_confidence
    from vidrestore.film.ops import box_blur, luma
    from vidrestore.flow import backward_warp, resize_flow

    h, w = a.shape[-2:]
    f = downscale_factor(h, w)
    size = (max(8, h // f), max(8, w // f))
    # a 3x3 mean on both, so the bilinear warp's extra smoothing of b is negligible (it biases
    # block medians of skewed texture by 1-3 % otherwise)
    ya = box_blur(F.interpolate(luma(a), size=size, mode="area"), 3)
    yb = box_blur(F.interpolate(luma(b), size=size, mode="area"), 3)
    fwd = resize_flow(fwd[None], size)
    bwd = resize_flow(bwd[None], size)
    conf = fb_confidence(fwd, bwd, threshold=occlusion_threshold / f + 0.25)
    yb_on_a = backward_warp(yb, fwd)
    # clipped pixels (black or white in any channel) do not follow the exposure: leave them out
    clip_a = F.interpolate(_clipped(a), size=size, mode="area")
    clip_b = backward_warp(F.interpolate(_clipped(b), size=size, mode="area"), fwd)
    valid = ((conf >= 0.5) & (clip_a < 0.02) & (clip_b < 0.02))[0, 0].cpu().numpy()
    return fit_pair(ya[0, 0].cpu().numpy(), yb_on_a[0, 0].cpu().numpy(), valid, grid=grid)


def _clipped(x: torch.Tensor) -> torch.Tensor:
    """``(1, 1, H, W)`` float: 1 where any channel is within 1 % of black or white."""
    return ((x.amax(1, keepdim=True) >= 0.99) | (x.amin(1, keepdim=True) <= 0.01)).float()
