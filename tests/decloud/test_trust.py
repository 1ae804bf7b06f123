"""Issue 23: provider QA masks, the mask file as authority, dry runs, per-date reasons, empty dates, NaN."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vidrestore.config import load_config
from vidrestore.decloud.masks import CLEAR, CLOUD, NODATA, SHADOW, decode_mask, make_mask_spec

from .conftest import cloudy_series, write_tif

rasterio = pytest.importorskip("rasterio")


def _cfg(*overrides: str):
    return load_config(preset="decloud", overrides=("decloud.quicklook=false", *overrides))


def _qa(fill=0, dilated=0, cirrus=0, cloud=0, shadow=0, clear=0, cloud_conf=0, shadow_conf=0, cirrus_conf=0) -> int:
    return (fill | dilated << 1 | cirrus << 2 | cloud << 3 | shadow << 4 | clear << 6 | cloud_conf << 8
            | shadow_conf << 10 | cirrus_conf << 14)


def test_qa_pixel_bits_and_confidences() -> None:
    values = np.array([
        _qa(clear=1, cloud_conf=1, shadow_conf=1, cirrus_conf=1),  # USGS's usual clear pixel: low confidences
        _qa(cloud=1, cloud_conf=3),
        _qa(dilated=1, cloud_conf=1),
        _qa(cirrus=1, cirrus_conf=3),
        _qa(shadow=1, shadow_conf=3),
        _qa(clear=1, cloud_conf=2),  # medium cloud confidence, no flag
        _qa(clear=1, shadow_conf=2),
        _qa(fill=1),
    ], np.uint16)
    spec = make_mask_spec("qa_pixel")
    assert decode_mask(values, spec).tolist() == [CLEAR, CLOUD, CLOUD, CLOUD, SHADOW, CLOUD, SHADOW, NODATA]
    strict = make_mask_spec("qa_pixel", qa_confidence="high")
    assert decode_mask(values, strict).tolist() == [CLEAR, CLOUD, CLOUD, CLOUD, SHADOW, CLEAR, CLEAR, NODATA]


def test_cbers_cmask_values() -> None:
    v = np.array([0, 127, 255], np.uint8)
    assert decode_mask(v, make_mask_spec("cmask")).tolist() == [NODATA, CLEAR, CLOUD]


def _landsat_folder(root: Path, n: int = 6, *, bright_static: bool = True):
    """Landsat C2 style per-band files (..._SR_B2..B5.TIF) and a QA_PIXEL file per date; all dates clear per QA.

    A bright white roof (static on every date) is the spectral tests' classic false alarm."""
    cube, clean, truth, dates = cloudy_series(n=n, seed=3)
    cube = np.repeat(cube[:1], n, axis=0)  # every date clear: the first date's land
    if bright_static:
        cube[:, :, 20:30, 20:34] = np.array([5200, 5300, 5400, 5600], np.uint16)[None, :, None, None]
    rng = np.random.default_rng(0)
    cube = np.clip(cube.astype(np.int32) + rng.integers(-20, 21, cube.shape), 1, 65535).astype(np.uint16)
    stems = []
    for t, d in enumerate(dates):
        stem = f"LC08_L2SP_190027_{d:%Y%m%d}_{d:%Y%m%d}_02_T1"
        for k in range(4):
            write_tif(root / f"{stem}_SR_B{k + 2}.TIF", cube[t, k])
        qa = np.full(cube.shape[2:], _qa(clear=1, cloud_conf=1, shadow_conf=1, cirrus_conf=1), np.uint16)
        write_tif(root / f"{stem}_QA_PIXEL.TIF", qa, nodata=1)
        stems.append(stem)
    return cube, stems, dates


def test_provider_masks_found_beside_bands_and_clear_dates_untouched(tmp_path: Path) -> None:
    from vidrestore.pipeline.stages import run_decloud

    cube, stems, dates = _landsat_folder(tmp_path / "in")
    out = tmp_path / "out"
    cfg = _cfg("decloud.pattern=\"LC08_L2SP_190027_{date}_*_02_T1_SR_{band}.TIF\"",
               "decloud.bands={blue: B2, green: B3, red: B4, nir: B5}", "decloud.detect=always")
    res = run_decloud([tmp_path / "in"], out, cfg=cfg)
    assert len(res.stats) == len(dates)  # the QA_PIXEL files are masks, not dates or bands
    report = json.loads((out / "decloud_report.json").read_text())
    for t, row in enumerate(report["per_date"]):
        assert row["mask"] == "file+detected" and row["status"] == "clear", row
        assert row["changed_px"] == 0 and row["why"].startswith("clear")
        for k in range(4):
            with rasterio.open(out / f"{stems[t]}_SR_B{k + 2}.TIF") as d:
                assert np.array_equal(d.read(1), cube[t, k])  # bit for bit, the bright roof included


def test_mask_file_is_the_authority_detection_adds_only_sure_regions(tmp_path: Path) -> None:
    """detect=always: a mask file's cloud is kept, a big detected cloud is added, a 3x3 speck is not."""
    from vidrestore.decloud.plan import _combine_classes

    file_cls = np.zeros((40, 40), np.uint8)
    file_cls[2:6, 2:6] = CLOUD
    det = np.zeros((40, 40), np.uint8)
    det[20:32, 20:32] = CLOUD  # a real cloud (buffered by 2)
    det[8:13, 30:35] = CLOUD  # a 1 px speck grown by a 2 px buffer
    det[35:38, 5:20] = SHADOW
    cls, origin = _combine_classes(file_cls, det, buffer=2, sure_area=16)
    assert (cls[2:6, 2:6] == CLOUD).all() and (origin[2:6, 2:6] == 1).all()
    assert (cls[20:32, 20:32] == CLOUD).all() and (origin[22:30, 22:30] == 2).all()
    assert (cls[8:13, 30:35] == CLEAR).all()
    assert (cls[35:38, 5:20] == CLEAR).all()  # a 1 px high shadow line: nothing sure in it


def test_dry_run_writes_only_masks_and_report(s2_folder, tmp_path: Path) -> None:
    from vidrestore.pipeline.stages import run_decloud

    folder, cube, clean, truth, dates = s2_folder
    out = tmp_path / "out"
    res = run_decloud([folder], out, cfg=_cfg("decloud.dry_run=true", "decloud.composite=median",
                                              "decloud.quicklook=true"))
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"S2_{d:%Y%m%d}_mask.tif" for d in dates] + ["decloud_report.json",
                                                                         "decloud_report.txt"])
    report = json.loads((out / "decloud_report.json").read_text())
    assert report["dry_run"] is True
    masked = [r["masked_by"]["detector"] for r in report["per_date"]]
    assert masked[0] == 0 and all(m > 100 for m in masked[1:])  # what a real run would replace, by cause
    assert all(r["changed_px"] == 0 for r in report["per_date"])
    assert "DRY RUN" in (out / "decloud_report.txt").read_text()
    wet = run_decloud([folder], tmp_path / "wet", cfg=_cfg())
    for d in dates:  # the dry run's masks are the real run's
        with rasterio.open(out / f"S2_{d:%Y%m%d}_mask.tif") as a, \
                rasterio.open(tmp_path / "wet" / f"S2_{d:%Y%m%d}_mask.tif") as b:
            assert np.array_equal(a.read(), b.read())
    assert [s.changed for s in wet.stats] == [s.masked_detected for s in res.stats]


def test_report_says_what_changed_and_why(s2_folder, tmp_path: Path) -> None:
    from vidrestore.pipeline.stages import run_decloud

    folder, cube, clean, truth, dates = s2_folder
    out = tmp_path / "out"
    run_decloud([folder], out, cfg=_cfg())
    report = json.loads((out / "decloud_report.json").read_text())
    for t, (row, d) in enumerate(zip(report["per_date"], dates)):
        with rasterio.open(folder / f"S2_{d:%Y%m%d}.tif") as a, rasterio.open(out / f"S2_{d:%Y%m%d}.tif") as b:
            differ = int((a.read() != b.read()).any(axis=0).sum())
        assert row["changed_px"] >= differ  # every changed pixel is counted (a fill may equal the input)
        assert row["changed_by"]["detector"] == row["changed_px"]
        assert row["status"] == ("clear" if t == 0 else "cloudy")
        assert ("masked by the detector" in row["why"]) == (t > 0)


def test_all_nodata_date_is_empty_and_float_nan_kept(tmp_path: Path) -> None:
    from vidrestore.pipeline.stages import run_decloud

    cube, clean, truth, dates = cloudy_series(n=5)
    data = cube.astype(np.float32) / 10000
    data[2] = np.nan  # a date with no valid pixel at all
    data[3][:, :5, :] = np.nan  # a NaN strip
    folder = tmp_path / "in"
    for t, d in enumerate(dates):
        write_tif(folder / f"S2_{d:%Y%m%d}.tif", data[t], nodata=None, descriptions=("blue", "green", "red", "nir"))
    out = tmp_path / "out"
    res = run_decloud([folder], out, cfg=_cfg("decloud.detector=spectral"))
    assert [s.status for s in res.stats][2] == "empty"
    report = json.loads((out / "decloud_report.json").read_text())
    assert report["empty_dates"] == [f"S2_{dates[2]:%Y%m%d}.tif"]
    assert "empty" in report["per_date"][2]["why"]
    with rasterio.open(out / f"S2_{dates[2]:%Y%m%d}.tif") as d:
        assert np.isnan(d.read()).all()
    with rasterio.open(out / f"S2_{dates[3]:%Y%m%d}.tif") as d:
        img = d.read()
    assert np.isnan(img[:, :5, :]).all() and np.isfinite(img[:, 5:, :]).all()
    with rasterio.open(out / f"S2_{dates[3]:%Y%m%d}_mask.tif") as d:
        assert (d.read(1)[:5] == NODATA).all()


def test_float_composite_keeps_nan_as_nodata(tmp_path: Path) -> None:
    """A float series without a nodata value: where no date sees the ground, the composite is NaN
    (declared as its nodata), not 0."""
    from vidrestore.pipeline.stages import run_decloud

    cube, clean, truth, dates = cloudy_series(n=4)
    data = cube.astype(np.float32) / 10000
    data[:, :, :6, :6] = np.nan  # no date has data here
    folder = tmp_path / "in"
    for t, d in enumerate(dates):
        write_tif(folder / f"S2_{d:%Y%m%d}.tif", data[t], nodata=None, descriptions=("blue", "green", "red", "nir"))
    run_decloud([folder], tmp_path / "out", cfg=_cfg("decloud.detector=spectral", "decloud.composite=median",
                                                     "decloud.inpaint=none"))
    with rasterio.open(tmp_path / "out" / "composite_median.tif") as d:
        comp = d.read()
        assert np.isnan(d.nodata)
    assert np.isnan(comp[:, :6, :6]).all() and np.isfinite(comp[:, 10:, 10:]).all()


def test_cbers_cmask_beside_each_date_is_used(tmp_path: Path) -> None:
    """CBERS-4 style files: <scene>.tif with <scene>_CMASK.tif beside it (0 no data, 127 clear, 255 cloud);
    the cloud the mask names is filled, every other pixel of every date is kept."""
    from vidrestore.pipeline.stages import run_decloud

    cube, clean, truth, dates = cloudy_series(n=5, seed=4)
    cube = np.repeat(cube[:1], 5, axis=0).astype(np.int16)
    folder = tmp_path / "in"
    for t, d in enumerate(dates):
        stem = f"CBERS_4_AWFI_{d:%Y%m%d}_157_117_L4"
        write_tif(folder / f"{stem}.tif", cube[t], descriptions=("blue", "green", "red", "nir"), nodata=-9999)
        cm = np.full(cube.shape[2:], 127, np.uint8)
        if t == 1:
            cm[10:20, 10:30] = 255
        write_tif(folder / f"{stem}_CMASK.tif", cm, nodata=None)
    out = tmp_path / "out"
    res = run_decloud([folder], out, cfg=_cfg("decloud.buffer=0"))
    assert len(res.stats) == 5 and [s.mask_source for s in res.stats] == ["file"] * 5
    assert res.stats[1].changed_file == 200 and sum(s.changed for s in res.stats) == 200
    for t, d in enumerate(dates):
        with rasterio.open(out / f"CBERS_4_AWFI_{d:%Y%m%d}_157_117_L4_mask.tif") as m:
            assert int((m.read(1) == CLOUD).sum()) == (200 if t == 1 else 0)
