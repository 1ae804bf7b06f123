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

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vidrestore.errors import ConfigError, ShapeError

if TYPE_CHECKING:
    import torch

    from vidrestore.flow.base import FlowEstimator
    from vidrestore.restore.diffusion.models import DiffusionModel
    from vidrestore.restore.registry import RestorerSections

logger = logging.getLogger(__name__)


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


#: Models loaded once per process, by (folder, device, precision): a decloud run calls the inpainter
#: once per hole, often thousands of times, and every Ray worker loads its own copy once.
_LOADED: dict[tuple[str, str, str], DiffusionModel] = {}


@dataclass(frozen=True)
class DiffusionInpainter:
    """:func:`inpaint` with the ``restorer.*`` model and settings, as the registry's masked mode
    (:class:`~vidrestore.restore.registry.MaskedInpainter`): frames of one instant, no temporal
    consistency. Only plain values, so it pickles to worker processes; the model loads on first use."""

    model_path: str | None
    steps: int
    strength: float
    seed: int
    device: str
    precision: str

    def check(self) -> None:
        """Refuse, before any work, a setup that cannot inpaint (no model folder configured)."""
        if not self.model_path:
            raise ConfigError("needs a diffusion model folder: --set restorer.model_path=DIR")

    def model(self) -> DiffusionModel:
        from vidrestore.restore.diffusion.models import load_model

        self.check()
        key = (str(self.model_path), str(self.device), str(self.precision))
        if key not in _LOADED:
            _LOADED[key] = load_model(self.model_path, device=self.device, precision=self.precision)  # type: ignore[arg-type]
            logger.info("inpainting with the diffusion model in %s", self.model_path)
        return _LOADED[key]

    def __call__(self, frames: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        return inpaint(frames, masks, model=self.model(), steps=self.steps, strength=self.strength, seed=self.seed,
                       consistency=False, device=self.device, precision=self.precision)


def build_inpainter(sections: RestorerSections) -> DiffusionInpainter:
    """The family's ``inpaint`` builder (see :class:`~vidrestore.restore.registry.RestorerFamily`)."""
    r = sections.restorer
    return DiffusionInpainter(model_path=str(r.model_path) if r.model_path else None, steps=r.steps,
                              strength=r.strength, seed=r.seed, device=r.device, precision=r.precision)
