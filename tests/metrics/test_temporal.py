"""Warping error and flicker index: zero on a static clip, growing with injected flicker, and
motion-compensated with DIS flow on a real moving clip."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import shared_file
from vidrestore.errors import ShapeError

torch = pytest.importorskip("torch")
pytest.importorskip("vidrestore.flow.dis")

from vidrestore.config import FlowConfig  # noqa: E402
from vidrestore.metrics.temporal import (  # noqa: E402
    PairMotion,
    estimate_motion,
    flicker_index,
    nanmean,
    static_motion,
    temporal_pair,
    warping_error,
    warping_error_pair,
)
from vidrestore.tensors import to_tensor  # noqa: E402


def _read_rgb(path: Path) -> np.ndarray:
    import cv2

    return np.ascontiguousarray(cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1])


@pytest.fixture(scope="module")
def dis():  # type: ignore[no-untyped-def]
    from vidrestore.flow import build_flow_estimator

    return build_flow_estimator(FlowConfig(method="dis", dis_preset="medium"))


@pytest.fixture(scope="module")
def real_frame() -> np.ndarray:
    """A 160x120 crop of a real REDS frame (texture, edges, flat areas)."""
    full = _read_rgb(sorted(shared_file("basicvsrpp_reds_demo/demo_000").glob("*.png"))[0])
    return np.ascontiguousarray(full[30:150, 80:240])


@pytest.fixture(scope="module")
def reds_frames() -> list[np.ndarray]:
    """The first 12 real REDS frames: a moving camera; the exposure settles over frames 0..5
    (mean luma falls by 8.7, 5.4, 3.0, 1.3, 0.9 levels), then stays within ~2 levels per frame."""
    files = sorted(shared_file("basicvsrpp_reds_demo/demo_000").glob("*.png"))[:12]
    return [_read_rgb(f) for f in files]


def flicker(frames: list[np.ndarray], amplitude: int) -> list[np.ndarray]:
    """Add +-amplitude (8-bit levels) to alternate frames: a global brightness flicker."""
    out = []
    for i, f in enumerate(frames):
        delta = amplitude if i % 2 else -amplitude
        out.append(np.clip(f.astype(np.int16) + delta, 0, 255).astype(np.uint8))
    return out


def test_static_clip_has_zero_warping_error_and_flicker(real_frame: np.ndarray, dis) -> None:  # type: ignore[no-untyped-def]
    clip = [real_frame.copy() for _ in range(4)]
    w = warping_error(clip, estimator=dis)
    f = flicker_index(clip, estimator=dis)
    assert len(w.per_pair) == 3
    assert w.mean < 1e-6
    assert f.mean < 0.01  # luma levels


def test_warping_error_grows_with_injected_flicker(real_frame: np.ndarray, dis) -> None:  # type: ignore[no-untyped-def]
    clean = [real_frame.copy() for _ in range(3)]
    errors = []
    for amp in (0, 2, 4, 8):
        errors.append(warping_error(flicker(clean, amp), guide=clean, estimator=dis).mean)
    assert errors[0] < 1e-6
    assert errors[1] < errors[2] < errors[3]
    # A global offset of 2a between frames gives an MSE of (2a / 255)^2 (less where clipped).
    assert errors[3] == pytest.approx((16 / 255) ** 2, rel=0.1)
    assert errors[3] / errors[1] == pytest.approx(16.0, rel=0.15)


def test_flicker_index_ranks_flickered_above_clean_on_static_scene(real_frame: np.ndarray) -> None:
    clean = [real_frame.copy() for _ in range(4)]
    for amp in (1, 3, 6):
        flick = flicker(clean, amp)
        with_guide = flicker_index(flick, guide=clean).mean
        self_guided = flicker_index(flick).mean  # static regions found in the flickering clip itself
        # Luma moves by 2 * amp between frames (a little less where pixels clip at 0/255).
        assert with_guide == pytest.approx(2 * amp, rel=0.1)
        assert self_guided == pytest.approx(2 * amp, rel=0.1)
    assert flicker_index(clean).mean == 0.0


def test_real_moving_clip_motion_compensated(reds_frames: list[np.ndarray], dis) -> None:  # type: ignore[no-untyped-def]
    clean = [to_tensor(f) for f in reds_frames[5:10]]
    flick = [to_tensor(f) for f in flicker(reds_frames[5:10], 5)]
    motions = [estimate_motion(dis, clean[i + 1], clean[i]) for i in range(len(clean) - 1)]
    scores = [temporal_pair(flick[i + 1], flick[i], clean[i + 1], clean[i], m) for i, m in enumerate(motions)]
    w_clean = nanmean([s.warp_guide for s in scores])
    w_flick = nanmean([s.warp for s in scores])
    f_clean = nanmean([s.flicker_guide for s in scores])
    f_flick = nanmean([s.flicker for s in scores])
    w_static = warping_error(reds_frames[5:10]).mean  # no motion compensation: camera motion counts as error
    assert all(m.valid_fraction > 0.9 for m in motions)
    assert w_clean < 0.5 * w_static  # flow explains most of the frame-to-frame change
    assert w_flick > w_clean + 0.5 * (10 / 255) ** 2
    assert f_flick > 5 * max(f_clean, 0.2)
    assert f_flick == pytest.approx(10.0, rel=0.25)


def test_flicker_index_measures_the_real_exposure_change(reds_frames: list[np.ndarray], dis) -> None:  # type: ignore[no-untyped-def]
    """On the settling exposure of REDS frames 0..5, the flicker of each pair equals the change of
    mean luma (the scene is the same, only the camera moves a little)."""
    clip = reds_frames[:6]
    got = flicker_index(clip, estimator=dis).per_pair
    w = np.array([0.299, 0.587, 0.114])
    mean_luma = [float((f.astype(np.float64) @ w).mean()) for f in clip]
    expected = np.abs(np.diff(mean_luma))
    assert expected[0] > 8  # the real change this test relies on
    np.testing.assert_allclose(got, expected, atol=1.0)


def test_pair_functions_agree_and_validate(real_frame: np.ndarray) -> None:
    a = to_tensor(real_frame)
    b = to_tensor(flicker([real_frame, real_frame], 4)[1])
    h, w = a.shape[-2:]
    motion = static_motion(h, w)
    scores = temporal_pair(b, a, a, a, motion)
    assert scores.warp == pytest.approx(warping_error_pair(b, a, motion))
    assert scores.warp_guide == 0.0 and scores.flicker_guide == 0.0
    assert scores.flicker == pytest.approx(4.0, rel=0.05)
    nothing_valid = PairMotion(motion.flow_t_to_prev, torch.zeros_like(motion.valid))
    assert math.isnan(warping_error_pair(b, a, nothing_valid))
    assert math.isnan(temporal_pair(b, a, a, a, nothing_valid).flicker)
    with pytest.raises(ShapeError):
        warping_error_pair(b, a[:, :, :-2], motion)
    with pytest.raises(ShapeError):
        warping_error_pair(b, a, static_motion(h - 2, w))
    with pytest.raises(ValueError, match="at least 2 frames"):
        warping_error([real_frame])
