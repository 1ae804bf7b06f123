"""Occlusion masks and confidence: analytic cases, then known occlusions in layered real-frame pairs."""

from __future__ import annotations

import math

import pytest
import torch

from tests.flow.synth import LayeredPair, layered_pair
from vidrestore.flow import (
    DISFlow,
    estimate_both,
    fb_error,
    flow_confidence,
    occlusion_mask,
    range_map,
    valid_mask,
)


def const_flow(dx: float, dy: float, h: int, w: int) -> torch.Tensor:
    return torch.tensor([dx, dy]).view(1, 2, 1, 1).expand(1, 2, h, w).contiguous()


def test_consistent_translation_is_never_occluded_inside_the_frame() -> None:
    h, w = 20, 30
    f, b = const_flow(2, 1, h, w), const_flow(-2, -1, h, w)
    err, _ = fb_error(f, b)
    inside = valid_mask(f)
    assert err[inside].abs().max().item() < 1e-5
    occ = occlusion_mask(f, b)
    conf = flow_confidence(f, b)
    # Out of frame: last 2 columns and last row. The range test's 3x3 mean reaches one pixel further.
    assert bool(occ[~inside].all())
    core = torch.zeros(1, 1, h, w, dtype=torch.bool)
    core[..., : h - 2, : w - 3] = True
    assert not bool(occ[core].any())
    assert torch.allclose(conf[core], torch.ones(()))
    assert float(conf[~inside].max()) == 0.0


def test_range_map_counts_what_lands() -> None:
    h, w = 10, 12
    assert torch.allclose(range_map(torch.zeros(2, 2, h, w)), torch.ones(2, 1, h, w))
    dens = range_map(const_flow(2, 0, h, w))  # s pixel x lands on t pixel x + 2
    assert torch.allclose(dens[..., :2], torch.zeros(1, 1, h, 2))
    assert torch.allclose(dens[..., 2:], torch.ones(1, 1, h, w - 2))
    half = range_map(const_flow(0.5, 0, h, w))
    assert torch.allclose(half[..., 0], torch.full((1, 1, h), 0.5))
    assert torch.allclose(half[..., 1:], torch.ones(1, 1, h, w - 1))


def test_confidence_is_one_half_exactly_at_the_tolerance() -> None:
    h, w = 16, 16
    f = torch.zeros(1, 2, h, w)
    b = torch.zeros(1, 2, h, w)
    b[:, 0, 4:12, 4:8] = 1.0  # round trip off by exactly the 1 px tolerance
    b[:, 0, 4:12, 8:12] = 2.0  # twice the tolerance
    kw = dict(threshold=1.0, relative=0.0, range_threshold=None)
    conf = flow_confidence(f, b, **kw)
    occ = occlusion_mask(f, b, **kw)
    assert torch.allclose(conf[..., 4:12, 4:8], torch.full((1, 1, 8, 4), 0.5), atol=1e-6)
    assert torch.allclose(conf[..., 4:12, 8:12], torch.full((1, 1, 8, 4), 1 / 16), atol=1e-6)
    assert not bool(occ[..., 4:12, 4:8].any())  # err == tol is not beyond it
    assert bool(occ[..., 4:12, 8:12].all())
    assert float(conf.min()) >= 0.0 and float(conf.max()) <= 1.0
    # The relative term widens the tolerance with the motion: |f| + |b| = 2 -> tol = 1 + 0.5 * 2 = 2.
    conf_rel = flow_confidence(f, b, threshold=1.0, relative=0.5, range_threshold=None)
    assert math.isclose(float(conf_rel[0, 0, 6, 9]), 0.5, abs_tol=1e-6)


def test_photometric_term_flags_colour_mismatch() -> None:
    h, w = 16, 16
    ft = torch.zeros(1, 3, h, w)
    fs = torch.zeros(1, 3, h, w)
    fs[..., 5:9, 5:9] = 0.5
    zero = torch.zeros(1, 2, h, w)
    occ = occlusion_mask(zero, zero, frame_t=ft, frame_s=fs, photo_threshold=0.1)
    assert int(occ.sum()) == 16 and bool(occ[..., 5:9, 5:9].all())
    with pytest.raises(ValueError, match="frame_t"):
        occlusion_mask(zero, zero, photo_threshold=0.1)


def _layered_pairs(background: torch.Tensor, texture: torch.Tensor, n: int, seed: int) -> list[LayeredPair]:
    gen = torch.Generator().manual_seed(seed)
    return [layered_pair(background, texture, gen, bg_px=4.0, object_px=8.0) for _ in range(n)]


def _crops(sintel: torch.Tensor, film: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    a = sintel[..., 100:340, 300:620]  # 240x320 Sintel: hair, face, wall
    b = film[..., 50:290, 100:420]  # 240x320 real film: grain, a man, a tree
    return [(a, b), (b, a)]


def _recall_fp(pred: torch.Tensor, pair: LayeredPair) -> tuple[float, float]:
    ev = pair.in_frame
    occ = pair.occluded
    recall = float((pred & occ & ev).sum() / (occ & ev).sum())
    fp = float((pred & ~occ & ev).sum() / (~occ & ev).sum())
    return recall, fp


def test_masks_from_true_flows_are_near_perfect(sintel_frames: list[torch.Tensor], film_frame: torch.Tensor) -> None:
    """With the exact forward and backward flows the mask finds the occlusion (checks the construction)."""
    bg, tex = _crops(sintel_frames[0], film_frame)[0]
    pair = _layered_pairs(bg, tex, 1, seed=5)[0]
    pred = occlusion_mask(pair.flow_t_to_s, pair.flow_s_to_t)
    recall, fp = _recall_fp(pred, pair)
    assert int((pair.occluded & pair.in_frame).sum()) > 500
    assert recall >= 0.95 and fp <= 0.01, (recall, fp)


def test_dis_occlusion_recall_and_false_positives(sintel_frames: list[torch.Tensor],
                                                  film_frame: torch.Tensor) -> None:
    """Issue 3: >= 80% of truly occluded pixels found with <= 5% false positives (DIS medium flows)."""
    est = DISFlow(preset="medium")
    results = []
    for bg, tex in _crops(sintel_frames[0], film_frame):
        for pair in _layered_pairs(bg, tex, 3, seed=3):
            f, b = estimate_both(est, pair.frame_t, pair.frame_s)
            results.append(_recall_fp(occlusion_mask(f, b), pair))
            # confidence < 0.5 is the same decision as the mask (no photometric term)
            assert torch.equal(flow_confidence(f, b) < 0.5, occlusion_mask(f, b))
    recalls = [r for r, _ in results]
    fps = [fp for _, fp in results]
    assert sum(recalls) / len(recalls) >= 0.80, results
    assert max(fps) <= 0.05, results
    assert min(recalls) >= 0.70, results
