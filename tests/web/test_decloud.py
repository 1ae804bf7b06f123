"""A GeoTIFF series through the app: listed as a series with raster facts, a preview is a dry run with
the quick-look, a finished job shows its quick-look strip and its masks."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("rasterio", reason="the geo extra is not installed: pip install 'vidrestore[geo]'")

from tests.decloud.conftest import cloudy_series, write_tif  # noqa: E402
from tests.web.conftest import make_client  # noqa: E402
from tests.web.test_jobs import wait_state  # noqa: E402


@pytest.fixture
def geo_root(tmp_path: Path) -> Path:
    root = tmp_path / "geo"
    cube, _clean, _truth, dates = cloudy_series(n=4, h=48, w=56)
    for t, d in enumerate(dates):
        write_tif(root / "scenes" / f"S2_{d:%Y%m%d}.tif", cube[t], descriptions=("blue", "green", "red", "nir"))
    return root


def test_decloud_series_pick_preview_and_job(geo_root: Path, tmp_path: Path) -> None:
    with make_client([geo_root], tmp_path / "state") as c:
        entries = c.get("/api/browse", params={"path": "geo"}).json()["entries"]
        assert [(e["name"], e["kind"], e["count"]) for e in entries] == [("scenes", "geoseries", 4)]
        facts = c.get("/api/probe", params={"path": "geo/scenes"}).json()
        assert (facts["kind"], facts["files"], facts["dates"], facts["bands"], facts["crs"]) == \
            ("geoseries", 4, 4, 4, "EPSG:32633")
        settings = {"command": "decloud", "input": ["geo/scenes"], "options": {"bands": "blue=1,green=2,red=3,nir=4",
                                                                                 "detector": "spectral"}}
        p = c.post("/api/preview", json=settings)
        assert p.status_code == 200, p.text
        preview = p.json()
        views = preview["decloud_masks"]  # the masks, coloured for the page
        assert len(views) == 4 and all(c.get(u).status_code == 200 for u in views)
        # a small series is previewed by the whole job: every date before and after, masks as overlays
        assert not preview["dry_run"] and len(preview["dates"]) == 4
        assert len(preview["before"]) == len(preview["after"]) == 4
        assert len(preview["masks"]["cloud"]) == 4 and preview["quicklook"]
        assert not (geo_root / "clean").exists()  # a preview writes into the server's cache only
        r = c.post("/api/jobs", json={**settings, "output": "geo/clean"})
        assert r.status_code == 200, r.text
        job = wait_state(c, r.json()["id"], ("done", "failed"), timeout=600)
        assert job["state"] == "done", job["message"]
        assert len(list((geo_root / "clean").glob("S2_*_mask.tif"))) == 4
        # the preview's outputs are the job's, byte for byte
        cached = next((tmp_path / "state").rglob("out/S2_*_mask.tif")).parent
        for tif in sorted((geo_root / "clean").glob("S2_*.tif")):
            assert (cached / tif.name).read_bytes() == tif.read_bytes(), tif.name
        urls = job["extras"]
        assert urls[0] == "/api/file?path=geo/clean/decloud_quicklook.png"
        assert sum("/masks/" in u for u in urls) == 4
        for u in urls:
            got = c.get(u)
            assert got.status_code == 200 and got.content[:4] == b"\x89PNG", u


def test_a_large_series_is_previewed_by_a_dry_run_with_its_masks_over_the_dates(geo_root: Path, tmp_path: Path,
                                                                                 monkeypatch) -> None:
    from vidrestore.io.images import read_image
    from vidrestore.web import app

    monkeypatch.setattr(app, "DECLOUD_PREVIEW_MPD", 0.0)  # this series counts as large
    with make_client([geo_root], tmp_path / "state") as c:
        settings = {"command": "decloud", "input": ["geo/scenes"], "options": {"bands": "blue=1,green=2,red=3,nir=4",
                                                                                 "detector": "spectral"}}
        p = c.post("/api/preview", json=settings)
        assert p.status_code == 200, p.text
        preview = p.json()
        assert preview["dry_run"] and preview["after"] == [] and not preview["quicklook"]
        assert len(preview["before"]) == 4 and preview["dates"] == sorted(preview["dates"])
        clouds = [c.get(u) for u in preview["masks"]["cloud"]]
        assert len(clouds) == 4 and all(r.status_code == 200 for r in clouds)
        # the rendered series has clouds: some date's overlay marks pixels, and the views match the dates' size
        (tmp_path / "m.png").write_bytes(clouds[0].content)
        first = read_image(tmp_path / "m.png")
        assert first.shape[:2] == (48, 56)
        marked = 0
        for r in clouds:
            (tmp_path / "m.png").write_bytes(r.content)
            marked += int((read_image(tmp_path / "m.png") > 127).sum())
        assert marked > 0
