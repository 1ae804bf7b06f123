"""Diffusion inpainting of masked pixels (dust, scratches, clouds) with DDNM and temporal consistency.

``inpaint(frames, masks, model=...)`` fills the pixels where ``masks`` is nonzero and returns every
other pixel *exactly* as it was: at every denoising step the predicted clean image is projected with
the mask operator of range-null-space guidance (known pixels from the input, the rest from the
model), and once more on the decoded output. Holes start from a neighbour-average fill so a partial
strength keeps the surrounding structure; flow-warped latent consistency carries what the previous
frame shows into the hole (a dust speck rarely sits on the same spot in two frames).

For streaming use keep a :class:`~vidrestore.restore.diffusion.restorer.DiffusionRestorer` (scale 1)
and call ``restore_window(frames, indices, state, masks=masks)`` window after window.

Conventions: ``frames`` ``(T, 3, H, W)`` float in [0, 1]; ``masks`` ``(T, 1, H, W)`` or ``(T, H, W)``,
nonzero (or > 0.5 for floats) = pixel to fill. The model must work at the input's size (a latent or
pixel-space model; the x4 upscaler is refused).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from vidrestore.errors import ShapeError

if TYPE_CHECKING:
    import torch

    from vidrestore.flow.base import FlowEstimator
    from vidrestore.restore.diffusion.models import DiffusionModel


def inpaint(frames: torch.Tensor, masks: torch.Tensor, *, model: DiffusionModel | str | os.PathLike[str],
            steps: int = 20, strength: float = 0.8, seed: int = 0, sampler: str = "ddim",
            consistency: bool = True, flow: FlowEstimator | None = None, window: int = 8,
            color_fix: str = "none", device: str = "auto", precision: str = "auto") -> torch.Tensor:
    """Fill the masked pixels of ``frames``; returns ``(T, 3, H, W)`` in [0, 1] (see the module docstring).

    ``model`` is a loaded :class:`DiffusionModel` or the path of a diffusers folder.
    """
    from vidrestore.restore.diffusion.models import DiffusionModel, load_model
    from vidrestore.restore.diffusion.restorer import DiffusionRestorer, DiffusionSettings

    if frames.ndim != 4 or frames.shape[1] != 3:
        raise ShapeError("frames", frames.shape, "(T, 3, H, W)")
    m = masks.unsqueeze(1) if masks.ndim == 3 else masks
    if m.ndim != 4 or m.shape[0] != frames.shape[0] or m.shape[1] != 1 or m.shape[-2:] != frames.shape[-2:]:
        raise ShapeError("masks", masks.shape, f"({frames.shape[0]}, 1, {frames.shape[2]}, {frames.shape[3]})")
    loaded = model if isinstance(model, DiffusionModel) else load_model(model, device=device, precision=precision)
    settings = DiffusionSettings(steps=steps, strength=strength, seed=seed, sampler=sampler, scale=1.0,
                                 consistency=consistency, color_fix=color_fix)
    restorer = DiffusionRestorer(model=loaded, settings=settings, flow=flow)
    return restorer.restore(frames, window=window, overlap=1, masks=m)
