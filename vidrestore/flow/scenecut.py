"""Cheap scene-cut detection, so alignment never reaches across a cut.

Each frame is reduced to a small thumbnail (default 64x36, area-averaged) and three histograms:
luma *after* normalising it to zero mean and unit variance (so film flicker and exposure changes,
which shift or stretch the whole histogram, do not look like cuts), and the two chroma channels
(BT.601 Cb, Cr). The distance between consecutive frames is the mean total-variation distance of
the three histograms, in [0, 1]: 0 for identical distributions, 1 for disjoint ones.

The histograms say *whether the content changed*; they cannot tell a cut from a fade, where the
colours drift fast but the picture stays. A second, structural test does: the zero-mean normalised
cross-correlation (NCC) of 32x18 luma thumbnails, which is invariant to gain and offset (fades,
flicker) and, at that size, tolerant of motion. A real cut decorrelates the picture (NCC ~ 0),
while a fade, a pan or film flicker keeps the picture's structure and so a high NCC: the two sit
far enough apart that one ``max_similarity`` separates them.

A cut is declared between frames ``i - 1`` and ``i`` when all three hold:

* the histogram distance exceeds ``threshold`` (``flow.scene_cut_threshold``);
* the NCC is below ``max_similarity``;
* the distance is at least ``contrast`` times the median of the recent distances (busy motion that
  keeps every distance high does not produce a run of cuts).

Blank frames (luma thumbnail standard deviation under ``flat_std``: the black frames of a fade,
whose histograms and NCC are dominated by noise) never start a shot: there is nothing to align in
them, and they stay with the shot before. The next frame with structure is compared with the last
frame that had structure, so a fade out and back into the same scene is one shot, while shot A,
black frames, shot B is a cut before B. Cuts are reported as the index of the first frame of the
new shot.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)


def _as_float_hwc(frame: np.ndarray | torch.Tensor) -> np.ndarray:
    """RGB frame ``(H, W, 3)`` uint8/uint16/float or tensor ``(3, H, W)`` / ``(1, 3, H, W)`` -> float32 HWC in [0, 1]."""
    if isinstance(frame, np.ndarray):
        if frame.dtype == np.uint8:
            return frame.astype(np.float32) / 255.0
        if frame.dtype == np.uint16:
            return frame.astype(np.float32) / 65535.0
        return np.asarray(frame, dtype=np.float32)
    t = frame.detach()
    if t.ndim == 4:
        if t.shape[0] != 1:
            raise ValueError(f"scene-cut features take one frame at a time, got a batch of {t.shape[0]}")
        t = t[0]
    return t.float().permute(1, 2, 0).cpu().numpy()


class SceneCutDetector:
    """Streaming detector: :meth:`push` each frame in order; it returns True when a new shot starts."""

    def __init__(self, *, threshold: float = 0.2, max_similarity: float = 0.5, contrast: float = 2.5,
                 history: int = 12, bins: int = 32, thumb_size: tuple[int, int] = (64, 36),
                 flat_std: float = 0.01) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"scene-cut threshold must be in (0, 1), got {threshold}")
        if not -1.0 < max_similarity <= 1.0:
            raise ValueError(f"scene-cut max_similarity must be in (-1, 1], got {max_similarity}")
        if contrast < 1.0:
            raise ValueError(f"scene-cut contrast must be >= 1, got {contrast}")
        self.threshold = float(threshold)
        self.max_similarity = float(max_similarity)
        self.flat_std = float(flat_std)
        self.contrast = float(contrast)
        self.bins = int(bins)
        self.thumb_size = thumb_size
        self._recent: deque[float] = deque(maxlen=history)
        self._prev: tuple[np.ndarray, np.ndarray, float] | None = None
        self._structured: tuple[np.ndarray, np.ndarray, float] | None = None
        self.index = -1
        self.cuts: list[int] = []
        self.distances: list[float] = []  # distances[i - 1] is between frames i - 1 and i
        self.similarities: list[float] = []  # NCC, same indexing

    def features(self, frame: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray, float]:
        """Normalised histograms ``(3, bins)``, the unit-norm zero-mean 32x18 luma thumbnail, the luma std."""
        import cv2

        img = _as_float_hwc(frame)
        thumb = cv2.resize(img, self.thumb_size, interpolation=cv2.INTER_AREA)
        r, g, b = thumb[..., 0], thumb[..., 1], thumb[..., 2]
        y = 0.299 * r + 0.587 * g + 0.114 * b
        cb = 0.5 + (b - y) * 0.564
        cr = 0.5 + (r - y) * 0.713
        std = float(y.std())
        z = (y - float(y.mean())) / max(std, 0.05)
        hists = [
            np.histogram(np.clip(z, -3.0, 3.0), bins=self.bins, range=(-3.0, 3.0))[0],
            np.histogram(cb, bins=self.bins, range=(0.0, 1.0))[0],
            np.histogram(cr, bins=self.bins, range=(0.0, 1.0))[0],
        ]
        out = np.stack(hists).astype(np.float64)
        small = cv2.resize(y, (32, 18), interpolation=cv2.INTER_AREA).astype(np.float64)
        small -= small.mean()
        small /= max(float(np.linalg.norm(small)), 1e-6)
        return out / out.sum(axis=1, keepdims=True), small, std

    @staticmethod
    def distance(a: np.ndarray, b: np.ndarray) -> float:
        """Mean total-variation distance of the per-channel histograms, in [0, 1]."""
        return float(0.5 * np.abs(a - b).sum(axis=1).mean())

    def push(self, frame: np.ndarray | torch.Tensor) -> bool:
        """Add the next frame; True when it starts a new shot (never for the first frame)."""
        feat = self.features(frame)
        self.index += 1
        prev, self._prev = self._prev, feat
        if prev is None:
            if feat[2] >= self.flat_std:
                self._structured = feat
            return False
        d = self.distance(prev[0], feat[0])
        self.distances.append(d)
        self.similarities.append(float((prev[1] * feat[1]).sum()))
        if feat[2] < self.flat_std:  # blank: nothing to align, belongs to the current shot
            return False
        # Compare with the last frame that had structure (across any blank run: A, black, B is a cut).
        ref, self._structured = self._structured, feat
        if ref is None:
            return False
        if ref is not prev:
            d = self.distance(ref[0], feat[0])
        ncc = float((ref[1] * feat[1]).sum())
        baseline = float(np.median(self._recent)) if self._recent else 0.0
        is_cut = d > self.threshold and ncc < self.max_similarity and d >= self.contrast * baseline
        if is_cut:
            self.cuts.append(self.index)
            self._recent.clear()
            log.debug("scene cut before frame %d (distance %.3f, NCC %.2f, recent median %.3f)",
                      self.index, d, ncc, baseline)
        else:
            self._recent.append(d)
        return is_cut


def detect_scene_cuts(frames: Iterable[np.ndarray | torch.Tensor], *, threshold: float = 0.2,
                      max_similarity: float = 0.5, contrast: float = 2.5) -> list[int]:
    """Indices of the frames that start a new shot (0 is never listed)."""
    det = SceneCutDetector(threshold=threshold, max_similarity=max_similarity, contrast=contrast)
    for f in frames:
        det.push(f)
    return det.cuts
