"""Tiled inference with overlap and feathered blending, and automatic tile halving on out-of-memory.

Conventions:

* A model maps ``(B, 3, h, w)`` to ``(B, 3, h * scale, w * scale)``; tiles are cut from the input,
  placed in the output at ``scale`` times their position.
* Along each axis tiles of ``tile`` input pixels are spread evenly so that neighbours share at least
  ``overlap`` pixels. Inside a shared band the output of either tile near its own cut edge is
  unreliable (its convolutions saw zero padding there), so each tile's weight is 0 for the first
  quarter of the band from an interior cut edge, rises linearly over the next half, and is 1
  beyond; edges on the frame border get weight 1 (the whole-frame run sees the same border). The
  weights of neighbours add up to 1 (a partition of unity; the sum is divided out all the same), so
  a tiled run equals the whole-frame run up to the model's response to the far-away cut edges.
* On out-of-memory (CUDA's ``OutOfMemoryError`` or the CPU allocator's "can't allocate memory")
  the runner first splits the batch, then halves the tile (starting from half the frame when it
  was running whole frames), down to ``min_tile``. The reduced sizes stick for later calls. Every
  frame is produced or an error is raised: nothing is skipped.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vidrestore.errors import VidrestoreError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

MIN_TILE = 32


class OutOfMemoryError(VidrestoreError):
    """The model does not fit even with the smallest tile and a batch of one."""


@dataclass(frozen=True)
class Span:
    """A tile's extent along one axis: input pixels ``[start, stop)``."""

    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


def plan_axis(length: int, tile: int, overlap: int) -> list[Span]:
    """Evenly spread spans of ``tile`` pixels covering ``[0, length)``, neighbours sharing >= ``overlap``."""
    if length < 1:
        raise ValueError(f"plan_axis: length must be >= 1, got {length}")
    if tile <= 0 or tile >= length:
        return [Span(0, length)]
    overlap = min(max(overlap, 0), tile // 2)
    count = math.ceil((length - overlap) / (tile - overlap))
    count = max(count, 2)
    step = (length - tile) / (count - 1)
    starts = sorted({round(i * step) for i in range(count)})
    return [Span(s, s + tile) for s in starts]


def edge_ramp(size: int, *, scale: int, band_start: int = 0, band_stop: int = 0) -> torch.Tensor:
    """1-D weights ``(size * scale,)`` of one tile along an axis (see the module docstring).

    ``band_start`` / ``band_stop`` are the input pixels this tile shares with its previous / next
    neighbour (0 at the frame border). Within a shared band of width ``b`` the weight is 0 for the
    first ``b / 4`` pixels from the tile's edge and rises linearly to 1 over the next ``b / 2``, so the
    two neighbours' weights add up to exactly 1 across the band.
    """
    import torch

    n = size * scale
    w = torch.ones(n, dtype=torch.float32)
    # distance of each output pixel centre from the tile's start edge, in input pixels
    d = (torch.arange(n, dtype=torch.float32) + 0.5) / scale
    if band_start > 0:
        w = torch.minimum(w, ((d - band_start / 4.0) / (band_start / 2.0)).clamp(0.0, 1.0))
    if band_stop > 0:
        w = torch.minimum(w, ((size - d - band_stop / 4.0) / (band_stop / 2.0)).clamp(0.0, 1.0))
    return w


def _ramps(spans: list[Span], scale: int) -> list[torch.Tensor]:
    out = []
    for i, s in enumerate(spans):
        before = spans[i - 1].stop - s.start if i > 0 else 0
        after = s.stop - spans[i + 1].start if i + 1 < len(spans) else 0
        out.append(edge_ramp(s.size, scale=scale, band_start=max(before, 0), band_stop=max(after, 0)))
    return out


def run_tiled(forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, *, scale: int, tile: int,
              overlap: int) -> torch.Tensor:
    """Apply ``forward`` tile by tile to ``x`` ``(B, C, H, W)`` and blend; the result is float32.

    ``tile <= 0`` (or a frame that fits in one tile) runs the whole frame at once and the result stays
    on ``x``'s device; a tiled run on a GPU returns its result in host memory.
    """
    import torch

    b, c, h, w = x.shape
    ys, xs = plan_axis(h, tile, overlap), plan_axis(w, tile, overlap)
    if len(ys) == 1 and len(xs) == 1:
        return forward(x).float()
    # Tiles run where x is; the full-size canvas lives in host memory when x is on a GPU, because
    # tiling is what a GPU falls back to when memory is short and the x4 canvas is the largest tensor.
    canvas = torch.device("cpu") if x.device.type == "cuda" else x.device
    out: torch.Tensor | None = None
    norm = torch.zeros(1, 1, h * scale, w * scale, dtype=torch.float32, device=canvas)
    for sy, wy in zip(ys, _ramps(ys, scale), strict=True):
        for sx, wx in zip(xs, _ramps(xs, scale), strict=True):
            piece = forward(x[:, :, sy.start:sy.stop, sx.start:sx.stop]).float().to(canvas)
            if out is None:
                out = torch.zeros(b, piece.shape[1], h * scale, w * scale, dtype=torch.float32, device=canvas)
            weight = wy.view(-1, 1) * wx.view(1, -1)
            oy, ox = sy.start * scale, sx.start * scale
            region = (slice(None), slice(None), slice(oy, oy + sy.size * scale), slice(ox, ox + sx.size * scale))
            out[region] += piece.mul_(weight.to(canvas))
            norm[region] += weight.to(canvas)
    if out is None:  # pragma: no cover - plan_axis always returns at least one span
        raise RuntimeError("run_tiled: no tiles")
    return out.div_(norm.clamp_min_(1e-8))


def is_oom(err: BaseException) -> bool:
    """Whether ``err`` is an out-of-memory failure (CUDA or the CPU allocator)."""
    import torch

    oom_type = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(err, oom_type):
        return True
    if isinstance(err, (RuntimeError, MemoryError)):
        text = str(err).lower()
        return isinstance(err, MemoryError) or "out of memory" in text or "can't allocate memory" in text
    return False


class TiledRunner:
    """Runs a model over batches of frames with tiling and out-of-memory recovery.

    ``tile`` (input pixels, 0 = whole frame), ``batch`` (frames per model call) and the number of
    OOM retries are public attributes; after an OOM they hold the reduced values that worked.
    """

    def __init__(self, forward: Callable[[torch.Tensor], torch.Tensor], *, scale: int, tile: int = 0,
                 overlap: int = 16, batch: int = 1, min_tile: int = MIN_TILE) -> None:
        if tile < 0 or overlap < 0 or batch < 1:
            raise ValueError(f"TiledRunner: bad tile={tile}, overlap={overlap} or batch={batch}")
        self.forward = forward
        self.scale = scale
        self.tile = tile
        self.overlap = overlap
        self.batch = batch
        self.min_tile = min_tile
        self.oom_retries = 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        parts = []
        start = 0
        while start < x.shape[0]:
            chunk = x[start:start + self.batch]
            try:
                parts.append(run_tiled(self.forward, chunk, scale=self.scale, tile=self.tile, overlap=self.overlap))
            except (RuntimeError, MemoryError) as err:
                if not is_oom(err):
                    raise
                self._shrink(chunk, err)
                continue  # retry the same frames with the smaller batch / tile
            start += chunk.shape[0]
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def _shrink(self, chunk: torch.Tensor, err: BaseException) -> None:
        import torch

        self.oom_retries += 1
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if chunk.shape[0] > 1:
            self.batch = max(1, chunk.shape[0] // 2)
            log.warning("out of memory with %d frames per call; retrying with %d", chunk.shape[0], self.batch)
            return
        h, w = chunk.shape[-2:]
        current = self.tile if 0 < self.tile < max(h, w) else max(h, w)
        new = current // 2
        if new < self.min_tile:
            raise OutOfMemoryError(
                f"out of memory even with {current}px tiles and one frame per call "
                f"({type(err).__name__}); free memory or use a smaller model"
            ) from err
        log.warning("out of memory with %s; retrying with %dpx tiles",
                    "whole frames" if self.tile <= 0 or self.tile >= max(h, w) else f"{current}px tiles", new)
        self.tile = new
