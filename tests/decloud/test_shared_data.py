"""The issue's targets on real data from ../shared (skipped with the reason when it is absent).

* eo-learn Sentinel-2 NDVI, 68 dates, real s2cloudless masks imposed on clear dates: decloud's RMSE
  on the masked pixels <= 0.9x linear interpolation in time and <= 0.6x the temporal median.
* RGB.byte.tif as a 6-date series with sub-pixel shifts, gains, noise, rendered clouds + shadows:
  detection F1 >= 0.85, PSNR of filled pixels >= 30 dB, profiles identical, nodata kept.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import shared_file

rasterio = pytest.importorskip("rasterio")


def test_eolearn_real_masks_beat_both_baselines(tmp_path: Path) -> None:
    from .eolearn import evaluate_eolearn

    folder = shared_file("eolearn_s2_timeseries")
    res = evaluate_eolearn(folder, tmp_path, runs=1)
    assert res.trials >= 9 and res.pixels > 10000
    assert res.rmse_decloud <= 0.9 * res.rmse_linear, res
    assert res.rmse_decloud <= 0.6 * res.rmse_median, res


def test_rgb_byte_series_detection_fill_and_georeferencing(tmp_path: Path) -> None:
    from .rgbseries import evaluate_rgb_series

    src = shared_file("rasterio_testdata/RGB.byte.tif")
    res = evaluate_rgb_series(src, tmp_path)
    assert res.f1 >= 0.85, res.f1
    assert res.psnr_filled >= 30.0, res.psnr_filled
    assert res.filled > 100000
    # the rendering offsets are recovered: date(x) = scene(x + o), so decloud's shift is o_ref - o
    ref = next(i for i, s in enumerate(res.stats) if s.shift.is_zero and s.shift.response == 1.0)
    rx, ry = res.series.shifts[ref]
    for st, (ox, oy) in zip(res.stats, res.series.shifts):
        assert abs(st.shift.dx - (rx - ox)) < 0.1 and abs(st.shift.dy - (ry - oy)) < 0.1, (st.name, st.shift)
    for k, path in enumerate(res.inputs):
        with rasterio.open(path) as a, rasterio.open(res.out_dir / path.name) as b:
            assert a.profile == b.profile  # crs, transform, dtype, nodata, count, block layout
            assert a.tags() == b.tags() and a.descriptions == b.descriptions
            assert [a.tags(i) for i in (1, 2, 3)] == [b.tags(i) for i in (1, 2, 3)]
            src_img, out_img = a.read(), b.read()
        nodata = (src_img == 0).all(axis=0)
        assert nodata.any() and (out_img[:, nodata] == 0).all()  # no data stays no data
        assert not ((out_img == 0).all(axis=0) & ~nodata).any()  # and nothing else becomes it
