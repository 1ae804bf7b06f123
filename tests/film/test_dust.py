"""Dust and dirt: the SDI-family detector with validity masks, the motion gate, and the weighted-median repair."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.film.clips import texture
from vidrestore.film.dust import DustParams, detect_blotches, repair, weighted_median_pick

SIDES = [-1, -1, 1, 1]
OFFSETS = [-2, -1, 1, 2]


def _stack(h: int = 64, w: int = 96, *, noise: float = 0.02, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A static scene seen 5 times with grain: centre ``(1, 3, H, W)``, 4 aligned neighbours ``(4, 3, H, W)``."""
    rng = np.random.default_rng(seed)
    base = torch.from_numpy(texture(h, w, seed=seed)).permute(2, 0, 1)
    views = [base + torch.from_numpy(rng.normal(0, noise, base.shape).astype(np.float32)) for _ in range(5)]
    x = torch.stack(views).clamp(0, 1)
    return x[2:3].clone(), torch.cat([x[0:2], x[3:5]])


def _blob(center: torch.Tensor, cy: int, cx: int, r: int, value: float) -> np.ndarray:
    yy, xx = np.mgrid[: center.shape[-2], : center.shape[-1]]
    m = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    center[0][:, torch.from_numpy(m)] = value
    return m


def test_blotch_is_found_and_nothing_else() -> None:
    center, warped = _stack()
    dark = _blob(center, 20, 30, 4, 0.02)
    bright = _blob(center, 45, 70, 3, 0.98)
    valid = torch.ones(4, 1, 64, 96, dtype=torch.bool)
    det = detect_blotches(center, warped, valid, SIDES, DustParams(max_area=0.05), OFFSETS)
    mask = det.mask[0, 0].numpy()
    assert mask[dark].mean() > 0.9 and mask[bright].mean() > 0.9
    assert (mask & ~(dark | bright)).sum() <= 20  # at most a few rim pixels (0.3 % of the frame)
    assert det.regions == 2 and det.noise > 0
    assert det.repair_mask.sum() > det.mask.sum()  # dilated for the repair


def test_a_pixel_occluded_on_one_side_is_not_dirt() -> None:
    center, warped = _stack(seed=1)
    blob = _blob(center, 30, 40, 4, 0.95)
    valid = torch.ones(4, 1, 64, 96, dtype=torch.bool)
    valid[2:, :, 20:40, 30:50] = False  # the future does not see this place reliably (uncovered, failed flow)
    det = detect_blotches(center, warped, valid, SIDES, DustParams(max_area=0.05), OFFSETS,
                          covered=torch.zeros(1, 1, 64, 96, dtype=torch.bool))
    assert det.mask[0, 0].numpy()[blob].mean() == 0.0
    # at the first frame of a shot the past does not exist: the future alone decides, and it agrees
    det = detect_blotches(center, warped[2:], valid[2:] | True, [1, 1], DustParams(max_area=0.05), [1, 2],
                          covered=torch.ones(1, 1, 64, 96, dtype=torch.bool))
    assert det.mask[0, 0].numpy()[blob].mean() > 0.9


def test_neighbours_that_disagree_with_each_other_are_not_evidence() -> None:
    center, warped = _stack(seed=2)
    blob = _blob(center, 30, 40, 4, 0.75)  # about 0.28 brighter than the scene there
    yy, xx = np.mgrid[:64, :96]
    wrong = torch.from_numpy((yy - 30) ** 2 + (xx - 40) ** 2 <= 36)
    valid = torch.ones(4, 1, 64, 96, dtype=torch.bool)
    det = detect_blotches(center, warped, valid, SIDES, DustParams(max_area=0.05), OFFSETS)
    assert det.mask[0, 0].numpy()[blob].mean() > 0.9  # with agreeing neighbours: dirt
    warped[0][:, wrong] = 0.02  # failed alignments show something else, ~0.45 darker, in two of them
    warped[3][:, wrong] = 0.02
    det = detect_blotches(center, warped, valid, SIDES, DustParams(max_area=0.05), OFFSETS)
    assert det.mask[0, 0].numpy()[blob].mean() < 0.1  # they disagree among themselves more than with it


def test_fast_motion_is_left_alone() -> None:
    center, warped = _stack(seed=3)
    blob = _blob(center, 30, 40, 4, 0.95)
    valid = torch.ones(4, 1, 64, 96, dtype=torch.bool)
    slow = torch.full((1, 1, 64, 96), 1.0)
    fast = torch.full((1, 1, 64, 96), 0.05 * 96)  # 5 % of the width per frame
    assert detect_blotches(center, warped, valid, SIDES, DustParams(max_area=0.05), OFFSETS, motion=slow).mask.sum() > 0
    assert detect_blotches(center, warped, valid, SIDES, DustParams(max_area=0.05), OFFSETS, motion=fast).mask.sum() == 0
    del blob


def test_grain_raises_the_threshold() -> None:
    quiet = detect_blotches(*_stack(noise=0.005), torch.ones(4, 1, 64, 96, dtype=torch.bool), SIDES, DustParams())
    grainy = detect_blotches(*_stack(noise=0.06), torch.ones(4, 1, 64, 96, dtype=torch.bool), SIDES, DustParams())
    assert quiet.threshold == pytest.approx(0.05)
    assert grainy.threshold > 0.06 and grainy.mask.sum() < 10  # grain itself is not dirt


def test_weighted_median_picks_one_neighbours_colour() -> None:
    warped = torch.zeros(4, 3, 2, 2)
    for k, v in enumerate((0.1, 0.5, 0.3, 0.9)):
        warped[k] = v
    warped[1, 0] = 0.55  # a colour tint on neighbour 1: the pick keeps it whole
    weights = torch.ones(4, 1, 2, 2)
    rgb, has = weighted_median_pick(warped, weights, torch.ones(1, 1, 2, 2, dtype=torch.bool))
    assert has.all()
    assert torch.allclose(rgb[:, 0], torch.tensor([0.3, 0.3, 0.3]))  # lower median of 0.1, 0.3, ~0.5, 0.9
    weights[2] = 0.0  # neighbour 2 untrusted: median of 0.1, ~0.5, 0.9 is neighbour 1, tint included
    rgb, _ = weighted_median_pick(warped, weights, torch.ones(1, 1, 2, 2, dtype=torch.bool))
    assert torch.allclose(rgb[:, 0], torch.tensor([0.55, 0.5, 0.5]))


def test_repair_restores_the_scene_and_touches_nothing_else() -> None:
    center, warped = _stack(seed=4)
    truth = center.clone()
    blob = _blob(center, 25, 50, 5, 0.02)
    mask = torch.from_numpy(blob)[None, None]
    from vidrestore.film.ops import dilate

    out = repair(center, warped, torch.ones(4, 1, 64, 96), dilate(mask, 1))
    region = torch.from_numpy(blob)
    err_before = (center - truth)[0][:, region].abs().mean()
    err_after = (out - truth)[0][:, region].abs().mean()
    assert err_after < 0.05 * err_before  # grain-level error left
    far = ~dilate(mask, 3)[0, 0]
    assert torch.equal(out[0][:, far], center[0][:, far])


def test_repair_without_any_usable_neighbour_fills_from_around() -> None:
    center = torch.full((1, 3, 32, 32), 0.4)
    center[..., 10:14, 10:14] = 1.0
    mask = torch.zeros(1, 1, 32, 32, dtype=torch.bool)
    mask[..., 10:14, 10:14] = True
    out = repair(center, torch.zeros(2, 3, 32, 32), torch.zeros(2, 1, 32, 32), mask)
    assert torch.allclose(out[..., 10:14, 10:14], torch.tensor(0.4), atol=1e-5)


def test_dirt_on_the_edge_of_a_bright_area_is_found_where_nothing_moves_differently() -> None:
    # a small bright feature (12x12, 0.85) on a dark field (0.1), seen 5 times with grain; dark dirt at
    # the field's own level covers all of it but its right 3 columns: in the frame the dirt is no darker
    # than the median of its ring (mostly dark field), only than the feature's bright rest
    rng = np.random.default_rng(3)
    base = torch.full((3, 64, 96), 0.1)
    base[:, 26:38, 40:52] = 0.85
    views = torch.stack([base + torch.from_numpy(rng.normal(0, 0.01, base.shape).astype(np.float32))
                         for _ in range(5)]).clamp(0, 1)
    center, warped = views[2:3].clone(), torch.cat([views[0:2], views[3:5]])
    dirt = np.zeros((64, 96), dtype=bool)
    dirt[26:38, 40:49] = True
    center[0][:, torch.from_numpy(dirt)] = 0.1
    valid = torch.ones(4, 1, 64, 96, dtype=torch.bool)
    params = DustParams(max_area=0.05)
    steps = torch.tensor([-2.0, -1.0, 1.0, 2.0]).view(4, 1, 1)
    without = detect_blotches(center, warped, valid, SIDES, params, OFFSETS)
    assert without.mask[0, 0].numpy()[dirt].mean() == 0.0  # the ring-median rule alone rejects it
    pan = torch.zeros(4, 2, 64, 96)
    pan[:, 0] = steps * 1.5  # the picture pans 1.5 px/frame as one
    found = detect_blotches(center, warped, valid, SIDES, params, OFFSETS, flows=pan)
    assert found.mask[0, 0].numpy()[dirt].mean() > 0.95
    assert (found.mask[0, 0].numpy() & ~dirt).sum() == 0
    # a motion edge through its surroundings (the right part moves 3 px/frame more): not taken
    edge = pan.clone()
    edge[:, 0, :, 40:] += steps * 3.0
    moving = detect_blotches(center, warped, valid, SIDES, params, OFFSETS, flows=edge)
    assert moving.mask[0, 0].numpy()[dirt].mean() == 0.0


def test_shot_end_takes_clear_blotches_below_the_old_override_contrast() -> None:
    center, warped = _stack(seed=4, noise=0.01)
    before = center.clone()
    blob = _blob(center, 30, 40, 4, 0.0)
    center[0][:, torch.from_numpy(blob)] = before[0][:, torch.from_numpy(blob)] - 0.18  # contrast 0.18
    center.clamp_(0, 1)
    valid = torch.ones(2, 1, 64, 96, dtype=torch.bool)
    covered = torch.ones(1, 1, 64, 96, dtype=torch.bool)
    det = detect_blotches(center, warped[2:], valid, [1, 1], DustParams(max_area=0.05), [1, 2], covered=covered)
    assert det.mask[0, 0].numpy()[blob].mean() > 0.9
    old = detect_blotches(center, warped[2:], valid, [1, 1], DustParams(max_area=0.05, one_sided_contrast=0.25),
                          [1, 2], covered=covered)
    assert old.mask[0, 0].numpy()[blob].mean() == 0.0


def test_edge_flow_leaves_a_blotch_on_a_motion_edge_alone() -> None:
    """The second pass's guard: a blotch where the flow around is uniform is found, one on a motion edge is not."""
    center, warped = _stack(seed=4)
    blob = _blob(center, 32, 48, 4, 0.02)
    valid = torch.ones(4, 1, 64, 96, dtype=torch.bool)
    still = torch.zeros(4, 2, 64, 96)
    params = DustParams(max_area=0.05, edge_flow=2.5)
    found = detect_blotches(center, warped, valid, SIDES, params, OFFSETS, flows=still).mask[0, 0].numpy()
    assert found[blob].mean() > 0.9
    edge = still.clone()
    # the left side moves 3 px per frame: a motion edge 2 px from the blotch
    edge[:, 0, :, :42] = 3.0 * torch.tensor(OFFSETS, dtype=torch.float32).view(4, 1, 1)
    near_edge = detect_blotches(center, warped, valid, SIDES, params, OFFSETS, flows=edge).mask[0, 0].numpy()
    assert near_edge[blob].mean() == 0.0
    off = detect_blotches(center, warped, valid, SIDES, DustParams(max_area=0.05), OFFSETS, flows=edge)
    assert off.mask[0, 0].numpy()[blob].mean() > 0.9  # the first pass (no edge_flow) still takes it


def test_a_shot_end_seen_only_in_two_copies_of_one_frame_is_left_alone() -> None:
    """Telecine: the two frames on the one side that exists are the same film frame, so they agree whatever
    they show; the blob that two different pictures disagree with is dirt, the one two copies do is not known."""
    center, warped = _stack(seed=4, noise=0.01)
    blob = _blob(center, 30, 40, 4, 0.0)
    valid = torch.ones(2, 1, 64, 96, dtype=torch.bool)
    covered = torch.ones(1, 1, 64, 96, dtype=torch.bool)
    params = DustParams(max_area=0.05)
    different = detect_blotches(center, warped[2:], valid, [1, 1], params, [1, 2], covered=covered)
    assert different.mask[0, 0].numpy()[blob].mean() > 0.9
    copies = torch.cat([warped[2:3], warped[2:3]])
    repeated = detect_blotches(center, copies, valid, [1, 1], params, [1, 2], covered=covered)
    assert repeated.mask[0, 0].numpy().sum() == 0
    # with both sides present, a repeated neighbour is still evidence (the rule is for one side alone)
    both = detect_blotches(center, torch.cat([warped[:2], copies]), torch.ones(4, 1, 64, 96, dtype=torch.bool),
                           SIDES, params, OFFSETS, covered=covered)
    assert both.mask[0, 0].numpy()[blob].mean() > 0.9


def test_a_limb_the_flow_missed_is_not_dirt_and_a_speck_beside_it_is() -> None:
    """A dark bar moves 8 px per frame but the flow says it stands still (it follows the background): the warped
    neighbours lack it like they lack dirt. The neighbours as they are hold it 8 px away; they hold no speck."""
    h, w = 64, 96
    center, warped = _stack(h, w, seed=6, noise=0.01)
    sources = warped.clone()  # the static background: not warped is the same as warped
    bar = np.zeros((h, w), bool)
    bar[28:34, 20:28] = True
    center[0][:, torch.from_numpy(bar)] = 0.03
    for k, off in enumerate(OFFSETS):  # the bar in each neighbour, 8 px per frame further
        sources[k][:, torch.from_numpy(np.roll(bar, 8 * off, axis=1))] = 0.03
    speck = _blob(center, 31, 70, 3, 0.03)
    valid = torch.ones(4, 1, h, w, dtype=torch.bool)
    flows = torch.zeros(4, 2, h, w)
    flows[:, 0, 36:, :] = 3.0 * torch.tensor(OFFSETS, dtype=torch.float32).view(4, 1, 1)  # a motion edge below both
    params = DustParams(max_area=0.05, moved_search=0.1)
    det = detect_blotches(center, warped, valid, SIDES, params, OFFSETS, flows=flows, sources=sources)
    mask = det.mask[0, 0].numpy()
    assert mask[bar].mean() == 0.0
    assert mask[speck].mean() > 0.9
    off = detect_blotches(center, warped, valid, SIDES, DustParams(max_area=0.05, moved_flow=None), OFFSETS,
                          flows=flows, sources=sources)
    assert off.mask[0, 0].numpy()[bar].mean() > 0.9  # without the test, the bar passes for dirt
    # where the flow around is uniform (no motion edge) the test does not run: nothing to suspect
    still = detect_blotches(center, warped, valid, SIDES, params, OFFSETS, flows=torch.zeros(4, 2, h, w),
                            sources=sources)
    assert still.mask[0, 0].numpy()[bar].mean() > 0.9


def test_moved_content_parameters_are_checked() -> None:
    with pytest.raises(ValueError):
        DustParams(moved_ratio=1.0)
    with pytest.raises(ValueError):
        DustParams(moved_search=-0.1)


def test_a_large_blurred_limb_is_motion_on_the_region_alone() -> None:
    """A 200 px arm moves 12 px per frame and its blur changes: the shifted match fits the arm but not its rim,
    which a speck's test would ask for; a region that large is decided on itself."""
    import cv2

    h, w = 64, 96
    center, warped = _stack(h, w, seed=7, noise=0.01)
    sources = warped.clone()
    arm = np.zeros((h, w), bool)
    arm[12:32, 30:40] = True
    center[0][:, torch.from_numpy(arm)] = 0.05
    for k, off in enumerate(OFFSETS):  # the arm further on, and blurred differently in each neighbour
        img = sources[k].permute(1, 2, 0).numpy().copy()
        moved = np.roll(arm, 12 * off, axis=1)
        img[moved] = 0.05
        around = cv2.dilate(moved.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
        img[around] = cv2.GaussianBlur(img, (0, 0), 1.5)[around]  # the blur smears its outline only
        sources[k] = torch.from_numpy(img).permute(2, 0, 1)
    valid = torch.ones(4, 1, h, w, dtype=torch.bool)
    flows = torch.zeros(4, 2, h, w)
    flows[:, 0, 28:, :] = 3.0 * torch.tensor(OFFSETS, dtype=torch.float32).view(4, 1, 1)  # a motion edge across it
    base = DustParams(max_area=0.05, moved_search=0.1)
    without = detect_blotches(center, warped, valid, SIDES, DustParams(max_area=0.05, moved_flow=None), OFFSETS,
                              flows=flows, sources=sources)
    assert without.mask[0, 0].numpy()[arm].mean() > 0.9
    det = detect_blotches(center, warped, valid, SIDES, base, OFFSETS, flows=flows, sources=sources)
    assert det.mask[0, 0].numpy()[arm].mean() == 0.0


def test_a_region_the_past_and_the_future_disagree_about_is_not_dirt() -> None:
    """Dirt hides one picture that goes on: a bright region whose aligned past shows one thing under it and whose
    future shows another (a limb the flow placed differently on each side) is motion; the same region over a
    picture both sides agree on is dirt."""
    center, warped = _stack(seed=8, noise=0.01)
    blob = _blob(center, 30, 40, 5, 0.95)
    valid = torch.ones(4, 1, 64, 96, dtype=torch.bool)
    params = DustParams(max_area=0.05)
    assert params.sides_agree == 0.2
    agree = detect_blotches(center, warped, valid, SIDES, params, OFFSETS)
    assert agree.mask[0, 0].numpy()[blob].mean() > 0.9
    sides = warped.clone()
    where = torch.from_numpy(blob)
    sides[:2][:, :, where] = 0.35  # the past shows something dark there ...
    sides[2:][:, :, where] = 0.60  # ... the future something lighter: each still ~0.35 below the frame
    off = detect_blotches(center, sides, valid, SIDES, DustParams(max_area=0.05, sides_agree=None), OFFSETS)
    assert off.mask[0, 0].numpy()[blob].mean() > 0.9  # every pixel alone is an outlier of one sign
    det = detect_blotches(center, sides, valid, SIDES, params, OFFSETS)
    assert det.mask[0, 0].numpy()[blob].mean() == 0.0
    # one side only (a shot's first frame): no pair to compare, the region is judged as before
    one = detect_blotches(center, sides[2:], valid[2:], [1, 1], params, [1, 2],
                          covered=torch.ones(1, 1, 64, 96, dtype=torch.bool))
    assert one.mask[0, 0].numpy()[blob].mean() > 0.9
    with pytest.raises(ValueError):
        DustParams(sides_agree=0.0)



def test_a_large_region_on_a_fast_motion_edge_is_motion_even_with_no_match() -> None:
    """A 200 px region that no neighbour holds anywhere (a blurred arm is a new picture in every frame) is left
    alone where the flow around it spreads by 4 px per frame or more, and taken for dirt beside a slower edge."""
    h, w = 64, 96
    center, warped = _stack(h, w, seed=9, noise=0.01)
    sources = warped.clone()  # the neighbours as they are: the region is in none of them
    arm = np.zeros((h, w), bool)
    arm[12:32, 30:40] = True
    center[0][:, torch.from_numpy(arm)] = 0.05
    valid = torch.ones(4, 1, h, w, dtype=torch.bool)
    params = DustParams(max_area=0.05, moved_search=0.1)

    def edge(px_per_frame: float) -> torch.Tensor:
        flows = torch.zeros(4, 2, h, w)
        flows[:, 0, 28:, :] = px_per_frame * torch.tensor(OFFSETS, dtype=torch.float32).view(4, 1, 1)
        return flows

    slow = detect_blotches(center, warped, valid, SIDES, params, OFFSETS, flows=edge(3.0), sources=sources)
    assert slow.mask[0, 0].numpy()[arm].mean() > 0.9
    fast = detect_blotches(center, warped, valid, SIDES, params, OFFSETS, flows=edge(6.0), sources=sources)
    assert fast.mask[0, 0].numpy()[arm].mean() == 0.0
    small = np.zeros((h, w), bool)  # a speck beside the same fast edge is still judged on its content
    center2, warped2 = _stack(h, w, seed=9, noise=0.01)
    small[20:24, 34:38] = True
    center2[0][:, torch.from_numpy(small)] = 0.05
    det = detect_blotches(center2, warped2, valid, SIDES, params, OFFSETS, flows=edge(6.0), sources=warped2.clone())
    assert det.mask[0, 0].numpy()[small].mean() > 0.9
