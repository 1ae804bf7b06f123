"""``vidrestore decloud`` as a resumable job of tiles: the GeoTIFFs of one pass, bit for bit."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from tests.decloud.conftest import cloudy_series, write_tif
from tests.jobs.helpers import cli, manifest
from vidrestore.cli import main

rasterio = pytest.importorskip("rasterio")

TILES = ["--set", "decloud.block_size=64", "--set", "decloud.quicklook=false"]


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 dates of 4-band uint16 150x140 px (one cloud + shadow per date but the first): 3 x 3 tiles of 64 px."""
    cube, _, _, dates = cloudy_series(6, 150, 140, seed=3)
    cube[2][:, 60:70, :10] = 0  # a no-data patch across a tile border
    folder = tmp_path_factory.mktemp("s2") / "in"
    for t, d in enumerate(dates):
        write_tif(folder / f"S2_{d:%Y%m%d}.tif", cube[t], descriptions=("blue", "green", "red", "nir"))
    return folder


def _decloud(folder: Path, out: Path, *extra: str) -> int:
    return main(["decloud", "-q", str(folder), "-o", str(out), *TILES, *extra])


def _same_outputs(a: Path, b: Path) -> int:
    """Every GeoTIFF of ``a`` equals ``b``'s: pixels, profile, georeferencing, tags, band descriptions."""
    names = sorted(p.name for p in a.glob("*.tif"))
    assert names and names == sorted(p.name for p in b.glob("*.tif"))
    for name in names:
        with rasterio.open(a / name) as x, rasterio.open(b / name) as y:
            assert np.array_equal(x.read(), y.read()), name
            assert x.profile == y.profile and x.transform == y.transform and x.crs == y.crs, name
            assert x.tags() == y.tags() and x.descriptions == y.descriptions, name
    return len(names)


@pytest.fixture(scope="module")
def one_pass(series: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("direct") / "out"
    assert _decloud(series, out) == 0
    return out


def test_tiles_equal_one_pass(series: Path, one_pass: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    assert _decloud(series, tmp_path / "out", "--workdir", str(work), "--keep-workdir") == 0
    m = manifest(work)
    assert m["command"] == "decloud" and m["complete"] and len(m["input"]["files"]) == 6
    tiles = m["tiles"]
    assert len(tiles) == 9 and all(t["status"] == "done" and len(t["sha256"]) == 64 for t in tiles)
    assert sorted((t["row"], t["col"]) for t in tiles) == [(r, c) for r in (0, 64, 128) for c in (0, 64, 128)]
    assert sum(sum(c["cloud"] for c in t["counts"]) for t in tiles) > 0  # clouds were found and counted per tile
    assert _same_outputs(tmp_path / "out", one_pass) == 6 * 4  # images, masks, sources, quality
    report = (tmp_path / "out" / "decloud_report.json").read_text()
    assert report.count('"cloud"') == (one_pass / "decloud_report.json").read_text().count('"cloud"')


def test_crash_after_four_tiles_then_resume(series: Path, one_pass: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from vidrestore.jobs import tiles

    out, work = tmp_path / "out", tmp_path / "work"
    args = ["--workdir", str(work), "--keep-workdir"]
    real, calls = tiles.compute_tile, []

    def crashing(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        if len(calls) == 4:
            raise KeyboardInterrupt  # the crash: four tiles are finished
        calls.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(tiles, "compute_tile", crashing)
    assert _decloud(series, out, *args) == 130
    monkeypatch.setattr(tiles, "compute_tile", real)
    assert not list(out.glob("*.tif"))  # nothing half-written in OUTDIR
    before = manifest(work)
    done = [t["id"] for t in before["tiles"] if t["status"] == "done"]
    assert done == [0, 1, 2, 3]
    stamps = {i: (work / before["tiles"][i]["file"]).stat().st_mtime_ns for i in done}

    capsys.readouterr()
    assert _decloud(series, out, *args) == 2  # without --resume: refused, the finished tiles are kept
    assert "add --resume" in capsys.readouterr().err
    assert _decloud(series, out, *args, "--resume", "--set", "decloud.buffer=5") == 2
    err = capsys.readouterr().err
    assert "config differs" in err and "decloud.buffer" in err and len(err.strip().splitlines()) == 1
    first = sorted(series.glob("*.tif"))[0]
    st = first.stat()
    os.utime(first, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert _decloud(series, out, *args, "--resume") == 2
    err = capsys.readouterr().err
    assert "inputs changed" in err and first.name in err
    os.utime(first, ns=(st.st_atime_ns, st.st_mtime_ns))

    assert _decloud(series, out, *args, "--resume") == 0
    after = manifest(work)
    run2 = after["runs"][-1]
    assert run2["done_before"] == done and sorted(run2["computed"]) == [4, 5, 6, 7, 8]  # nothing redone
    assert {i: (work / after["tiles"][i]["file"]).stat().st_mtime_ns for i in done} == stamps
    assert all(after["tiles"][i]["run"] == 1 for i in done)
    _same_outputs(out, one_pass)


def test_ray_two_workers_equal_one_pass(series: Path, one_pass: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    ray_tmp = tempfile.mkdtemp(prefix="vrray", dir="/tmp")  # short: Ray's socket paths must stay < 108 bytes
    try:
        res = cli("decloud", "-q", str(series), "-o", str(tmp_path / "out"), *TILES, "--keep-workdir",
                  "--engine", "ray", "--workers", "2", "--threads-per-worker", "1", env={"RAY_TMPDIR": ray_tmp},
                  timeout=420)
        assert res.returncode == 0, res.stderr
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    _same_outputs(tmp_path / "out", one_pass)
    m = manifest(tmp_path / "out.vidrestore-work")
    assert m["runs"][0]["engine"] == "ray" and sorted(m["runs"][0]["computed"]) == list(range(9))
    assert len({t["pid"] for t in m["tiles"]}) >= 2 and os.getpid() not in {t["pid"] for t in m["tiles"]}
