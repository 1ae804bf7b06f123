"""Fixtures of the decloud tests: small georeferenced GeoTIFF series written on the fly."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

CRS_UTM33 = "EPSG:32633"


def write_tif(path: Path, data: np.ndarray, *, crs: str = CRS_UTM33, origin: tuple[float, float] = (500000, 5000000),
              pixel: float = 10.0, nodata: float | None = 0, tags: dict[str, str] | None = None,
              descriptions: tuple[str, ...] = (), band_tags: list[dict[str, str]] | None = None,
              **profile: Any) -> Path:
    """Write (B, H, W) ``data`` as a GeoTIFF with the given georeferencing and metadata."""
    import rasterio
    from rasterio.transform import Affine

    data = data if data.ndim == 3 else data[None]
    prof = dict(driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0], dtype=data.dtype.name,
                crs=crs, transform=Affine(pixel, 0.0, origin[0], 0.0, -pixel, origin[1]), nodata=nodata)
    prof.update(profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(data)
        if tags:
            dst.update_tags(**tags)
        for i, d in enumerate(descriptions, 1):
            dst.set_band_description(i, d)
        for i, bt in enumerate(band_tags or [], 1):
            dst.update_tags(i, **bt)
    return path


def smooth_field(h: int, w: int, seed: int, *, lo: float, hi: float) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    f = np.zeros((h, w), np.float32)
    for s in (2.0, 6.0, 15.0):
        f += cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), s) * s
    f = (f - f.min()) / (f.max() - f.min())
    return lo + (hi - lo) * f


def cloudy_series(n: int = 6, h: int = 64, w: int = 72, *,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[datetime]]:
    """(T, 4, H, W) uint16 surface reflectance x 10000 (blue, green, red, nir) with one cloud + shadow per date
    except the first, the clean cube (float, same units) and the truth classes (T, H, W): 0 clear, 1 cloud,
    2 shadow."""
    import cv2

    rng = np.random.default_rng(seed)
    land = np.stack([smooth_field(h, w, seed + k, lo=lo, hi=hi)
                     for k, (lo, hi) in enumerate([(0.02, 0.08), (0.04, 0.11), (0.03, 0.14), (0.2, 0.45)])])
    cube = np.repeat(land[None], n, axis=0)
    truth = np.zeros((n, h, w), np.uint8)
    for t in range(1, n):
        cube[t] *= 1.0 + 0.04 * np.sin(t)
    clean = cube.copy() * 10000
    for t in range(1, n):
        cy, cx = rng.integers(14, h - 14), rng.integers(14, w - 24)
        disc = np.zeros((h, w), np.uint8)
        cv2.circle(disc, (int(cx), int(cy)), int(rng.integers(6, 10)), 1, -1)
        c = disc.astype(bool)
        s = np.roll(c, (6, 10), axis=(0, 1)) & ~c
        cube[t][:, s] *= 0.45
        cube[t][:, c] = np.array([0.55, 0.56, 0.58, 0.62])[:, None]
        truth[t][s] = 2
        truth[t][c] = 1
    cube += rng.normal(0, 0.002, cube.shape).astype(np.float32)
    dates = [datetime(2022, 5, 1) + timedelta(days=10 * t) for t in range(n)]
    return np.clip(cube * 10000, 1, 65535).astype(np.uint16), clean, truth, dates


@pytest.fixture
def s2_folder(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray, np.ndarray, list[datetime]]:
    """A folder of 6 per-date 4-band uint16 GeoTIFFs named S2_YYYYMMDD.tif, nodata 0 in a corner of date 3.

    Returns (folder, cube, clean, truth, dates)."""
    cube, clean, truth, dates = cloudy_series()
    cube[3][:, :8, :8] = 0
    folder = tmp_path / "in"
    for t, d in enumerate(dates):
        write_tif(folder / f"S2_{d:%Y%m%d}.tif", cube[t], descriptions=("blue", "green", "red", "nir"),
                  tags={"SENSOR": "synthetic", "PROCESSING": "L2A"}, band_tags=[{"WAVELENGTH": w} for w in
                                                                              ("490", "560", "665", "842")])
    return folder, cube, clean, truth, dates
