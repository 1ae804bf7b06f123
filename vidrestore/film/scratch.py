"""Line scratches: thin near-vertical lines that stay at one place on the film for several frames.

Detection, per frame (luma ``(H, W)`` float in [0, 1]):

1. *Ridge response* ``r``: the pixel against the mean of 3 columns on each side, just beyond the
   largest scratch width. A bright line is brighter than both sides, a dark one darker than both;
   an edge is brighter than one side and darker than the other and gives 0. ``r`` keeps the
   smaller difference (signed), and is 0 where one side differs four times more than the other
   (a dip beside a step edge) or a side is black or white (the border of a letterbox bar).
2. *Vertical evidence* ``p``: ``r`` averaged over a vertical run of ``~H/12`` rows. Grain and texture
   average out; a line that continues down the frame adds up.
3. Candidates: pixels where ``|p|`` exceeds ``max(threshold, 4 robust sigmas of p)``; connected
   components of one polarity that span at least ``min_length`` of the frame height and are at most
   ``max_width`` px wide on average (a slant of a few percent is allowed) are line candidates.

Pieces of one line (the same column within 1.5 px plus 1 % of the height for slant) count
together, and the line must be straight (``x = a + b y`` with ``|b| <= 0.05``, row centres within
1 px RMS). Lines beside black or white (letterbox bars, the gate edge) are the picture's edge.

Persistence: a candidate of frame t is a scratch when at least ``persistence`` frames of the same
shot within ``+-radius`` (t included) have a candidate over at least half of its pixels, in *frame*
coordinates (widened by 1 px for drift). Where the flow says the picture moved by 1.5 px or more, a
line found where the *picture* went (not where the film is) votes against: a line of the scene
moves with the camera.

Repair ("along the line"): where aligned neighbours see the place off the scratch (their flow moves
it by more than the line's width, and their match is trusted), the pixels take the weighted-median
neighbour; elsewhere every row of the line is interpolated linearly between the pixels just left and
right of it (anchors averaged over three rows), which follows the line as it wanders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

    from vidrestore.film.config import ScratchConfig


@dataclass(frozen=True)
class ScratchParams:
    threshold: float = 0.015  # least mean ridge contrast (0..1) along the line
    min_length: float = 0.5  # share of the frame height a line spans
    max_width: int = 3  # px
    persistence: int = 3  # frames (t included) with the line at the same place
    sigmas: float = 3.0
    contrast: float = 3.0  # times the mean evidence of the columns around it

    def __post_init__(self) -> None:
        if self.threshold <= 0 or not 0 < self.min_length <= 1 or self.max_width < 1 or self.persistence < 1:
            raise ValueError("scratch parameters out of range")

    @classmethod
    def of(cls, section: ScratchConfig) -> ScratchParams:
        """The detector's parameters for the ``film.scratch`` section (``sigmas`` and ``contrast`` stay fixed)."""
        return cls(threshold=section.threshold, min_length=section.min_length, max_width=section.max_width,
                   persistence=section.persistence)


def _column_means(img: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Mean over columns ``x + lo .. x + hi`` (inclusive) for every x, edges replicated."""
    pad = max(abs(lo), abs(hi))
    padded = np.pad(img, ((0, 0), (pad + 1, pad)), mode="edge")
    csum = np.cumsum(padded, axis=1, dtype=np.float64)
    w = img.shape[1]
    x = np.arange(w) + pad + 1
    return ((csum[:, x + hi] - csum[:, x + lo - 1]) / (hi - lo + 1)).astype(np.float32)


def ridge_response(lum: np.ndarray, max_width: int) -> np.ndarray:
    """Signed line response ``(H, W)`` (see module docstring, step 1)."""
    gap = max_width // 2 + 1
    left = _column_means(lum, -gap - 2, -gap)
    right = _column_means(lum, gap, gap + 2)
    dl, dr = lum - left, lum - right
    bright = np.clip(np.minimum(dl, dr), 0.0, None)
    dark = np.clip(np.maximum(dl, dr), None, 0.0)
    r = bright + dark
    # a line stands out from both sides alike; a dip beside a step edge stands out from one side only
    weak, strong = np.minimum(np.abs(dl), np.abs(dr)), np.maximum(np.abs(dl), np.abs(dr))
    r[weak < 0.25 * strong] = 0.0
    # beside black or white (letterbox bars, the gate edge, clipped light) a line is the picture's edge
    import cv2

    k = np.ones((1, 3), np.uint8)
    lo = cv2.erode(lum, k, borderType=cv2.BORDER_REPLICATE)
    hi = cv2.dilate(lum, k, borderType=cv2.BORDER_REPLICATE)
    pad = gap + 1
    lo_l = np.pad(lo, ((0, 0), (pad, 0)), mode="edge")[:, :-pad]
    lo_r = np.pad(lo, ((0, 0), (0, pad)), mode="edge")[:, pad:]
    hi_l = np.pad(hi, ((0, 0), (pad, 0)), mode="edge")[:, :-pad]
    hi_r = np.pad(hi, ((0, 0), (0, pad)), mode="edge")[:, pad:]
    r[(np.minimum(lo_l, lo_r) < 0.03) | (np.maximum(hi_l, hi_r) > 0.97)] = 0.0
    return r


def line_candidates(lum: np.ndarray, params: ScratchParams) -> np.ndarray:
    """Bool ``(H, W)``: pixels of line-scratch candidates in one frame (steps 1-3).

    A scratch crossing dark and bright parts of the picture can be visible in pieces: thin pieces
    of one polarity on the same line (centre columns within 2 px plus the slant allowance) count
    together toward ``min_length``.
    """
    import cv2

    h, w = lum.shape
    r = ridge_response(lum.astype(np.float32), params.max_width)
    run = max(9, (h // 12) | 1)
    p = cv2.blur(r, (1, run), borderType=cv2.BORDER_REPLICATE)
    sub = p[::4, ::2]
    med = float(np.median(sub))
    sigma = 1.4826 * float(np.median(np.abs(sub - med)))
    thr = max(params.threshold, params.sigmas * sigma)
    # texture: mean |p| of the columns 3..10 px away on both sides (a line must stand out from it)
    a = np.abs(p)
    near = cv2.blur(a, (5, 1), borderType=cv2.BORDER_REPLICATE) * 5
    wide = cv2.blur(a, (21, 1), borderType=cv2.BORDER_REPLICATE) * 21
    texture = (wide - near) / 16.0
    stands_out = a > params.contrast * texture
    out = np.zeros((h, w), dtype=bool)
    for polarity in (1.0, -1.0):
        cand = ((polarity * p > thr) & stands_out).astype(np.uint8)
        n, labels, stats, centroids = cv2.connectedComponentsWithStats(cand, connectivity=8)
        pieces = []
        for i in range(1, n):
            height = int(stats[i, cv2.CC_STAT_HEIGHT])
            width = int(stats[i, cv2.CC_STAT_WIDTH])
            if height < run or stats[i, cv2.CC_STAT_AREA] / height > params.max_width + 1:
                continue
            if width > params.max_width + 2 + 0.05 * height:
                continue
            pieces.append((float(centroids[i, 0]), height, i))
        pieces.sort()
        group: list[tuple[float, int, int]] = []
        for piece in pieces + [(float("inf"), 0, 0)]:
            if group and piece[0] - group[-1][0] > 1.5 + 0.01 * h:
                if sum(g[1] for g in group) >= params.min_length * h:
                    line = np.zeros((h, w), dtype=bool)
                    for _, _, i in group:
                        x0, y0 = stats[i, cv2.CC_STAT_LEFT], stats[i, cv2.CC_STAT_TOP]
                        sl = (slice(y0, y0 + stats[i, cv2.CC_STAT_HEIGHT]), slice(x0, x0 + stats[i, cv2.CC_STAT_WIDTH]))
                        line[sl] |= labels[sl] == i
                    if _is_straight(line):
                        out |= line
                group = []
            group.append(piece)
    return out


def _is_straight(line: np.ndarray, max_slope: float = 0.05, max_rms: float = 1.0) -> bool:
    """A scratch runs straight down the film: ``x = a + b y`` fits with ``|b| <= max_slope`` and RMS <= ``max_rms`` px."""
    ys, xs = np.nonzero(line)
    if ys.size < 8:
        return False
    yc = ys - ys.mean()
    denom = float((yc * yc).sum())
    b = float((yc * (xs - xs.mean())).sum()) / denom if denom > 0 else 0.0
    resid = xs - xs.mean() - b * yc
    # per row, the line covers its width: compare row centres, not every pixel
    rows, inverse = np.unique(ys, return_inverse=True)
    centre = np.bincount(inverse, weights=resid) / np.bincount(inverse)
    return abs(b) <= max_slope and float(np.sqrt((centre ** 2).mean())) <= max_rms


def confirm_lines(candidates: np.ndarray, others: Sequence[np.ndarray], params: ScratchParams,
                  shifts: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """Keep the candidate lines of one frame that stay at the same place on the film.

    ``others`` are the candidate masks of the other frames of the shot within the radius;
    ``shifts[u]`` (optional) is the horizontal flow ``(H, W)`` from this frame to ``others[u]``: where
    the picture moves by 1.5 px or more, a line that moves *with* the picture is part of the scene
    and votes against, one that stays put votes for. A line is kept with at least
    ``persistence - 1`` votes for and more votes for than against.
    """
    import cv2

    if not candidates.any():
        return candidates
    need = params.persistence - 1
    if need <= 0:
        return candidates
    h, w = candidates.shape
    kernel = np.ones((1, 3), np.uint8)
    widened = [cv2.dilate(o.astype(np.uint8), kernel) > 0 for o in others]
    n, labels = cv2.connectedComponents(candidates.astype(np.uint8), connectivity=8)
    out = np.zeros_like(candidates)
    for i in range(1, n):
        ys, xs = np.nonzero(labels == i)
        votes_for = votes_against = 0
        for u, other in enumerate(widened):
            here = float(other[ys, xs].mean())
            dx = float(np.median(shifts[u][ys, xs])) if shifts is not None else 0.0
            if abs(dx) < 1.5:
                votes_for += here >= 0.5
                continue
            moved = float(other[ys, np.clip(xs + int(round(dx)), 0, w - 1)].mean())
            if here >= 0.5 and here >= moved:
                votes_for += 1
            elif moved >= 0.5 and moved > here:
                votes_against += 1
        if votes_for >= need and votes_for > votes_against:
            out[ys, xs] = True
    return out


def widen(mask: np.ndarray, px: int = 1) -> np.ndarray:
    """Dilate a line mask horizontally by ``px`` on each side."""
    import cv2

    if px <= 0 or not mask.any():
        return mask
    return cv2.dilate(mask.astype(np.uint8), np.ones((1, 2 * px + 1), np.uint8)) > 0


def inpaint_rows(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill ``mask`` pixels of ``img`` ``(H, W, C)`` row by row, linearly between the nearest unmasked pixels.

    Anchor values are averaged over the row and its two neighbours (less grain in the fill).
    """
    import cv2

    if not mask.any():
        return img
    h, w = mask.shape
    cols = np.arange(w)[None, :].repeat(h, 0)
    left = np.where(~mask, cols, -1)
    np.maximum.accumulate(left, axis=1, out=left)
    right = np.where(~mask, cols, w)
    right = np.minimum.accumulate(right[:, ::-1], axis=1)[:, ::-1]
    known = (~mask).astype(np.float32)
    # vertical 3-row mean of known pixels only
    num = cv2.blur(img * known[..., None], (1, 3), borderType=cv2.BORDER_REPLICATE)
    den = cv2.blur(known, (1, 3), borderType=cv2.BORDER_REPLICATE)[..., None]
    anchors = np.where(den > 1e-3, num / np.maximum(den, 1e-3), img)
    rows = np.arange(h)[:, None].repeat(w, 1)
    lv = anchors[rows, left.clip(0, w - 1)]
    rv = anchors[rows, right.clip(0, w - 1)]
    has_l, has_r = (left >= 0)[..., None], (right < w)[..., None]
    span = np.maximum(right - left, 1).astype(np.float32)[..., None]
    t = ((cols - left).astype(np.float32))[..., None] / span
    interp = np.where(has_l & has_r, lv * (1 - t) + rv * t, np.where(has_l, lv, rv))
    out = img.copy()
    out[mask] = interp[mask]
    return out


def repair_lines(frame: torch.Tensor, warped: torch.Tensor, weights: torch.Tensor, flows: torch.Tensor,
                 line: torch.Tensor, max_width: int) -> torch.Tensor:
    """Repair the scratch pixels ``line`` (bool ``(1, 1, H, W)``) of ``frame`` ``(1, 3, H, W)``.

    From the weighted-median aligned neighbour (``warped`` ``(K, 3, H, W)``, ``weights``
    ``(K, 1, H, W)``) where its flow moves the place off the line (by more than ``max_width``: it
    sees the picture, not the same scratch); elsewhere along the line (:func:`inpaint_rows`).
    """
    import torch

    from vidrestore.film.dust.repair import weighted_median_pick

    out = frame
    has = torch.zeros_like(line)
    if warped.shape[0]:
        off = flows[:, 0:1].abs() >= max_width + 1.0
        rgb, ok = weighted_median_pick(warped, weights * off, line)
        sel = line[0, 0]
        flat = out[0][:, sel]
        flat[:, ok] = rgb[:, ok]
        out = out.clone()
        out[0][:, sel] = flat
        has[0, 0][sel] = ok
    rest = (line & ~has)[0, 0].cpu().numpy()
    if rest.any():
        img = out[0].permute(1, 2, 0).cpu().numpy()
        filled = inpaint_rows(np.ascontiguousarray(img), rest)
        out = torch.from_numpy(filled).permute(2, 0, 1)[None].contiguous().to(frame.device)
    return out
