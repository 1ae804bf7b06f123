"""Building blocks: latent tiles, DDNM operators, colour fix, warped noise, latent blending."""

from __future__ import annotations

import math

import pytest
import torch

from vidrestore.restore.diffusion.colorfix import adain_color_fix, low_frequency, wavelet_color_fix
from vidrestore.restore.diffusion.consistency import (
    Links,
    advance_track,
    blend_chain,
    lattice_noise,
    start_track,
    strength_schedule,
)
from vidrestore.restore.diffusion.guidance import (
    Downsample,
    Mask,
    consistency_error,
    masks_to_known,
    project,
    project_consistent,
)
from vidrestore.restore.diffusion.tiles import TileFuser, plan_tiles, tile_weights

# --------------------------------------------------------------------------- tiles


@pytest.mark.parametrize(("h", "w", "tile", "overlap"), [(48, 64, 24, 8), (37, 53, 16, 5), (20, 20, 32, 8), (64, 40, 16, 0)])
def test_tiles_cover_the_frame_without_padding(h: int, w: int, tile: int, overlap: int) -> None:
    tiles = plan_tiles(h, w, tile=tile, overlap=overlap)
    cover = torch.zeros(h, w)
    for t in tiles:
        assert 0 <= t.y0 < t.y1 <= h and 0 <= t.x0 < t.x1 <= w
        assert t.size == (min(tile, h), min(tile, w))  # equal tiles, the last one placed on the edge
        cover[t.y0:t.y1, t.x0:t.x1] += 1
    assert cover.min() >= 1
    if h > tile and w > tile:
        assert len(tiles) > 1


def test_fusion_is_a_partition_of_unity() -> None:
    """Fusing per-tile crops of a field gives the field back exactly: the weights sum to one everywhere."""
    x = torch.randn(2, 4, 40, 56)
    fuser = TileFuser(height=40, width=56, tile=16, overlap=6)
    assert fuser.is_tiled and len(fuser.tiles) == 4 * 5  # rows start 0, 10, 20, 24; columns 0 .. 40
    out = fuser(lambda rows, cols: x[..., rows, cols])
    assert torch.allclose(out, x, atol=1e-5)


def test_weights_vanish_at_inner_edges_and_stay_flat_on_frame_borders() -> None:
    t = plan_tiles(64, 64, tile=32, overlap=16)[0]  # top-left tile: frame border on top and left
    w = tile_weights(t)[0, 0]
    assert w[0, 0] == pytest.approx(1.0)  # on the frame border: full weight
    assert w[16, 31] < 1e-4 and w[31, 16] < 1e-4  # inner edges: ~0 (Gaussian, sigma = 0.1 * tile)
    assert w[16, 16] == pytest.approx(1.0, abs=0.1)


# --------------------------------------------------------------------------- DDNM


def test_downsample_pinv_is_a_right_inverse_and_projection_is_exact() -> None:
    op = Downsample(4)
    y = torch.rand(2, 3, 8, 12)
    assert torch.allclose(op.apply(op.pinv(y)), y, atol=1e-7)  # A A+ = I
    x = torch.randn(2, 3, 32, 48)
    p = project(op, x, y)
    assert consistency_error(op, p, y) < 1e-6
    # the null-space part of x (what A cannot see) is kept untouched
    null_x = x - op.pinv(op.apply(x))
    assert torch.allclose(p - op.pinv(op.apply(p)), null_x, atol=1e-5)


def test_project_consistent_keeps_values_in_range() -> None:
    op = Downsample(4)
    y = torch.rand(1, 3, 6, 6)
    x = torch.randn(1, 3, 24, 24) * 3  # far outside [0, 1]
    p = project_consistent(op, x, y)
    assert consistency_error(op, p, y) < 1e-6
    assert p.min() >= -1e-6 and p.max() <= 1.0 + 1e-6
    assert (project(op, x, y).clamp(0, 1) - project(op, x, y)).abs().max() > 0.5  # the plain projection is not


def test_mask_projection_keeps_known_pixels() -> None:
    masks = torch.zeros(1, 1, 16, 16)
    masks[..., 4:9, 3:12] = 1  # damage
    known = masks_to_known(masks)
    assert known.sum() == 256 - 45
    op = Mask(known)
    y, x = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    p = project(op, x, y)
    assert torch.equal(p[..., known[0, 0] > 0], y[..., known[0, 0] > 0])
    assert torch.equal(p[..., known[0, 0] == 0], x[..., known[0, 0] == 0])


def test_downsample_refuses_indivisible_sizes() -> None:
    from vidrestore.errors import ShapeError

    with pytest.raises(ShapeError, match="divisible by 4"):
        Downsample(4).apply(torch.zeros(1, 3, 10, 12))


# --------------------------------------------------------------------------- colour fix


def test_adain_matches_reference_statistics() -> None:
    out = torch.rand(2, 3, 32, 32) * 0.3 + 0.6
    ref = torch.rand(2, 3, 8, 8)
    fixed = adain_color_fix(out, ref)
    ref_up = torch.nn.functional.interpolate(ref, size=(32, 32), mode="bicubic", align_corners=False)
    assert torch.allclose(fixed.mean(dim=(-2, -1)), ref_up.mean(dim=(-2, -1)), atol=1e-5)
    assert torch.allclose(fixed.std(dim=(-2, -1)), ref_up.std(dim=(-2, -1)), atol=1e-4)


def test_wavelet_takes_low_frequencies_from_the_reference() -> None:
    ys, xs = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    detail = 0.1 * torch.sin(xs * 2.5)[None, None].expand(1, 3, 64, 64)  # high frequency
    out = 0.2 + detail  # wrong colour, right detail
    ref = torch.full((1, 3, 64, 64), 0.7)
    fixed = wavelet_color_fix(out, ref)
    assert abs(float(fixed.mean()) - 0.7) < 0.01  # colour from the reference
    assert float((fixed - low_frequency(fixed)).std()) > 0.05  # detail kept


# --------------------------------------------------------------------------- warped noise and blending


def test_lattice_noise_is_standard_normal_and_deterministic() -> None:
    track = start_track(3, 128, 128, torch.device("cpu"))
    z = lattice_noise(track, 4, seed=0)
    assert z.shape == (1, 4, 128, 128)
    assert abs(float(z.mean())) < 0.02 and abs(float(z.std()) - 1.0) < 0.02
    assert torch.equal(z, lattice_noise(track, 4, seed=0))
    other = lattice_noise(track, 4, seed=1)
    assert abs(float((z * other).mean())) < 0.02  # another seed: uncorrelated
    assert abs(float((z[:, 0] * z[:, 1]).mean())) < 0.02  # channels uncorrelated
    assert abs(float((z[..., 1:] * z[..., :-1]).mean())) < 0.02  # neighbours uncorrelated
    fresh = lattice_noise(start_track(4, 128, 128, torch.device("cpu")), 4, seed=0)
    assert abs(float((z * fresh).mean())) < 0.02  # a new lineage gets new noise


def test_noise_moves_with_the_content_including_subpixel_motion() -> None:
    h, w = 32, 48
    dev = torch.device("cpu")
    keep = torch.ones(1, 1, h, w, dtype=torch.bool)
    # static: same noise
    t0 = start_track(0, h, w, dev)
    t1 = advance_track(t0, torch.zeros(1, 2, h, w), keep, 1)
    assert torch.equal(lattice_noise(t0, 4, seed=5), lattice_noise(t1, 4, seed=5))
    # content moving 0.5 px right per frame: after 4 frames the noise has moved by exactly 2 px
    flow = torch.zeros(1, 2, h, w)
    flow[:, 0] = -0.5
    track = t0
    for i in range(1, 5):
        track = advance_track(track, flow, keep, i)
    z0, z4 = lattice_noise(t0, 4, seed=5), lattice_noise(track, 4, seed=5)
    assert torch.equal(z4[..., :, 4:], z0[..., :, 2:-2])
    # occluded pixels start a new lineage
    hole = keep.clone()
    hole[..., 10:20, 10:20] = False
    t2 = advance_track(t0, torch.zeros(1, 2, h, w), hole, 1)
    z2 = lattice_noise(t2, 4, seed=5)
    assert torch.equal(z2[..., :5, :], z0[..., :5, :])
    assert abs(float((z2[..., 10:20, 10:20] * z0[..., 10:20, 10:20]).mean())) < 0.2


def test_blend_chain_is_a_no_op_on_consistent_latents_and_pulls_otherwise() -> None:
    n, h, w = 3, 8, 8
    links = Links(flow=torch.zeros(n, 2, h, w), conf=torch.ones(n, 1, h, w), flow_in=torch.zeros(n, 2, h, w),
                  conf_in=torch.ones(n, 1, h, w), linked=[True, True, True], mean_conf=[1.0] * n)
    same = torch.randn(1, 4, h, w).expand(n, 4, h, w).clone()
    assert torch.equal(blend_chain(same, same[:1], links, 0.9), same)
    x = torch.randn(n, 4, h, w)
    prev = torch.randn(1, 4, h, w)
    out = blend_chain(x, prev, links, 0.5)
    assert torch.allclose(out[0], 0.5 * x[0] + 0.5 * prev[0], atol=1e-6)
    assert torch.allclose(out[1], 0.5 * x[1] + 0.5 * out[0], atol=1e-6)  # chains through the blended frame
    links.linked[2] = False  # a scene cut: frame 2 untouched
    assert torch.equal(blend_chain(x, prev, links, 0.5)[2], x[2])
    links.conf[0] = 0  # occluded everywhere: untouched
    assert torch.equal(blend_chain(x, prev, links, 0.5)[0], x[0])


def test_strength_schedule_goes_from_strong_to_weak() -> None:
    s = strength_schedule(5, 0.9, 0.3)
    assert s[0] == 0.9 and math.isclose(s[-1], 0.3) and all(a > b for a, b in zip(s, s[1:]))
    assert strength_schedule(1, 0.9, 0.3) == [0.9]
