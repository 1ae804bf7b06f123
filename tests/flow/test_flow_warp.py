"""Analytic tests of backward_warp, valid_mask, resize_flow and compose_flows."""

from __future__ import annotations

import pytest
import torch

from tests.flow.synth import invert_flow, smooth_field
from vidrestore.errors import ShapeError
from vidrestore.flow import ALIGN_CORNERS, backward_warp, compose_flows, resize_flow, valid_mask


def const_flow(dx: float, dy: float, h: int, w: int, n: int = 1) -> torch.Tensor:
    return torch.tensor([dx, dy], dtype=torch.float32).view(1, 2, 1, 1).expand(n, 2, h, w).contiguous()


def test_align_corners_is_pinned_false() -> None:
    assert ALIGN_CORNERS is False


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_zero_flow_is_identity(mode: str) -> None:
    src = torch.rand(2, 5, 13, 17, generator=torch.Generator().manual_seed(0))
    out = backward_warp(src, torch.zeros(2, 2, 13, 17), mode=mode)
    assert out.shape == src.shape
    assert torch.allclose(out, src, atol=1e-5)


def test_integer_shift_matches_hand_made_tensor() -> None:
    src = torch.arange(20, dtype=torch.float32).view(1, 1, 4, 5)
    # dx = +2: pixel x of t is at x + 2 in s; the last two columns read the border (column 4).
    expected_dx = torch.tensor([[2, 3, 4, 4, 4],
                                [7, 8, 9, 9, 9],
                                [12, 13, 14, 14, 14],
                                [17, 18, 19, 19, 19]], dtype=torch.float32)
    out = backward_warp(src, const_flow(2, 0, 4, 5))
    assert torch.allclose(out[0, 0], expected_dx, atol=1e-5)
    # dy = -1 with zero padding: the first row has no source.
    expected_dy = torch.tensor([[0, 0, 0, 0, 0],
                                [0, 1, 2, 3, 4],
                                [5, 6, 7, 8, 9],
                                [10, 11, 12, 13, 14]], dtype=torch.float32)
    out = backward_warp(src, const_flow(0, -1, 4, 5), padding_mode="zeros")
    assert torch.allclose(out[0, 0], expected_dy, atol=1e-5)


def test_half_pixel_shift_averages_neighbours() -> None:
    src = torch.arange(20, dtype=torch.float32).view(1, 1, 4, 5)
    out = backward_warp(src, const_flow(0.5, 0, 4, 5))
    assert torch.allclose(out[0, 0, :, :4], src[0, 0, :, :4] + 0.5, atol=1e-5)


@pytest.mark.parametrize("factor", [2, 4])
def test_flow_at_full_res_warps_features_at_lower_scale(factor: int) -> None:
    """A full-resolution flow of (8, -4) px moves a 1/factor feature map by (8/f, -4/f) of its pixels."""
    h, w = 32, 48
    feat = torch.arange(h // factor * w // factor, dtype=torch.float32).view(1, 1, h // factor, w // factor)
    feat = feat.expand(1, 4, -1, -1).contiguous()  # 4 channels, like a latent
    out = backward_warp(feat, const_flow(8, -4, h, w))
    sx, sy = 8 // factor, 4 // factor
    hs, ws = h // factor, w // factor
    # Interior rows/columns: out[y, x] = feat[y - sy, x + sx].
    assert torch.allclose(out[..., sy:, : ws - sx], feat[..., : hs - sy, sx:], atol=1e-4)
    # Border: rows above read row 0, columns beyond read the last column.
    assert torch.allclose(out[..., :sy, : ws - sx], feat[..., :1, sx:].expand(-1, -1, sy, -1), atol=1e-4)


@pytest.mark.parametrize("factor", [2, 4])
def test_smooth_warp_commutes_with_downscaling(factor: int) -> None:
    """warp(downscale(img), flow) ~= downscale(warp(img, flow)) for a smooth field: the rescaling is right."""
    gen = torch.Generator().manual_seed(1)
    h, w = 128, 160
    img = torch.nn.functional.interpolate(torch.rand(1, 3, 8, 10, generator=gen), size=(h, w), mode="bicubic",
                                          align_corners=False)
    flow = smooth_field(h, w, 6.0, gen)

    def down(x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.avg_pool2d(x, factor)

    small_then_warp = backward_warp(down(img), flow)
    warp_then_small = down(backward_warp(img, flow))
    m = 8 // factor + 2  # skip the border, where padding differs
    err = (small_then_warp - warp_then_small)[..., m:-m, m:-m].abs().mean().item()
    wrong = (down(img) - warp_then_small)[..., m:-m, m:-m].abs().mean().item()  # no alignment at all
    assert err < 0.1 * wrong, (err, wrong)
    assert err < 0.01


def test_half_precision_is_warped_in_float32_and_returned_in_its_dtype() -> None:
    src = torch.rand(1, 3, 64, 600, generator=torch.Generator().manual_seed(2))
    flow = const_flow(1.0, 0.0, 64, 600)
    ref = backward_warp(src, flow)
    out = backward_warp(src.to(torch.bfloat16), flow)
    assert out.dtype == torch.bfloat16
    # bf16 coordinates would be off by up to 2 px at x ~ 600; float32 coordinates keep it to value rounding.
    assert (out.float() - ref).abs().max().item() < 0.01


def test_batch_broadcast_and_unbatched_input() -> None:
    src = torch.rand(3, 2, 8, 8)
    flow = const_flow(1, 0, 8, 8)
    out = backward_warp(src, flow)
    assert out.shape == (3, 2, 8, 8)
    assert torch.allclose(backward_warp(src[0], flow[0]), out[0])


def test_valid_mask_marks_samples_outside_the_frame() -> None:
    m = valid_mask(const_flow(2, -1, 4, 5))
    assert m.shape == (1, 1, 4, 5) and m.dtype == torch.bool
    expected = torch.ones(4, 5, dtype=torch.bool)
    expected[:, 3:] = False
    expected[0, :] = False
    assert torch.equal(m[0, 0], expected)
    assert int(valid_mask(const_flow(0.4, 0, 4, 5), margin=0.5)[0, 0].sum()) == 20


def test_resize_flow_rescales_values() -> None:
    flow = const_flow(3.0, -2.0, 40, 60)
    half = resize_flow(flow, (20, 30))
    assert half.shape == (1, 2, 20, 30)
    assert torch.allclose(half[:, 0], torch.full((1, 20, 30), 1.5))
    assert torch.allclose(half[:, 1], torch.full((1, 20, 30), -1.0))
    up = resize_flow(flow, (80, 90))
    assert torch.allclose(up[:, 0], torch.full((1, 80, 90), 4.5))
    assert torch.allclose(up[:, 1], torch.full((1, 80, 90), -4.0))


def test_resize_flow_of_a_linear_field_follows_pixel_centres() -> None:
    """A zoom flow x -> 1.1 x (about the image centre) stays the same zoom at any resolution."""
    from vidrestore.flow import coords_grid

    def zoom(h: int, w: int) -> torch.Tensor:
        g = coords_grid(1, h, w)
        c = torch.tensor([(w - 1) / 2, (h - 1) / 2]).view(1, 2, 1, 1)
        return 0.1 * (g - c)

    small = resize_flow(zoom(64, 96), (32, 48))
    assert torch.allclose(small[..., 2:-2, 2:-2], zoom(32, 48)[..., 2:-2, 2:-2], atol=1e-4)


def test_compose_constant_flows_adds_them() -> None:
    out = compose_flows(const_flow(1, 2, 16, 16), const_flow(-3, 0.5, 16, 16), const_flow(0.25, 0, 16, 16))
    assert torch.allclose(out[..., 4:-4, 4:-4], torch.tensor([-1.75, 2.5]).view(1, 2, 1, 1).expand(1, 2, 8, 8))


def test_compose_with_inverse_is_zero() -> None:
    """For a smooth map and its numerically inverted map, a->b then b->a is ~0 inside the frame."""
    gen = torch.Generator().manual_seed(3)
    h, w = 64, 80
    fwd = smooth_field(h, w, 5.0, gen)
    inv = invert_flow(fwd)
    loop = compose_flows(fwd, inv)
    inside = valid_mask(fwd, margin=-1.0)
    err = loop.norm(dim=1, keepdim=True)[inside]
    assert err.mean().item() < 0.02, err.mean().item()
    # Composition matches the definition pointwise: a(x) + b(x + a(x)).
    b = smooth_field(h, w, 3.0, gen)
    assert torch.allclose(compose_flows(fwd, b), fwd + backward_warp(b, fwd))


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ShapeError, match=r"\(N, 2, H, W\)"):
        backward_warp(torch.rand(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))
    with pytest.raises(ShapeError):
        backward_warp(torch.rand(2, 3, 8, 8), torch.zeros(3, 2, 8, 8))
    with pytest.raises(ValueError, match="float"):
        backward_warp(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), torch.zeros(1, 2, 8, 8))
    with pytest.raises(ValueError, match="mode"):
        backward_warp(torch.rand(1, 3, 8, 8), torch.zeros(1, 2, 8, 8), mode="area")
    with pytest.raises(ShapeError):
        compose_flows(torch.zeros(1, 2, 8, 8), torch.zeros(1, 2, 4, 4))
