"""Issue 23: the learned detectors (models shipped inside ukis-csmask and s2cloudless) and their choice."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from vidrestore.config import load_config

from .conftest import cloudy_series, write_tif

rasterio = pytest.importorskip("rasterio")


def _cfg(*overrides: str):
    return load_config(preset="decloud", overrides=("decloud.quicklook=false", *overrides))


def test_choice_of_detector_and_why() -> None:
    from vidrestore.decloud.learned import DetectorUnavailable, choose_detector, package_installed

    four = {"blue": 0, "green": 1, "red": 2, "nir": 3}
    assert choose_detector("spectral", four)[0] == "spectral"
    name, why = choose_detector("auto", {"red": 0, "green": 1, "blue": 2})
    assert name == "spectral" and "nir" in why  # says what is missing
    if package_installed("csmask"):
        assert choose_detector("auto", four)[0] == "csmask"
    with pytest.raises(DetectorUnavailable, match="nir"):
        choose_detector("csmask", {"red": 0, "green": 1, "blue": 2})
    with pytest.raises(DetectorUnavailable, match="b8a"):
        choose_detector("s2cloudless", four)


def test_csmask_tiles_agree_with_one_model_call() -> None:
    """The tiled, blended runner gives the model's own answer where one tile covers the image, and
    probabilities that sum to 1 without seams across tiles on a larger one."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("ukis_csmask")
    from vidrestore.decloud.learned import _csmask_model, csmask_probabilities

    rng = np.random.default_rng(0)
    x = (0.05 + 0.1 * rng.random((4, 256, 256))).astype(np.float32)
    x[:, 60:140, 80:200] = 0.7  # a bright flat block
    m = _csmask_model(4, "l1c", 1)
    mine = csmask_probabilities(x, m)
    z = ((x - m.mean) / m.std)[None].astype(np.float32)
    logits = m.session.run(None, {m.input_name: z})[0][0]
    ref = np.exp(logits - logits.max(axis=0))
    ref /= ref.sum(axis=0)
    assert np.allclose(mine, ref, atol=1e-5)
    big = np.tile(x, (1, 2, 2))[:, :400, :450]
    p = csmask_probabilities(big, m)
    assert p.shape == (3, 400, 450) and np.allclose(p.sum(axis=0), 1.0, atol=1e-5)


def test_s2cloudless_finds_bright_white_clouds() -> None:
    pytest.importorskip("s2cloudless")
    from vidrestore.decloud.learned import S2CLOUDLESS_BANDS, s2cloudless_clouds, s2cloudless_probability

    rng = np.random.default_rng(1)
    # typical vegetated land TOA reflectance in B01 B02 B04 B05 B08 B8A B09 B10 B11 B12
    land = np.array([0.12, 0.09, 0.06, 0.10, 0.30, 0.32, 0.10, 0.002, 0.18, 0.09], np.float32)
    cloud = np.array([0.55, 0.55, 0.55, 0.56, 0.58, 0.58, 0.30, 0.06, 0.40, 0.30], np.float32)
    x = np.repeat(land[None, :, None, None], 2, axis=0) * (1 + 0.05 * rng.standard_normal((2, 10, 48, 48)))
    x = x.astype(np.float32)
    x[1, :, 10:30, 10:30] = cloud[:, None, None]
    roles = {b: i for i, b in enumerate(S2CLOUDLESS_BANDS)}
    prob = s2cloudless_probability(x, roles)
    assert prob[1, 15:25, 15:25].min() > 0.8 and prob[0].max() < 0.4
    clouds = s2cloudless_clouds(x, roles, np.ones((2, 48, 48), bool))
    assert clouds[1, 12:28, 12:28].all() and not clouds[0].any()


def test_s2cloudless_block_classifies_block_means_and_keeps_the_clouds() -> None:
    """``decloud.detect.s2cloudless_block`` (Sentinel Hub's 160 m practice): the classifier sees
    block x block means (so it is called on block^2 times fewer pixels), the mask comes back at the
    input's size, a 64 px cloud is found at 16 px blocks, and invalid pixels never enter a mean."""
    pytest.importorskip("s2cloudless")
    from vidrestore.decloud import learned
    from vidrestore.decloud.learned import S2CLOUDLESS_BANDS, s2cloudless_clouds

    land = np.array([0.12, 0.09, 0.06, 0.10, 0.30, 0.32, 0.10, 0.002, 0.18, 0.09], np.float32)
    cloud = np.array([0.55, 0.55, 0.55, 0.56, 0.58, 0.58, 0.30, 0.06, 0.40, 0.30], np.float32)
    rng = np.random.default_rng(2)
    x = (np.repeat(land[None, :, None, None], 2, axis=0) * (1 + 0.05 * rng.standard_normal((2, 10, 200, 180))))
    x = x.astype(np.float32)
    x[1, :, 64:128, 48:112] = cloud[:, None, None]
    valid = np.ones((2, 200, 180), bool)
    valid[0, :, :8] = False
    x[0, :, :, :8] = 9.0  # garbage where invalid: must not be averaged in
    roles = {b: i for i, b in enumerate(S2CLOUDLESS_BANDS)}
    seen = []
    real = learned.s2cloudless_probability

    def spy(stack, r):
        seen.append(stack.shape)
        return real(stack, r)

    mp = pytest.MonkeyPatch()
    mp.setattr(learned, "s2cloudless_probability", spy)
    try:
        clouds = s2cloudless_clouds(x, roles, valid, block=16)
    finally:
        mp.undo()
    assert seen == [(2, 10, 13, 12)]  # ceil(200 / 16) x ceil(180 / 16) cells
    assert clouds.shape == (2, 200, 180)
    assert clouds[1, 72:120, 56:104].all()  # the cloud's inside
    assert not clouds[1, :40].any() and not clouds[0].any()  # clear land, and the masked garbage
    from scipy.ndimage import binary_dilation, binary_erosion

    full = s2cloudless_clouds(x, roles, valid)
    square = np.ones((3, 3), bool)
    near = binary_dilation(full[1], square, iterations=8)  # half a block around the full-resolution mask
    core = binary_erosion(full[1], square, iterations=8)
    assert full[1].sum() > 3000 and core.any()
    assert not (clouds[1] & ~near).any() and (clouds[1] | ~core).all()  # it differs only at the edges
    # a tiled run's blocks (origin: where each sits in the image) give the whole image's mask inside them
    for r0, c0 in ((0, 0), (37, 21), (70, 90)):
        part = s2cloudless_clouds(x[:, :, r0:r0 + 120, c0:c0 + 90], roles, valid[:, r0:r0 + 120, c0:c0 + 90],
                                  block=16, origin=(r0, c0))
        inner = (slice(None), slice(24, 96), slice(24, 66))
        assert np.array_equal(part[inner], clouds[:, r0:r0 + 120, c0:c0 + 90][inner])


def test_auto_drops_a_learned_detector_the_series_contradicts(s2_folder, tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """csmask on a tiny synthetic scene flags static land; auto says so and uses the spectral tests,
    and the outputs equal an explicit spectral run's."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("ukis_csmask")
    from vidrestore.pipeline.stages import run_decloud

    folder, cube, clean, truth, dates = s2_folder
    with caplog.at_level(logging.INFO, logger="vidrestore.decloud"):
        res = run_decloud([folder], tmp_path / "auto", cfg=_cfg())
    assert res.detector == "spectral" and "transient" in res.detector_why
    assert any("out of its domain" in r.getMessage() for r in caplog.records)
    run_decloud([folder], tmp_path / "spec", cfg=_cfg("decloud.detector=spectral"))
    for d in dates:
        with rasterio.open(tmp_path / "auto" / f"S2_{d:%Y%m%d}.tif") as a, \
                rasterio.open(tmp_path / "spec" / f"S2_{d:%Y%m%d}.tif") as b:
            assert np.array_equal(a.read(), b.read())


def test_explicit_csmask_never_replaces_static_land(tmp_path: Path) -> None:
    """--detector csmask on a clear series: what the model flags is checked against the other dates,
    so no pixel of any clear date changes."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("ukis_csmask")
    from vidrestore.pipeline.stages import run_decloud

    cube, clean, truth, dates = cloudy_series(n=5, h=96, w=96, seed=2)
    rng = np.random.default_rng(2)
    cube = np.repeat(cube[:1], 5, axis=0)
    cube = np.clip(cube.astype(np.int32) + rng.integers(-15, 16, cube.shape), 1, 65535).astype(np.uint16)
    folder = tmp_path / "in"
    for t, d in enumerate(dates):
        write_tif(folder / f"S2_{d:%Y%m%d}.tif", cube[t], descriptions=("blue", "green", "red", "nir"))
    res = run_decloud([folder], tmp_path / "out", cfg=_cfg("decloud.detector=csmask", "decloud.product_level=l2a"))
    assert res.detector == "csmask" and res.scale > 0
    assert [s.changed for s in res.stats] == [0] * 5
    for t, d in enumerate(dates):
        with rasterio.open(tmp_path / "out" / f"S2_{d:%Y%m%d}.tif") as b:
            assert np.array_equal(b.read(), cube[t])


def test_learned_scale_from_band_statistics() -> None:
    from vidrestore.decloud.learned import LAND_VISIBLE, learn_scale

    cube, clean, truth, dates = cloudy_series(n=5)
    roles = {"blue": 0, "green": 1, "red": 2, "nir": 3}
    s1 = learn_scale(cube.astype(np.float32), roles)
    s2 = learn_scale(cube.astype(np.float32) * 0.0255, roles)  # the same scene in 8-bit-like units
    assert s2 == pytest.approx(s1 * 0.0255, rel=1e-3)
    vis = clean[0][:3].mean() / s1
    assert 0.5 * LAND_VISIBLE < vis < 2 * LAND_VISIBLE


def test_sentinel2_band_names_map_s2cloudless_roles() -> None:
    from types import SimpleNamespace

    from vidrestore.decloud.learned import S2CLOUDLESS_BANDS, choose_detector, package_installed
    from vidrestore.decloud.series import resolve_band_roles

    names = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
    roles = resolve_band_roles(SimpleNamespace(band_names=names, num_bands=13), {})
    assert [roles[b] for b in S2CLOUDLESS_BANDS] == [0, 1, 3, 4, 7, 8, 9, 10, 11, 12]
    assert (roles["blue"], roles["red"], roles["nir"]) == (1, 3, 7)
    if package_installed("s2cloudless"):
        assert choose_detector("auto", roles)[0] == "s2cloudless"
