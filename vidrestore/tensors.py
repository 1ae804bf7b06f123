"""The one place where frames change representation, and the shape checks every module uses.

numpy ``(H, W, 3)`` uint8/uint16 RGB  <->  torch ``(T, 3, H, W)`` float32 in ``[0, 1]``.
See :mod:`vidrestore.types` for the conventions. torch is imported lazily so that the I/O
commands start fast.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from vidrestore.errors import ShapeError

if TYPE_CHECKING:
    import torch

_MAX = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def check_shape(x: Any, dims: Sequence[int | str], name: str = "tensor", *, multiple_of: int = 1,
                note: str = "") -> None:
    """Raise :class:`ShapeError` unless ``x`` (an array or a tensor) has the shape ``dims`` says.

    ``dims`` names each axis: an int must match exactly (``("N", 3, "H", "W")``), a name matches any
    size. ``multiple_of`` > 1 asks the axes named ``H`` and ``W`` to be divisible by it (2: even
    sizes, for a model that halves the picture). The message shows the expected layout as written,
    e.g. ``frame_t: expected shape (N, 3, H, W), got (1, 4, 8, 8)``; ``note`` adds to it.
    """
    shape = tuple(int(s) for s in x.shape)
    expected = "(" + ", ".join(str(d) for d in dims) + ")" + (f", {note}" if note else "")
    if len(shape) != len(dims) or any(isinstance(d, int) and s != d for s, d in zip(shape, dims, strict=True)):
        raise ShapeError(name, shape, expected)
    if multiple_of > 1:
        sizes = [s for s, d in zip(shape, dims, strict=True) if d in ("H", "W")]
        if any(s % multiple_of for s in sizes):
            what = "even" if multiple_of == 2 else f"divisible by {multiple_of}"
            raise ShapeError(name, shape, f"{expected} with H and W {what}")


def check_same_shape(x: Any, ref: Any, name: str, ref_name: str, *, what: str = "the shape of") -> None:
    """Raise :class:`ShapeError` unless ``x`` has the shape of ``ref`` (two frames of one pair ...)."""
    if tuple(x.shape) != tuple(ref.shape):
        raise ShapeError(name, x.shape, f"{what} {ref_name} {tuple(int(s) for s in ref.shape)}")


def check_dtype(x: Any, dtypes: Collection[Any], name: str, what: str) -> None:
    """Raise ``ValueError`` (``NAME: expected WHAT, got DTYPE``) unless ``x.dtype`` is one of ``dtypes``."""
    if x.dtype not in dtypes:
        raise ValueError(f"{name}: expected {what}, got {x.dtype}")


def check_rgb(rgb: np.ndarray, name: str = "frame") -> None:
    check_shape(rgb, ("H", "W", 3), name)
    check_dtype(rgb, _MAX, name, "uint8 or uint16 RGB")


def rgb_to_float(rgb: np.ndarray) -> np.ndarray:
    """uint8/uint16 ``(H, W, 3)`` -> float32 ``(H, W, 3)`` in [0, 1]."""
    check_rgb(rgb)
    return rgb.astype(np.float32) * np.float32(1.0 / _MAX[rgb.dtype])


def float_to_rgb(img: np.ndarray, dtype: np.dtype | type = np.uint8) -> np.ndarray:
    """float ``(H, W, 3)`` in [0, 1] -> uint8/uint16 with rounding and clipping."""
    dtype = np.dtype(dtype)
    scale = _MAX[dtype]
    out = np.clip(np.rint(np.asarray(img, dtype=np.float32) * scale), 0, scale)
    return out.astype(dtype)


def to_tensor(frames: Sequence[np.ndarray] | np.ndarray, device: str | torch.device = "cpu") -> torch.Tensor:
    """Stack RGB frames ``(H, W, 3)`` into a float32 tensor ``(T, 3, H, W)`` in [0, 1]."""
    import torch

    if isinstance(frames, np.ndarray) and frames.ndim == 3:
        frames = [frames]
    arrs = list(frames)
    if not arrs:
        raise ValueError("to_tensor: no frames")
    for i, a in enumerate(arrs):
        check_rgb(a, f"frame {i}")
    dtype = arrs[0].dtype
    stacked = np.stack(arrs, axis=0)
    if dtype == np.uint16:
        # torch has limited uint16 support: go through int32.
        t = torch.from_numpy(stacked.astype(np.int32))
    else:
        t = torch.from_numpy(stacked)
    t = t.to(device=device).permute(0, 3, 1, 2).float().mul_(1.0 / _MAX[dtype])
    return t.contiguous()


def from_tensor(t: torch.Tensor, dtype: np.dtype | type = np.uint8) -> list[np.ndarray]:
    """``(T, 3, H, W)`` (or ``(3, H, W)``) float in [0, 1] -> list of RGB arrays of ``dtype``."""
    import torch

    if t.ndim == 3:
        t = t.unsqueeze(0)
    check_shape(t, ("T", 3, "H", "W"), "tensor")
    dtype = np.dtype(dtype)
    scale = _MAX[dtype]
    # one copy into (T, H, W, 3) order (never an alias of t), then in place: about a third faster
    # than quantising a strided view and copying the bytes afterwards
    q = t.detach().float().permute(0, 2, 3, 1).clone(memory_format=torch.contiguous_format)
    q.mul_(scale).round_().clamp_(0, scale)
    # cast on the tensor's device before the copy: a GPU sends 1 byte (or 4) per sample, not 4 floats
    if dtype == np.uint16:
        arr = q.to(dtype=torch.int32).cpu().numpy().astype(np.uint16)
    else:
        arr = q.to(dtype=torch.uint8).cpu().numpy()
    return [np.ascontiguousarray(a) for a in arr]


def to_gray_float(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8/uint16/float -> float32 luma (BT.601 weights) in [0, 1], ``(H, W)``."""
    img = rgb_to_float(rgb) if rgb.dtype in _MAX else np.asarray(rgb, dtype=np.float32)
    return img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114
