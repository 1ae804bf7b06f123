"""Synthetic cloudy time series for the decloud tests and benchmark.

``render_series`` turns one real georeferenced scene into a short series: each date is the scene
blurred by a sensor PSF (Gaussian, ``psf`` px) and shifted by a known sub-pixel offset (Lanczos
resampling, a different interpolator from the one decloud aligns with), with its own gain/offset
(brightness 0.90-1.0x, no clipping), sensor noise, and rendered clouds (fractal density covering
8-15 % of the area, soft edges, bluish white) casting shadows at a fixed sun offset (24, 18) px.
It returns the truth: clean dates, cloud/shadow masks (pixels the rendering changed by at least
``change_dn``; cloud where the cloud did more of it, else shadow) and the offsets. The scene's own
(real, static) clouds are part of the clean truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SyntheticSeries:
    dates: list[np.ndarray]  # (B, H, W) in the scene dtype, nodata where the shifted scene has none
    clean: list[np.ndarray]  # (B, H, W) float32: the same without clouds and shadows
    cloud: list[np.ndarray]  # (H, W) bool ground truth: changed by >= change_dn, mostly by the cloud
    shadow: list[np.ndarray]  # (H, W) bool ground truth
    valid: list[np.ndarray]  # (H, W) bool
    shifts: list[tuple[float, float]]  # (dx, dy): date(x, y) = scene(x + dx, y + dy) (before gain)
    alpha: list[np.ndarray] = field(default_factory=list)  # (H, W) cloud opacity in [0, 0.95]
    shade: list[np.ndarray] = field(default_factory=list)  # (H, W) shadow darkening in [0, 0.55]
    touched: list[np.ndarray] = field(default_factory=list)  # (H, W) bool: rendering changed the pixel >= 1 DN


def fractal_density(shape: tuple[int, int], rng: np.random.Generator, *, cover: float,
                    scales: tuple[int, ...] = (64, 32, 16, 8)) -> np.ndarray:
    """Cloud density in [0, 1]: multi-scale smoothed noise thresholded to about ``cover`` of the area."""
    import cv2

    h, w = shape
    field = np.zeros(shape, np.float32)
    for i, s in enumerate(scales):
        noise = rng.standard_normal(shape).astype(np.float32)
        noise = cv2.GaussianBlur(noise, (0, 0), s / 2.5)
        field += noise / (noise.std() + 1e-6) * (0.6 ** i)
    thr = np.quantile(field, 1.0 - cover)
    soft = 0.35 * field.std()
    return np.clip((field - thr) / soft, 0.0, 1.0).astype(np.float32)


def render_series(scene: np.ndarray, nodata: float, *, n_dates: int = 6, seed: int = 0,
                  covers: tuple[float, ...] = (0.0, 0.12, 0.1, 0.15, 0.08, 0.14),
                  shifts: tuple[tuple[float, float], ...] = ((0, 0), (2.5, -1.5), (-3, 2), (1.25, 3.5),
                                                             (-2.75, -2.25), (3, 1)),
                  gains: tuple[float, ...] = (1.0, 0.93, 0.96, 0.9, 0.97, 0.92),
                  offsets: tuple[float, ...] = (0, 4, -3, 6, 2, 5),
                  sun: tuple[int, int] = (24, 18), noise: float = 1.0,
                  change_dn: float = 6.0, psf: float = 0.8,
                  thickness: tuple[float, ...] = (1.0,)) -> SyntheticSeries:
    """``thickness`` (per date, cycled) scales the cloud's opacity: 1 thick (up to 0.95), 0.3 a thin veil;
    the shadow darkens by the same factor."""
    import cv2

    rng = np.random.default_rng(seed)
    b, h, w = scene.shape
    info_max = float(np.iinfo(scene.dtype).max) if scene.dtype.kind in "iu" else float(scene.max())
    base_valid = ~(scene == nodata).all(axis=0)
    # a sensor's optics blur below the pixel pitch; without that, content at the Nyquist frequency
    # (RGB.byte.tif is a decimated product) cannot survive a half-pixel shift and no method could
    # recover one date from another
    psf_scene = [cv2.GaussianBlur(scene[i].astype(np.float32), (0, 0), psf) if psf > 0
                 else scene[i].astype(np.float32) for i in range(b)]
    out = SyntheticSeries([], [], [], [], [], [])
    for k in range(n_dates):
        dx, dy = shifts[k % len(shifts)]
        m = np.array([[1, 0, -dx], [0, 1, -dy]], np.float64)  # warpAffine forward map: date(x) = scene(x + s)
        planes = [cv2.warpAffine(sharp, m, (w, h), flags=cv2.INTER_LANCZOS4,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0) for sharp in psf_scene]
        vmask = cv2.warpAffine(base_valid.astype(np.uint8), m, (w, h), flags=cv2.INTER_NEAREST,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)
        vmask = cv2.erode(vmask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        clean = np.stack(planes) * gains[k % len(gains)] + offsets[k % len(offsets)]
        clean = np.clip(clean, 1, info_max).astype(np.float32)
        dens = fractal_density((h, w), rng, cover=covers[k % len(covers)]) if covers[k % len(covers)] > 0 \
            else np.zeros((h, w), np.float32)
        sdx, sdy = sun
        thick = float(thickness[k % len(thickness)])
        shade = np.zeros_like(dens)
        shade[max(sdy, 0):, max(sdx, 0):] = dens[:h - max(sdy, 0), :w - max(sdx, 0)]
        shaded = clean * (1.0 - 0.55 * thick * shade[None])
        colour = np.array([0.86, 0.88, 0.92, 0.9, 0.9, 0.9][:b] + [0.9] * max(0, b - 6), np.float32)[:, None, None] \
            * info_max
        rendered = shaded * (1.0 - 0.95 * thick * dens[None]) + 0.95 * thick * dens[None] * colour
        img = np.clip(np.rint(rendered + rng.normal(0, noise, rendered.shape).astype(np.float32)), 1, info_max)
        # ground truth: pixels the cloud or its shadow visibly changed (noise-free change >= change_dn)
        change = np.abs(rendered - clean).mean(axis=0) >= change_dn
        by_cloud = np.abs(rendered - shaded).mean(axis=0) >= np.abs(shaded - clean).mean(axis=0)
        cloud = change & by_cloud & vmask
        shadow = change & ~by_cloud & vmask
        date = img.astype(scene.dtype)
        date[:, ~vmask] = np.asarray(nodata).astype(scene.dtype)
        out.dates.append(date)
        out.clean.append(np.where(vmask[None], clean, np.nan).astype(np.float32))
        out.cloud.append(cloud)
        out.shadow.append(shadow)
        out.valid.append(vmask)
        out.shifts.append((float(dx), float(dy)))
        out.alpha.append(np.where(vmask, 0.95 * thick * dens, 0).astype(np.float32))
        out.shade.append(np.where(vmask, 0.55 * thick * shade, 0).astype(np.float32))
        out.touched.append((np.abs(rendered - clean).max(axis=0) >= 1.0) & vmask)
    return out


def f1_score(pred: np.ndarray, truth: np.ndarray) -> float:
    tp = float((pred & truth).sum())
    fp = float((pred & ~truth).sum())
    fn = float((~pred & truth).sum())
    return 2 * tp / max(2 * tp + fp + fn, 1.0)


def psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(peak * peak / mse)
