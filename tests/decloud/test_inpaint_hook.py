"""Pixels no date sees clear: classical inpainting, or the diffusion restorer's masked mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidrestore.config import load_config
from vidrestore.decloud.engine import Q_INPAINT
from vidrestore.errors import ConfigError
from vidrestore.pipeline.stages import run_decloud

from .conftest import cloudy_series, write_tif

rasterio = pytest.importorskip("rasterio")


def _series_with_a_permanent_cloud(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    cube, clean, truth, dates = cloudy_series(n=3, h=48, w=56)
    cube[:, :, 20:28, 24:32] = 6000  # white on every date: only space can fill it
    for t, d in enumerate(dates):
        m = (truth[t] > 0).astype(np.uint8)
        m[20:28, 24:32] = 1
        write_tif(folder / f"S2_{d:%Y%m%d}.tif", cube[t])
        write_tif(folder / "m" / f"M_{d:%Y%m%d}.tif", m, nodata=None)
    return cube, clean


@pytest.mark.parametrize("method", ["telea", "navier-stokes"])
def test_classical_inpainting_fills_what_time_cannot(tmp_path: Path, method: str) -> None:
    cube, clean = _series_with_a_permanent_cloud(tmp_path / "in")
    cfg = load_config(preset="decloud", overrides=[f"decloud.masks={tmp_path / 'in' / 'm'}", "decloud.buffer=0",
                                                   f"decloud.inpaint={method}", "decloud.quicklook=false"])
    run_decloud([tmp_path / "in"], tmp_path / "out", cfg=cfg)
    with rasterio.open(tmp_path / "out" / "S2_20220501.tif") as d:
        img = d.read().astype(np.float64)
    q = rasterio.open(tmp_path / "out" / "S2_20220501_quality.tif").read(1)
    assert (q[20:28, 24:32] == Q_INPAINT).all()
    # a smooth field: the inpainted square is close to the land it hides, far from the 6000 cloud
    err = np.abs(img[:, 20:28, 24:32] - clean[0][:, 20:28, 24:32])
    assert err.mean() < 250 and img[:, 20:28, 24:32].max() < 5000


def test_diffusion_inpainting_hook_with_a_tiny_model(tmp_path: Path) -> None:
    pytest.importorskip("diffusers")
    import torch

    from vidrestore.restore.diffusion.tiny import make_tiny_model

    cube, clean = _series_with_a_permanent_cloud(tmp_path / "in")
    base = [f"decloud.masks={tmp_path / 'in' / 'm'}", "decloud.buffer=0", "decloud.inpaint=diffusion",
            "decloud.quicklook=false"]
    with pytest.raises(ConfigError, match="restorer.model_path"):
        run_decloud([tmp_path / "in"], tmp_path / "none", cfg=load_config(preset="decloud", overrides=base))
    model = make_tiny_model("pixel", tmp_path / "tiny")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cfg = load_config(preset="decloud", overrides=[*base, f"restorer.model_path={model}", "restorer.steps=2",
                                                       "restorer.device=cpu", "restorer.precision=fp32"])
        run_decloud([tmp_path / "in"], tmp_path / "out", cfg=cfg)
    finally:
        torch.set_num_threads(threads)
    with rasterio.open(tmp_path / "out" / "S2_20220501.tif") as d:
        img = d.read()
    q = rasterio.open(tmp_path / "out" / "S2_20220501_quality.tif").read(1)
    assert (q[20:28, 24:32] == Q_INPAINT).all()
    # random weights restore nothing, but the hole got new values inside the known range, the rest is untouched
    hole = img[:, 20:28, 24:32].astype(np.float64)
    assert not (hole == 6000).all() and hole.max() < 6000
    clear = q == 0
    assert np.array_equal(img[:, clear], cube[0][:, clear])
