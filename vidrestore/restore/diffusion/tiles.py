"""Overlapping latent tiles fused with Gaussian weights at every step (MultiDiffusion).

A frame larger than the model's native size is split into overlapping tiles; at *every* denoising
step each tile is denoised on its own and the per-tile predictions are averaged with Gaussian
weights that fall to almost zero at a tile's inner edges (Bar-Tal et al. 2023, "MultiDiffusion";
the Gaussian weighting of Mixture of Diffusers / StableSR's aggregation). Because the fusion happens
on every step, the tiles agree with each other long before the end, so no seam forms: unlike
tiling the finished image, nothing is stitched.

Tile positions follow :func:`vidrestore.temporal.windows.plan_windows` along each axis: every
position covered, tiles of equal size, the last tile placed on the edge (never padded). A tile's
weight decays only towards sides that face another tile; sides on the frame border keep weight 1.

Shapes: samples ``(N, C, H, W)``; a weight map ``(1, 1, h, w)``; tile sizes in latent pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vidrestore.temporal.windows import plan_windows

if TYPE_CHECKING:
    import torch

#: Gaussian sigma as a share of the tile size (0.1 as in Mixture of Diffusers' ``var=0.01``).
SIGMA_SHARE = 0.1


@dataclass(frozen=True)
class Tile:
    """Rows ``y0:y1`` and columns ``x0:x1``; ``edges`` = which sides lie on the frame border (top, bottom, left, right)."""

    y0: int
    y1: int
    x0: int
    x1: int
    edges: tuple[bool, bool, bool, bool]

    @property
    def size(self) -> tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0


def _axis(size: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    if tile <= 0 or size <= tile:
        return [(0, size)]
    overlap = min(max(overlap, 0), tile - 1)
    return [(w.start, w.stop) for w in plan_windows(size, window=tile, overlap=overlap)]


def plan_tiles(height: int, width: int, *, tile: int, overlap: int) -> list[Tile]:
    """Tiles of ``tile`` x ``tile`` (smaller only where the frame is) overlapping by at least ``overlap``.

    ``tile <= 0`` or a frame that fits gives one tile covering everything.
    """
    rows = _axis(height, tile, overlap)
    cols = _axis(width, tile, overlap)
    return [Tile(y0, y1, x0, x1, (y0 == 0, y1 == height, x0 == 0, x1 == width))
            for y0, y1 in rows for x0, x1 in cols]


def _profile(n: int, at_start_edge: bool, at_end_edge: bool, sigma_share: float) -> list[float]:
    mid = (n - 1) / 2.0
    sigma = max(sigma_share * n, 1e-6)
    out = []
    for i in range(n):
        if (i <= mid and at_start_edge) or (i >= mid and at_end_edge):
            out.append(1.0)
        else:
            out.append(math.exp(-((i - mid) ** 2) / (2.0 * sigma * sigma)))
    return out


def tile_weights(t: Tile, *, sigma_share: float = SIGMA_SHARE, device: torch.device | str = "cpu") -> torch.Tensor:
    """Separable Gaussian weight map ``(1, 1, h, w)`` of a tile, flat towards frame borders."""
    import torch

    h, w = t.size
    top, bottom, left, right = t.edges
    wy = torch.tensor(_profile(h, top, bottom, sigma_share), dtype=torch.float32, device=device)
    wx = torch.tensor(_profile(w, left, right, sigma_share), dtype=torch.float32, device=device)
    return (wy[:, None] * wx[None, :]).view(1, 1, h, w)


class TileFuser:
    """Applies a per-tile function to a sample and fuses the results with normalised Gaussian weights."""

    def __init__(self, *, height: int, width: int, tile: int, overlap: int,
                 device: torch.device | str = "cpu", sigma_share: float = SIGMA_SHARE) -> None:
        import torch

        self.tiles = plan_tiles(height, width, tile=tile, overlap=overlap)
        self.height, self.width = height, width
        self._weights = [tile_weights(t, sigma_share=sigma_share, device=device) for t in self.tiles]
        total = torch.zeros(1, 1, height, width, device=device)
        for t, w in zip(self.tiles, self._weights):
            total[..., t.y0:t.y1, t.x0:t.x1] += w
        self._inv_total = 1.0 / total

    @property
    def is_tiled(self) -> bool:
        return len(self.tiles) > 1

    def __call__(self, fn: Callable[[slice, slice], torch.Tensor]) -> torch.Tensor:
        """``fn(rows, cols)`` returns the prediction ``(N, C, h, w)`` for that window of the sample."""
        if not self.is_tiled:
            return fn(slice(0, self.height), slice(0, self.width))
        acc: torch.Tensor | None = None
        for t, w in zip(self.tiles, self._weights):
            out = fn(slice(t.y0, t.y1), slice(t.x0, t.x1))
            if acc is None:
                acc = out.new_zeros(out.shape[0], out.shape[1], self.height, self.width)
            acc[..., t.y0:t.y1, t.x0:t.x1] += out * w.to(out.dtype)
        assert acc is not None  # noqa: S101 - plan_tiles always returns at least one tile
        return acc * self._inv_total.to(acc.dtype)
