"""Region tests of the dust detector: which connected regions of seed pixels are dirt.

Per-pixel evidence (:mod:`.evidence`) gives seeds and the pixels they may grow into; here they
become regions (:func:`hysteresis`, :func:`drop_specks`) and each region must pass the tests that
tell dirt from a failed alignment: it stands out in the frame itself (:func:`stand_out`), the past
and the future agree on what it hides (:func:`sides_agree`), its content is not found displaced in
the nearest neighbours (:func:`moved_content`) and, on the second pass, it lies away from motion
edges (:func:`away_from_motion_edges`). Each takes a bool ``(H, W)`` mask and returns the mask of
the regions kept and their number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence


def hysteresis(strong: np.ndarray, weak: np.ndarray, max_pixels: int) -> tuple[np.ndarray, int, int]:
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


def drop_specks(mask: np.ndarray, min_area: int) -> tuple[np.ndarray, int]:
    """Remove connected regions under ``min_area`` px (grain-sized specks); returns the mask and the regions left."""
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return mask, 0
    big = stats[:, cv2.CC_STAT_AREA] >= min_area
    big[0] = False
    return big[labels], int(big.sum())


def stand_out(mask: np.ndarray, lum: np.ndarray, diff: np.ndarray, ratio: float = 0.25,
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


def sides_agree(mask: np.ndarray, yc: np.ndarray, yn: np.ndarray, valid: np.ndarray, offsets: Sequence[int],
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


def moved_content(mask: np.ndarray, lum: np.ndarray, sources: np.ndarray, flows: np.ndarray, spread: float,
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
    outright: a blurred arm sweeping across the frame is in no neighbour as it is, while large
    blotches of dirt lie where the flow around them is nearly uniform (what this costs and saves
    is measured in docs/BENCHMARKS.md, film restoration).
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
            dx = round(float(np.median(flows[j, 0, ys, xs][around])))
            dy = round(float(np.median(flows[j, 1, ys, xs][around])))
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


def away_from_motion_edges(mask: np.ndarray, flows: np.ndarray, limit: float) -> tuple[np.ndarray, int]:
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
