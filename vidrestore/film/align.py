"""The flow-aligned neighbourhood of one frame: neighbours warped onto it, with per-pixel trust.

For frame t and offsets ``k`` (``-r .. -1, 1 .. r``; those in another shot or outside the clip are
left out), :func:`align_neighbours` returns each neighbour ``t + k`` warped onto t with
``flow_{t -> t+k}`` (composed from consecutive flows by :class:`~vidrestore.flow.cache.FlowCache`),
and the flow confidence of that match from forward-backward consistency
(:func:`~vidrestore.flow.occlusion.flow_confidence`; matches that leave the frame get 0). A pixel
of a neighbour is *valid* where the confidence reaches ``min_confidence`` (0.5 is exactly the
occlusion test's tolerance): occluded and badly aligned pixels are never used as evidence or as
material for a repair.

Flow through a blotch of frame t is unreliable (the blotch has no match), so before a repair the
flows are filled inside the damaged region from the flow around it (:func:`rewarp_filled`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vidrestore.film.ops import fill_from_surroundings, inside_frame, remap

if TYPE_CHECKING:
    import torch

    from vidrestore.flow.cache import FlowCache


@dataclass
class Aligned:
    """Neighbours of frame ``index`` warped onto it. ``K`` = ``len(offsets)`` (may be 0)."""

    index: int
    offsets: list[int]
    flows: torch.Tensor  # (K, 2, H, W) flow_{t -> t+k}
    warped: torch.Tensor  # (K, 3, H, W)
    conf: torch.Tensor  # (K, 1, H, W) in [0, 1]
    valid: torch.Tensor  # (K, 1, H, W) bool
    inside: torch.Tensor  # (K, 1, H, W) bool: the match lies inside the neighbour's frame

    @property
    def sides(self) -> list[int]:
        return [-1 if k < 0 else 1 for k in self.offsets]

    def __len__(self) -> int:
        return len(self.offsets)


def neighbour_offsets(index: int, radius: int, available: Callable[[int], bool]) -> list[int]:
    """Offsets ``-radius .. radius`` (0 excluded) whose frames ``available`` says can be aligned to ``index``."""
    return [k for k in range(-radius, radius + 1) if k != 0 and available(index + k)]


def align_neighbours(index: int, offsets: Sequence[int], cache: FlowCache,
                     frame: Callable[[int], torch.Tensor], *, occlusion_threshold: float = 1.0,
                     min_confidence: float = 0.5) -> Aligned:
    """Warp frames ``index + k`` (``frame(i)`` gives ``(1, 3, H, W)``) onto frame ``index`` (see module docstring)."""
    import torch


    center = frame(index)
    h, w = center.shape[-2:]
    if not offsets:
        empty = center.new_zeros(0, 1, h, w)
        return Aligned(index=index, offsets=[], flows=center.new_zeros(0, 2, h, w),
                       warped=center.new_zeros(0, 3, h, w), conf=empty, valid=empty.bool(), inside=empty.bool())
    fwd = torch.cat([cache.flow(index, index + k) for k in offsets])
    bwd = torch.cat([cache.flow(index + k, index) for k in offsets])
    conf = fb_confidence(fwd, bwd, threshold=occlusion_threshold)
    src = torch.cat([frame(index + k) for k in offsets])
    warped = remap(src, fwd)
    return Aligned(index=index, offsets=list(offsets), flows=fwd, warped=warped, conf=conf,
                   valid=conf >= min_confidence, inside=inside_frame(fwd))


def fb_confidence(flow_t_to_s: torch.Tensor, flow_s_to_t: torch.Tensor, *, threshold: float = 1.0,
                  relative: float = 0.05) -> torch.Tensor:
    """Forward-backward confidence ``(N, 1, H, W)`` in [0, 1], 0 where the match leaves frame s.

    The formula of :func:`vidrestore.flow.occlusion.flow_confidence` without its range-map term:
    ``2 ** -(err / tol) ** 2``, ``tol = threshold + relative * (|f| + |b|)`` (0.5 exactly at the
    occlusion test's tolerance). Magnitudes use ``hypot``: ``Tensor.norm(dim=1)`` over the two flow
    channels is a generic reduction that this torch runs far slower on CPU, on every pixel of every pair.
    """
    import math

    import torch


    fwd = flow_t_to_s.float()
    back = remap(flow_s_to_t.float(), fwd, cubic=False, clip=False)
    s = fwd + back
    err = torch.hypot(s[:, 0:1], s[:, 1:2])
    mag = torch.hypot(fwd[:, 0:1], fwd[:, 1:2]) + torch.hypot(back[:, 0:1], back[:, 1:2])
    tol = threshold + relative * mag
    conf = torch.exp(-math.log(2.0) * (err / tol) ** 2)
    return conf * inside_frame(fwd).to(conf.dtype)


def side_coverage(aligned: Aligned) -> torch.Tensor:
    """Bool ``(1, 1, H, W)``: every side in time is covered, by a valid match or by no in-frame match at all.

    A side is covered at a pixel when one of its neighbours matches it reliably, or when none of them
    sees it (the side does not exist: the start or end of a shot; or the match leaves the frame, as
    at the leading edge of a pan). A side whose neighbours see the pixel but none reliably is an
    occlusion or an alignment failure: there, dirt cannot be told from motion.
    """
    import torch

    k = len(aligned)
    h, w = aligned.warped.shape[-2:]
    if k == 0:
        return torch.zeros(1, 1, h, w, dtype=torch.bool, device=aligned.warped.device)
    covered = torch.ones(1, 1, h, w, dtype=torch.bool, device=aligned.warped.device)
    for sign in (-1, 1):
        mine = [i for i, s in enumerate(aligned.sides) if s == sign]
        if not mine:
            continue  # no neighbour on this side: nothing seen there, covered
        covered &= _any_of(aligned.valid, mine) | ~_any_of(aligned.inside, mine)
    return covered & _any_of(aligned.valid, range(k))


def _any_of(masks: torch.Tensor, rows: Sequence[int] | range) -> torch.Tensor:
    """OR of the bool planes ``masks[rows]`` as ``(1, 1, H, W)`` (a few ORs: torch's reduction over dim 0 is slow)."""
    rows = list(rows)
    out = masks[rows[0]:rows[0] + 1].clone()
    for i in rows[1:]:
        out |= masks[i:i + 1]
    return out


def local_motion(aligned: Aligned, size: int = 31) -> torch.Tensor:
    """``(1, 1, H, W)``: px per frame the picture moves around each pixel (nearest neighbours, ``size`` box mean)."""
    import torch

    from vidrestore.film.ops import box_blur

    h, w = aligned.warped.shape[-2:]
    if len(aligned) == 0:
        return torch.zeros(1, 1, h, w, device=aligned.warped.device)
    near = min(abs(o) for o in aligned.offsets)
    idx = [i for i, o in enumerate(aligned.offsets) if abs(o) == near]
    f = aligned.flows[idx] / near
    mag = torch.hypot(f[:, 0:1], f[:, 1:2]).amax(0, keepdim=True)
    return box_blur(mag, size)


def rescue_islands(aligned: Aligned, frame: Callable[[int], torch.Tensor], center: torch.Tensor, *,
                   max_area: float, threshold: float, agree: float, ring: int = 5,
                   ring_share: float = 0.8) -> tuple[Aligned, int]:
    """Re-validate the neighbours around blotch-like islands where the flow broke down.

    A blotch has no match in any neighbour, so the flow of frame t is wrong on it in *every*
    direction and the forward-backward check fails all around it: a strongly visible blotch would
    leave no valid neighbour to be detected against. Islands are connected regions where frame t
    differs by more than ``threshold`` (3x3 luma means) from every neighbour that sees it, with the
    same sign, and where :func:`side_coverage` fails. An island no larger than ``max_area`` of the
    frame, whose surroundings (a ``ring`` px ring around it, grown by 4 px) are at least
    ``ring_share`` covered, gets its flows filled from those surroundings (each neighbour's from
    its own valid pixels: a blotch drags the flow of a patch-based estimator off well beyond its
    edge, and those dragged vectors are no material); there a neighbour pixel becomes valid when another
    neighbour (the one at the opposite offset, else the other one on the same side) warped the same
    way agrees with it within ``agree``. Two independent frames agreeing is the evidence the failed
    round trip could not give. Disagreement next to more badly aligned picture is motion the flow
    could not follow and is left alone. Returns the updated neighbourhood and the number of
    neighbour pixels re-validated.
    """
    import cv2
    import numpy as np
    import torch

    from vidrestore.film.ops import box_blur, luma

    k = len(aligned)
    if k < 2:
        return aligned, 0
    h, w = aligned.warped.shape[-2:]
    d = box_blur(luma(center) - luma(aligned.warped), 3)
    inside = aligned.inside
    any_in = inside.any(0, keepdim=True)
    inf = torch.tensor(float("inf"))
    brighter = torch.where(inside, d, inf).amin(0, keepdim=True) > threshold
    darker = torch.where(inside, d, -inf).amax(0, keepdim=True) < -threshold
    covered = side_coverage(aligned)
    cand = ((brighter | darker) & any_in & ~covered)[0, 0].cpu().numpy().astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cand, connectivity=8)
    if n <= 1:
        return aligned, 0
    small = np.zeros(n, dtype=bool)
    small[1:] = stats[1:, cv2.CC_STAT_AREA] <= max_area * h * w
    islands = cv2.dilate(small[labels].astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    if not islands.any():
        return aligned, 0
    good = covered[0, 0].cpu().numpy()
    grown = cv2.dilate(islands.astype(np.uint8), np.ones((2 * ring + 1, 2 * ring + 1), np.uint8))
    m, groups = cv2.connectedComponents(grown, connectivity=8)
    around = (grown > 0) & ~islands
    ring_total = np.bincount(groups[around], minlength=m)
    ring_good = np.bincount(groups[around & good], minlength=m)
    good_group = ring_good >= ring_share * np.maximum(ring_total, 1)
    good_group[0] = False
    islands &= good_group[groups]
    if not islands.any():
        return aligned, 0
    region = torch.from_numpy(islands)[None, None].to(center.device)
    near = torch.from_numpy((grown > 0) & good_group[groups])[None, None].to(center.device)
    holes = region | (near & ~aligned.valid)
    flows = torch.where(region.expand(k, 1, h, w), fill_from_surroundings(aligned.flows, holes, size=15),
                        aligned.flows)
    warped = rewarp_filled(aligned, frame, region, flows=flows)
    y = luma(warped)
    valid = aligned.valid.clone()
    offsets = aligned.offsets
    for i, o in enumerate(offsets):
        partner = offsets.index(-o) if -o in offsets else next(
            (j for j, q in enumerate(offsets) if j != i and (q > 0) == (o > 0)), None)
        if partner is None:
            continue
        ok = box_blur((y[i:i + 1] - y[partner:partner + 1]).abs(), 3) < agree
        valid[i:i + 1] |= region & ok
    rescued = int((valid & ~aligned.valid).sum())
    conf = torch.where(valid & ~aligned.valid, torch.full_like(aligned.conf, 0.5), aligned.conf)

    return Aligned(index=aligned.index, offsets=list(offsets), flows=flows, warped=warped, conf=conf,
                   valid=valid, inside=inside_frame(flows)), rescued


def rewarp_filled(aligned: Aligned, frame: Callable[[int], torch.Tensor], hole: torch.Tensor, *,
                  size: int = 15, flows: torch.Tensor | None = None) -> torch.Tensor:
    """Neighbours warped again with flows filled inside ``hole`` (bool ``(1, 1, H, W)``) from their surroundings.

    Returns ``(K, 3, H, W)``: equal to ``aligned.warped`` outside the hole. ``flows`` (already
    filled) may be passed to skip the fill.
    """
    import torch

    if len(aligned) == 0 or not bool(hole.any()):
        return aligned.warped
    holes = hole.expand(len(aligned), 1, *hole.shape[-2:])
    if flows is None:
        flows = fill_from_surroundings(aligned.flows, holes, size=size)
    src = torch.cat([frame(aligned.index + k) for k in aligned.offsets])
    rewarped = remap(src, flows)
    return torch.where(holes, rewarped, aligned.warped)
