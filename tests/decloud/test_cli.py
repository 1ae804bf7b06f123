"""``vidrestore decloud`` on the command line: options, exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vidrestore.cli import main

from .conftest import cloudy_series, write_tif

rasterio = pytest.importorskip("rasterio")


def test_cli_run_with_shortcut_options(s2_folder, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder, cube, clean, truth, dates = s2_folder
    for t, d in enumerate(dates):  # Fmask-style files: 4 cloud, 2 shadow, 0 clear
        fm = np.select([truth[t] == 1, truth[t] == 2], [4, 2], 0).astype(np.uint8)
        write_tif(folder / "fmask" / f"LC_{d:%Y%m%d}_Fmask.tif", fm, nodata=None)
    out = tmp_path / "out"
    rc = main(["decloud", str(folder), "-o", str(out), "-q", "--bands", "blue=1,green=2,red=3,nir=4",
               "--masks", str(folder / "fmask"), "--mask-type", "fmask", "--cloud-values", "4",
               "--shadow-values", "2", "--composite", "median", "--set", "decloud.buffer=1"])
    assert rc == 0
    assert capsys.readouterr().out == ""  # -q: nothing on stdout
    report = json.loads((out / "decloud_report.json").read_text())
    assert report["settings"]["buffer"] == 1 and report["settings"]["composite"] == "median"
    assert [r["mask"] for r in report["per_date"]] == ["file"] * 6
    assert (out / "composite_median.tif").exists() and (out / "decloud_quicklook.png").exists()
    rc = main(["decloud", str(folder), "-o", str(out), "--masks", str(folder / "fmask")])
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if "error" in line]
    assert rc == 2 and len(errors) == 1 and err[-1] == errors[0]  # info lines first, then one error line
    assert "exists" in errors[0] and "--overwrite" in errors[0] and "Traceback" not in "".join(err)


def test_cli_errors_are_one_line_with_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cube, clean, truth, dates = cloudy_series(n=3)
    folder = tmp_path / "in"
    write_tif(folder / f"S2_{dates[0]:%Y%m%d}.tif", cube[0])
    write_tif(folder / f"S2_{dates[1]:%Y%m%d}.tif", cube[1])
    odd = write_tif(folder / f"S2_{dates[2]:%Y%m%d}.tif", cube[2], crs="EPSG:4326", origin=(15.0, 45.1), pixel=1e-4)
    rc = main(["decloud", str(folder), "-o", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and str(odd) in err[0] and "EPSG:4326" in err[0]
    assert "Traceback" not in "".join(err)
    assert not (tmp_path / "out").exists()
    rc = main(["decloud", str(folder), "-o", str(tmp_path / "out"), "-q", "--set", "decloud.bufer=3"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "did you mean 'buffer'" in err[0]
    rc = main(["decloud", str(folder), "-o", str(tmp_path / "out"), "--bands", "blue"])
    assert rc == 2 and "ROLE=BAND" in capsys.readouterr().err
    rc = main(["decloud", str(folder), "-o", str(tmp_path / "out"), "--reproject", "-q"])
    assert rc == 0 and (tmp_path / "out" / odd.name).exists()


def test_preset_is_the_defaults_and_values_are_checked_at_load() -> None:
    import dataclasses

    from vidrestore.config import DecloudConfig, load_config
    from vidrestore.errors import ConfigError

    assert dataclasses.asdict(load_config(preset="decloud").decloud) == dataclasses.asdict(DecloudConfig())
    with pytest.raises(ConfigError, match="decloud.mask_type: 'fmsk'.*did you mean 'fmask'"):
        load_config(preset="decloud", overrides=["decloud.mask_type=fmsk"])
    with pytest.raises(ConfigError, match="decloud.block_size"):
        load_config(preset="decloud", overrides=["decloud.block_size=10"])
    with pytest.raises(ConfigError, match="decloud.probability_threshold"):
        load_config(preset="decloud", overrides=["decloud.probability_threshold=2"])


def test_cli_issue23_flags(s2_folder, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--detector, --scale, --dry-run, --cog, --stac map onto decloud.* keys; a learned detector
    without its bands is one line naming the missing bands, exit 2, nothing written."""
    folder, cube, clean, truth, dates = s2_folder
    out = tmp_path / "dry"
    rc = main(["decloud", str(folder), "-o", str(out), "--detector", "spectral", "--scale", "10000", "--dry-run",
               "--stac"])
    assert rc == 0 and "dry run" in capsys.readouterr().out
    report = json.loads((out / "decloud_report.json").read_text())
    assert report["dry_run"] and report["detector"] == "spectral" and report["reflectance_scale"] == 10000
    assert report["settings"]["detector"] == "spectral"
    assert not list(out.glob("S2_????????.tif")) and len(list(out.glob("*.stac.json"))) == len(dates)
    rc = main(["decloud", str(folder), "-o", str(tmp_path / "x"), "-q", "--bands", "red=3,green=2,blue=1",
               "--detector", "csmask"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "nir" in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "x").exists()
    rc = main(["decloud", str(folder), "-o", str(tmp_path / "y"), "-q", "--scale", "0"])
    assert rc == 2 and "--scale" in capsys.readouterr().err
    rc = main(["decloud", str(folder), "-o", str(tmp_path / "cog"), "-q", "--detector", "spectral", "--cog"])
    assert rc == 0
    with rasterio.open(tmp_path / "cog" / f"S2_{dates[0]:%Y%m%d}.tif") as d:
        assert d.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
