"""PSNR/SSIM: BasicSR conventions, agreement with scikit-image (and BasicSR itself) on real frames."""

from __future__ import annotations

import math
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import shared_file
from vidrestore.errors import ShapeError
from vidrestore.metrics.fidelity import psnr, rgb_to_y, ssim


def _read_rgb(path: Path) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert img is not None, path
    return np.ascontiguousarray(img[..., ::-1])


def _real_pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Consecutive (and further apart) real frames from three sources in ../shared/data."""
    reds = shared_file("basicvsrpp_reds_demo/demo_000")
    film = shared_file("old_films_bofb/data_1/001")
    sintel = shared_file("raft_demo_frames")
    r = sorted(reds.glob("*.png"))
    f = sorted(film.glob("*.png"))
    s = sorted(sintel.glob("*.png"))
    return [
        ("reds 0-1", _read_rgb(r[0]), _read_rgb(r[1])),
        ("reds 0-5", _read_rgb(r[0]), _read_rgb(r[5])),
        ("film 0-1", _read_rgb(f[0]), _read_rgb(f[1])),
        # Sintel frames are 1024x436: a 320x240 crop keeps the test fast.
        ("sintel 0-1", _read_rgb(s[0])[100:340, 300:620], _read_rgb(s[1])[100:340, 300:620]),
    ]


def test_identical_images_give_inf_psnr_and_ssim_one() -> None:
    rng = np.random.default_rng(0)
    img8 = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    img16 = rng.integers(0, 65536, (40, 50, 3), dtype=np.uint16)
    imgf = rng.random((40, 50, 3), dtype=np.float32)
    for img in (img8, img16, imgf):
        for y in (False, True):
            assert psnr(img, img.copy(), test_y_channel=y) == math.inf
            assert ssim(img, img.copy(), test_y_channel=y) == 1.0


def test_constant_offset_matches_the_formula() -> None:
    a = np.full((32, 32, 3), 100, np.uint8)
    b = a + 5
    assert psnr(a, b) == pytest.approx(20 * math.log10(255 / 5), abs=1e-9)  # 34.1514 dB
    # Y channel: an offset of 5 on R, G and B moves Y by 5 * (65.481 + 128.553 + 24.966) / 255.
    dy = 5 * (65.481 + 128.553 + 24.966) / 255
    assert psnr(a, b, test_y_channel=True) == pytest.approx(20 * math.log10(255 / dy), abs=1e-9)


def test_uint16_is_measured_on_the_same_scale_as_uint8() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-9, 10, a.shape), 0, 255).astype(np.uint8)
    a16, b16 = a.astype(np.uint16) * 257, b.astype(np.uint16) * 257
    assert psnr(a16, b16) == pytest.approx(psnr(a, b), abs=1e-9)
    assert ssim(a16, b16) == pytest.approx(ssim(a, b), abs=1e-12)
    assert psnr(a.astype(np.float32) / 255, b.astype(np.float32) / 255) == pytest.approx(psnr(a, b), abs=1e-4)


def test_crop_border_equals_cropping_by_hand() -> None:
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (60, 70, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (60, 70, 3), dtype=np.uint8)
    b[:4] = a[:4]  # the border differs from the centre, so cropping changes the result
    c = 4
    assert psnr(a, b, crop_border=c) == pytest.approx(psnr(a[c:-c, c:-c], b[c:-c, c:-c]), abs=1e-12)
    assert ssim(a, b, crop_border=c) == pytest.approx(ssim(a[c:-c, c:-c], b[c:-c, c:-c]), abs=1e-12)
    assert psnr(a, b, crop_border=c) != pytest.approx(psnr(a, b), abs=1e-3)


def test_real_frames_agree_with_scikit_image() -> None:
    """Within 0.01 dB / 0.001 (the issue's bar); in practice equal to ~1e-12."""
    from skimage.color import rgb2ycbcr
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    worst_psnr = worst_ssim = 0.0
    for name, a, b in _real_pairs():
        p_ref = peak_signal_noise_ratio(a, b, data_range=255)
        s_ref = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                      data_range=255, channel_axis=2)
        # Y: scikit-image's rgb2ycbcr is the same BT.601 studio-swing transform (Y in 16..235).
        ya, yb = rgb2ycbcr(a)[..., 0], rgb2ycbcr(b)[..., 0]
        py_ref = peak_signal_noise_ratio(ya, yb, data_range=255)
        sy_ref = structural_similarity(ya, yb, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                       data_range=255)
        for got, ref in ((psnr(a, b), p_ref), (psnr(a, b, test_y_channel=True), py_ref)):
            assert abs(got - ref) < 0.01, (name, got, ref)
            worst_psnr = max(worst_psnr, abs(got - ref))
        for got, ref in ((ssim(a, b), s_ref), (ssim(a, b, test_y_channel=True), sy_ref)):
            assert abs(got - ref) < 0.001, (name, got, ref)
            worst_ssim = max(worst_ssim, abs(got - ref))
        assert 10 < p_ref < 60 and 0.2 < s_ref < 1.0  # real, different frames
    assert worst_psnr < 1e-6 and worst_ssim < 1e-6


def test_y_conversion_is_bt601_studio_swing() -> None:
    px = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0]]], dtype=np.float64)
    y = rgb_to_y(px)
    assert y[0, 0] == pytest.approx(16.0)
    assert y[0, 1] == pytest.approx(235.0, abs=1e-9)
    assert y[0, 2] == pytest.approx(16 + 65.481)


@pytest.fixture(scope="module")
def basicsr_metrics():  # type: ignore[no-untyped-def]
    """BasicSR's own metric functions (basicsr 1.4.2 needs a torchvision alias to import)."""
    if "torchvision.transforms.functional_tensor" not in sys.modules:
        import torchvision.transforms.functional as tvf

        alias = types.ModuleType("torchvision.transforms.functional_tensor")
        alias.rgb_to_grayscale = tvf.rgb_to_grayscale  # type: ignore[attr-defined]
        sys.modules["torchvision.transforms.functional_tensor"] = alias
    pytest.importorskip("basicsr")
    from basicsr.metrics.psnr_ssim import calculate_psnr, calculate_ssim

    return calculate_psnr, calculate_ssim


def test_matches_basicsr_on_real_frames(basicsr_metrics) -> None:  # type: ignore[no-untyped-def]
    calculate_psnr, calculate_ssim = basicsr_metrics
    _, a, b = _real_pairs()[1]
    bgr_a, bgr_b = np.ascontiguousarray(a[..., ::-1]), np.ascontiguousarray(b[..., ::-1])
    for crop in (0, 4):
        for y in (False, True):
            # BasicSR converts to Y in float32: agreement to ~1e-6 dB, exact for RGB.
            assert psnr(a, b, crop_border=crop, test_y_channel=y) == pytest.approx(
                calculate_psnr(bgr_a, bgr_b, crop, test_y_channel=y), abs=1e-5)
            assert ssim(a, b, crop_border=crop, test_y_channel=y) == pytest.approx(
                calculate_ssim(bgr_a, bgr_b, crop, test_y_channel=y), abs=1e-6)


def test_bad_inputs_raise_clear_errors() -> None:
    a = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(ShapeError, match=r"\(20, 21, 3\)"):
        psnr(a, np.zeros((20, 21, 3), np.uint8))
    with pytest.raises(ValueError, match="crop_border 10 leaves nothing"):
        psnr(a, a + 1, crop_border=10)
    with pytest.raises(ValueError, match="larger than 11x11"):
        ssim(np.zeros((8, 8, 3), np.uint8), np.ones((8, 8, 3), np.uint8))
    with pytest.raises(ShapeError, match="RGB for test_y_channel"):
        psnr(np.zeros((20, 20), np.uint8), np.ones((20, 20), np.uint8), test_y_channel=True)
    with pytest.raises(ValueError, match="int32"):
        psnr(a.astype(np.int32), a.astype(np.int32))
