"""RGB.byte.tif (Landsat, UTM 18N, nodata 0) made into a cloudy 6-date series and declouded.

Each date is the scene (optionally a window of it) with a known sub-pixel shift, its own gain and
offset, noise, and rendered clouds with shadows (see :mod:`tests.decloud.synth`). The dates are
written with the source's profile and tags, so the outputs can be compared with the inputs
profile for profile. Scores: detection F1 of cloud-or-shadow against the rendered truth over
valid pixels of all dates, and the fill error against the clean dates over the TRUE cloud/shadow
pixels (a missed cloud counts with the error it leaves); the old score over the pixels the method
chose to fill (``psnr_chosen``: misses never count, false alarms do) is kept for comparison only.

:func:`evaluate_rendered` is issue 23's experiment: thick and thin soft-edged clouds with shadows on
any date (the first and second included); recall over cloud pixels of opacity >= 0.05, precision
against every pixel the rendering touched, RMSE over the true mask beside two plain baselines (the
per-pixel temporal median of the other dates, and linear interpolation in time between the
neighbouring dates, neither given any mask), and the damage done to clear pixels replaced by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .synth import SyntheticSeries, f1_score, render_series


@dataclass
class RgbSeriesResult:
    f1: float
    precision: float
    recall: float
    psnr_filled: float  # over the true cloud/shadow pixels (misses count)
    filled: int  # true cloud/shadow pixels scored
    inputs: list[Path]
    out_dir: Path
    series: SyntheticSeries
    stats: list = field(default_factory=list)
    psnr_chosen: float = 0.0  # over the pixels the method filled (the old, flattering score)


def write_series(src: Path, folder: Path, *, window: tuple[int, int, int, int] | None = None,
                 seed: int = 0, **render: object) -> tuple[list[Path], SyntheticSeries]:
    """Write the 6 dates as ``LE07_2023MM15_RGB.tif`` (profile and tags of ``src``; ``window`` = row, col, h, w)."""
    import rasterio
    from rasterio.windows import Window
    from rasterio.windows import transform as window_transform

    with rasterio.open(src) as ds:
        win = Window(window[1], window[0], window[3], window[2]) if window else None
        scene = ds.read(window=win)
        profile = dict(ds.profile)
        if win is not None:
            profile.update(width=scene.shape[2], height=scene.shape[1], transform=window_transform(win, ds.transform))
        tags = ds.tags()
        band_tags = [ds.tags(b) for b in range(1, ds.count + 1)]
        nodata = ds.nodata
    series = render_series(scene, nodata if nodata is not None else 0, seed=seed, **render)  # type: ignore[arg-type]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, img in enumerate(series.dates):
        path = folder / f"LE07_2023{k + 1:02d}15_RGB.tif"
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(img)
            dst.update_tags(**tags)
            for b, bt in enumerate(band_tags, 1):
                dst.update_tags(b, **bt)
                dst.set_band_description(b, ("red", "green", "blue")[b - 1] if b <= 3 else f"band{b}")
        paths.append(path)
    return paths, series


def evaluate_rgb_series(src: Path, work: Path, *, window: tuple[int, int, int, int] | None = None,
                        overrides: tuple[str, ...] = ()) -> RgbSeriesResult:
    import rasterio

    from vidrestore.config import load_config
    from vidrestore.decloud.engine import Q_BOTH, Q_INPAINT
    from vidrestore.pipeline.stages import run_decloud

    inputs, series = write_series(src, work / "in", window=window)
    out = work / "out"
    cfg = load_config(preset="decloud", overrides=("decloud.bands={red: 1, green: 2, blue: 3}", *overrides))
    result = run_decloud([work / "in"], out, cfg=cfg)
    preds, truths, errs, chosen = [], [], [], []
    for k, path in enumerate(inputs):
        with rasterio.open(out / f"{path.stem}_mask.tif") as d:
            mask = d.read(1)
        with rasterio.open(out / path.name) as d:
            img = d.read().astype(np.float32)
        with rasterio.open(out / f"{path.stem}_quality.tif") as d:
            quality = d.read(1)
        valid = series.valid[k]
        true = (series.cloud[k] | series.shadow[k]) & valid
        preds.append(((mask == 1) | (mask == 2))[valid])
        truths.append(true[valid])
        filled = (quality >= Q_BOTH) & (quality <= Q_INPAINT) & valid
        errs.append((img[:, true] - series.clean[k][:, true]).ravel())
        chosen.append((img[:, filled] - series.clean[k][:, filled]).ravel())
    pred, truth = np.concatenate(preds), np.concatenate(truths)
    tp = float((pred & truth).sum())
    return RgbSeriesResult(
        f1=f1_score(pred, truth), precision=tp / max(float(pred.sum()), 1.0), recall=tp / max(float(truth.sum()), 1.0),
        psnr_filled=_psnr(np.concatenate(errs)), filled=int(np.concatenate(errs).size // 3),
        psnr_chosen=_psnr(np.concatenate(chosen)), inputs=inputs, out_dir=out, series=series, stats=result.stats)


def _psnr(e: np.ndarray, peak: float = 255.0) -> float:
    e = e.astype(np.float64)
    mse = float(np.mean(e * e)) if e.size else 0.0
    return float(10 * np.log10(peak ** 2 / mse)) if mse > 0 else float("inf")


# --------------------------------------------------------------------------- issue 23: rendered clouds

#: per-date cloud cover and thickness of the rendered experiment: clouds on the first and second
#: dates, thin veils (opacity <= 0.3) on two dates, one clear date
COVERS = (0.12, 0.1, 0.0, 0.14, 0.09, 0.12)
THICKNESS = (1.0, 0.3, 1.0, 1.0, 0.25, 1.0)
DEV_SEEDS = (0, 1)  # seeds the thresholds may be tuned on; the pass marks are reported on the others
TEST_SEEDS = (2, 3, 4)


@dataclass
class RenderedResult:
    recall_cloud: float  # cloud pixels with opacity >= 0.05 that were masked
    recall_shadow: float  # shadow pixels darkened >= 5 % that were masked
    precision: float  # masked pixels the rendering touched (>= 1 DN)
    rmse: float  # output vs clean over the true mask (opacity or darkening >= 0.05), misses count
    rmse_median: float  # plain temporal median of the other dates' observations, same pixels
    rmse_linear: float  # plain linear interpolation in time between the neighbouring dates, same pixels
    false_alarm_px: int  # clear pixels (untouched by rendering) that were replaced
    false_alarm_rmse: float  # their error against the clean date (the damage)
    per_date_recall: list[float]
    true_px: int


def _plain_baselines(dates: list[np.ndarray], valid: list[np.ndarray], days: list[float],
                     k: int) -> tuple[np.ndarray, np.ndarray]:
    """(temporal median of the other dates, linear interpolation in time of the neighbours) for date ``k``."""
    import warnings

    obs = [np.where(v[None], d.astype(np.float32), np.nan) for d, v in zip(dates, valid)]
    others = np.stack([o for i, o in enumerate(obs) if i != k])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(others, axis=0)
    if 0 < k < len(obs) - 1:
        a, b = obs[k - 1], obs[k + 1]
        wa = (days[k + 1] - days[k]) / (days[k + 1] - days[k - 1])
        linear = np.where(np.isnan(a), b, np.where(np.isnan(b), a, wa * a + (1 - wa) * b))
    else:
        linear = obs[1] if k == 0 else obs[-2]
    return median, linear


def evaluate_rendered(src: Path, work: Path, *, seed: int = 2, window: tuple[int, int, int, int] | None = None,
                      overrides: tuple[str, ...] = ()) -> RenderedResult:
    """Issue 23's rendered-cloud experiment on ``src`` (see the module docstring)."""
    import rasterio

    from vidrestore.config import load_config
    from vidrestore.pipeline.stages import run_decloud

    inputs, series = write_series(src, work / "in", window=window, seed=seed, covers=COVERS, thickness=THICKNESS)
    out = work / "out"
    cfg = load_config(preset="decloud", overrides=("decloud.bands={red: 1, green: 2, blue: 3}",
                                                   "decloud.quicklook=false", *overrides))
    run_decloud([work / "in"], out, cfg=cfg)
    days = [30.0 * k for k in range(len(inputs))]
    rec_c, rec_s, tp, npred, errs, e_med, e_lin, fa_err, per_date = [], [], 0, 0, [], [], [], [], []
    fa_px = 0
    for k, path in enumerate(inputs):
        with rasterio.open(out / f"{path.stem}_mask.tif") as d:
            pred = np.isin(d.read(1), (1, 2))
        with rasterio.open(out / path.name) as d:
            img = d.read().astype(np.float32)
        valid = series.valid[k]
        cloud = (series.alpha[k] >= 0.05) & valid
        shadow = (series.shade[k] >= 0.05 * 0.55 / 0.55) & valid & ~cloud
        true = cloud | shadow
        touched = series.touched[k]
        rec_c.append((pred & cloud).sum())
        rec_s.append((pred & shadow).sum())
        per_date.append(float((pred & cloud).sum() / cloud.sum()) if cloud.any() else float("nan"))
        tp += int((pred & touched & valid).sum())
        npred += int((pred & valid).sum())
        clean = series.clean[k]
        errs.append((img[:, true] - clean[:, true]).ravel())
        med, lin = _plain_baselines(series.dates, series.valid, days, k)
        e_med.append((med[:, true] - clean[:, true]).ravel())
        e_lin.append((lin[:, true] - clean[:, true]).ravel())
        fa = pred & valid & ~touched
        fa_px += int(fa.sum())
        fa_err.append((img[:, fa] - clean[:, fa]).ravel())
    n_cloud = sum(int(((a >= 0.05) & v).sum()) for a, v in zip(series.alpha, series.valid))
    n_shadow = sum(int(((s >= 0.05) & v & (a < 0.05)).sum()) for a, s, v in zip(series.alpha, series.shade,
                                                                                   series.valid))

    def rmse(parts: list[np.ndarray]) -> float:
        e = np.concatenate(parts).astype(np.float64)
        e = e[np.isfinite(e)]
        return float(np.sqrt(np.mean(e * e))) if e.size else 0.0

    return RenderedResult(
        recall_cloud=sum(rec_c) / max(n_cloud, 1), recall_shadow=sum(rec_s) / max(n_shadow, 1),
        precision=tp / max(npred, 1), rmse=rmse(errs), rmse_median=rmse(e_med), rmse_linear=rmse(e_lin),
        false_alarm_px=fa_px, false_alarm_rmse=rmse(fa_err), per_date_recall=per_date,
        true_px=int(np.concatenate(errs).size // 3))
