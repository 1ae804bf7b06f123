"""Benchmarks of ``vidrestore decloud`` (issue 7).

Rows:

* the RMSE table on the real Sentinel-2 NDVI series (../shared/data/eolearn_s2_timeseries): clear
  dates get the real s2cloudless masks of partly cloudy dates imposed and are reconstructed by
  decloud, by linear interpolation in time between the nearest clear dates, and by the temporal
  median composite (all with the same masks);
* detection F1 and PSNR of filled pixels on RGB.byte.tif made into a 6-date series;
* megapixels x dates per second and peak RSS for a generated stack of 20 dates of 4096x4096x4
  uint16 (tiled GeoTIFFs in a temporary folder, written window by window), run as a subprocess
  ``python -m vidrestore decloud`` so the peak is the command's own.

``quick=True`` shrinks the generated stack to 20 x 1024 x 1024 and the eolearn sweep.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from tools.benchmarks.common import ROOT, SHARED, BenchRow, Timer, peak_rss_of

AREA = "Satellite declouding (issue 7)"


# --------------------------------------------------------------------------- generated stack


class _Waves:
    """A smooth random field as a sum of plane waves, evaluable on any window (continuous across windows)."""

    def __init__(self, rng: np.random.Generator, n: int, period: tuple[float, float]) -> None:
        lo, hi = period
        per = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
        ang = rng.uniform(0, np.pi, n)
        self.kx = 2 * np.pi * np.cos(ang) / per
        self.ky = 2 * np.pi * np.sin(ang) / per
        self.ph = rng.uniform(0, 2 * np.pi, n)
        self.amp = (per / hi) ** 0.5

    def __call__(self, y0: float, x0: float, h: int, w: int) -> np.ndarray:
        ys = y0 + np.arange(h, dtype=np.float64)
        xs = x0 + np.arange(w, dtype=np.float64)
        out = np.zeros((h, w), np.float64)
        for kx, ky, ph, a in zip(self.kx, self.ky, self.ph, self.amp):
            cy, sy = np.cos(ky * ys + ph), np.sin(ky * ys + ph)
            cx, sx = np.cos(kx * xs), np.sin(kx * xs)
            out += a * (np.outer(sy, cx) + np.outer(cy, sx))
        return (out / np.sqrt(np.sum(self.amp ** 2) / 2)).astype(np.float32)


def make_stack(folder: Path, *, dates: int = 20, size: int = 4096, bands: int = 4, seed: int = 0,
               rows: int = 256) -> list[Path]:
    """Write ``dates`` GeoTIFFs (uint16, ``bands`` bands, tiled 512) of a cloudy, slightly shifting scene."""
    import rasterio
    from rasterio.transform import Affine
    from rasterio.windows import Window

    rng = np.random.default_rng(seed)
    land = [_Waves(rng, 24, (6, 400)) for _ in range(bands)]
    base = np.array([900, 1100, 1000, 2800][:bands] + [1500] * max(0, bands - 4), np.float32)
    paths = []
    t0 = datetime(2021, 3, 1)
    for k in range(dates):
        cloud = _Waves(rng, 10, (60, 900))
        thr = rng.uniform(0.6, 1.4)
        dx, dy = rng.uniform(-1.5, 1.5, 2)
        gain = rng.uniform(0.9, 1.1)
        path = folder / f"S2_{(t0 + timedelta(days=10 * k)):%Y%m%d}_L2A.tif"
        profile = dict(driver="GTiff", dtype="uint16", count=bands, width=size, height=size, nodata=0,
                       crs="EPSG:32633", transform=Affine(10.0, 0.0, 400000.0, 0.0, -10.0, 5100000.0), tiled=True,
                       blockxsize=512, blockysize=512)
        with rasterio.open(path, "w", **profile) as dst:
            for r in range(0, size, rows):
                h = min(rows, size - r)
                dens = np.clip((cloud(r, 0, h, size) - thr) / 0.35, 0, 1)
                shade = np.clip((cloud(r - 20, -30, h, size) - thr) / 0.35, 0, 1)
                out = np.empty((bands, h, size), np.uint16)
                for b in range(bands):
                    v = base[b] * gain * (1 + 0.35 * land[b](r + dy, dx, h, size))
                    v = v * (1 - 0.5 * shade) * (1 - 0.9 * dens) + 0.9 * dens * 7500
                    out[b] = np.clip(v, 1, 65535).astype(np.uint16)
                dst.write(out, window=Window(0, r, size, h))
        paths.append(path)
    return paths


def _stack_rows(quick: bool) -> list[BenchRow]:
    size = 1024 if quick else 4096
    with tempfile.TemporaryDirectory(prefix="decloud-bench-") as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        with Timer() as gen:
            make_stack(src, size=size)
        out = Path(tmp) / "out"
        cmd = [sys.executable, "-m", "vidrestore", "decloud", str(src), "-o", str(out), "-q",
               "--bands", "blue=1,green=2,red=3,nir=4"]
        wall, peak, proc = peak_rss_of(cmd, cwd=str(ROOT))
        if proc.returncode != 0:
            return [BenchRow(f"20 dates {size}x{size}x4 uint16", f"failed: {proc.stderr.strip()[-300:]}",
                             passed=False, command=" ".join(cmd))]
        mpd = 20 * size * size / 1e6 / wall
        command = f"python -m tools.bench decloud  (generated stack, then: vidrestore decloud IN -o OUT -q --bands ...)"
        return [
            BenchRow(f"throughput, 20 dates {size}x{size}x4 uint16", f"{mpd:.2f} megapixel-dates/s ({wall:.0f} s; "
                     f"data generated in {gen.seconds:.0f} s)", command=command),
            BenchRow(f"peak RSS, 20 dates {size}x{size}x4 uint16", f"{peak / 2**30:.2f} GiB",
                     target="<= 2 GB" if size == 4096 else "", passed=(peak <= 2e9) if size == 4096 else None,
                     command=command),
        ]


# --------------------------------------------------------------------------- quality rows


def _eolearn_rows(quick: bool) -> list[BenchRow]:
    sys.path.insert(0, str(ROOT))
    from tests.decloud.eolearn import evaluate_eolearn

    folder = SHARED / "data" / "eolearn_s2_timeseries"
    if not folder.is_dir():
        return [BenchRow("eolearn RMSE table", "skipped: ../shared/data/eolearn_s2_timeseries missing")]
    with tempfile.TemporaryDirectory(prefix="decloud-eo-") as tmp, Timer() as t:
        res = evaluate_eolearn(folder, Path(tmp), max_targets=8 if quick else None)
    cmd = "python -m tools.bench decloud"
    return [
        BenchRow("eolearn NDVI, masked-pixel RMSE: decloud / linear-in-time / temporal median",
                 f"{res.rmse_decloud:.4f} / {res.rmse_linear:.4f} / {res.rmse_median:.4f} "
                 f"({res.pixels} px, {res.trials} trials, {t.seconds:.0f} s)", command=cmd),
        BenchRow("eolearn RMSE ratio vs linear interpolation in time", f"{res.rmse_decloud / res.rmse_linear:.3f}x",
                 target="<= 0.9x", passed=res.rmse_decloud <= 0.9 * res.rmse_linear, command=cmd),
        BenchRow("eolearn RMSE ratio vs temporal median", f"{res.rmse_decloud / res.rmse_median:.3f}x",
                 target="<= 0.6x", passed=res.rmse_decloud <= 0.6 * res.rmse_median, command=cmd),
    ]


def _rgb_rows() -> list[BenchRow]:
    sys.path.insert(0, str(ROOT))
    from tests.decloud.rgbseries import evaluate_rgb_series

    src = SHARED / "data" / "rasterio_testdata" / "RGB.byte.tif"
    if not src.exists():
        return [BenchRow("RGB.byte series", "skipped: RGB.byte.tif missing")]
    with tempfile.TemporaryDirectory(prefix="decloud-rgb-") as tmp, Timer() as t:
        res = evaluate_rgb_series(src, Path(tmp))
    cmd = "python -m tools.bench decloud"
    return [
        BenchRow("RGB.byte 6-date series: cloud+shadow detection F1", f"{res.f1:.3f} (precision {res.precision:.3f}, "
                 f"recall {res.recall:.3f})", target=">= 0.85", passed=res.f1 >= 0.85, command=cmd),
        BenchRow("RGB.byte 6-date series: PSNR of filled pixels", f"{res.psnr_filled:.2f} dB ({res.filled} px, "
                 f"{t.seconds:.0f} s)", target=">= 30 dB", passed=res.psnr_filled >= 30, command=cmd),
    ]


def run(quick: bool = False) -> list[BenchRow]:
    return _eolearn_rows(quick) + _rgb_rows() + _stack_rows(quick)


if __name__ == "__main__":  # pragma: no cover
    for row in run(quick="--quick" in sys.argv):
        print(f"{row.name}: {row.result}  [{row.target}] {'' if row.passed is None else ('PASS' if row.passed else 'FAIL')}")
