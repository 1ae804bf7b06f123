"""An independent judge of dirt on real film: a frozen motion-compensated temporal median test.

The film stage decides what to repair with its own detector (vidrestore/film/dust.py: DIS flow,
rank-ordered spike tests with noise-scaled thresholds, hysteresis, shape and motion-edge rules).
Scoring its output with that same detector lets the rules grade themselves: change a rule and the
"before" count of unchanged frames moves with it. This judge shares none of it, and is frozen
(``JUDGE``; change nothing here without renaming it and re-running every row that cites it):

1. Luma ``Y`` (BT.601) in [0, 1], blurred by a Gaussian of sigma ``SMOOTH_SIGMA`` px so grain alone
   does not trip it.
2. Motion: OpenCV Farneback flow from frame t to each neighbour t-2, t-1, t+1, t+2 that exists
   (OpenCV's documented example settings, ``FARNEBACK``), each neighbour's luma warped onto t.
3. One test with one threshold: a pixel is a spike when ``|Y_t - median(warped neighbours)|``
   exceeds ``THRESHOLD``. Only frames with a neighbour on both sides are judged (a change that
   starts or ends at the first or last frame cannot be told from dirt).
4. Spikes are grouped into 8-connected regions; regions under ``MIN_AREA`` px are grain, and a
   ``BORDER`` px frame margin (where warping runs out of picture) is not judged.

It will also flag what the flow gets wrong (fast limbs, uncovered background) before and after
alike, so its "fewer regions" is a lower bound of what a repair removed; rows that use it say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

JUDGE = "spike judge v1 (Farneback, median of t+-2, one threshold 0.10; frozen 2026-12-07)"
THRESHOLD = 0.10  # luma difference from the motion-compensated median: 25/255
SMOOTH_SIGMA = 1.0
MIN_AREA = 4
BORDER = 8
RADIUS = 2
STILL_REACH = 4  # px around a pixel that must not move between the nearest past and future frames
#: pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags: the OpenCV tutorial's values.
FARNEBACK = (0.5, 3, 15, 3, 5, 1.2, 0)


@dataclass(frozen=True)
class Judgement:
    """Per frame of a clip: spike regions and pixels (``None`` for frames that were not judged)."""

    regions: list[int | None]
    pixels: list[int | None]
    masks: list[np.ndarray | None]
    moving: list[np.ndarray | None]  # where the flow to the previous frame exceeds 1 px

    @property
    def judged(self) -> list[int]:
        return [i for i, r in enumerate(self.regions) if r is not None]

    def total_regions(self, frames: list[int] | None = None) -> int:
        return int(sum(self.regions[i] or 0 for i in (self.judged if frames is None else frames)))

    def total_pixels(self, frames: list[int] | None = None) -> int:
        return int(sum(self.pixels[i] or 0 for i in (self.judged if frames is None else frames)))


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma in [0, 1] of an RGB uint8/uint16 image."""
    scale = 65535.0 if rgb.dtype == np.uint16 else 255.0
    x = rgb.astype(np.float32) / scale
    return 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]


def _smooth(y: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(y, (0, 0), SMOOTH_SIGMA)


def _flow(y_t: np.ndarray, y_s: np.ndarray) -> np.ndarray:
    """Farneback flow with ``Y_t(x) ~ Y_s(x + flow(x))`` on 8-bit luma."""
    import cv2

    a = np.clip(y_t * 255 + 0.5, 0, 255).astype(np.uint8)
    b = np.clip(y_s * 255 + 0.5, 0, 255).astype(np.uint8)
    return cv2.calcOpticalFlowFarneback(a, b, None, *FARNEBACK)


def _warp(y_s: np.ndarray, flow: np.ndarray) -> np.ndarray:
    import cv2

    h, w = y_s.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(y_s, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _still(y_prev: np.ndarray, y_next: np.ndarray) -> np.ndarray:
    """Where the nearest past and future frames agree without any motion compensation, within
    ``STILL_REACH`` px: a one-frame change there cannot be a limb passing through."""
    import cv2

    moved = (np.abs(y_prev - y_next) >= THRESHOLD).astype(np.uint8)
    k = 2 * STILL_REACH + 1
    return cv2.dilate(moved, np.ones((k, k), np.uint8)) == 0


def _regions(mask: np.ndarray) -> tuple[np.ndarray, int]:
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= MIN_AREA
    return keep[labels], int(keep.sum())


def judge_frame(ys: list[np.ndarray], t: int) -> tuple[np.ndarray, int, np.ndarray] | None:
    """(spike mask, regions, moving mask) of frame ``t`` of smoothed lumas ``ys``; ``None`` at the ends."""
    past = [s for s in range(t - RADIUS, t) if s >= 0]
    future = [s for s in range(t + 1, t + RADIUS + 1) if s < len(ys)]
    if not past or not future:
        return None
    flows = {s: _flow(ys[t], ys[s]) for s in past + future}
    warped = np.stack([_warp(ys[s], flows[s]) for s in past + future])
    spread = warped.max(axis=0) - warped.min(axis=0)
    still = _still(ys[past[-1]], ys[future[0]])
    spikes = (np.abs(ys[t] - np.median(warped, axis=0)) > THRESHOLD) & (spread < THRESHOLD) & still
    spikes[:BORDER], spikes[-BORDER:], spikes[:, :BORDER], spikes[:, -BORDER:] = False, False, False, False
    mask, count = _regions(spikes)
    return mask, count, ~still


def judge_clip(frames: list[np.ndarray], only: list[int] | None = None) -> Judgement:
    """Judge every frame of an RGB clip (or the frames ``only``)."""
    ys = [_smooth(luma(f)) for f in frames]
    n = len(frames)
    regions: list[int | None] = [None] * n
    pixels: list[int | None] = [None] * n
    masks: list[np.ndarray | None] = [None] * n
    moving: list[np.ndarray | None] = [None] * n
    for t in (range(n) if only is None else only):
        got = judge_frame(ys, t)
        if got is None:
            continue
        masks[t], regions[t], moving[t] = got
        pixels[t] = int(got[0].sum())
    return Judgement(regions, pixels, masks, moving)
