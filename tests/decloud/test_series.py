"""Input layouts (per-date files, per-band files, stacks, list files), dates from tags, bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidrestore.config import load_config
from vidrestore.decloud.series import discover_series, parse_band_map, resolve_band_roles
from vidrestore.errors import ConfigError, MediaError
from vidrestore.pipeline.stages import run_decloud

from .conftest import cloudy_series, write_tif

rasterio = pytest.importorskip("rasterio")


def _dc(*overrides: str):
    return load_config(preset="decloud", overrides=overrides).decloud


def _cfg(*overrides: str):
    return load_config(preset="decloud", overrides=("decloud.quicklook=false", *overrides))


def test_per_band_files_grouped_by_pattern(tmp_path: Path) -> None:
    cube, clean, truth, dates = cloudy_series(n=4)
    names = ("B02", "B03", "B04", "B08")
    for t, d in enumerate(dates):
        for k, b in enumerate(names):
            write_tif(tmp_path / "in" / f"T33TVM_{d:%Y%m%d}_{b}.tif", cube[t][k][None])
    (tmp_path / "in" / "README.txt").write_text("not a raster")
    series = discover_series([tmp_path / "in"], _dc("decloud.pattern=T33TVM_{date}_{band}.tif"))
    assert series.layout == "bands" and series.band_names == names and len(series.dates) == 4
    assert resolve_band_roles(series, {}) == {"blue": 0, "green": 1, "red": 2, "nir": 3}  # from B02..B08
    assert [e.aux_stem for e in series.dates] == [f"T33TVM_{d:%Y%m%d}" for d in dates]
    out = tmp_path / "out"
    run_decloud([tmp_path / "in"], out, cfg=_cfg("decloud.pattern=T33TVM_{date}_{band}.tif"))
    for t, d in enumerate(dates):
        mask = rasterio.open(out / f"T33TVM_{d:%Y%m%d}_mask.tif").read(1)
        for k, b in enumerate(names):
            img = rasterio.open(out / f"T33TVM_{d:%Y%m%d}_{b}.tif").read(1)
            assert np.array_equal(img[mask == 0], cube[t][k][mask == 0])
        if t:  # the first date is clear
            assert (mask[truth[t] == 1] == 1).mean() > 0.95
        else:
            assert (mask == 0).all()
    # a missing band is named
    (tmp_path / "in" / f"T33TVM_{dates[2]:%Y%m%d}_B08.tif").unlink()
    with pytest.raises(MediaError, match=f"{dates[2]:%Y%m%d}.*B08"):
        discover_series([tmp_path / "in"], _dc("decloud.pattern=T33TVM_{date}_{band}.tif"))
    with pytest.raises(ConfigError, match="band"):
        discover_series([tmp_path / "in"], _dc("decloud.pattern=T33TVM_{date}.tif"))


def test_multi_date_stack_with_dates_in_band_descriptions_and_in_a_tag(tmp_path: Path) -> None:
    cube, clean, truth, dates = cloudy_series(n=4)
    stack = cube.reshape(-1, *cube.shape[2:])  # date-major: 4 dates x 4 bands
    descs = tuple(f"{d:%Y-%m-%d} {b}" for d in dates for b in ("blue", "green", "red", "nir"))
    p1 = write_tif(tmp_path / "a" / "stack.tif", stack, descriptions=descs)
    s1 = discover_series([p1], _dc())
    assert s1.layout == "stack" and len(s1.dates) == 4 and s1.num_bands == 4
    assert [b.band for b in s1.dates[2].bands] == [9, 10, 11, 12]
    p2 = write_tif(tmp_path / "b" / "stack.tif", stack,
                   tags={"DATES": ",".join(f"{d:%Y-%m-%d}" for d in dates)})
    assert [e.date for e in discover_series([p2], _dc()).dates] == dates
    out = tmp_path / "out"
    run_decloud([p1], out, cfg=_cfg("decloud.bands={blue: 1, green: 2, red: 3, nir: 4}"))
    with rasterio.open(out / "stack.tif") as d:
        assert d.count == 16 and d.descriptions == descs
    with rasterio.open(out / "stack_mask.tif") as d:
        assert d.count == 4
        masks = d.read()
    assert (masks[truth == 1] == 1).mean() > 0.95
    with pytest.raises(MediaError, match="no dates"):
        discover_series([write_tif(tmp_path / "c" / "plain.tif", stack)], _dc())


def test_list_file_and_dates_from_tags(tmp_path: Path) -> None:
    cube, clean, truth, dates = cloudy_series(n=3)
    paths = []
    for t, d in enumerate(dates):
        paths.append(write_tif(tmp_path / f"scene_{t}.tif", cube[t],
                               tags={"TIFFTAG_DATETIME": d.strftime("%Y:%m:%d 10:30:00")}))
    listing = tmp_path / "dates.txt"
    listing.write_text("# my scenes\n" + "\n".join(p.name for p in reversed(paths)) + "\n")
    series = discover_series([listing], _dc())
    assert [e.date.date() for e in series.dates] == [d.date() for d in dates]  # sorted by date
    assert series.dates[0].date.hour == 10
    with pytest.raises(MediaError, match="no acquisition date"):
        discover_series([listing], _dc("decloud.dates_from=name"))


def test_odd_crs_or_size_is_refused_by_name_or_reprojected(tmp_path: Path) -> None:
    cube, clean, truth, dates = cloudy_series(n=3)
    folder = tmp_path / "in"
    for t, d in enumerate(dates[:2]):
        write_tif(folder / f"S2_{d:%Y%m%d}.tif", cube[t])
    # the same place in the next UTM zone (500000, 5000000 in 33N is 28377, 5017540 in 34N)
    odd = write_tif(folder / f"S2_{dates[2]:%Y%m%d}.tif", cube[2], crs="EPSG:32634", origin=(28377, 5017540))
    with pytest.raises(MediaError) as err:
        discover_series([folder], _dc())
    assert odd.name in str(err.value) and "EPSG:32634" in str(err.value) and "--reproject" in str(err.value)
    series = discover_series([folder], _dc("decloud.reproject=true"))
    assert [e.reproject for e in series.dates] == [False, False, True]
    out = tmp_path / "out"
    run_decloud([folder], out, cfg=_cfg("decloud.reproject=true"))
    with rasterio.open(out / odd.name) as d, rasterio.open(folder / f"S2_{dates[0]:%Y%m%d}.tif") as ref:
        assert d.crs == ref.crs and d.transform == ref.transform  # warped onto the first date's grid
        assert (d.read_masks(1) > 0).mean() > 0.5
    odd.unlink()
    write_tif(odd, cube[2][:, :40, :50])
    with pytest.raises(MediaError, match=f"{odd.name}.*size 50x40"):
        discover_series([folder], _dc())
    odd.unlink()
    write_tif(odd, cube[2].astype(np.float32))
    with pytest.raises(MediaError, match=f"{odd.name}.*dtype float32"):
        discover_series([folder], _dc())


def test_bad_inputs_name_the_problem(tmp_path: Path) -> None:
    cube, clean, truth, dates = cloudy_series(n=2)
    with pytest.raises(MediaError, match="no such file"):
        discover_series([tmp_path / "missing"], _dc())
    one = write_tif(tmp_path / "one" / f"S2_{dates[0]:%Y%m%d}.tif", cube[0])
    with pytest.raises(MediaError, match="no dates"):
        discover_series([one], _dc())
    write_tif(tmp_path / "nodate" / "a.tif", cube[0])
    write_tif(tmp_path / "nodate" / "b.tif", cube[1])
    with pytest.raises(MediaError, match="a.tif: no acquisition date"):
        discover_series([tmp_path / "nodate"], _dc())
    bad = tmp_path / "bad" / "S2_20220101.tif"
    bad.parent.mkdir()
    bad.write_bytes(b"not a tiff")
    write_tif(tmp_path / "bad" / "S2_20220111.tif", cube[0])
    with pytest.raises(MediaError, match="S2_20220101.tif: not a readable raster"):
        discover_series([tmp_path / "bad"], _dc())
    assert parse_band_map("blue=1, nir=B08") == {"blue": "1", "nir": "B08"}
    with pytest.raises(ConfigError, match="ROLE=BAND"):
        parse_band_map("blue")
    two = write_tif(tmp_path / "two" / f"S2_{dates[1]:%Y%m%d}.tif", cube[1])
    series = discover_series([one, two], _dc())
    with pytest.raises(ConfigError, match="bands 1..4"):
        resolve_band_roles(series, {"nir": "5"})
    with pytest.raises(ConfigError, match="decloud.bands"):
        load_config(preset="decloud", overrides=["decloud.bands={infrared: 4}"])
