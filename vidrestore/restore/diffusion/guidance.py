"""Range-null-space guidance (DDNM, Wang et al. 2023) for known linear degradations.

For a degradation ``y = A x`` with a pseudo-inverse ``A^+`` (``A A^+ = I``), DDNM replaces the
predicted clean image at every step by ``A^+ y + (I - A^+ A) x0``: the range-space part comes from
the measurement, the null-space part (what ``A`` cannot see) from the model. The result satisfies
``A x = y`` exactly, whatever the model is. Two operators are provided:

* :class:`Downsample` (super-resolution): ``A`` = average pooling by an integer factor,
  ``A^+`` = nearest (replicating) upsampling. ``A A^+ = I`` holds exactly.
* :class:`Mask` (inpainting of dust, scratches, clouds): ``A`` keeps the known pixels
  (``known = 1``), ``A^+ = A``. The projection keeps known pixels and lets the model fill the rest.

All tensors are ``(N, C, H, W)`` float; ``y`` is in the same value range as ``x`` (the guide works in
[0, 1] images or [-1, 1] model space alike, since both operators are linear and preserve constants).
:func:`project_consistent` adds the box constraint ``[lo, hi]`` by alternating projections (both
sets are convex and ``A^+ y`` lies in both, so the iteration converges), then ends on the exact
range-space projection so that ``A x = y`` holds to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from vidrestore.errors import ShapeError
from vidrestore.tensors import check_shape

if TYPE_CHECKING:
    import torch


@runtime_checkable
class Degradation(Protocol):
    """A linear degradation ``A`` with a right pseudo-inverse ``A^+`` (``A A^+ = I``)."""

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """``A x``."""
        ...

    def pinv(self, y: torch.Tensor) -> torch.Tensor:
        """``A^+ y``."""
        ...


def project(op: Degradation, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``A^+ y + (I - A^+ A) x``: keep ``x``'s null-space content, take the range space from ``y``."""
    return x - op.pinv(op.apply(x)) + op.pinv(y)


def project_consistent(op: Degradation, x: torch.Tensor, y: torch.Tensor, *, lo: float = 0.0, hi: float = 1.0,
                       iterations: int = 20) -> torch.Tensor:
    """Range-null-space projection that also keeps values in ``[lo, hi]`` (``y`` must lie in that range).

    Operators with an exact box-constrained projection (``project_box``: :class:`Downsample`,
    :class:`Mask`) use it. Others alternate clamping and :func:`project` ``iterations`` times and end
    on :func:`project`, so ``A(result) = y`` to float rounding while values may leave ``[lo, hi]`` by
    what that last projection moves them.
    """
    exact = getattr(op, "project_box", None)
    if exact is not None:
        return exact(x, y, lo=lo, hi=hi)
    out = project(op, x, y)
    for _ in range(iterations):
        out = project(op, out.clamp(lo, hi), y)
    return out


def consistency_error(op: Degradation, x: torch.Tensor, y: torch.Tensor) -> float:
    """``||A x - y|| / ||y||`` (0 when ``y`` is 0 and so is ``A x``)."""
    num = float((op.apply(x) - y).norm())
    den = float(y.norm())
    return num / den if den > 0 else num


@dataclass(frozen=True)
class Downsample:
    """``A`` = ``factor`` x ``factor`` average pooling; ``A^+`` = nearest upsampling by ``factor``.

    ``x`` must have a height and width divisible by ``factor``.
    """

    factor: int

    def __post_init__(self) -> None:
        if self.factor < 1:
            raise ValueError(f"Downsample factor must be >= 1, got {self.factor}")

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        check_shape(x, ("N", "C", "H", "W"), "x", multiple_of=self.factor)
        return x if self.factor == 1 else F.avg_pool2d(x, self.factor)

    def pinv(self, y: torch.Tensor) -> torch.Tensor:
        return y if self.factor == 1 else y.repeat_interleave(self.factor, dim=-2).repeat_interleave(self.factor, dim=-1)

    def project_box(self, x: torch.Tensor, y: torch.Tensor, *, lo: float = 0.0, hi: float = 1.0,
                    iterations: int = 40) -> torch.Tensor:
        """The nearest ``x'`` to ``x`` with block means ``y`` and values in ``[lo, hi]``.

        By the KKT conditions the solution is ``clamp(x + c, lo, hi)`` with one shift ``c`` per block,
        and the block mean is monotone in ``c``: found by bisection (``iterations`` halvings).
        """
        import torch

        f = self.factor
        n, ch, h, w = x.shape
        blocks = x.reshape(n, ch, h // f, f, w // f, f).float()
        target = y.float().clamp(lo, hi).reshape(n, ch, h // f, 1, w // f, 1)
        low = (lo - blocks.amax(dim=(3, 5), keepdim=True)).expand_as(target).clone()
        high = (hi - blocks.amin(dim=(3, 5), keepdim=True)).expand_as(target).clone()
        for _ in range(iterations):
            mid = (low + high) * 0.5
            mean = (blocks + mid).clamp(lo, hi).mean(dim=(3, 5), keepdim=True)
            below = mean < target
            low = torch.where(below, mid, low)
            high = torch.where(below, high, mid)
        out = (blocks + (low + high) * 0.5).clamp(lo, hi)
        # remove the last bisection residue exactly, on the pixels that are not at a bound
        resid = target - out.mean(dim=(3, 5), keepdim=True)
        free = ((out > lo) & (out < hi)).to(out.dtype)
        count = free.sum(dim=(3, 5), keepdim=True)
        out = out + free * resid * (f * f) / count.clamp(min=1)
        return out.reshape(n, ch, h, w).to(x.dtype)


@dataclass(frozen=True)
class Mask:
    """``A`` = multiplication by ``known`` (``(N or 1, 1, H, W)``, 1 = known pixel, 0 = to fill).

    Values strictly between 0 and 1 are rounded: DDNM needs a projection (``A A = A``).
    """

    known: torch.Tensor

    def __post_init__(self) -> None:
        if self.known.ndim != 4 or self.known.shape[1] != 1:
            raise ShapeError("known", self.known.shape, "(N, 1, H, W)")
        dtype = self.known.dtype if self.known.is_floating_point() else None
        binary = self.known > 0.5
        object.__setattr__(self, "known", binary.to(dtype) if dtype is not None else binary.float())

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.known.to(x.dtype)

    def pinv(self, y: torch.Tensor) -> torch.Tensor:
        return y * self.known.to(y.dtype)

    def project_box(self, x: torch.Tensor, y: torch.Tensor, *, lo: float = 0.0, hi: float = 1.0) -> torch.Tensor:
        """Known pixels from ``y``, the others from ``x`` clamped to ``[lo, hi]``."""
        k = self.known.to(x.dtype)
        return y * k + x.clamp(lo, hi) * (1 - k)


def masks_to_known(masks: torch.Tensor) -> torch.Tensor:
    """Damage masks (``(N, 1, H, W)`` or ``(N, H, W)``, nonzero = pixel to fill) -> ``known`` weights."""
    if masks.ndim == 3:
        masks = masks.unsqueeze(1)
    if masks.ndim != 4 or masks.shape[1] != 1:
        raise ShapeError("masks", masks.shape, "(N, 1, H, W) or (N, H, W)")
    return (masks.float() <= 0.5).float() if masks.is_floating_point() else (masks == 0).float()
