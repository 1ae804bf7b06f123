"""Clips for the diffusion tests: a synthetic texture and real frames translated by known steps."""

from __future__ import annotations

import numpy as np


def textured(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth synthetic texture (H, W, 3) in [0, 1] (for tests that need no real data)."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        for _ in range(4):
            fx, fy, ph = rng.uniform(0.05, 0.4), rng.uniform(0.05, 0.4), rng.uniform(0, 6.28)
            out[..., c] += np.sin(xs * fx + ys * fy + ph)
    return (out - out.min()) / (out.max() - out.min())


def translated_clip(img: np.ndarray, *, n: int, size: tuple[int, int], step: tuple[int, int],
                    origin: tuple[int, int] = (40, 100)):
    """``n`` crops of ``img`` whose content moves by ``step = (dx, dy)`` pixels per frame: ``(n, 3, H, W)``.

    Pixel (x, y) of frame t shows what pixel (x - dx, y - dy) of frame t-1 shows, so the exact
    ``flow_t_to_(t-1)`` is the constant ``(-dx, -dy)``.
    """
    import torch

    h, w = size
    dx, dy = step
    y0, x0 = origin
    crops = [img[y0 + dy * (n - t): y0 + dy * (n - t) + h, x0 + dx * (n - t): x0 + dx * (n - t) + w] for t in range(n)]
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous()
