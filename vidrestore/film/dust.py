"""Dust and dirt: blotches are temporal outliers that the aligned neighbours disagree with.

Detection belongs to the spike-detection-index family (Kokaram, "Motion Picture Restoration",
1998): a pixel of a blotch differs from the motion-compensated previous *and* next frames, with the
same sign, by more than a threshold; a moving object or an uncovered region differs in one
direction only. Here, with ``K`` neighbours (``+-1 .. +-r``) warped onto frame t:

* ``d_k = box3(Y_t - Y_k) - bias_k``: luma differences, averaged over 3x3 so that grain does not
  trigger it, minus their slowly varying part (:func:`local_bias`: what deflicker left).
* Only *valid* neighbour pixels count (flow confidence >= 0.5, inside the frame): an occluded or
  badly aligned pixel is neither evidence for nor against a blotch. This is what keeps real motion
  from being taken for dirt.
* A pixel is a blotch seed when every valid neighbour differs by more than ``T`` with the same
  sign (rank-ordered: Y_t lies outside the range of the neighbours), and by more than the
  neighbours differ among themselves (their range, 3x3 means): neighbours that disagree with each
  other mean the alignment failed, as on fast or blurred motion. At least ``min_neighbours`` must
  be valid and come from both sides in time: a pixel occluded on one side is left alone (dirt and
  motion cannot be told apart there). Only where one side has no in-frame match at all (the first
  and last frames of a shot, the edge a pan brings in) do same-side neighbours suffice; they must
  agree with each other within ``T``, the outlier must be clear (``one_sided_contrast``, at least
  ``2 T``) and the picture slow (``override_motion``): a change that lasts looks the same from one
  side. (0.15 rather than 0.25: on the damage benchmark's shot ends 0.25 missed most blobs of
  contrast 0.1-0.25, and 0.15 costs Sintel 0.02 dB where a scratch starts a frame later.) Copies of
  one another among them (a telecine's repeated frame) count as one picture, and one side alone must
  hold two different pictures: two copies agree with each other whatever they show.
* ``T = max(threshold, sigmas * noise)``, where ``noise`` is the robust (MAD) spread of ``d`` for the
  nearest neighbours, measured on the frame itself: strong grain raises the bar automatically.
* Strong outliers (``override_contrast``, at least ``2 T``) also count where the flow check failed
  (the neighbours need only see the pixel inside their frame), provided the local motion is slow
  (under ``override_motion`` of the frame width): a high-contrast blotch breaks the flow around
  itself, and a slow scene is not where alignment fails by that much.
* With 4 or more neighbours all valid and a slow picture, one of them may agree with a strong
  blotch (its flow locked onto the blotch, matching it to something alike nearby, and the round trip
  closed): the others decide without it, on the same terms (both sides, agreeing among
  themselves), for strong outliers (``override_contrast``) only. A neighbour that repeats the frame
  (telecine) is never left out.
* Nothing is detected where the picture moves faster than ``max_motion`` of the frame width per
  frame (a 31 px mean of the flow to the nearest neighbours): on fast, blurred motion the flow
  check passes wrong matches often enough that limbs and props would be taken for dirt.
* Hysteresis: seeds grow into connected pixels that pass ``T / 2`` (the soft rim of a blotch).
  Regions larger than ``max_area`` (share of the frame) are dropped: dirt is small, disagreement
  that large is a flow failure; regions under ``min_area`` px (default 4) are grain. A region must
  also stand out in the frame itself (:func:`_stand_out`: darker or brighter than a ring around it,
  by a quarter of its temporal difference): a speck does, a piece of a moving limb whose alignment
  failed does not. Where the flow around a region is uniform (``uniform_flow``: no motion edge
  near, so alignment cannot have failed on one), being darker (brighter) than the bright (dark)
  side of the ring is enough: dirt on the border of a cloud and a dark field is no darker than the
  ring's median. Next to a motion edge (``moved_flow``), a region whose content the nearest
  neighbours hold a few pixels away from where the flow points (:func:`_moved_content`) is a limb
  the flow missed, not dirt. And dirt hides one picture that goes on, so some past and some
  future neighbour must agree about what lies under a region (:func:`_sides_agree`,
  ``sides_agree``): where they show two different things, the flow missed motion and a repair
  would paste a mix of both. The mask is dilated by ``dilate`` px for the repair.

Repair: each masked pixel takes the colour of the neighbour whose luma is the confidence-weighted
median of the valid neighbours (one neighbour's RGB, so colours stay consistent); pixels no valid
neighbour sees are filled from their surroundings. The repair is feathered over one pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from vidrestore.film.ops import box_blur, dilate, fill_from_surroundings, luma, robust_sigma

SAME_PICTURE = 1.5 / 255  # mean luma difference under which two frames are one picture (a telecine's repeat)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import torch


@dataclass(frozen=True)
class DustParams:
    threshold: float = 0.05  # least difference (0..1) from every valid neighbour
    sigmas: float = 4.0  # ... and this many robust sigmas of the measured differences
    max_area: float = 0.01  # share of the frame above which a region is not dirt
    dilate: int = 1  # px
    min_area: int = 4  # px: smaller regions are grain, not dirt
    min_neighbours: int = 2
    max_motion: float = 0.03  # no detection where the picture moves faster (share of the frame width per frame)
    override_contrast: float = 0.25  # outliers this strong count without flow confidence ...
    override_motion: float = 0.02  # ... where the local motion is below this share of the frame width
    one_sided_contrast: float = 0.15  # least outlier (and >= 2 T) where only one side in time exists
    uniform_flow: float = 0.5  # px per frame: flow spread around a region under which no motion boundary is near
    edge_flow: float | None = None  # px per frame: drop regions whose surroundings' flow spreads more (None = off)
    moved_flow: float | None = 1.0  # px per frame: near a motion edge (flow spread above this), look for the region's
    #                                  content displaced in the neighbours (:func:`_moved_content`; None = off)
    moved_ratio: float = 0.7  # ... found when a shifted match explains the region this much better than the flow did
    moved_search: float = 0.02  # ... searched within this share of the frame width around the flow's match
    sides_agree: float | None = 0.2  # a region is dirt only if some past and some future neighbour agree on what is
    #                                  under it: their difference there (less the frame's usual one) under this share
    #                                  of the region's contrast (:func:`_sides_agree`; None = off)

    def __post_init__(self) -> None:
        if self.threshold <= 0 or self.sigmas < 0:
            raise ValueError("dust threshold must be > 0 and sigmas >= 0")
        if self.min_neighbours < 1:
            raise ValueError("dust min_neighbours must be >= 1")
        if not 0 < self.moved_ratio < 1 or self.moved_search < 0:
            raise ValueError("dust moved_ratio must be in (0, 1) and moved_search >= 0")
        if self.sides_agree is not None and self.sides_agree <= 0:
            raise ValueError("dust sides_agree must be > 0 (or None = off)")


@dataclass(frozen=True)
class Detection:
    mask: torch.Tensor  # (1, 1, H, W) bool: the detected blotch pixels
    repair_mask: torch.Tensor  # (1, 1, H, W) bool: ``mask`` dilated by ``dilate`` px (what gets repaired)
    threshold: float
    noise: float
    regions: int
    rejected_large: int


def local_bias(diff: torch.Tensor, valid: torch.Tensor, *, block: int = 8) -> torch.Tensor:
    """Slowly varying part of ``diff`` ``(K, 1, H, W)`` over valid pixels: 8x8 block means, 5x5 median, upsampled.

    What deflicker left of a brightness difference between two frames (regional flicker, the ends
    of a shot) is smooth; subtracting it keeps a whole bright region from passing the threshold.
    The median over blocks ignores the few blocks a blotch fills.
    """
    import cv2
    import torch
    import torch.nn.functional as F

    h, w = diff.shape[-2:]
    size = (max(1, h // block), max(1, w // block))
    v = valid.float()
    num = F.adaptive_avg_pool2d(diff * v, size)
    den = F.adaptive_avg_pool2d(v, size)
    means = torch.where(den > 0.2, num / den.clamp(min=1e-6), torch.zeros_like(num))
    if min(size) >= 5:
        means = torch.from_numpy(np.stack([cv2.medianBlur(m[0].cpu().numpy().astype(np.float32), 5)
                                           for m in means]))[:, None].to(diff.device)
    return F.interpolate(means, size=(h, w), mode="bilinear", align_corners=False)


def _drop_specks(mask: np.ndarray, min_area: int) -> tuple[np.ndarray, int]:
    """Remove connected regions under ``min_area`` px (grain-sized specks); returns the mask and the regions left."""
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return mask, 0
    big = stats[:, cv2.CC_STAT_AREA] >= min_area
    big[0] = False
    return big[labels], int(big.sum())


def _stand_out(mask: np.ndarray, lum: np.ndarray, diff: np.ndarray, ratio: float = 0.25,
               flows: np.ndarray | None = None, uniform: float = 0.5, far_ratio: float = 0.5
               ) -> tuple[np.ndarray, int]:
    """Keep regions that also stand out *in the frame itself*: a speck is darker (brighter) than the ring around it.

    ``lum`` is the frame's luma, ``diff`` its mean signed difference from the aligned neighbours. A
    region is kept when the frame's luma inside differs from the median of a 2 px ring around it
    (1 px away) with the sign of ``diff`` and by at least ``ratio`` of the mean ``|diff|`` inside.
    Where alignment failed on a moving edge, the region is part of a limb or an outline: no darker
    or brighter than what surrounds it in the frame, only different from the neighbours.

    A speck on the border of a bright and a dark area (dark dirt on the edge of a cloud) is no
    darker than the median of its ring, only than its bright side. Where no motion boundary is
    near, that is enough: with ``flows`` (``(K, 2, H, W)``, px per frame of offset), a region whose
    surroundings (a 5 px ring) move as one (every neighbour's flow spread, 10th to 90th percentile,
    under ``uniform`` px) is also kept when it is darker (brighter) than the ring's 90th (10th)
    percentile by ``far_ratio`` of ``|diff|``. Alignment cannot fail on a moving edge where
    nothing moves differently.
    """
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return mask, 0
    h, w = mask.shape
    keep = np.zeros(n, dtype=bool)
    k_in = np.ones((3, 3), np.uint8)
    k_out = np.ones((7, 7), np.uint8)
    for i in range(1, n):
        ys, xs = _box(stats[i], h, w)
        comp = (labels[ys, xs] == i).astype(np.uint8)
        ring = (cv2.dilate(comp, k_out) > 0) & ~(cv2.dilate(comp, k_in) > 0) & ~mask[ys, xs]
        if ring.sum() < 4:
            keep[i] = True
            continue
        inside = comp > 0
        t = float(diff[ys, xs][inside].mean())
        lum_in = float(lum[ys, xs][inside].mean())
        s = lum_in - float(np.median(lum[ys, xs][ring]))
        keep[i] = s * t > 0 and abs(s) >= ratio * abs(t)
        if keep[i] or flows is None:
            continue
        if _flow_spread(flows[:, :, ys, xs], comp) >= uniform:
            continue
        far = lum_in - float(np.percentile(lum[ys, xs][ring], 90 if t < 0 else 10))
        keep[i] = far * t > 0 and abs(far) >= far_ratio * abs(t)
    return keep[labels], int(keep[1:].sum())


def _away_from_motion_edges(mask: np.ndarray, flows: np.ndarray, limit: float) -> tuple[np.ndarray, int]:
    """Keep regions whose surroundings move as one: in an 11 px box around each (the region left out), every
    neighbour's flow (``(K, 2, H, W)``, px per frame) spreads less than ``limit`` (10th to 90th percentile).

    Next to a motion boundary the aligned neighbours are wrong on one side of it, and a repair there
    pastes the wrong side's picture: what the second dust pass finds there is left alone.
    """
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return mask, 0
    h, w = mask.shape
    keep = np.zeros(n, dtype=bool)
    for i in range(1, n):
        ys, xs = _box(stats[i], h, w)
        keep[i] = _flow_spread(flows[:, :, ys, xs], (labels[ys, xs] == i).astype(np.uint8)) < limit
    return keep[labels], int(keep[1:].sum())


def _sides_agree(mask: np.ndarray, yc: np.ndarray, yn: np.ndarray, valid: np.ndarray, offsets: Sequence[int],
                 share: float) -> tuple[np.ndarray, int]:
    """Keep the regions under which some past and some future neighbour show the same picture.

    ``yc`` is the frame's luma ``(H, W)``, ``yn`` the aligned neighbours' ``(K, H, W)``, ``valid``
    where each shows something (``(K, H, W)`` bool), ``offsets`` their frame offsets. Dirt sits on one
    frame over a picture that goes on: aligned, the frames before and after it agree about what it
    hides, and the repair is that picture. Where the flow missed a moving limb, the past neighbours show
    it displaced one way and the future ones the other (or show what the limb uncovers): they differ
    from the frame *and* from each other, and a repair would paste a mix of both (a ghost). For each
    region, the smallest mean difference between a past and a future neighbour (each pair valid on at
    least half of it), less the frame's typical difference between its nearest past and future neighbour
    (grain, small misalignment), must stay under ``share`` of the region's contrast (its mean difference
    from the neighbours' median). A region with no such pair (one side only) is kept.
    """
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    past = [i for i, o in enumerate(offsets) if o < 0]
    future = [i for i, o in enumerate(offsets) if o > 0]
    if n <= 1 or not past or not future:
        return mask, max(n - 1, 0)
    p1 = max(past, key=lambda i: offsets[i])  # the nearest past and future neighbours
    f1 = min(future, key=lambda i: offsets[i])
    both = valid[p1] & valid[f1]
    floor = float(np.median(np.abs(yn[p1] - yn[f1])[both])) if both.any() else 0.0
    keep = np.ones(n, dtype=bool)
    keep[0] = False
    h, w = mask.shape
    for i in range(1, n):
        ys, xs = _box(stats[i], h, w, margin=0)
        region = labels[ys, xs] == i
        y = yn[:, ys, xs][:, region]  # (K, P)
        v = valid[:, ys, xs][:, region]
        seen = v.any(0)
        if not seen.any():
            continue
        median = np.nanmedian(np.where(v[:, seen], y[:, seen], np.nan), axis=0)
        contrast = float(np.abs(yc[ys, xs][region][seen] - median).mean())
        gaps = [float(np.abs(y[a] - y[b])[v[a] & v[b]].mean())
                for a in past for b in future if (v[a] & v[b]).mean() >= 0.5]
        if gaps and min(gaps) - floor > share * contrast:
            keep[i] = False
    return keep[labels], int(keep[1:].sum())


def _moved_content(mask: np.ndarray, lum: np.ndarray, sources: np.ndarray, flows: np.ndarray, spread: float,
                   ratio: float, radius: int, step: int = 1, large: float = 0.001,
                   big_ratio: float = 0.6, fast: float = 4.0) -> tuple[np.ndarray, int]:
    """Drop regions next to a motion edge whose content the nearest neighbours hold, displaced.

    ``lum`` is the frame's luma ``(H, W)``; ``sources`` the nearest neighbours' luma as they are, not
    warped (``(N, H, W)``); ``flows`` their flows from the frame in px (``(N, 2, H, W)``), ``step``
    frames away.
    A piece of a fast limb whose alignment failed differs from the warped neighbours like dirt does,
    but the limb is in the neighbour, only somewhere else than the flow says; a speck is in no other
    frame. So where the surroundings' flow spreads by ``spread`` px or more (a motion edge is near:
    the only place alignment fails that way), the region with a 2 px rim is matched in each
    neighbour within ``radius`` px (or the region's own width or height, if larger) of where the flow
    around it points (least squares over region and rim). The region is motion when, for some
    neighbour, the best match leaves less than ``ratio`` of the region's difference at the flow's own
    match *and* fits the rim at least as well as that match: around a speck the flow's match is
    right (only the speck differs), so a shifted one fits the rim worse; around a missed limb it is
    wrong too. A region of at least ``large`` of the frame (and 150 px) is a blurred arm rather than a
    speck: its rim is short beside it and the blur changes its outline from frame to frame, so a
    shifted match that leaves under ``big_ratio`` of its difference settles it without the rim; on
    a fast motion edge (the flow around it spreads by ``fast`` times ``spread`` or more) it is motion
    outright: a blurred arm sweeping across the frame is in no neighbour as it is, and the large
    blotches of the damage benchmark and of old_films_bofb lie where the flow spreads under 1 px
    (chaplin's sweeping arms: 14 to 23 px per frame).
    (Damage benchmark, Sintel and REDS: 3 % of the detected blobs are lost this way and two thirds
    of the false detections; chaplin.mp4: four fifths of the detections, all on moving figures.)
    """
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1 or sources.shape[0] == 0:
        return mask, max(n - 1, 0)
    h, w = mask.shape
    large_area = max(150, int(np.ceil(large * h * w)))
    keep = np.ones(n, dtype=bool)
    keep[0] = False
    rim_kernel = np.ones((5, 5), np.uint8)
    for i in range(1, n):
        ys, xs = _box(stats[i], h, w)
        comp = (labels[ys, xs] == i).astype(np.uint8)
        spread_here = _flow_spread(flows[:, :, ys, xs], comp)
        if spread_here < spread * step:
            continue
        # a large region is a limb the flow missed by as much as its own size; its rim is short beside
        # it and motion blur changes the outline, so a close fit of the region alone settles it, and on
        # a fast motion edge nothing need fit: the blur makes the limb a new picture in every frame
        is_large = int(stats[i][4]) >= large_area
        if is_large and spread_here >= fast * spread * step:
            keep[i] = False
            continue
        around = _around(comp)
        ty, tx = _box(stats[i], h, w, margin=2)
        region = labels[ty, tx] == i
        rim = cv2.dilate(region.astype(np.uint8), rim_kernel).astype(np.float32)
        rim_only = (rim > 0) & ~region
        if not rim_only.any():
            continue
        templ = np.ascontiguousarray(lum[ty, tx], dtype=np.float32)
        th, tw = templ.shape
        reach = max(radius, int(stats[i][2]), int(stats[i][3]))
        for j in range(sources.shape[0]):
            dx = int(round(float(np.median(flows[j, 0, ys, xs][around]))))
            dy = int(round(float(np.median(flows[j, 1, ys, xs][around]))))
            y0, x0 = ty.start + dy, tx.start + dx
            if not (0 <= y0 and y0 + th <= h and 0 <= x0 and x0 + tw <= w):
                continue
            diff = np.abs(sources[j, y0:y0 + th, x0:x0 + tw] - templ)
            at_flow, rim_at_flow = float(diff[region].mean()), float(diff[rim_only].mean())
            sy0, sx0 = max(0, y0 - reach), max(0, x0 - reach)
            area = np.ascontiguousarray(sources[j, sy0:min(h, y0 + th + reach), sx0:min(w, x0 + tw + reach)])
            scores = cv2.matchTemplate(area, templ, cv2.TM_SQDIFF, mask=rim)
            by, bx = np.unravel_index(int(np.argmin(scores)), scores.shape)
            diff = np.abs(area[by:by + th, bx:bx + tw] - templ)
            shifted = float(diff[region].mean())
            if is_large and shifted < big_ratio * at_flow or \
                    shifted < ratio * at_flow and float(diff[rim_only].mean()) <= rim_at_flow:
                keep[i] = False
                break
    return keep[labels], int(keep[1:].sum())


def _box(stat: np.ndarray, h: int, w: int, margin: int = 6) -> tuple[slice, slice]:
    """A region's bounding box (a row of ``connectedComponentsWithStats``) grown by ``margin`` px, clipped."""
    x0, y0, bw, bh = (int(v) for v in stat[:4])
    return (slice(max(0, y0 - margin), min(h, y0 + bh + margin)),
            slice(max(0, x0 - margin), min(w, x0 + bw + margin)))


def _around(comp: np.ndarray) -> np.ndarray:
    """The 5 px ring around region ``comp`` (uint8 box, 1 inside), 1 px away from it: bool, same box."""
    import cv2

    return (cv2.dilate(comp, np.ones((11, 11), np.uint8)) > 0) & ~(cv2.dilate(comp, np.ones((3, 3), np.uint8)) > 0)


def _flow_spread(flows: np.ndarray, comp: np.ndarray) -> float:
    """Largest spread (10th to 90th percentile, px) of any neighbour's flow component in the 5 px ring
    around region ``comp`` (uint8 box, 1 inside); ``flows`` is ``(K, 2, h, w)`` over the same box."""
    f = flows[:, :, _around(comp)]  # (K, 2, P)
    return float((np.percentile(f, 90, axis=2) - np.percentile(f, 10, axis=2)).max())


def _hysteresis(strong: np.ndarray, weak: np.ndarray, max_pixels: int) -> tuple[np.ndarray, int, int]:
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(weak.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros_like(weak), 0, 0
    seeded = np.zeros(n, dtype=bool)
    seeded[np.unique(labels[strong & weak])] = True
    seeded[0] = False
    large = stats[:, cv2.CC_STAT_AREA] > max_pixels
    keep = seeded & ~large
    return keep[labels], int(keep.sum()), int((seeded & large).sum())


@dataclass(frozen=True)
class _Evidence:
    """Per pixel, over the neighbours in use: extreme differences and the neighbours' own range."""

    d_min: torch.Tensor
    d_max: torch.Tensor
    spread: torch.Tensor

    @classmethod
    def of(cls, d: torch.Tensor, yb: torch.Tensor, use: torch.Tensor) -> _Evidence:
        import torch

        inf = torch.tensor(float("inf"))
        spread = torch.where(use, yb, -inf).amax(0, keepdim=True) - torch.where(use, yb, inf).amin(0, keepdim=True)
        return cls(d_min=torch.where(use, d, inf).amin(0, keepdim=True),
                   d_max=torch.where(use, d, -inf).amax(0, keepdim=True), spread=spread)

    def outliers(self, ok: torch.Tensor, t: float, *, no_bright: torch.Tensor | None = None,
                 no_dark: torch.Tensor | None = None) -> torch.Tensor:
        """``ok`` pixels further than ``t`` from every neighbour (same sign) and further than their range."""
        bright = (self.d_min > t) & (self.spread < self.d_min)
        dark = (self.d_max < -t) & (self.spread < -self.d_max)
        if no_bright is not None:
            bright &= ~no_bright
        if no_dark is not None:
            dark &= ~no_dark
        return ok & (bright | dark)


def _distinct_pictures(yn: torch.Tensor, valid: torch.Tensor) -> int:
    """How many different pictures the warped neighbours ``yn`` ``(N, 1, H, W)`` show: two whose mean
    luma difference over the pixels valid in both is under :data:`SAME_PICTURE` are one (a repeat)."""
    groups: list[int] = []
    for j in range(yn.shape[0]):
        for g in groups:
            both = valid[j] & valid[g]
            if bool(both.any()) and float((yn[j] - yn[g]).abs()[both].mean()) < SAME_PICTURE:
                break
        else:
            groups.append(j)
    return len(groups)


def _own(raw: torch.Tensor, use: torch.Tensor, t: float) -> torch.Tensor:
    import torch

    inf = torch.tensor(float("inf"))
    r_min = torch.where(use, raw, inf).amin(0, keepdim=True)
    r_max = torch.where(use, raw, -inf).amax(0, keepdim=True)
    return (r_min > t) | (r_max < -t)


def _any_over(mask: torch.Tensor) -> torch.Tensor:
    """``mask.any(0, keepdim=True)`` for a bool ``(K, 1, H, W)``, as K - 1 ORs (torch's reduction over dim 0 is slow)."""
    out = mask[0:1].clone()
    for j in range(1, mask.shape[0]):
        out |= mask[j:j + 1]
    return out


def _gather(x: torch.Tensor | None, pick: torch.Tensor) -> torch.Tensor | None:
    """``(N, C, H, W)`` -> ``(N, C, 1, P)``: the pixels ``pick`` (flat indices) of every plane, in order."""
    if x is None:
        return None
    n, c = x.shape[:2]
    return x.reshape(n, c, -1)[:, :, pick].reshape(n, c, 1, -1)


def _scatter(values: torch.Tensor, pick: torch.Tensor, h: int, w: int) -> np.ndarray:
    """A bool ``(H, W)`` array, False but at ``pick`` where it takes ``values`` (``(1, 1, 1, P)``)."""
    out = np.zeros(h * w, dtype=bool)
    out[pick.cpu().numpy()] = values.reshape(-1).cpu().numpy()
    return out.reshape(h, w)


def _seeds(pick: torch.Tensor, *, d: torch.Tensor, yb: torch.Tensor, raw: torch.Tensor, valid: torch.Tensor,
           inside: torch.Tensor | None, covered: torch.Tensor | None, motion: torch.Tensor | None,
           clipped: tuple[torch.Tensor, torch.Tensor] | None, side: torch.Tensor, distinct: dict[int, bool],
           copies: torch.Tensor, params: DustParams, thr: float, big: float, big_one: float, w: int
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Blotch seeds (``strong``), the pixels they may grow into (``weak``) and the pixels that differ themselves
    (``own``) among the pixels ``pick``, each ``(1, 1, 1, P)`` (see the module docstring for the tests)."""
    import torch

    k = d.shape[0]
    d, yb, raw, valid = (_gather(x, pick) for x in (d, yb, raw, valid))
    inside, covered, motion = (_gather(x, pick) for x in (inside, covered, motion))
    if clipped is not None:
        clipped = (_gather(clipped[0], pick), _gather(clipped[1], pick))

    def sides_ok(use: torch.Tensor, ev: _Evidence) -> tuple[torch.Tensor, torch.Tensor]:
        """Where both sides give evidence, and where one side is all there is (then: strong outliers only)."""
        enough = use.sum(0, keepdim=True) >= params.min_neighbours
        past = (use & (side < 0)).any(0, keepdim=True)
        future = (use & (side > 0)).any(0, keepdim=True)
        one = covered if covered is not None else torch.zeros_like(past)
        one = one & ((past & distinct[-1]) | (future & distinct[1]))
        return enough & past & future, enough & ~(past & future) & one & (ev.spread < thr)

    ev = _Evidence.of(d, yb, valid)
    ok, ok_one = sides_ok(valid, ev)
    if motion is not None:
        ok &= motion < params.max_motion * w
        ok_one &= motion < params.override_motion * w
    white, black = clipped if clipped is not None else (None, None)
    strong = ev.outliers(ok, thr, no_bright=black, no_dark=white) | ev.outliers(ok_one, big_one, no_bright=black,
                                                                                no_dark=white)
    weak = ev.outliers(ok | ok_one, 0.5 * thr, no_bright=black, no_dark=white)
    ok = ok | ok_one
    own = _own(raw, valid, thr / 3)
    if k >= 4:
        # one neighbour may agree with a strong blotch: its flow locked onto the blotch (matched it to
        # something alike nearby) and the round trip closed. With all of >= 4 neighbours valid and the
        # picture slow, the others (still from both sides, agreeing among themselves) decide without
        # it, for strong outliers only. A neighbour that is a copy of the frame (a repeated frame of a
        # telecine) is never dropped: its agreement is the truth.
        slow_all = motion < params.override_motion * w if motion is not None else torch.ones_like(ok)
        every = valid.all(0, keepdim=True) & slow_all
        for j in range(k):
            if bool(copies[j]):
                continue
            rest = valid.clone()
            rest[j] = False
            ev_j = _Evidence.of(d, yb, rest)
            ok_j, _ = sides_ok(rest, ev_j)
            ok_j &= every
            strong |= ev_j.outliers(ok_j, big, no_bright=black, no_dark=white)
            weak |= ev_j.outliers(ok_j, thr, no_bright=black, no_dark=white)
            own |= ok_j & _own(raw, rest, thr / 3)
    if inside is not None and motion is not None:
        # strong, isolated outliers where the flow check failed: a blotch breaks the flow around itself
        slow = motion < params.override_motion * w
        ev_in = _Evidence.of(d, yb, inside)
        both_in, one_in = sides_ok(inside, ev_in)
        ok_in = (both_in | one_in) & ~ok & slow
        strong |= ev_in.outliers(ok_in, big, no_bright=black, no_dark=white)
        weak |= ev_in.outliers(ok_in, thr, no_bright=black, no_dark=white)
        own |= ok_in & _own(raw, inside, thr / 3)
    return strong, weak, own


def detect_blotches(center: torch.Tensor, warped: torch.Tensor, valid: torch.Tensor, sides: list[int],
                    params: DustParams, offsets: list[int] | None = None, covered: torch.Tensor | None = None,
                    inside: torch.Tensor | None = None, motion: torch.Tensor | None = None,
                    clipped: tuple[torch.Tensor, torch.Tensor] | None = None,
                    flows: torch.Tensor | None = None, sources: Sequence[torch.Tensor] | None = None) -> Detection:
    """Blotch mask of ``center`` ``(1, 3, H, W)`` against ``warped`` neighbours ``(K, 3, H, W)``.

    ``valid`` ``(K, 1, H, W)`` bool; ``sides[k]`` is -1 for a past neighbour, +1 for a future one;
    ``offsets`` (default: ``sides``) picks the nearest neighbours for the noise estimate.
    ``covered`` (bool ``(1, 1, H, W)``, :func:`~vidrestore.film.align.side_coverage`) marks where a
    side without any in-frame match may be missing (shot ends, frame edges in a pan); elsewhere
    both sides must have a valid neighbour. With ``inside`` (``(K, 1, H, W)``, matches inside the
    neighbour's frame) and ``motion`` (``(1, 1, H, W)`` local motion in px), strong outliers are
    also taken where the flow check failed (see the module docstring). ``clipped`` = ``(white, black)``
    bool ``(1, 1, H, W)``: where the frame as scanned is clipped white, it is not darker dirt (the
    exposure correction only made a clipped highlight look dark), and likewise for black.
    ``flows`` (``(K, 2, H, W)``, ``flow_{t -> t+k}`` in px) lets :func:`_stand_out` tell a region
    far from any motion boundary. ``sources`` (the ``K`` neighbours not warped, same order, each
    ``(3, H, W)`` or ``(1, 3, H, W)``) with ``flows`` lets :func:`_moved_content` drop regions near a
    motion edge whose content a nearest neighbour holds a little further than the flow says; only
    the nearest are read, and only when a region is left to test.
    """
    import torch

    h, w = center.shape[-2:]
    k = warped.shape[0]
    if k == 0:
        none = torch.zeros(1, 1, h, w, dtype=torch.bool, device=center.device)
        return Detection(mask=none, repair_mask=none, threshold=params.threshold, noise=0.0, regions=0,
                         rejected_large=0)
    yc = luma(center)
    yn = luma(warped)
    bias = local_bias(yc - yn, valid)
    d = box_blur(yc - yn, 3) - bias
    yb = box_blur(yn, 3)
    offsets = list(offsets) if offsets is not None else list(sides)
    near = [i for i, o in enumerate(offsets) if abs(o) == min(abs(x) for x in offsets)]
    noise = robust_sigma(d[near][valid[near]])
    thr = max(params.threshold, params.sigmas * noise)

    side = torch.tensor(sides, dtype=torch.int8, device=center.device).view(k, 1, 1, 1)

    big = max(params.override_contrast, 2.0 * thr)
    big_one = max(params.one_sided_contrast, 2.0 * thr)

    # one side's neighbours that are copies of one another (a telecine's repeated frame) are one picture:
    # their agreement says nothing, so one side alone must hold two different pictures
    distinct = {s: covered is not None and _distinct_pictures(yn[[j for j in range(k) if sides[j] == s]],
                                                              valid[[j for j in range(k) if sides[j] == s]]) >= 2
                for s in (-1, 1)}
    copies = (yc - yn).abs().flatten(1).mean(1) < SAME_PICTURE if k >= 4 else torch.zeros(k, dtype=torch.bool)
    raw = yc - yn - bias
    # every test below is per pixel and needs some neighbour further than T / 2 from the frame: run them
    # on those pixels alone (a few percent of a frame), then put the seeds back in place
    cand = _any_over(d.abs() > 0.5 * thr)[0, 0]
    pick = cand.flatten().nonzero()[:, 0]
    strong_p, weak_p, own_p = _seeds(pick, d=d, yb=yb, raw=raw, valid=valid, inside=inside, covered=covered,
                                     motion=motion, clipped=clipped, side=side, distinct=distinct, copies=copies,
                                     params=params, thr=thr, big=big, big_one=big_one, w=w)
    strong = _scatter(strong_p, pick, h, w)
    weak = _scatter(weak_p, pick, h, w)
    own = _scatter(own_p, pick, h, w)
    keep, _, rejected = _hysteresis(strong, weak, int(params.max_area * h * w))
    # the 3x3 mean spreads a blotch by a pixel: keep only pixels that themselves differ
    keep &= own
    keep, regions = _drop_specks(keep, params.min_area)
    per_frame = None
    if flows is not None:
        per_frame = (flows / torch.tensor([abs(o) for o in offsets], dtype=flows.dtype, device=flows.device).view(k, 1, 1, 1)).cpu().numpy()
    keep, regions = _stand_out(keep, yc[0, 0].cpu().numpy(), d.mean(0)[0].cpu().numpy(), flows=per_frame,
                               uniform=params.uniform_flow)
    if params.sides_agree is not None and regions:
        # what a neighbour shows counts wherever its match lies inside its frame, reliable or not: a strong
        # outlier found where the flow check failed is judged on the same pictures
        shown = valid | inside if inside is not None else valid
        keep, regions = _sides_agree(keep, yc[0, 0].cpu().numpy(), yn[:, 0].cpu().numpy(), shown[:, 0].cpu().numpy(), offsets,
                                     params.sides_agree)
    if params.moved_flow is not None and per_frame is not None and sources is not None and regions:
        # the nearest neighbours only: a failed alignment there is a small displacement away
        step = min(abs(x) for x in offsets)
        near_k = [i for i, o in enumerate(offsets) if abs(o) == step]
        near = luma(torch.cat([sources[i].reshape(1, 3, h, w) for i in near_k]))[:, 0].cpu().numpy()
        keep, regions = _moved_content(keep, yc[0, 0].cpu().numpy(), near,
                                       flows[near_k].cpu().numpy(), params.moved_flow, params.moved_ratio,
                                       max(4, int(np.ceil(params.moved_search * w * step))), step)
    if params.edge_flow is not None and per_frame is not None:
        keep, regions = _away_from_motion_edges(keep, per_frame, params.edge_flow)
    mask = torch.from_numpy(keep)[None, None].to(center.device)
    return Detection(mask=mask, repair_mask=dilate(mask, params.dilate), threshold=thr, noise=noise,
                     regions=regions, rejected_large=rejected)


def weighted_median_pick(warped: torch.Tensor, weights: torch.Tensor, where: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For the pixels in ``where`` (bool ``(1, 1, H, W)``): RGB of the neighbour with the weighted-median luma.

    ``warped`` ``(K, 3, H, W)``, ``weights`` ``(K, 1, H, W)`` (0 = not usable). Returns ``(rgb (3, P),
    has_any (P,))`` for the ``P`` selected pixels in row-major order.
    """
    import torch

    sel = where[0, 0]
    y = luma(warped)[:, 0][:, sel]  # (K, P)
    wt = weights[:, 0][:, sel].float()
    big = torch.where(wt > 0, y, torch.full_like(y, float("inf")))
    order = big.argsort(dim=0)
    w_sorted = wt.gather(0, order)
    cum = w_sorted.cumsum(0)
    total = cum[-1:]
    pos = (cum >= 0.5 * total).float().argmax(0, keepdim=True)  # first index reaching half the weight
    pick = order.gather(0, pos)[0]  # (P,)
    rgb = warped[:, :, sel]  # (K, 3, P)
    out = rgb.gather(0, pick.view(1, 1, -1).expand(1, 3, -1))[0]
    return out, total[0] > 0


def repair(center: torch.Tensor, warped: torch.Tensor, weights: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Replace ``mask`` pixels of ``center`` by the weighted median of the aligned neighbours (feathered 1 px)."""
    import torch

    if not bool(mask.any()):
        return center
    region = dilate(mask, 1)
    filled = center.clone()
    if warped.shape[0] > 0:
        rgb, has = weighted_median_pick(warped, weights, region)
        sel = region[0, 0]
        flat = filled[0][:, sel]
        flat[:, has] = rgb[:, has]
        filled[0][:, sel] = flat
        missing = torch.zeros_like(region)
        missing[0, 0][sel] = ~has
    else:
        missing = region
    if bool(missing.any()):
        filled = torch.where(missing.expand_as(filled), fill_from_surroundings(center, region, size=7), filled)
    alpha = torch.maximum(mask.float(), box_blur(mask.float(), 3)) * region.float()
    return center * (1 - alpha) + filled * alpha
