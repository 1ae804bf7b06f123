"""Reconstruction of real Sentinel-2 NDVI under real cloud masks (eo-learn TestEOPatch).

The series has 68 dates of NDVI over 101 x 100 px with s2cloudless masks (CLM). Clear dates
(CLM cover 0) get the mask of a partly cloudy date (cover 5-90 %) imposed; their masked pixels are
overwritten with a cloud-like NDVI (0.05) so that nothing can leak. Every date is written as a
GeoTIFF (EPSG:32633, the patch's bbox) with its mask file, ``vidrestore decloud`` fills them, and
the filled values are compared with the true NDVI on the imposed pixels. The same modified masks
feed the two baselines: linear interpolation in time between the nearest clear observations of
each pixel, and the per-pixel temporal median of all clear observations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

# eo-learn bbox of the patch (EPSG:32633), 100 columns x 101 rows
BBOX = (465181.0522318204, 5079244.8912012065, 466180.53145382757, 5080254.63349641)


@dataclass
class EolearnResult:
    rmse_decloud: float
    rmse_linear: float
    rmse_median: float
    pixels: int
    trials: int
    runs: int


def load_series(folder: Path) -> tuple[np.ndarray, np.ndarray, list[datetime]]:
    ndvi = np.load(folder / "data" / "NDVI.npy")[..., 0].astype(np.float32)
    clm = np.load(folder / "mask" / "CLM.npy")[..., 0].astype(bool)
    stamps = [datetime.fromisoformat(s) for s in json.loads((folder / "timestamps.json").read_text())]
    return ndvi, clm, stamps


def plan_trials(clm: np.ndarray, runs: int) -> list[list[tuple[int, int]]]:
    """Per run, (clear target date, date whose mask is imposed) pairs; each clear date once over 3 runs."""
    cover = clm.mean(axis=(1, 2))
    clear = [t for t in range(len(cover)) if cover[t] == 0]
    partial = [t for t in range(len(cover)) if 0.05 < cover[t] < 0.9]
    plans = []
    for r in range(runs):
        targets = [c for i, c in enumerate(clear) if i % 3 == r % 3]
        plans.append([(c, partial[(i * 5 + r) % len(partial)]) for i, c in enumerate(targets)])
    return plans


def _write_inputs(folder: Path, ndvi: np.ndarray, masks: np.ndarray, stamps: list[datetime]) -> None:
    import rasterio
    from rasterio.transform import Affine

    t, h, w = ndvi.shape
    west, south, east, north = BBOX
    transform = Affine((east - west) / w, 0.0, west, 0.0, -(north - south) / h, north)
    (folder / "masks").mkdir(parents=True, exist_ok=True)
    prof = dict(driver="GTiff", width=w, height=h, crs="EPSG:32633", transform=transform)
    for i in range(t):
        name = stamps[i].strftime("%Y%m%dT%H%M%S")
        with rasterio.open(folder / f"S2_{name}_NDVI.tif", "w", count=1, dtype="float32", nodata=None, **prof) as d:
            d.write(ndvi[i][None])
            d.set_band_description(1, "NDVI")
        with rasterio.open(folder / "masks" / f"CLM_{name}.tif", "w", count=1, dtype="uint8", **prof) as d:
            d.write(masks[i][None].astype(np.uint8))


def linear_in_time(ndvi: np.ndarray, masks: np.ndarray, days: np.ndarray, t: int) -> np.ndarray:
    """Per pixel, linear interpolation between the nearest clear dates before and after (one side if only one)."""
    h, w = ndvi.shape[1:]
    pb = np.full((h, w), np.nan)
    db = np.full((h, w), np.nan)
    pa = pb.copy()
    da = db.copy()
    for u in range(t - 1, -1, -1):
        ok = ~masks[u] & np.isnan(pb)
        pb[ok], db[ok] = ndvi[u][ok], days[t] - days[u]
    for u in range(t + 1, len(ndvi)):
        ok = ~masks[u] & np.isnan(pa)
        pa[ok], da[ok] = ndvi[u][ok], days[u] - days[t]
    out = np.where(np.isnan(pb), pa, np.where(np.isnan(pa), pb, (pb * da + pa * db) / np.maximum(da + db, 1e-9)))
    return out


def temporal_median(ndvi: np.ndarray, masks: np.ndarray, t: int) -> np.ndarray:
    obs = np.where(masks, np.nan, ndvi)
    obs[t] = np.nan
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(obs, axis=0)


def evaluate_eolearn(folder: Path, work: Path, *, runs: int = 3, max_targets: int | None = None,
                     overrides: tuple[str, ...] = ()) -> EolearnResult:
    """Run the experiment (``runs`` decloud runs of ~10 imposed dates each); RMSE over all imposed pixels."""
    import rasterio

    from vidrestore.config import load_config
    from vidrestore.pipeline.stages import run_decloud

    ndvi, clm, stamps = load_series(folder)
    days = np.array([(s - stamps[0]).total_seconds() / 86400 for s in stamps])
    errs: dict[str, list[np.ndarray]] = {"decloud": [], "linear": [], "median": []}
    trials = 0
    for r, pairs in enumerate(plan_trials(clm, runs)):
        if max_targets is not None:
            pairs = pairs[:max_targets]
        masks = clm.copy()
        data = ndvi.copy()
        for t, m in pairs:
            masks[t] = clm[m]
            data[t][clm[m]] = 0.05  # what a cloud would read as: nothing true can leak
        run_dir = work / f"run{r}"
        _write_inputs(run_dir / "in", data, masks, stamps)
        cfg = load_config(preset="decloud", overrides=(f"decloud.masks={run_dir / 'in' / 'masks'}",
                                                       "decloud.mask_type=binary", "decloud.quicklook=false",
                                                       *overrides))
        run_decloud([run_dir / "in"], run_dir / "out", cfg=cfg)
        for t, m in pairs:
            sel = clm[m]
            name = stamps[t].strftime("%Y%m%dT%H%M%S")
            with rasterio.open(run_dir / "out" / f"S2_{name}_NDVI.tif") as d:
                filled = d.read(1)
            truth = ndvi[t][sel]
            errs["decloud"].append(filled[sel] - truth)
            errs["linear"].append(linear_in_time(ndvi, masks, days, t)[sel] - truth)
            errs["median"].append(temporal_median(ndvi, masks, t)[sel] - truth)
            trials += 1

    def rmse(parts: list[np.ndarray]) -> float:
        e = np.concatenate(parts).astype(np.float64)
        return float(np.sqrt(np.nanmean(e * e)))

    n = int(sum(p.size for p in errs["decloud"]))
    return EolearnResult(rmse(errs["decloud"]), rmse(errs["linear"]), rmse(errs["median"]), n, trials, runs)
