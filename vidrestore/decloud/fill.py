"""Filling cloudy pixels of one date from the temporally nearest clear observations of others.

For a target date, every pixel to fill takes, on each side in time (before/after), the
``sources_per_side`` nearest dates that see it clear. Each source is radiometrically matched to
the target band by band before it is borrowed:

``global``
    ``y = a x + b`` fitted (robustly) on pixels clear in both dates over the whole scene;
``local``
    the global line plus the mean residual of the pixels clear in both dates in a ``(2r+1)^2``
    window around each pixel, shrunk towards 0 when the window holds few of them (weight
    ``n / (n + prior)``). Near a cloud edge this follows field-by-field change that a single line
    cannot. Pixels within ``rim`` px of a cloud/shadow are not used: undetected haze lives there;
``none``
    the source value as is.

Matched predictions are averaged with weights ``1 / |days|`` (linear interpolation in time when one
source lies on each side). Conventions: arrays are ``(B, H, W)`` float32 reflectance with NaN where
invalid; ``clear`` masks are bool ``(H, W)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from vidrestore.decloud.config import DecloudFill

MIN_DAYS = 1.0 / 24.0  # two acquisitions an hour apart still weigh finitely


@dataclass(frozen=True)
class FillParams:
    sources_per_side: int = 1
    max_days: float = 0.0  # 0 = no limit
    regression: str = "local"  # local | global | none
    regression_radius: int = 10
    prior: float = 20.0  # pixels' worth of trust in the global line
    rim: int = 3  # px next to any cloud/shadow left out of the regression (undetected haze lives there)

    @classmethod
    def from_section(cls, fill: DecloudFill) -> FillParams:
        """The one place filling reads the config (``decloud.fill.*``); ``prior`` and ``rim`` are the
        algorithm's own constants, not knobs."""
        return cls(sources_per_side=fill.sources_per_side, max_days=fill.max_days, regression=fill.regression,
                   regression_radius=fill.regression_radius)


@dataclass
class Source:
    """A date that may lend pixels to the target, in the target's pixel grid."""

    index: int  # date index in the series
    days: float  # source date - target date, in days
    clear: Callable[[slice, slice], np.ndarray]  # lazily: (h, w) bool, valid and clear in the target grid,
    #                                            rows/cols of the fill region
    values: Callable[[slice, slice], np.ndarray]  # lazily: (B, h, w) float32 reflectance in the target grid,
    #                                               rows/cols of the fill region
    fit: Callable[[], np.ndarray | None]  # lazily: (B, 2) global (gain, offset) source -> target


@dataclass
class FillResult:
    values: np.ndarray  # (B, H, W) float32, NaN where nothing filled
    source: np.ndarray  # (H, W) int32: date index of the source with the largest weight, -1 if none
    sides: np.ndarray  # (H, W) uint8: 0 none, 1 one side in time, 2 both sides


def _box(a: np.ndarray, r: int) -> np.ndarray:
    import cv2

    return cv2.boxFilter(a, cv2.CV_32F, (2 * r + 1, 2 * r + 1), normalize=False, borderType=cv2.BORDER_CONSTANT)


def match_band(x: np.ndarray, y: np.ndarray, both: np.ndarray, gain: float, offset: float, *,
               radius: int, prior: float, local: bool) -> np.ndarray:
    """Source band ``x`` mapped onto target band ``y`` (2-D); ``both`` = pixels trusted in both dates.

    Global line ``gain x + offset``, plus (``local``) the mean residual ``y - (gain x + offset)`` of
    the trusted pixels in the window around each pixel, shrunk by ``n / (n + prior)``. Only the
    offset is local: a local slope fitted on noisy, resampled pixels is biased towards 0 and would
    wash out texture.
    """
    glob = (gain * x + offset).astype(np.float32)
    if not local or radius <= 0:
        return glob
    w = (both & np.isfinite(x) & np.isfinite(y)).astype(np.float32)
    if not w.any():
        return glob
    res = np.where(w > 0, y - glob, 0.0).astype(np.float32)
    n = _box(w, radius)
    s = _box(res, radius)
    return (glob + s / (n + prior)).astype(np.float32)


def match_source(src: np.ndarray, target: np.ndarray, both: np.ndarray, fit: np.ndarray | None,
                 params: FillParams) -> np.ndarray:
    """All bands of ``src`` (B, H, W) mapped onto ``target``."""
    if params.regression == "none":
        return src.astype(np.float32, copy=True)
    out = np.empty(src.shape, np.float32)
    for k in range(src.shape[0]):
        gain, offset = (1.0, 0.0) if fit is None else (float(fit[k, 0]), float(fit[k, 1]))
        out[k] = match_band(src[k], target[k], both, gain, offset, radius=params.regression_radius,
                            prior=params.prior, local=params.regression == "local")
    return out


def _erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """Clear pixels at least ``radius`` px from any non-clear pixel (image edges do not count)."""
    import cv2

    if radius <= 0 or mask.all():
        return mask
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.erode(mask.astype(np.uint8), k, borderType=cv2.BORDER_REPLICATE).astype(bool)


def _bbox(mask: np.ndarray, margin: int) -> tuple[slice, slice]:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape
    return (slice(max(rows[0] - margin, 0), min(rows[-1] + margin + 1, h)),
            slice(max(cols[0] - margin, 0), min(cols[-1] + margin + 1, w)))


def _offset(outer: slice, inner: slice) -> slice:
    return slice(outer.start + inner.start, outer.start + inner.stop)


def _grow(sl: slice, margin: int, size: int) -> slice:
    return slice(max(sl.start - margin, 0), min(sl.stop + margin, size))


def temporal_fill(target: np.ndarray, target_clear: np.ndarray, need: np.ndarray, sources: list[Source],
                  params: FillParams) -> FillResult:
    """Fill ``need`` pixels of ``target`` (B, H, W) from ``sources`` (any order).

    Each side walks its sources nearest first and stops once every pixel has its
    ``sources_per_side``; work is confined to the bounding box of the pixels still open.
    """
    b, h, w = target.shape
    num = np.zeros((b, h, w), np.float32)
    den = np.zeros((h, w), np.float32)
    best_w = np.zeros((h, w), np.float32)
    best = np.full((h, w), -1, np.int32)
    sides = np.zeros((h, w), np.uint8)
    k = params.sources_per_side
    local = params.regression == "local"
    margin = params.regression_radius if local else 0
    trusted = _erode(target_clear, params.rim) if local else target_clear
    before = sorted((s for s in sources if s.days <= 0), key=lambda s: -s.days)
    after = sorted((s for s in sources if s.days > 0), key=lambda s: s.days)
    for side in (before, after):
        if not need.any():
            break
        found = np.zeros((h, w), np.uint8)
        r, c = _bbox(need, 0)
        for src in side:
            if params.max_days and abs(src.days) > params.max_days:
                break
            open_ = need[r, c] & (found[r, c] < k)
            if not open_.any():
                break
            sub = _bbox(open_, 0)  # shrink the region to what is still open
            r, c = _offset(r, sub[0]), _offset(c, sub[1])
            avail = open_[sub] & src.clear(r, c)
            if not avail.any():
                continue
            a = _bbox(avail, 0)
            ar, ac = _offset(r, a[0]), _offset(c, a[1])
            rs, cs = _grow(ar, margin, h), _grow(ac, margin, w)
            av = np.zeros((rs.stop - rs.start, cs.stop - cs.start), bool)
            av[ar.start - rs.start:ar.stop - rs.start, ac.start - cs.start:ac.stop - cs.start] = avail[a]
            values = src.values(rs, cs)
            both = trusted[rs, cs] & _erode(src.clear(rs, cs), params.rim) if local else av
            pred = match_source(values, target[:, rs, cs], both, src.fit(), params)
            ok = av & np.isfinite(pred).all(axis=0)
            wgt = np.float32(1.0 / max(abs(src.days), MIN_DAYS))
            num[:, rs, cs] += np.where(ok, pred * wgt, 0.0)
            den[rs, cs] += np.where(ok, wgt, 0.0)
            found[rs, cs] += ok.astype(np.uint8)
            sub_best = best_w[rs, cs]
            better = ok & (wgt > sub_best)
            sub_best[better] = wgt
            best[rs, cs][better] = src.index
        sides += (found > 0).astype(np.uint8)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(den > 0, num / np.maximum(den, 1e-30), np.nan).astype(np.float32)
    return FillResult(values=values, source=best, sides=sides)
