"""The frames the film stage holds at once: each as it came, as a tensor, deflickered, and its scratch candidates.

Frame t is cleaned from its neighbours ``t +- radius``, each deflickered by the exposure track's
smoothed target, so the window keeps every frame from ``t - radius`` on until frame t is out; a
frame's deflickered tensor and its scratch candidates are computed once, on first use, and shared by
every frame that reads it. :meth:`FrameWindow.evict` forgets what no later frame needs, so the
stage's memory is bounded by its reach.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from vidrestore.film.deflicker import ExposureTrack, PairFit, apply_correction
from vidrestore.film.scratch import ScratchParams, line_candidates

if TYPE_CHECKING:
    import torch

    from vidrestore.film.config import DeflickerConfig
    from vidrestore.film.stats import FilmStats
    from vidrestore.types import Frame


class FrameWindow:
    """Frames by index: :attr:`frames` (as they came), :attr:`raw` (``(1, 3, H, W)`` tensors), :meth:`clean`
    (deflickered) and :meth:`lines` (scratch candidates); exposures per shot in :attr:`exposure`."""

    def __init__(self, deflicker: DeflickerConfig, scratch: ScratchParams, stats: FilmStats) -> None:
        self.deflicker = deflicker
        self.scratch = scratch
        self.stats = stats
        self.exposure = ExposureTrack(window=deflicker.window, grid=deflicker.grid)
        self.frames: dict[int, Frame] = {}
        self.raw: dict[int, torch.Tensor] = {}
        self._clean: dict[int, torch.Tensor] = {}
        self._lines: dict[int, np.ndarray] = {}

    def add(self, frame: Frame, x: torch.Tensor) -> None:
        self.frames[frame.index] = frame
        self.raw[frame.index] = x

    def start_shot(self, i: int) -> None:
        self.exposure.start_shot(i)

    def push_exposure(self, i: int, fit: PairFit) -> None:
        """Frame ``i``'s exposure relative to frame ``i - 1`` (same shot)."""
        self.exposure.push(i, fit)

    def clean(self, i: int) -> torch.Tensor:
        """Frame ``i`` deflickered (cached)."""
        if i not in self._clean:
            t0 = time.perf_counter()
            x = self.raw[i]
            if self.deflicker.enabled:
                x = apply_correction(x, *self.exposure.correction(i))
            self._clean[i] = x
            self.stats.timed("deflicker", t0)
        return self._clean[i]

    def lines(self, i: int) -> np.ndarray:
        """Frame ``i``'s scratch candidates (bool ``(H, W)``, cached), found on the deflickered frame."""
        if i not in self._lines:
            from vidrestore.film.ops import luma

            y = luma(self.clean(i))[0, 0].cpu().numpy()
            self._lines[i] = line_candidates(y, self.scratch)
        return self._lines[i]

    def evict(self, keep_from: int) -> None:
        """Forget the frames before ``keep_from`` (and exposures a deflicker window before it)."""
        self.exposure.evict(keep_from - self.deflicker.window)
        for store in (self.frames, self.raw, self._clean, self._lines):
            for k in [k for k in store if k < keep_from]:
                del store[k]
