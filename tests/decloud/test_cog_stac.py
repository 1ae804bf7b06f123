"""Issue 23: --cog outputs GIS tools open directly, STAC Items out, STAC Items in."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vidrestore.config import load_config

from .conftest import cloudy_series, write_tif

rasterio = pytest.importorskip("rasterio")


def _cfg(*overrides: str):
    return load_config(preset="decloud", overrides=("decloud.quicklook=false", "decloud.detector=spectral",
                                                    *overrides))


@pytest.fixture
def big_folder(tmp_path: Path) -> tuple[Path, list]:
    """6 dates of 4-band uint16, 600x640 px (larger than a COG tile, so overviews exist), deflate, 256 tiles."""
    import cv2

    cube, clean, truth, dates = cloudy_series(n=6, h=60, w=64, seed=5)
    folder = tmp_path / "in"
    for t, d in enumerate(dates):
        big = np.stack([cv2.resize(cube[t, k], (640, 600), interpolation=cv2.INTER_NEAREST) for k in range(4)])
        write_tif(folder / f"S2_{d:%Y%m%d}.tif", big, descriptions=("blue", "green", "red", "nir"),
                  tags={"SENSOR": "synthetic"}, tiled=True, blockxsize=256, blockysize=256, compress="deflate")
    return folder, dates


def test_cog_outputs_validate_and_keep_profile_and_pixels(big_folder, tmp_path: Path) -> None:
    from vidrestore.decloud.cog import validate_cog
    from vidrestore.pipeline.stages import run_decloud

    folder, dates = big_folder
    run_decloud([folder], tmp_path / "plain", cfg=_cfg())
    run_decloud([folder], tmp_path / "cog", cfg=_cfg("decloud.cog=true"))
    for d in dates:
        name = f"S2_{d:%Y%m%d}.tif"
        cog = tmp_path / "cog" / name
        assert validate_cog(cog) == [], validate_cog(cog)
        assert validate_cog(tmp_path / "plain" / name)  # the ordinary output is not a COG: the check can fail
        with rasterio.open(folder / name) as a, rasterio.open(cog) as b, rasterio.open(tmp_path / "plain" / name) as c:
            assert (a.crs, a.transform, a.dtypes, a.nodata, a.count) == (b.crs, b.transform, b.dtypes, b.nodata, b.count)
            assert a.descriptions == b.descriptions and a.tags()["SENSOR"] == b.tags()["SENSOR"]
            assert b.block_shapes[0] == (512, 512) and b.overviews(1) and b.compression.name.upper() == "DEFLATE"
            assert np.array_equal(b.read(), c.read())  # same pixels as the plain run
    assert not list((tmp_path / "cog").glob(".*"))  # no temporary left behind


def test_stac_items_written_and_valid(s2_folder, tmp_path: Path) -> None:
    import pystac
    from pystac.validation import validate_dict

    from vidrestore.pipeline.stages import run_decloud

    folder, cube, clean, truth, dates = s2_folder
    out = tmp_path / "out"
    res = run_decloud([folder], out, cfg=_cfg("decloud.stac=true"))
    for t, d in enumerate(dates):
        path = out / f"S2_{d:%Y%m%d}.stac.json"
        assert path in res.outputs
        doc = json.loads(path.read_text())
        item = pystac.Item.from_dict(doc)
        core = dict(doc, stac_extensions=[])  # extension schemas would need the network; core is local
        validate_dict(core)
        assert item.datetime.strftime("%Y%m%d") == f"{d:%Y%m%d}"
        assert {"data", "mask", "quality", "source"} <= set(item.assets)
        assert "data-mask" in item.assets["mask"].roles
        for a in item.assets.values():
            assert (out / a.href).is_file()
        assert doc["properties"]["proj:code"] == "EPSG:32633" and doc["properties"]["proj:shape"] == [64, 72]
        w, s, e, n = item.bbox
        assert 14 < w < e < 16 and 45 < s < n < 46  # UTM 33N 500 km E, 5000 km N in WGS84
        assert doc["properties"]["decloud:status"] == ("clear" if t == 0 else "cloudy")
        assert doc["properties"]["decloud:changed_px"] == res.stats[t].changed


def test_stac_items_as_input_give_the_same_outputs(s2_folder, tmp_path: Path) -> None:
    import pystac

    from vidrestore.errors import MediaError
    from vidrestore.pipeline.stages import run_decloud

    folder, cube, clean, truth, dates = s2_folder
    items = []
    for d in dates:
        item = pystac.Item(id=f"S2_{d:%Y%m%d}", geometry=None, bbox=None, datetime=d, properties={})
        item.add_asset("visual", pystac.Asset(href=f"../in/S2_{d:%Y%m%d}.tif", roles=["data"],
                                              media_type=pystac.MediaType.GEOTIFF))
        p = tmp_path / "items" / f"S2_{d:%Y%m%d}.json"
        p.parent.mkdir(exist_ok=True)
        p.write_text(json.dumps(item.to_dict(include_self_link=False)))
        items.append(p)
    run_decloud([folder], tmp_path / "a", cfg=_cfg())
    res = run_decloud(items, tmp_path / "b", cfg=_cfg())
    assert len(res.stats) == len(dates)
    for d in dates:
        for suffix in ("", "_mask", "_quality"):
            with rasterio.open(tmp_path / "a" / f"S2_{d:%Y%m%d}{suffix}.tif") as a, \
                    rasterio.open(tmp_path / "b" / f"S2_{d:%Y%m%d}{suffix}.tif") as b:
                assert np.array_equal(a.read(), b.read())
    remote = json.loads(items[0].read_text())
    remote["assets"]["visual"]["href"] = "https://example.com/S2.tif"
    items[0].write_text(json.dumps(remote))
    with pytest.raises(MediaError, match="not a local file"):
        run_decloud(items, tmp_path / "c", cfg=_cfg())


def test_existing_stac_item_refused_before_anything_is_written(s2_folder, tmp_path: Path) -> None:
    from vidrestore.errors import OutputError
    from vidrestore.pipeline.stages import run_decloud

    folder, cube, clean, truth, dates = s2_folder
    out = tmp_path / "out"
    out.mkdir()
    keep = out / f"S2_{dates[3]:%Y%m%d}.stac.json"
    keep.write_text("{}")
    with pytest.raises(OutputError, match="stac.json: exists"):
        run_decloud([folder], out, cfg=_cfg("decloud.stac=true"))
    assert sorted(p.name for p in out.iterdir()) == [keep.name] and keep.read_text() == "{}"
