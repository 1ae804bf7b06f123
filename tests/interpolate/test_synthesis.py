"""Frame synthesis at time t: splatting, hole filling, occlusion-aware blending, quadratic motion."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.interpolate.synth import constant_flow, psnr, shifted, square_flows, square_scene, tensor, texture
from vidrestore.errors import ShapeError
from vidrestore.interpolate.synthesis import FlowPair, FrameSynthesizer, SynthesisParams, fill_holes, splat


def as_image(t: torch.Tensor) -> np.ndarray:
    return t[0].permute(1, 2, 0).numpy()


def test_splat_zero_and_integer_shift() -> None:
    values = torch.arange(2 * 5 * 6, dtype=torch.float32).view(1, 2, 5, 6)
    weight = torch.full((1, 1, 5, 6), 2.0)
    num, den, dens = splat(values, torch.zeros(1, 2, 5, 6), weight)
    assert torch.allclose(num / den, values) and torch.allclose(dens, torch.ones_like(dens))
    disp = constant_flow(2.0, 1.0, 5, 6)
    num, den, dens = splat(values, disp, weight)
    assert torch.allclose((num / den.clamp(min=1e-9))[:, :, 1:, 2:], values[:, :, :-1, :-2])
    assert float(dens[:, :, 1:, 2:].min()) == 1.0 and float(dens[:, :, 0].max()) == 0.0  # nothing lands on row 0
    # half-pixel shift spreads each value over two pixels; total weight is kept for samples inside
    _, _, dens = splat(values, constant_flow(0.5, 0.0, 5, 6), weight)
    assert float(dens.sum()) == pytest.approx(5 * 5.5)


def test_fill_holes_takes_the_surroundings() -> None:
    field = torch.full((1, 2, 16, 16), 3.0)
    field[:, 1] = -1.0
    conf = torch.ones(1, 1, 16, 16)
    holed = field.clone()
    holed[:, :, 5:11, 4:12] = 100.0  # garbage where confidence is 0
    conf[:, :, 5:11, 4:12] = 0.0
    out = fill_holes(holed, conf)
    assert torch.allclose(out, field, atol=1e-5)
    assert torch.equal(fill_holes(field, torch.ones(1, 1, 16, 16)), field)  # confident: unchanged


@pytest.mark.parametrize("t", [0.25, 0.5, 0.8])
def test_translation_with_true_flow_is_reproduced(t: float) -> None:
    img = texture(64, 80, seed=1)
    dx, dy = 6.4, -3.2
    a, b, gt = img, shifted(img, dx, dy), shifted(img, dx * t, dy * t)
    flows = FlowPair.build(constant_flow(dx, dy, 64, 80), constant_flow(-dx, -dy, 64, 80))
    syn = FrameSynthesizer()
    out = as_image(syn.synthesize(syn.prepare(tensor(a), tensor(b), flows), t))
    crop = (slice(8, -8), slice(8, -8))  # borders see the reflected padding
    assert psnr(out[crop], gt[crop]) > 38.0
    blend = (1 - t) * a + t * b
    assert psnr(out[crop], gt[crop]) > psnr(blend[crop], gt[crop]) + 12.0


def test_translation_with_dis_flow_beats_blending() -> None:
    from vidrestore.flow import DISFlow, estimate_both

    img = texture(96, 128, seed=2)
    a, b, gt = img, shifted(img, 7.0, 2.5), shifted(img, 3.5, 1.25)
    f01, f10 = estimate_both(DISFlow(preset="medium"), tensor(a), tensor(b))
    syn = FrameSynthesizer()
    out = as_image(syn.synthesize(syn.prepare(tensor(a), tensor(b), FlowPair.build(f01, f10)), 0.5))
    crop = (slice(10, -10), slice(10, -10))
    ours, blend = psnr(out[crop], gt[crop]), psnr(((a + b) / 2)[crop], gt[crop])
    assert ours > 33.0 and ours > blend + 8.0


def test_occlusion_aware_blending_removes_the_ghost() -> None:
    """A square slides over a static background: the revealed and covered background come from the frame that sees it."""
    a, _ = square_scene(0.0)
    b, _ = square_scene(1.0)
    gt, _ = square_scene(0.5)
    f01, f10 = square_flows()
    flows = FlowPair.build(f01, f10)
    band = (slice(32, 64), slice(16, 72))  # the square's path, covered and uncovered strips included

    def run(params: SynthesisParams) -> np.ndarray:
        syn = FrameSynthesizer(params=params)
        return as_image(syn.synthesize(syn.prepare(tensor(a), tensor(b), flows), 0.5))

    default = run(SynthesisParams())
    strict = run(SynthesisParams(agreement_px=1.0, agreement_rel=0.1))
    time_only = run(SynthesisParams(agreement_px=1e6, agreement_rel=0.0))  # visibility switched off
    assert psnr(strict[band], gt[band]) > 60.0  # exact with exact flows
    assert psnr(default[band], gt[band]) > psnr(time_only[band], gt[band]) + 8.0
    assert psnr(default, gt) > psnr((a + b) / 2, gt) + 12.0


def test_near_the_ends_the_output_is_the_nearest_frame() -> None:
    img = texture(48, 64, seed=4)
    a, b = img, shifted(img, 4.0, 0.0)
    flows = FlowPair.build(constant_flow(4.0, 0.0, 48, 64), constant_flow(-4.0, 0.0, 48, 64))
    syn = FrameSynthesizer()
    pair = syn.prepare(tensor(a), tensor(b), flows)
    assert psnr(as_image(syn.synthesize(pair, 0.01)), a) > 40.0
    assert psnr(as_image(syn.synthesize(pair, 0.99)), b) > 40.0
    with pytest.raises(ValueError):
        syn.synthesize(pair, 1.0)


def test_quadratic_motion_from_the_neighbours() -> None:
    """Accelerating motion x(s) = 2 s + 1.5 s^2 (frames at s = -1, 0, 1, 2): the flows to the outer frames fix the midpoint."""
    img = texture(64, 96, seed=5)

    def pos(s: float) -> float:
        return 2.0 * s + 1.5 * s * s

    frames = {s: shifted(img, pos(s), 0.0) for s in (-1, 0, 1, 2)}
    gt = shifted(img, pos(0.5), 0.0)

    def pair(s0: int, s1: int) -> FlowPair:
        d = pos(s1) - pos(s0)
        return FlowPair.build(constant_flow(d, 0.0, 64, 96), constant_flow(-d, 0.0, 64, 96))

    crop = (slice(6, -6), slice(16, -16))
    syn = FrameSynthesizer()
    linear = as_image(syn.synthesize(syn.prepare(tensor(frames[0]), tensor(frames[1]), pair(0, 1)), 0.5))
    state = syn.prepare(tensor(frames[0]), tensor(frames[1]), pair(0, 1), prev=pair(0, -1), next=pair(1, 2))
    quadratic = as_image(syn.synthesize(state, 0.5))
    assert psnr(quadratic[crop], gt[crop]) > 38.0
    assert psnr(quadratic[crop], gt[crop]) > psnr(linear[crop], gt[crop]) + 6.0
    off = FrameSynthesizer(params=SynthesisParams(use_acceleration=False))
    same = as_image(off.synthesize(off.prepare(tensor(frames[0]), tensor(frames[1]), pair(0, 1),
                                               prev=pair(0, -1), next=pair(1, 2)), 0.5))
    assert np.array_equal(same, linear)


def test_refinement_runs_and_helps_a_biased_flow() -> None:
    """Flows 25% too short leave the two candidates apart; the residual flow between them closes the gap."""
    from vidrestore.flow import DISFlow

    img = texture(96, 128, seed=6)
    a, b, gt = img, shifted(img, 8.0, 0.0), shifted(img, 4.0, 0.0)
    flows = FlowPair.build(constant_flow(6.0, 0.0, 96, 128), constant_flow(-6.0, 0.0, 96, 128))
    crop = (slice(10, -10), slice(16, -16))
    plain = FrameSynthesizer()
    refined = FrameSynthesizer(refiner=DISFlow(preset="medium"))
    p = as_image(plain.synthesize(plain.prepare(tensor(a), tensor(b), flows), 0.5))
    r = as_image(refined.synthesize(refined.prepare(tensor(a), tensor(b), flows), 0.5))
    assert psnr(r[crop], gt[crop]) > psnr(p[crop], gt[crop]) + 3.0


def test_shape_errors_and_bad_params() -> None:
    syn = FrameSynthesizer()
    a = torch.rand(1, 3, 8, 8)
    flows = FlowPair.build(torch.zeros(1, 2, 8, 8), torch.zeros(1, 2, 8, 8))
    with pytest.raises(ShapeError):
        syn.prepare(a, torch.rand(1, 3, 8, 9), flows)
    with pytest.raises(ShapeError):
        syn.prepare(a, a, FlowPair.build(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4)))
    with pytest.raises(ValueError):
        SynthesisParams(warp_mode="lanczos")
    with pytest.raises(ValueError):
        SynthesisParams(agreement_px=0)
