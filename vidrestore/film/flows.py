"""The flow the film stage estimates: on each frame's luma normalised to zero mean and unit variance.

Flicker changes a frame's brightness and contrast, not its picture; normalised, consecutive frames
look alike to the estimator however much the exposure jumps. The two dust passes of a parallel run
may share one estimator object, and an OpenCV flow object is not safe to call from two threads at
once: each estimator gets one lock.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from vidrestore.flow.base import FlowEstimator


class NormalisedFlow:
    """Wraps an estimator: each frame's luma is normalised to zero mean / unit variance first (flicker-proof)."""

    def __init__(self, inner: FlowEstimator) -> None:
        self.inner = inner
        self.name = inner.name
        self.seconds = 0.0

    @staticmethod
    def _norm(x: torch.Tensor) -> torch.Tensor:
        from vidrestore.film.ops import luma

        y = luma(x.float())
        mean = y.mean(dim=(1, 2, 3), keepdim=True)
        std = y.std(dim=(1, 2, 3), keepdim=True).clamp(min=1e-3)
        z = ((y - mean) / std * 0.2 + 0.5).clamp_(0.0, 1.0)
        return z.expand(-1, 3, -1, -1)

    def estimate(self, frame_t: torch.Tensor, frame_s: torch.Tensor) -> torch.Tensor:
        t0 = time.perf_counter()
        a, b = self._norm(frame_t), self._norm(frame_s)
        with _estimator_lock(self.inner):  # one OpenCV flow object is not safe to call from two threads at once
            out = self.inner.estimate(a, b)
        self.seconds += time.perf_counter() - t0
        return out


_LOCKS: dict[int, Any] = {}


def _estimator_lock(estimator: Any) -> Any:
    """A lock per estimator object (the two dust passes of a parallel run may share one)."""
    lock = _LOCKS.get(id(estimator))
    if lock is None:
        lock = _LOCKS.setdefault(id(estimator), threading.Lock())
    return lock
