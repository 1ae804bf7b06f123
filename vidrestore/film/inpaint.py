"""Inpainting damaged pixels with a restorer instead of the aligned neighbours (``restorer.name: diffusion``).

The film stage finds dust and scratches; an :class:`Inpainter` fills exactly those pixels. With one,
the stage's output depends on the inpainter's state carried from frame to frame, so it is never
split into segments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import torch


class Inpainter(Protocol):
    """Fills masked pixels of one frame: ``(1, 3, H, W)`` and bool ``(1, 1, H, W)`` -> ``(1, 3, H, W)``."""

    name: str

    def inpaint(self, frame: torch.Tensor, mask: torch.Tensor, index: int) -> torch.Tensor: ...


class DiffusionInpainter:
    """Masked inpainting with the diffusion restorer (DDNM with the mask operator keeps every other pixel)."""

    def __init__(self, restorer: Any) -> None:
        self.restorer = restorer
        self.name = f"diffusion ({getattr(restorer.model, 'name', 'model')})"
        self._state: Any = None

    def reset(self) -> None:
        """Forget the latent state carried from frame to frame (a new :meth:`FilmProcessor.process` call)."""
        self._state = None

    def inpaint(self, frame: torch.Tensor, mask: torch.Tensor, index: int) -> torch.Tensor:
        device = self.restorer.model.device
        out, self._state = self.restorer.restore_window(frame.to(device), [index], self._state,
                                                        masks=mask.float().to(device))
        return out.float().cpu().clamp(0, 1)
