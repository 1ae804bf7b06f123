"""Drop-frame oracle ceilings and the DIS finest-scale option the interpolate preset uses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.interpolate.synth import shifted, texture, to_u8
from vidrestore.config import load_config
from vidrestore.errors import ConfigError
from vidrestore.flow import DISFlow, build_flow_estimator
from vidrestore.interpolate.dropframe import linear_blend, oracle_ceilings, psnr


def _triplet(middle: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A texture panning 6 px between the outer frames; the middle one sits ``middle`` of the way."""
    base = texture(96, 128, seed=3)
    return to_u8(base), to_u8(shifted(base, 6.0 * middle, 0.0)), to_u8(shifted(base, 6.0, 0.0))


def _inner(img: np.ndarray) -> np.ndarray:
    return img[12:-12, 12:-12]  # the border: content that enters the frame has no source


def test_ceilings_of_uniform_motion_agree_and_beat_blending() -> None:
    a, mid, b = _triplet(0.5)
    full, linear = oracle_ceilings(a, b, mid)
    blend = psnr(_inner(linear_blend(a, b)), _inner(mid))
    assert psnr(_inner(full), _inner(mid)) > blend + 10.0
    assert psnr(_inner(linear), _inner(mid)) > blend + 10.0
    # both near-exact (measured 61 dB and identical): uniform motion leaves the linear ceiling nothing to miss
    assert min(psnr(_inner(full), _inner(mid)), 50.0) == min(psnr(_inner(linear), _inner(mid)), 50.0) == 50.0


def test_linear_ceiling_misses_a_frame_off_the_midpoint() -> None:
    """The middle frame at 1/4 of the way: the full oracle places it, the uniform-motion one cannot."""
    a, mid, b = _triplet(0.25)
    full, linear = oracle_ceilings(a, b, mid)
    assert psnr(_inner(full), _inner(mid)) > psnr(_inner(linear), _inner(mid)) + 6.0


def test_dis_finest_scale_from_config() -> None:
    assert load_config(preset="interpolate").flow.dis_finest_scale == 0
    est = build_flow_estimator(load_config(preset="interpolate").flow)
    assert isinstance(est, DISFlow) and est.finest_scale == 0 and est._dis.getFinestScale() == 0
    default = build_flow_estimator(load_config(overrides=("flow.method=dis",)).flow)
    assert default.finest_scale is None and default._dis.getFinestScale() == 1  # medium's own
    with pytest.raises(ConfigError, match="dis_finest_scale"):
        load_config(overrides=("flow.dis_finest_scale=7",))
    with pytest.raises(ValueError, match="finest_scale"):
        DISFlow(finest_scale=-1)


def test_full_resolution_search_recovers_a_translation() -> None:
    base = texture(96, 128, seed=5)
    a = torch.from_numpy(base).permute(2, 0, 1)[None].float()
    b = torch.from_numpy(shifted(base, 2.5, -1.5)).permute(2, 0, 1)[None].float()
    flow = DISFlow(preset="medium", finest_scale=0).estimate(a, b)[0, :, 16:-16, 16:-16]
    assert abs(float(flow[0].median()) - 2.5) < 0.1 and abs(float(flow[1].median()) + 1.5) < 0.1
