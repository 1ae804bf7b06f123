"""The flow-estimator contract and the checks every estimator shares.

Conventions (see :mod:`vidrestore.types`):

* Frames are float tensors ``(N, 3, H, W)`` in ``[0, 1]``, RGB. ``frame_t`` and ``frame_s`` are
  batches of *pairs*: pair ``i`` is ``(frame_t[i], frame_s[i])``.
* The result is ``flow_t_to_s``, float32 ``(N, 2, H, W)`` in pixels of the input resolution,
  channel 0 = dx, channel 1 = dy: pixel ``(x, y)`` of frame t is found at
  ``(x + dx, y + dy)`` in frame s, so ``backward_warp(frame_s, flow_t_to_s)`` looks like frame t.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from vidrestore.errors import ShapeError
from vidrestore.tensors import check_same_shape, check_shape

if TYPE_CHECKING:
    import torch


@runtime_checkable
class FlowEstimator(Protocol):
    """Estimates ``flow_t_to_s`` for batched frame pairs."""

    name: str  # short registry name, e.g. "dis-medium", "raft-small"

    def estimate(self, frame_t: torch.Tensor, frame_s: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` x2 in [0, 1] -> ``flow_t_to_s`` ``(N, 2, H, W)`` float32 pixels."""
        ...


def check_pair(frame_t: torch.Tensor, frame_s: torch.Tensor) -> None:
    """Raise :class:`ShapeError` unless both are ``(N, 3, H, W)`` of the same shape."""
    check_shape(frame_t, ("N", 3, "H", "W"), "frame_t")
    check_same_shape(frame_s, frame_t, "frame_s", "frame_t")
    if frame_t.shape[0] == 0:
        raise ShapeError("frame_t", frame_t.shape, "(N >= 1, 3, H, W)")
    if not frame_t.is_floating_point() or not frame_s.is_floating_point():
        raise ValueError(f"flow estimators take float frames in [0, 1], got {frame_t.dtype} and {frame_s.dtype}")


def check_flow(flow: torch.Tensor, name: str = "flow") -> None:
    """Raise :class:`ShapeError` unless ``flow`` is ``(N, 2, H, W)``."""
    check_shape(flow, ("N", 2, "H", "W"), name)


def estimate_both(
    estimator: FlowEstimator, frame_t: torch.Tensor, frame_s: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward and backward flow of the same pairs in one batched call.

    Returns ``(flow_t_to_s, flow_s_to_t)``.
    """
    import torch

    check_pair(frame_t, frame_s)
    n = frame_t.shape[0]
    both = estimator.estimate(torch.cat([frame_t, frame_s]), torch.cat([frame_s, frame_t]))
    return both[:n], both[n:]


def downscaled_size(height: int, width: int, factor: float) -> tuple[int, int]:
    """The ``(h, w)`` to estimate at for a ``downscale`` factor >= 1 (never below 8 px)."""
    if factor < 1.0:
        raise ValueError(f"downscale must be >= 1, got {factor}")
    return max(8, round(height / factor)), max(8, round(width / factor))
