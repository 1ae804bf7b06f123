"""RGB.byte.tif (Landsat, UTM 18N, nodata 0) made into a cloudy 6-date series and declouded.

Each date is the scene (optionally a window of it) with a known sub-pixel shift, its own gain and
offset, noise, and rendered clouds with shadows (see :mod:`tests.decloud.synth`). The dates are
written with the source's profile and tags, so the outputs can be compared with the inputs
profile for profile. Scores: detection F1 of cloud-or-shadow against the rendered truth over
valid pixels of all dates, and PSNR of the filled pixels against the clean dates.
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
    psnr_filled: float
    filled: int
    inputs: list[Path]
    out_dir: Path
    series: SyntheticSeries
    stats: list = field(default_factory=list)


def write_series(src: Path, folder: Path, *, window: tuple[int, int, int, int] | None = None,
                 seed: int = 0) -> tuple[list[Path], SyntheticSeries]:
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
    series = render_series(scene, nodata if nodata is not None else 0, seed=seed)
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
    from vidrestore.decloud.engine import Q_BOTH, Q_INPAINT, run_decloud

    inputs, series = write_series(src, work / "in", window=window)
    out = work / "out"
    cfg = load_config(preset="decloud", overrides=("decloud.bands={red: 1, green: 2, blue: 3}", *overrides))
    result = run_decloud([work / "in"], out, cfg=cfg)
    preds, truths, errs = [], [], []
    for k, path in enumerate(inputs):
        with rasterio.open(out / f"{path.stem}_mask.tif") as d:
            mask = d.read(1)
        with rasterio.open(out / path.name) as d:
            img = d.read().astype(np.float32)
        with rasterio.open(out / f"{path.stem}_quality.tif") as d:
            quality = d.read(1)
        valid = series.valid[k]
        preds.append(((mask == 1) | (mask == 2))[valid])
        truths.append((series.cloud[k] | series.shadow[k])[valid])
        filled = (quality >= Q_BOTH) & (quality <= Q_INPAINT) & valid
        errs.append((img[:, filled] - series.clean[k][:, filled]).ravel())
    pred, truth = np.concatenate(preds), np.concatenate(truths)
    e = np.concatenate(errs).astype(np.float64)
    mse = float(np.mean(e * e)) if e.size else 0.0
    tp = float((pred & truth).sum())
    return RgbSeriesResult(
        f1=f1_score(pred, truth), precision=tp / max(float(pred.sum()), 1.0), recall=tp / max(float(truth.sum()), 1.0),
        psnr_filled=float(10 * np.log10(255.0 ** 2 / mse)) if mse > 0 else float("inf"),
        filled=int(e.size // 3), inputs=inputs, out_dir=out, series=series, stats=result.stats)
