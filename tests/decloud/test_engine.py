"""End to end on small generated GeoTIFF series: outputs, georeferencing, masks, filling, report."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from vidrestore.config import load_config
from vidrestore.decloud.engine import Q_BOTH, Q_CLEAR, Q_NODATA, Q_ONE
from vidrestore.decloud.masks import dilate
from vidrestore.errors import OutputError
from vidrestore.pipeline.stages import run_decloud

rasterio = pytest.importorskip("rasterio")


def _cfg(*overrides: str):
    return load_config(preset="decloud", overrides=overrides)


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _read(p: Path) -> np.ndarray:
    with rasterio.open(p) as d:
        return d.read()


def test_folder_of_dates_end_to_end(s2_folder, tmp_path: Path) -> None:
    folder, cube, clean, truth, dates = s2_folder
    inputs = sorted(folder.glob("*.tif"))
    before = {p: _sha(p) for p in inputs}
    out = tmp_path / "out"
    res = run_decloud([folder], out, cfg=_cfg())  # roles come from the band descriptions
    assert {p: _sha(p) for p in inputs} == before  # inputs untouched
    assert not list(out.glob(".*partial*"))
    names = sorted(p.name for p in out.iterdir())
    for p in inputs:
        for suffix in ("", "_mask", "_source", "_quality"):
            assert f"{p.stem}{suffix}.tif" in names
    assert {"decloud_report.json", "decloud_report.txt", "decloud_quicklook.png"} <= set(names)
    keys = {int(d.strftime("%Y%m%d")) for d in dates}
    preds, truths, errs = [], [], []
    for t, p in enumerate(inputs):
        with rasterio.open(p) as a, rasterio.open(out / p.name) as b:
            assert a.profile == b.profile
            assert a.descriptions == b.descriptions and a.tags() == b.tags()
            assert [a.tags(i) for i in (1, 2, 3, 4)] == [b.tags(i) for i in (1, 2, 3, 4)]
            assert a.colorinterp == b.colorinterp
            src, img = a.read(), b.read()
        mask = _read(out / f"{p.stem}_mask.tif")[0]
        quality = _read(out / f"{p.stem}_quality.tif")[0]
        source = _read(out / f"{p.stem}_source.tif")[0]
        valid = (src != 0).any(axis=0)
        clear = mask == 0
        assert np.array_equal(img[:, clear], src[:, clear])  # clear pixels copied bit for bit
        assert (img[:, ~valid] == 0).all() and (mask[~valid] == 255).all()  # nodata kept
        assert (quality[~valid] == Q_NODATA).all() and (source[~valid] == -1).all()
        filled = np.isin(quality, (Q_BOTH, Q_ONE))
        assert np.array_equal(filled, (mask == 1) | (mask == 2))  # every cloud/shadow pixel filled in time
        assert set(np.unique(source[filled])) <= keys - {int(dates[t].strftime("%Y%m%d"))}
        assert (source[quality == Q_CLEAR] == 0).all()
        preds.append(((mask == 1) | (mask == 2))[valid])
        truths.append(np.stack([(truth[t] > 0), dilate(truth[t] > 0, 2)])[:, valid])
        errs.append(np.abs(img[:, filled].astype(np.float64) - clean[t][:, filled]))
    pred, tr = np.concatenate(preds), np.concatenate(truths, axis=1)
    recall = (pred & tr[0]).sum() / tr[0].sum()
    precision = (pred & tr[1]).sum() / pred.sum()  # against the truth grown by the 2-px buffer
    assert recall > 0.97 and precision > 0.95, (recall, precision)
    err = np.concatenate([e.ravel() for e in errs])
    assert err.size > 1000 and err.mean() < 40  # 0.004 reflectance, under the 0.002 noise x 2
    report = json.loads((out / "decloud_report.json").read_text())
    assert report["dates"] == 6 and len(report["per_date"]) == 6
    for t, row in enumerate(report["per_date"]):
        mask = _read(out / f"{inputs[t].stem}_mask.tif")[0]
        assert row["cloud_px"] == int((mask == 1).sum()) and row["shadow_px"] == int((mask == 2).sum())
        assert row["mask"] == "detected"
    assert [s.valid for s in res.stats][3] == 64 * 72 - 64
    import cv2

    look = cv2.imread(str(out / "decloud_quicklook.png"))
    assert look.shape[0] > 6 * 64 and look.shape[1] > 3 * 72


def test_existing_outputs_need_overwrite_and_failures_leave_nothing(s2_folder, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    folder = s2_folder[0]
    out = tmp_path / "out"
    run_decloud([folder], out, cfg=_cfg("decloud.quicklook=false"))
    with pytest.raises(OutputError, match="exists"):
        run_decloud([folder], out, cfg=_cfg("decloud.quicklook=false"))
    run_decloud([folder], out, cfg=_cfg("decloud.quicklook=false"), overwrite=True)
    with pytest.raises(OutputError, match="overwrite an input"):
        run_decloud([folder], folder, cfg=_cfg(), overwrite=True)

    import vidrestore.decloud.engine as engine

    calls = {"n": 0}
    real = engine._process_block

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "_process_block", failing)
    fresh = tmp_path / "fresh"
    with pytest.raises(RuntimeError, match="disk full"):
        run_decloud([folder], fresh, cfg=_cfg("decloud.block_size=64"))
    left = list(fresh.iterdir()) if fresh.exists() else []
    assert left == []  # every partial output removed


def test_block_size_does_not_change_the_result(s2_folder, tmp_path: Path) -> None:
    folder = s2_folder[0]
    big, small = tmp_path / "big", tmp_path / "small"
    run_decloud([folder], big, cfg=_cfg("decloud.quicklook=false"))
    run_decloud([folder], small, cfg=_cfg("decloud.quicklook=false", "decloud.block_size=64"))
    for p in sorted(big.glob("*.tif")):
        assert np.array_equal(_read(p), _read(small / p.name)), p.name  # windows and halos leave no seams


def test_composites(s2_folder, tmp_path: Path) -> None:
    folder, cube, clean, truth, dates = s2_folder
    for kind in ("median", "best"):
        out = tmp_path / kind
        res = run_decloud([folder], out, cfg=_cfg("decloud.quicklook=false", f"decloud.composite={kind}"))
        assert res.composite == out / f"composite_{kind}.tif"
        with rasterio.open(res.composite) as d, rasterio.open(sorted(folder.glob("*.tif"))[0]) as ref:
            comp = d.read().astype(np.float64)
            assert d.crs == ref.crs and d.transform == ref.transform and d.dtypes == ref.dtypes
            assert d.descriptions == ("blue", "green", "red", "nir")
        # cloud free: within noise of the clean land of some date everywhere (clouds are 5500+ in blue)
        lo, hi = clean.min(axis=0) - 150, clean.max(axis=0) + 150
        assert ((comp >= lo) & (comp <= hi)).mean() > 0.995


def test_mask_files_replace_detection(s2_folder, tmp_path: Path) -> None:
    from .conftest import write_tif

    folder, cube, clean, truth, dates = s2_folder
    scl = {0: 4, 1: 9, 2: 3}  # SCL classes: vegetation, cloud high probability, cloud shadow
    for t, d in enumerate(dates):
        lut = np.vectorize(scl.get)(truth[t]).astype(np.uint8)
        write_tif(folder / "scl" / f"S2_{d:%Y%m%d}_SCL.tif", lut, nodata=None)
    out = tmp_path / "out"
    res = run_decloud([folder], out, cfg=_cfg("decloud.masks=scl/{stem}_SCL.tif", "decloud.mask_type=scl",
                                              "decloud.buffer=0", "decloud.quicklook=false"))
    assert [s.mask_source for s in res.stats] == ["file"] * 6
    for t, d in enumerate(dates):
        mask = _read(out / f"S2_{d:%Y%m%d}_mask.tif")[0]
        expected = truth[t].copy()
        expected[(cube[t] == 0).all(axis=0)] = 255
        assert np.array_equal(mask, expected)


def test_reads_are_windowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No read covers the scene: blocks stay within block + 2 halo, alignment chips within align_chip,
    the overview within its cap."""
    import vidrestore.decloud.plan as plan_mod
    from vidrestore.decloud.raster import SeriesReader

    from .conftest import cloudy_series, write_tif

    cube, clean, truth, dates = cloudy_series(n=3, h=240, w=200)
    for t, d in enumerate(dates):
        write_tif(tmp_path / "in" / f"S2_{d:%Y%m%d}.tif", cube[t])
    seen: list[tuple[int, int]] = []
    overviews: list[tuple[int, int]] = []
    real_read, real_ov = SeriesReader.read, SeriesReader.read_overview

    def spy(self, entry, window):
        seen.append((window.height, window.width))
        return real_read(self, entry, window)

    def spy_ov(self, entry, shape):
        overviews.append(shape)
        return real_ov(self, entry, shape)

    monkeypatch.setattr(SeriesReader, "read", spy)
    monkeypatch.setattr(SeriesReader, "read_overview", spy_ov)
    monkeypatch.setattr(plan_mod, "OVERVIEW_MAX_SIDE", 60)
    res = run_decloud([tmp_path / "in"], tmp_path / "out",
                      cfg=_cfg("decloud.block_size=64", "decloud.quicklook=false", "decloud.shadow_search=8",
                               "decloud.align_chip=64", "decloud.bands={blue: 1, green: 2, red: 3, nir: 4}"))
    halo = 2 + 2 + 8 + 24 + 8  # shifts (<= 8 px here) + buffer + shadow search + fill context
    assert seen and max(max(h, w) for h, w in seen) <= 64 + 2 * halo < 200
    assert max(max(s) for s in overviews) <= 60
    assert sum(s.cloud for s in res.stats) > 0
