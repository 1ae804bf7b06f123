"""Backward warping, flow resizing and composition: the one place ``grid_sample`` is called.

Conventions:

* Flow is ``(N, 2, H, W)`` in pixels, channel 0 = dx, channel 1 = dy. ``flow_t_to_s[:, :, y, x]``
  says where pixel ``(x, y)`` of frame t lies in frame s.
* Pixel ``(x, y)`` is the *centre* of the pixel in row ``y``, column ``x``; the image covers
  ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``. This is ``grid_sample(..., align_corners=False)``, pinned
  once below as :data:`ALIGN_CORNERS`. Resizing uses the same pixel-centre convention, so a flow
  estimated at one resolution and a tensor at another (a feature map, a 1/8 latent) line up:
  displacements scale by the size ratio, positions map by ``(x + 0.5) * ratio - 0.5``.
* ``backward_warp(src, flow_t_to_s)`` returns a tensor at ``src``'s resolution that looks like
  frame t. When the flow's resolution differs from ``src``'s it is resized first (values rescaled).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vidrestore.errors import ShapeError
from vidrestore.flow.base import check_flow
from vidrestore.tensors import check_shape

if TYPE_CHECKING:
    import torch

#: ``align_corners`` for every ``grid_sample``/``interpolate`` on flows and warps (pixel-centre convention).
ALIGN_CORNERS = False

_MODES = ("bilinear", "nearest", "bicubic")
_PADDING = ("border", "zeros", "reflection")


def coords_grid(n: int, height: int, width: int, *, device: torch.device | str = "cpu",
                dtype: torch.dtype | None = None) -> torch.Tensor:
    """Pixel coordinates ``(n, 2, H, W)``: channel 0 = x (column), channel 1 = y (row)."""
    import torch

    dtype = dtype or torch.float32
    ys, xs = torch.meshgrid(
        torch.arange(height, device=device, dtype=dtype),
        torch.arange(width, device=device, dtype=dtype),
        indexing="ij",
    )
    return torch.stack([xs, ys]).unsqueeze(0).expand(n, 2, height, width)


def resize_flow(flow: torch.Tensor, size: tuple[int, int], *, mode: str = "bilinear") -> torch.Tensor:
    """Resample ``flow`` to ``size = (H, W)`` and rescale its values to the new pixel units.

    dx is multiplied by ``W_new / W_old`` and dy by ``H_new / H_old``. Shrinking uses an
    anti-aliased bilinear filter so a 1/8 latent sees the mean motion of its 8x8 block.
    """
    import torch.nn.functional as F

    check_flow(flow)
    h_old, w_old = int(flow.shape[-2]), int(flow.shape[-1])
    h_new, w_new = int(size[0]), int(size[1])
    if h_new < 1 or w_new < 1:
        raise ValueError(f"resize_flow: target size must be positive, got {size}")
    if (h_new, w_new) == (h_old, w_old):
        return flow
    src = flow.float()
    if mode == "nearest":
        out = F.interpolate(src, size=(h_new, w_new), mode="nearest")
    elif mode == "bilinear":
        shrink = h_new < h_old or w_new < w_old
        out = F.interpolate(src, size=(h_new, w_new), mode="bilinear", align_corners=ALIGN_CORNERS,
                            antialias=shrink)
    else:
        raise ValueError(f"resize_flow: mode must be 'bilinear' or 'nearest', got {mode!r}")
    scale = out.new_tensor([w_new / w_old, h_new / h_old]).view(1, 2, 1, 1)
    return (out * scale).to(flow.dtype)


def _match_batch(src: torch.Tensor, flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if src.shape[0] == flow.shape[0]:
        return src, flow
    if flow.shape[0] == 1:
        return src, flow.expand(src.shape[0], *flow.shape[1:])
    if src.shape[0] == 1:
        return src.expand(flow.shape[0], *src.shape[1:]), flow
    raise ShapeError("flow", flow.shape, f"batch {src.shape[0]} (or 1) to match src {tuple(src.shape)}")


def _sample_grid(flow: torch.Tensor) -> torch.Tensor:
    """Absolute sample positions as a normalised ``grid_sample`` grid ``(N, H, W, 2)``."""
    import torch

    n, _, h, w = flow.shape
    pos = coords_grid(n, h, w, device=flow.device, dtype=flow.dtype) + flow
    # align_corners=False: pixel centre x maps to (2x + 1) / W - 1.
    gx = (2.0 * pos[:, 0] + 1.0) / w - 1.0
    gy = (2.0 * pos[:, 1] + 1.0) / h - 1.0
    return torch.stack([gx, gy], dim=-1)


def backward_warp(src: torch.Tensor, flow_t_to_s: torch.Tensor, *, mode: str = "bilinear",
                  padding_mode: str = "border") -> torch.Tensor:
    """Sample ``src`` (frame s, or its features/latents) at ``x + flow_t_to_s(x)``: the result looks like t.

    ``src`` is ``(N, C, H, W)`` (or ``(C, H, W)``) of any float dtype; ``flow_t_to_s`` is
    ``(N, 2, h, w)`` (or ``(2, h, w)``), with batch 1 broadcast against the other. When
    ``(h, w) != (H, W)`` the flow is resized to ``src``'s resolution first (see :func:`resize_flow`).
    ``padding_mode`` says what samples outside the frame read: ``"border"`` (nearest edge),
    ``"zeros"`` or ``"reflection"``; :func:`valid_mask` says which samples were inside.
    Half-precision inputs are warped in float32 (coordinates need it) and returned in their dtype.
    """
    import torch
    import torch.nn.functional as F

    if mode not in _MODES:
        raise ValueError(f"backward_warp: mode must be one of {_MODES}, got {mode!r}")
    if padding_mode not in _PADDING:
        raise ValueError(f"backward_warp: padding_mode must be one of {_PADDING}, got {padding_mode!r}")
    squeeze = src.ndim == 3
    if squeeze:
        src = src.unsqueeze(0)
    if flow_t_to_s.ndim == 3:
        flow_t_to_s = flow_t_to_s.unsqueeze(0)
    check_shape(src, ("N", "C", "H", "W"), "src")
    check_flow(flow_t_to_s, "flow_t_to_s")
    if not src.is_floating_point():
        raise ValueError(f"backward_warp: src must be a float tensor, got {src.dtype}")
    src, flow = _match_batch(src, flow_t_to_s)
    flow = resize_flow(flow.float(), (src.shape[-2], src.shape[-1]))
    work = src if src.dtype in (torch.float32, torch.float64) else src.float()
    grid = _sample_grid(flow.to(work.dtype))
    out = F.grid_sample(work, grid, mode=mode, padding_mode=padding_mode, align_corners=ALIGN_CORNERS)
    out = out.to(src.dtype)
    return out[0] if squeeze else out


def valid_mask(flow_t_to_s: torch.Tensor, *, margin: float = 0.0) -> torch.Tensor:
    """Bool ``(N, 1, H, W)``: True where ``x + flow`` falls inside frame s (pixel centres, widened by ``margin``).

    Samples outside read padding, not the scene; blend them with weight 0.
    """
    check_flow(flow_t_to_s, "flow_t_to_s")
    n, _, h, w = flow_t_to_s.shape
    pos = coords_grid(n, h, w, device=flow_t_to_s.device, dtype=flow_t_to_s.dtype) + flow_t_to_s
    x, y = pos[:, 0:1], pos[:, 1:2]
    return (x >= -margin) & (x <= w - 1 + margin) & (y >= -margin) & (y <= h - 1 + margin)


def compose_flows(flow_a_to_b: torch.Tensor, flow_b_to_c: torch.Tensor, *more: torch.Tensor) -> torch.Tensor:
    """Chain flows: ``flow_a_to_c(x) = flow_a_to_b(x) + flow_b_to_c(x + flow_a_to_b(x))``.

    Any number of flows can be chained left to right (a->b, b->c, c->d, ...). All must have the
    same spatial size. Samples that leave frame b read its border flow.
    """
    check_flow(flow_a_to_b, "flow_a_to_b")
    out = flow_a_to_b
    for i, nxt in enumerate((flow_b_to_c, *more)):
        check_flow(nxt, f"flow {i + 1}")
        if nxt.shape[-2:] != out.shape[-2:]:
            raise ShapeError(f"flow {i + 1}", nxt.shape, f"spatial size {tuple(out.shape[-2:])}")
        out = out + backward_warp(nxt, out)
    return out
