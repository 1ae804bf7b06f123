"""Cloud and shadow detection from the bands of a co-registered stack of dates.

Inputs are reflectances (pixel value / ``reflectance_scale``) of shape ``(T, B, H, W)``, float32, NaN
where invalid, already radiometrically normalised to a common background (see
:func:`fit_normalisation`). ``roles`` maps ``blue``/``green``/``red``/``nir``/``swir1`` to band indices.

Tests, in the spirit of ACCA/Fmask and its multi-temporal variant (Tmask):

* spectral (one date): bright (mean visible reflectance), white (flat visible spectrum, Fmask's
  whiteness index) and hazy (haze-optimised transform ``blue - 0.5 red``) pixels are cloud candidates;
* temporal (needs ``min_dates_temporal`` valid dates): the per-pixel background is the median of the
  dates that are not candidates; a cloud is a transient brightening of every visible band (blue at
  least half as much as red) above ``temporal_threshold``; a shadow is a transient darkening by more
  than ``shadow_threshold`` (relative) within ``shadow_search`` px of a cloud of the same date.
  Bright surfaces that are bright on every date (snow-free sand, roofs, a persistent cloud bank)
  are therefore not transient and not flagged where the temporal test applies;
* masks are grown by ``buffer`` px (:func:`~vidrestore.decloud.masks.buffer_classes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from vidrestore.decloud.masks import CLEAR, CLOUD, NODATA, SHADOW, buffer_classes, dilate

if TYPE_CHECKING:
    from vidrestore.decloud.config import DecloudConfig

VISIBLE = ("blue", "green", "red")
REGISTRATION_TOLERANCE = 0  # px: residual misregistration/resampling blur the temporal test forgives


@dataclass(frozen=True)
class DetectParams:
    """Detection thresholds (reflectance units; distances in px). Built from ``DecloudConfig``."""

    brightness_threshold: float = 0.25
    whiteness_threshold: float = 0.7
    hot_threshold: float = 0.08
    temporal_threshold: float = 0.04
    shadow_threshold: float = 0.2
    shadow_search: int = 40
    min_dates_temporal: int = 3
    buffer: int = 2
    detector: str = "spectral"  # spectral | csmask | s2cloudless (already resolved from auto)
    product_level: str = "l1c"
    learned_probability: float = 0.5
    probability_threshold: float = 0.4  # s2cloudless
    s2cloudless_block: int = 1
    sure_area: int = 16

    @classmethod
    def from_config(cls, dc: DecloudConfig, *, scale: float = 1.0, detector: str | None = None) -> DetectParams:
        """The one place detection reads the config: ``decloud.detect.*`` plus the top-level ``buffer``
        and ``probability_threshold``. ``scale`` shrinks pixel distances (overview detection);
        ``detector`` is the one chosen for the run (``decloud.detect.detector`` may say auto)."""
        d = dc.detect
        det = detector or d.detector
        return cls(
            detector="spectral" if det == "auto" else det, product_level=d.product_level,
            learned_probability=d.learned_probability, probability_threshold=dc.probability_threshold,
            s2cloudless_block=max(1, int(round(d.s2cloudless_block * scale))),
            sure_area=int(round(d.sure_area * scale * scale)),
            brightness_threshold=d.brightness_threshold, whiteness_threshold=d.whiteness_threshold,
            hot_threshold=d.hot_threshold, temporal_threshold=d.temporal_threshold,
            shadow_threshold=d.shadow_threshold, shadow_search=int(round(d.shadow_search * scale)),
            min_dates_temporal=d.min_dates_temporal, buffer=int(round(dc.buffer * scale)),
        )


def nanmedian0(x: np.ndarray) -> np.ndarray:
    """Median over axis 0 ignoring NaN (NaN where every value is NaN); fast for short axes.

    ``numpy.nanmedian`` warns once per all-NaN column and falls back to masked arrays, which
    costs seconds on a no-data border; sorting puts NaN last, so the median is two gathers.
    """
    t = x.shape[0]
    flat = np.ascontiguousarray(x.reshape(t, -1).T)  # (N, T): sort rows that lie in memory
    flat.sort(axis=1)
    n = np.isfinite(flat).sum(axis=1)
    rows = np.arange(flat.shape[0])
    a = flat[rows, np.maximum((n - 1) // 2, 0)]
    b = flat[rows, np.maximum(n // 2, 0)]
    out = (0.5 * (a + b)).astype(x.dtype, copy=False)
    out[n == 0] = np.nan
    return out.reshape(x.shape[1:])


def visible_indices(roles: dict[str, int], num_bands: int) -> list[int]:
    """Band indices of the visible roles, or every band when none is mapped."""
    vis = [roles[r] for r in VISIBLE if r in roles]
    return vis or list(range(num_bands))


def spectral_candidates(x: np.ndarray, roles: dict[str, int], p: DetectParams) -> np.ndarray:
    """Single-date cloud candidates for ``x`` of shape (..., B, H, W); returns bool (..., H, W)."""
    if x.ndim == 4:  # one date at a time keeps the temporaries small
        return np.stack([spectral_candidates(x[i], roles, p) for i in range(x.shape[0])])
    vis = visible_indices(roles, x.shape[-3])
    with np.errstate(invalid="ignore", divide="ignore"):
        total = x[vis[0]].copy()
        for k in vis[1:]:
            total += x[k]
        mean = total / np.float32(len(vis))
        cand = mean > p.brightness_threshold
        if len(vis) > 1:
            spread = np.abs(x[vis[0]] - mean)
            for k in vis[1:]:
                spread += np.abs(x[k] - mean)
            cand &= spread < p.whiteness_threshold * np.maximum(mean, 1e-6)
        if "blue" in roles and "red" in roles:
            # haze-optimised transform: clouds and haze lift blue more than red
            cand &= x[roles["blue"]] - 0.5 * x[roles["red"]] > p.hot_threshold
    return cand & np.isfinite(mean)


def background(stack: np.ndarray, candidates: np.ndarray, *, min_dates: int = 3,
               previous: np.ndarray | None = None, vis: list[int] | None = None,
               tolerance: float = 0.06) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel clear-date background (B, H, W) and the number of valid dates per pixel (H, W).

    The median over the valid dates that are not ``candidates`` when at least ``min_dates`` of
    them remain. Elsewhere ``previous`` (an earlier estimate) where given, else the median of the
    largest group of dates whose visible brightness agrees within ``tolerance`` (darker group on
    ties): clear dates agree with each other while clouds and shadows scatter, so this holds even
    when half the dates or more are cloudy, and a surface bright on every date is its own background.
    """

    t, b, h, w = stack.shape
    valid = np.isfinite(stack).all(axis=1)
    use = valid & ~candidates
    few = use.sum(axis=0) < min_dates
    if previous is None and few.any():
        use[:, few] = _largest_agreeing_group(stack[:, :, few], valid[:, few], candidates[:, few],
                                              vis or list(range(b)), tolerance)
    else:
        use[:, few] = valid[:, few]
    bg = np.empty((b, h, w), np.float32)
    for k in range(b):
        bg[k] = nanmedian0(np.where(use, stack[:, k], np.float32(np.nan)))
    if previous is not None and few.any():
        bg[:, few] = previous[:, few]
    return bg, valid.sum(axis=0)


CANDIDATE_VOTE = 0.4  # a spectral cloud candidate's weight when dates vote for the background


def _largest_agreeing_group(x: np.ndarray, valid: np.ndarray, candidates: np.ndarray, vis: list[int],
                            tol: float) -> np.ndarray:
    """For (T, B, N) observations: bool (T, N), the dates within ``tol`` of the best-supported date.

    Support sums the votes of the dates within ``tol``: 1 per date, :data:`CANDIDATE_VOTE` per
    spectral cloud candidate. Two clear dates outvote four white clouds; three bright-but-clear
    dates still outvote one shadow.
    """
    bright = np.where(valid, x[:, vis].mean(axis=1), np.nan)  # (T, N)
    vote = np.where(candidates, CANDIDATE_VOTE, 1.0).astype(np.float32) * valid
    t = bright.shape[0]
    support = np.zeros(bright.shape, np.float32)
    with np.errstate(invalid="ignore"):
        for i in range(t):
            support[i] = ((np.abs(bright - bright[i]) <= tol) * vote).sum(axis=0)
        # ties go to the darker date (clouds are bright); invalid dates never win
        score = np.where(valid, support - np.nan_to_num(bright, nan=0.0) * 1e-3, -np.inf)
        best = np.argmax(score, axis=0)
        centre = np.take_along_axis(bright, best[None], axis=0)[0]
        group = (np.abs(bright - centre) <= tol) & valid
    return group


def _grey(bg: np.ndarray, radius: int, *, op: str) -> np.ndarray:
    """Per-band grey dilation (``max``) or erosion (``min``) of (B, H, W) over a (2r+1)^2 square; NaN kept."""
    import cv2

    if radius <= 0:
        return bg
    k = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    fill = -np.inf if op == "max" else np.inf
    out = np.empty_like(bg)
    for i in range(bg.shape[0]):
        band = np.where(np.isfinite(bg[i]), bg[i], fill).astype(np.float32)
        band = cv2.dilate(band, k) if op == "max" else cv2.erode(band, k)
        out[i] = np.where(np.isfinite(band), band, np.nan)
    return out


def temporal_tests(x: np.ndarray, bg: np.ndarray, roles: dict[str, int], p: DetectParams,
                   *, bg_max: np.ndarray | None = None, bg_min: np.ndarray | None = None,
                   bg_min_sum: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(cloud, shadow-candidate) bool masks of one date ``x`` (B, H, W) against its background.

    ``bg_max``/``bg_min`` are the background's local maximum/minimum over the registration
    tolerance (see :data:`REGISTRATION_TOLERANCE`): a cloud must be brighter than every nearby
    background pixel, a shadow darker. ``bg_min_sum`` (the band sum of ``bg_min``) may be passed
    to save recomputing it for every date. NaN pixels come out False.
    """
    vis = visible_indices(roles, x.shape[0])
    hi = bg if bg_max is None else bg_max
    lo = bg if bg_min is None else bg_min
    with np.errstate(invalid="ignore", divide="ignore"):
        dvis = x[vis] - hi[vis]
        cloud = (dvis.mean(axis=0) > p.temporal_threshold) & (dvis.min(axis=0) > 0.25 * p.temporal_threshold)
        if "blue" in roles and "red" in roles:
            cloud &= (x[roles["blue"]] - bg[roles["blue"]]) >= 0.5 * (x[roles["red"]] - bg[roles["red"]])
        # shadows darken every band, most in the NIR; judge on the bands' sum so dark water is not noise
        s_x = x.sum(axis=0)
        s_lo = lo.sum(axis=0) if bg_min_sum is None else bg_min_sum
        shadow = (s_x < (1.0 - p.shadow_threshold) * s_lo) & \
                 (s_lo - s_x > 0.5 * p.temporal_threshold * x.shape[0])
    return cloud, shadow


def detect_stack(stack: np.ndarray, roles: dict[str, int], p: DetectParams,
                 *, valid: np.ndarray | None = None, rounds: int = 2,
                 azimuths: list[float | None] | None = None, clouds: np.ndarray | None = None) -> np.ndarray:
    """Classes (T, H, W) uint8 (CLEAR/CLOUD/SHADOW/NODATA) for a normalised stack (T, B, H, W).

    Round 1 takes the background from the dates that are not spectral candidates; each further
    round re-estimates it from the dates the previous round found clear, which repairs pixels
    cloudy or shadowed on half the dates or more (a median alone would call the clear date the odd
    one out). Pixels with fewer than ``min_dates_temporal`` valid dates fall back to the spectral
    tests (and to shadows darker than half the date's clear brightness, near a cloud).
    ``azimuths`` (per date, degrees clockwise from image up, or None) is the direction shadows fall
    from clouds: shadows are then looked for along it only (:func:`sweep`), else all around.
    ``clouds`` (T, H, W) bool, when given, are the clouds (a learned detector's); only shadows are
    then detected, around them, against the background of the other dates.
    """
    t, b, h, w = stack.shape
    if valid is None:
        valid = np.isfinite(stack).all(axis=1)
    cand = (spectral_candidates(stack, roles, p) if clouds is None else clouds) & valid
    exclude = cand
    min_dates = p.min_dates_temporal
    out = np.zeros((t, h, w), np.uint8)
    bg: np.ndarray | None = None
    count = np.zeros((h, w), np.int64)
    vis = visible_indices(roles, b)
    for r in range(max(rounds, 1)):
        if bg is None:
            bg, count = background(stack, exclude, min_dates=min_dates, vis=vis, tolerance=1.5 * p.temporal_threshold)
        else:
            # only pixels where some date was flagged can get another background
            sel = exclude.any(axis=0) & valid.any(axis=0)
            if not sel.any():
                break
            sub, _ = background(stack[:, :, sel][..., None], exclude[:, sel][..., None], min_dates=min_dates,
                                previous=bg[:, sel][..., None], vis=vis)
            bg[:, sel] = sub[..., 0]
        use_temporal = count >= p.min_dates_temporal
        bg_max = _grey(bg, REGISTRATION_TOLERANCE, op="max")
        bg_min = _grey(bg, REGISTRATION_TOLERANCE, op="min")
        bg_min_sum = bg_min.sum(axis=0)
        raw = np.zeros((t, h, w), np.uint8)
        for i in range(t):
            cloud_t, shadow_t = temporal_tests(stack[i], bg, roles, p, bg_max=bg_max, bg_min=bg_min,
                                               bg_min_sum=bg_min_sum)
            cloud = (np.where(use_temporal, cloud_t, cand[i]) if clouds is None else clouds[i]) & valid[i]
            azimuth = azimuths[i] if azimuths is not None else None
            near = dilate(cloud, p.shadow_search) if azimuth is None else sweep(cloud, azimuth, p.shadow_search)
            shadow_spec = _spectral_shadow(stack[i], valid[i] & ~cloud)
            shadow = np.where(use_temporal, shadow_t, shadow_spec) & near & valid[i] & ~cloud
            # isolated pixels are resampling/noise speckle, not clouds: open before buffering
            shadow = _open(shadow)
            cloud = _open(cloud) if clouds is None else cloud
            if use_temporal.any():
                cloud, shadow = _grow_edges(stack[i], bg, cloud, shadow, use_temporal & valid[i], roles, p)
            raw[i][shadow] = SHADOW
            raw[i][cloud] = CLOUD
        # next round: background from what this round found clear (1 px margin), one clear date enough
        exclude = np.stack([dilate(raw[i] != CLEAR, 1) for i in range(t)]) | ~valid
        min_dates = 1
    for i in range(t):
        out[i] = buffer_classes(raw[i], p.buffer)
        out[i][~valid[i]] = NODATA
    return out


EDGE_REACH = 8  # px a cloud or shadow may be grown into its soft edge
EDGE_FRACTION = 0.3  # the edge must still change the date by this fraction of the detection thresholds


def _grow_edges(x: np.ndarray, bg: np.ndarray, cloud: np.ndarray, shadow: np.ndarray, temporal: np.ndarray,
                roles: dict[str, int], p: DetectParams) -> tuple[np.ndarray, np.ndarray]:
    """Clouds and shadows grown (hysteresis) into their soft edges: connected pixels, at most
    :data:`EDGE_REACH` px out, still brighter (darker) than the background by :data:`EDGE_FRACTION`
    of the thresholds. Only pixels touching a detection can join, so clear land elsewhere never does."""
    import cv2

    vis = visible_indices(roles, x.shape[0])
    with np.errstate(invalid="ignore"):
        dvis = x[vis] - bg[vis]
        weak_c = (dvis.mean(axis=0) > EDGE_FRACTION * p.temporal_threshold) & (dvis.min(axis=0) > 0) & temporal
        s_x, s_bg = x.sum(axis=0), bg.sum(axis=0)
        weak_s = (s_x < (1.0 - EDGE_FRACTION * p.shadow_threshold) * s_bg) & temporal
    k = np.ones((3, 3), np.uint8)
    out = []
    for seed, weak in ((cloud, weak_c | cloud), (shadow, weak_s | shadow)):
        if not seed.any():
            out.append(seed)
            continue
        grown = seed.astype(np.uint8)
        allowed = weak.astype(np.uint8)
        for _ in range(EDGE_REACH):
            nxt = cv2.dilate(grown, k) & allowed
            if np.array_equal(nxt, grown):
                break
            grown = nxt
        out.append(grown.astype(bool))
    cloud_g, shadow_g = out
    return cloud_g, shadow_g & ~cloud_g


SWEEP_SPREAD = 15.0  # degrees either side of the shadow azimuth (cloud heights and shapes vary)
AZIMUTH_STEPS = 36  # directions tried when estimating a date's shadow azimuth
AZIMUTH_CONTRAST = 1.5  # the best direction must hit dark pixels this much more often than the median one


def _shift_or(dst: np.ndarray, src: np.ndarray, dy: int, dx: int) -> None:
    """``dst[y, x] |= src[y - dy, x - dx]`` (what lies at ``src`` moved by (dx, dy))."""
    h, w = src.shape
    if abs(dy) >= h or abs(dx) >= w:
        return
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    dst[yd, xd] |= src[ys, xs]


def sweep(cloud: np.ndarray, azimuth: float, distance: int, *, spread: float = SWEEP_SPREAD) -> np.ndarray:
    """Where a cloud's shadow can fall: the cloud dragged up to ``distance`` px towards ``azimuth``.

    ``azimuth`` is in degrees clockwise from image up (0 = up/north, 90 = right/east); three rays
    (the azimuth and +- ``spread``) are swept, and the result grown by two pixels.
    """
    out = cloud.copy()
    if distance <= 0 or not cloud.any():
        return out
    for a in sorted({azimuth - spread, azimuth, azimuth + spread}):
        ux, uy = np.sin(np.radians(a)), -np.cos(np.radians(a))
        done: set[tuple[int, int]] = set()
        for r in range(1, distance + 1):
            step = (int(round(r * uy)), int(round(r * ux)))
            if step not in done:
                done.add(step)
                _shift_or(out, cloud, *step)
    return dilate(out, 2)


def estimate_shadow_azimuth(cloud: np.ndarray, dark: np.ndarray, distance: int) -> float | None:
    """Direction (degrees clockwise from up) in which ``dark`` pixels lie from ``cloud``, or None.

    Tries :data:`AZIMUTH_STEPS` directions; the swept area beyond the cloud that is dark most often
    wins if it beats the median direction by :data:`AZIMUTH_CONTRAST` (else shadows are searched all
    around, as when clouds are too few to tell).
    """
    if distance <= 0 or cloud.sum() < 20 or not dark.any():
        return None
    scores = []
    angles = np.arange(AZIMUTH_STEPS) * (360.0 / AZIMUTH_STEPS)
    for a in angles:
        swept = sweep(cloud, float(a), distance, spread=0.0) & ~cloud
        n = int(swept.sum())
        scores.append(float((swept & dark).sum()) / n if n else 0.0)
    best = int(np.argmax(scores))
    med = float(np.median(scores))
    if scores[best] <= 0 or scores[best] < AZIMUTH_CONTRAST * max(med, 1e-6):
        return None
    return float(angles[best])


def shadow_azimuths(stack: np.ndarray, classes: np.ndarray, roles: dict[str, int], p: DetectParams,
                    fixed: float | None = None) -> list[float | None]:
    """Per date, the azimuth its shadows fall in: ``fixed`` if given, else estimated (see above).

    ``stack`` is the normalised reflectance (T, B, H, W) and ``classes`` its detected classes; the
    darkening is measured against the background of the clear observations.
    """
    t = stack.shape[0]
    if fixed is not None:
        return [float(fixed)] * t
    clear = classes == CLEAR
    bg = np.stack([nanmedian0(np.where(clear, stack[:, k], np.float32(np.nan))) for k in range(stack.shape[1])])
    out: list[float | None] = []
    for i in range(t):
        cloud = classes[i] == CLOUD
        _, dark = temporal_tests(stack[i], bg, roles, p)
        out.append(estimate_shadow_azimuth(cloud, dark & ~cloud, p.shadow_search))
    return out


def _open(mask: np.ndarray) -> np.ndarray:
    """Morphological opening by a 3x3 square (drops detections narrower than 3 px)."""
    import cv2

    if not mask.any():
        return mask
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)


def _spectral_shadow(x: np.ndarray, clear: np.ndarray) -> np.ndarray:
    """Single-date shadow candidates: pixels below half the median brightness of the date's clear pixels."""
    s = np.nansum(x, axis=0)
    if not clear.any():
        return np.zeros(s.shape, bool)
    ref = float(np.median(s[clear]))
    return s < 0.5 * ref


def robust_line(x: np.ndarray, y: np.ndarray, *, min_points: int = 20,
                max_points: int = 4000) -> tuple[float, float] | None:
    """``y ~ a x + b`` by least squares, refitted without residuals beyond 3 robust sigmas; None if too few points."""
    x = np.asarray(x, np.float64).ravel()
    y = np.asarray(y, np.float64).ravel()
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < min_points:
        return None
    if x.size > max_points:  # a line needs no more: an even, deterministic subsample
        step = x.size / max_points
        idx = (np.arange(max_points) * step).astype(np.int64)
        x, y = x[idx], y[idx]
    a, b = 1.0, 0.0
    for _ in range(3):
        mx, my = x.mean(), y.mean()
        dx = x - mx
        vx = float(np.dot(dx, dx)) / x.size
        if vx < 1e-12:
            a, b = 1.0, float(my - mx)
        else:
            a = float(np.dot(dx, y - my)) / x.size / vx
            b = float(my - a * mx)
        r = y - (a * x + b)
        dev = np.abs(r - np.median(r))
        mad = float(np.partition(dev, dev.size // 2)[dev.size // 2]) * 1.4826
        inlier = dev <= max(3.0 * mad, 1e-6)
        if inlier.all() or inlier.sum() < min_points:
            break
        x, y = x[inlier], y[inlier]
    return a, b


def fit_normalisation(stack: np.ndarray, clear: np.ndarray) -> np.ndarray:
    """Per date and band ``(gain, offset)`` (T, B, 2) mapping the common background onto each date.

    ``stack`` (T, B, H, W) reflectance, ``clear`` (T, H, W) pixels to trust. The background is the
    per-pixel median of the trusted observations; dates with too few trusted pixels get (1, 0).
    Normalising is ``(x - offset) / gain``.
    """
    t, b = stack.shape[:2]
    out = np.zeros((t, b, 2), np.float32)
    out[..., 0] = 1.0
    bg = np.stack([nanmedian0(np.where(clear, stack[:, k], np.float32(np.nan))) for k in range(b)])
    for i in range(t):
        for k in range(b):
            sel = clear[i] & np.isfinite(bg[k])
            if sel.sum() < 50:
                continue
            fit = robust_line(bg[k][sel], stack[i, k][sel], min_points=50)
            if fit is not None and fit[0] > 0.2:
                out[i, k] = fit
    return out


def normalise(stack: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """Apply :func:`fit_normalisation` output: ``(x - offset) / gain`` per date and band (a new array)."""
    out = np.empty_like(stack)
    for i in range(stack.shape[0]):
        for k in range(stack.shape[1]):
            np.subtract(stack[i, k], np.float32(gains[i, k, 1]), out=out[i, k])
            out[i, k] /= np.float32(gains[i, k, 0])
    return out


def classes_valid(classes: np.ndarray) -> np.ndarray:
    """Bool mask of pixels that are clear observations (not cloud, shadow or no data)."""
    return classes == CLEAR


__all__ = [
    "CLEAR", "CLOUD", "SHADOW", "NODATA", "DetectParams", "background", "classes_valid", "detect_stack",
    "fit_normalisation", "normalise", "robust_line", "spectral_candidates", "temporal_tests",
]
