"""Occlusion masks and per-pixel confidence from forward-backward consistency.

A pixel x of frame t that is visible in frame s goes there and comes back:
``flow_t_to_s(x) + flow_s_to_t(x + flow_t_to_s(x)) ~= 0``. Where it is occluded in s (covered,
or out of the frame) the round trip does not close. The test (Sundaram et al. 2010, as used by
UnFlow) tolerates an absolute error plus a share of the motion, because flow errors grow with it:

    |fb_error|  >  threshold + relative * (|flow_t_to_s| + |flow_s_to_t(warped)|)   -> occluded

A second, independent test is the *range map* (Wang et al. 2018, "Occlusion Aware Unsupervised
Learning of Optical Flow"): splat every pixel of s forward along ``flow_s_to_t`` with bilinear
weights and count what lands on each pixel of t. Pixels of t that nothing in s reaches (density
below ``range_threshold``, after a 3x3 mean) are not visible in s. The two tests fail in different
places (the round trip closes by accident where the estimator smooths one wrong motion into both
directions; the range map fills in where flow is smoothed across a boundary), so ``occlusion_mask``
flags a pixel when either fires.

An optional photometric term also flags pixels whose warped colour disagrees (``photo_threshold``):
the round trip can close by accident where an estimator smooths the same wrong motion into both
directions, but the colours then do not match.

Shapes: flows ``(N, 2, H, W)`` pixels; masks ``(N, 1, H, W)`` bool (True = occluded / invalid);
confidence ``(N, 1, H, W)`` float32 in [0, 1].
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from vidrestore.errors import ShapeError
from vidrestore.flow.base import check_flow
from vidrestore.flow.warp import backward_warp, valid_mask

if TYPE_CHECKING:
    import torch

DEFAULT_RELATIVE = 0.05
DEFAULT_RANGE_THRESHOLD = 0.7


def _check_pair(flow_t_to_s: torch.Tensor, flow_s_to_t: torch.Tensor) -> None:
    check_flow(flow_t_to_s, "flow_t_to_s")
    check_flow(flow_s_to_t, "flow_s_to_t")
    if flow_t_to_s.shape != flow_s_to_t.shape:
        raise ShapeError("flow_s_to_t", flow_s_to_t.shape, f"the shape of flow_t_to_s {tuple(flow_t_to_s.shape)}")


def fb_error(flow_t_to_s: torch.Tensor, flow_s_to_t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Round-trip error in pixels ``(N, 1, H, W)`` and the tolerance scale ``|f| + |b(warped)|``."""
    _check_pair(flow_t_to_s, flow_s_to_t)
    fwd = flow_t_to_s.float()
    back = backward_warp(flow_s_to_t.float(), fwd)
    err = (fwd + back).norm(dim=1, keepdim=True)
    mag = fwd.norm(dim=1, keepdim=True) + back.norm(dim=1, keepdim=True)
    return err, mag


def _tolerance(mag: torch.Tensor, threshold: float, relative: float) -> torch.Tensor:
    if threshold <= 0:
        raise ValueError(f"occlusion threshold must be > 0 px, got {threshold}")
    if relative < 0:
        raise ValueError(f"relative occlusion tolerance must be >= 0, got {relative}")
    return threshold + relative * mag


def range_map(flow_s_to_t: torch.Tensor) -> torch.Tensor:
    """How much of frame s lands on each pixel of t when splatted along ``flow_s_to_t``: ``(N, 1, H, W)``.

    Bilinear forward splatting: each source pixel spreads weight 1 over the 4 pixels around its
    destination. About 1 where t is seen in s, 0 where t shows something hidden in s.
    """
    import torch

    check_flow(flow_s_to_t, "flow_s_to_t")
    from vidrestore.flow.warp import coords_grid

    flow = flow_s_to_t.float()
    n, _, h, w = flow.shape
    pos = coords_grid(n, h, w, device=flow.device) + flow
    x, y = pos[:, 0].reshape(n, -1), pos[:, 1].reshape(n, -1)
    x0, y0 = x.floor(), y.floor()
    fx, fy = x - x0, y - y0
    density = torch.zeros(n, h * w, device=flow.device, dtype=torch.float32)
    for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                           (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        inside = (xi >= 0) & (xi <= w - 1) & (yi >= 0) & (yi <= h - 1)
        idx = (yi.clamp(0, h - 1) * w + xi.clamp(0, w - 1)).long()
        density.scatter_add_(1, idx, weight * inside)
    return density.view(n, 1, h, w)


def _smoothed_range(flow_s_to_t: torch.Tensor) -> torch.Tensor:
    import torch.nn.functional as F

    return F.avg_pool2d(range_map(flow_s_to_t), 3, stride=1, padding=1, count_include_pad=False)


def photometric_error(frame_t: torch.Tensor, frame_s: torch.Tensor, flow_t_to_s: torch.Tensor) -> torch.Tensor:
    """Mean absolute colour difference ``(N, 1, H, W)`` between t and s warped to t."""
    warped = backward_warp(frame_s.float(), flow_t_to_s)
    return (frame_t.float() - warped).abs().mean(dim=1, keepdim=True)


def occlusion_mask(
    flow_t_to_s: torch.Tensor,
    flow_s_to_t: torch.Tensor,
    *,
    threshold: float = 1.0,
    relative: float = DEFAULT_RELATIVE,
    include_out_of_frame: bool = True,
    range_threshold: float | None = DEFAULT_RANGE_THRESHOLD,
    frame_t: torch.Tensor | None = None,
    frame_s: torch.Tensor | None = None,
    photo_threshold: float | None = None,
) -> torch.Tensor:
    """Bool ``(N, 1, H, W)``: True where pixels of t have no reliable match in s.

    ``threshold`` is the absolute round-trip tolerance in pixels (``flow.occlusion_threshold``),
    ``relative`` the share of the motion magnitude added to it. ``include_out_of_frame`` also flags
    pixels whose match lies outside frame s. ``range_threshold`` (None = off) also flags pixels of t
    that the range map of ``flow_s_to_t`` leaves under that density. With ``frame_t``, ``frame_s`` and ``photo_threshold``
    (mean absolute difference in [0, 1] units), pixels whose warped colour differs more are flagged too.
    """
    err, mag = fb_error(flow_t_to_s, flow_s_to_t)
    occ = err > _tolerance(mag, threshold, relative)
    if include_out_of_frame:
        occ |= ~valid_mask(flow_t_to_s.float())
    if range_threshold is not None:
        occ |= _smoothed_range(flow_s_to_t) < range_threshold
    if photo_threshold is not None:
        if frame_t is None or frame_s is None:
            raise ValueError("occlusion_mask: photo_threshold needs frame_t and frame_s")
        occ |= photometric_error(frame_t, frame_s, flow_t_to_s) > photo_threshold
    return occ


def flow_confidence(
    flow_t_to_s: torch.Tensor,
    flow_s_to_t: torch.Tensor,
    *,
    threshold: float = 1.0,
    relative: float = DEFAULT_RELATIVE,
    include_out_of_frame: bool = True,
    range_threshold: float | None = DEFAULT_RANGE_THRESHOLD,
) -> torch.Tensor:
    """Per-pixel confidence ``(N, 1, H, W)`` in [0, 1], usable directly as a blend weight.

    Consistency term ``2 ** -(err / tol) ** 2`` with ``tol = threshold + relative * magnitude``: 1 for
    a perfect round trip, exactly 0.5 at the tolerance :func:`occlusion_mask` uses, 1/16 at twice it.
    Range term ``2 ** -((1 - density) / (1 - range_threshold)) ** 2`` for densities below 1 (else 1):
    0.5 exactly at ``range_threshold``. The confidence is the smaller of the two, so with the same
    arguments ``confidence < 0.5`` <=> :func:`occlusion_mask` (without its photometric term). Matches
    outside frame s get 0.
    """
    err, mag = fb_error(flow_t_to_s, flow_s_to_t)
    tol = _tolerance(mag, threshold, relative)
    conf = (-(math.log(2.0)) * (err / tol) ** 2).exp()
    if range_threshold is not None:
        if not 0.0 < range_threshold < 1.0:
            raise ValueError(f"range_threshold must be in (0, 1), got {range_threshold}")
        deficit = (1.0 - _smoothed_range(flow_s_to_t)).clamp_(min=0.0) / (1.0 - range_threshold)
        conf = conf.minimum((-(math.log(2.0)) * deficit ** 2).exp())
    if include_out_of_frame:
        conf = conf * valid_mask(flow_t_to_s.float()).to(conf.dtype)
    return conf.clamp_(0.0, 1.0)
