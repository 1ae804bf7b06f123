"""Temporal consistency for diffusion over video: flow links, warped noise, latent blending.

Three pieces, all driven by the optical flow of the *input* frames (``flow_t_to_prev``: for each
pixel of frame t, where it is in frame t-1; see :mod:`vidrestore.types`):

* :func:`link_frames` estimates forward and backward flow of each (t, t-1) pair, turns the
  forward-backward agreement into a confidence in [0, 1] (``vidrestore.flow.flow_confidence``;
  occluded or out-of-frame pixels get ~0) and resizes both to the latent grid. A pair whose mean
  confidence is below ``cut_confidence`` is treated as a scene cut: no link.
* **Warped noise.** Each latent pixel carries a position in a noise plane and the index of the
  frame where its lineage started (:class:`NoiseTrack`). Linked pixels inherit the (bilinearly
  warped) position of where they came from; occluded pixels start a new lineage. The noise value is
  a hash of (rounded position, lineage, channel, seed, stream) through Box-Muller
  (:func:`lattice_noise`), so static content gets the *same* noise, moving content carries its noise
  along (sub-pixel motion accumulates instead of being rounded away each frame), and nothing
  depends on how frames are batched.
* **Latent blending.** At every denoising step the predicted clean latent of frame t is pulled
  towards the (already blended) one of t-1, warped to t:
  ``x0_t <- x0_t + w_k * c_t * (warp(x0_{t-1}) - x0_t)`` where ``c_t`` is the per-pixel confidence
  and ``w_k`` the strength schedule (:func:`strength_schedule`: strong early, weaker late, so the
  structure is shared while each frame keeps its own detail).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from vidrestore.flow.base import FlowEstimator

_MASK32 = 0xFFFFFFFF


# --------------------------------------------------------------------------- strength schedule


def strength_schedule(num_steps: int, start: float, end: float) -> list[float]:
    """Blend weight per step, linear from ``start`` (first step) to ``end`` (last step)."""
    if num_steps <= 1:
        return [start] * max(num_steps, 0)
    return [start + (end - start) * k / (num_steps - 1) for k in range(num_steps)]


# --------------------------------------------------------------------------- links between frames


@dataclass
class Links:
    """Flow links of a batch of N frames to their predecessors (batch order = frame order).

    ``flow``/``conf`` are on the latent grid, ``flow_in``/``conf_in`` on the input grid. ``linked[i]``
    is False for a frame with no usable predecessor (first frame, scene cut, consistency off).
    """

    flow: torch.Tensor  # (N, 2, h, w)
    conf: torch.Tensor  # (N, 1, h, w)
    flow_in: torch.Tensor  # (N, 2, H, W)
    conf_in: torch.Tensor  # (N, 1, H, W)
    linked: list[bool]
    mean_conf: list[float]


def empty_links(n: int, latent: tuple[int, int], size: tuple[int, int], device: torch.device) -> Links:
    import torch

    h, w = latent
    hh, ww = size
    return Links(flow=torch.zeros(n, 2, h, w, device=device), conf=torch.zeros(n, 1, h, w, device=device),
                 flow_in=torch.zeros(n, 2, hh, ww, device=device), conf_in=torch.zeros(n, 1, hh, ww, device=device),
                 linked=[False] * n, mean_conf=[0.0] * n)


def link_frames(estimator: FlowEstimator, frames: torch.Tensor, prev: torch.Tensor, has_prev: list[bool], *,
                latent: tuple[int, int], occlusion_threshold: float = 1.0,
                cut_confidence: float = 0.25) -> Links:
    """Links of ``frames[i]`` to ``prev[i]`` (both ``(N, 3, H, W)`` in [0, 1]) where ``has_prev[i]``."""
    import torch
    import torch.nn.functional as F

    from vidrestore.flow import estimate_both, flow_confidence, resize_flow

    n, _, hh, ww = frames.shape
    links = empty_links(n, latent, (hh, ww), frames.device)
    idx = [i for i in range(n) if has_prev[i]]
    if not idx:
        return links
    sel = torch.tensor(idx, device=frames.device)
    cur, before = frames.index_select(0, sel).float(), prev.index_select(0, sel).float()
    fwd, bwd = estimate_both(estimator, cur, before)
    fwd, bwd = fwd.to(frames.device), bwd.to(frames.device)
    conf = flow_confidence(fwd, bwd, threshold=occlusion_threshold)
    flow_lat = resize_flow(fwd, latent)
    conf_lat = conf if tuple(latent) == (hh, ww) else F.interpolate(conf, size=latent, mode="area").clamp_(0, 1)
    for j, i in enumerate(idx):
        mean = float(conf[j].mean())
        links.mean_conf[i] = mean
        if mean < cut_confidence:
            continue  # a scene cut (or motion the flow cannot follow): start afresh
        links.linked[i] = True
        links.flow[i], links.conf[i] = flow_lat[j], conf_lat[j]
        links.flow_in[i], links.conf_in[i] = fwd[j], conf[j]
    return links


# --------------------------------------------------------------------------- warped noise


@dataclass
class NoiseTrack:
    """Per-pixel noise-plane position ``(1, 2, h, w)`` and lineage ``(1, 1, h, w)`` (start frame index)."""

    pos: torch.Tensor
    origin: torch.Tensor  # float64 holding integers exactly


def start_track(index: int, height: int, width: int, device: torch.device) -> NoiseTrack:
    import torch

    from vidrestore.flow import coords_grid

    pos = coords_grid(1, height, width, device=device).clone()
    origin = torch.full((1, 1, height, width), float(index), dtype=torch.float64, device=device)
    return NoiseTrack(pos=pos, origin=origin)


def advance_track(prev: NoiseTrack, flow_t_to_prev: torch.Tensor, keep: torch.Tensor, index: int) -> NoiseTrack:
    """Track of frame ``index`` from its predecessor's: inherited where ``keep`` (``(1, 1, h, w)`` bool)."""
    import torch

    from vidrestore.flow import backward_warp

    h, w = flow_t_to_prev.shape[-2:]
    fresh = start_track(index, h, w, flow_t_to_prev.device)
    pos = backward_warp(prev.pos, flow_t_to_prev, mode="bilinear")
    origin = backward_warp(prev.origin, flow_t_to_prev, mode="nearest")
    return NoiseTrack(pos=torch.where(keep, pos, fresh.pos), origin=torch.where(keep, origin, fresh.origin))


def _mulmod32(x: torch.Tensor, c: int) -> torch.Tensor:
    """``(x * c) mod 2**32`` for int64 ``x`` in [0, 2**32) without int64 overflow."""
    lo = (x & 0xFFFF) * c
    hi = (((x >> 16) * c) & 0xFFFF) << 16
    return (lo + hi) & _MASK32


def _mix32(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit integer hash (xorshift-multiply rounds) on int64 tensors holding uint32 values."""
    x = x ^ (x >> 16)
    x = _mulmod32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mulmod32(x, 0x846CA68B)
    return x ^ (x >> 16)


def lattice_noise(track: NoiseTrack, channels: int, *, seed: int, stream: int = 0) -> torch.Tensor:
    """Standard normal noise ``(1, C, h, w)`` that is a pure function of (position, lineage, channel, seed, stream)."""
    import torch

    pos = torch.round(track.pos.double()).to(torch.int64)
    ix = (pos[:, 0:1] + (1 << 30)) & _MASK32
    iy = (pos[:, 1:2] + (1 << 30)) & _MASK32
    org = track.origin.to(torch.int64) & _MASK32
    base = _mix32(torch.full_like(ix, (seed * 0x9E3779B1 + stream * 0x85EBCA77) & _MASK32))
    h = _mix32(base ^ ix)
    h = _mix32(h ^ iy)
    h = _mix32(h ^ org)
    chans = torch.arange(channels, device=ix.device, dtype=torch.int64).view(1, channels, 1, 1)
    h = _mix32(h.expand(1, channels, *h.shape[-2:]) ^ ((chans * 0x27D4EB2F) & _MASK32))
    h2 = _mix32(h ^ 0x5BD1E995)
    u1 = ((h >> 8).double() + 0.5) / float(1 << 24)
    u2 = ((h2 >> 8).double() + 0.5) / float(1 << 24)
    z = torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)
    return z.float()


# --------------------------------------------------------------------------- latent blending


def blend_chain(x0: torch.Tensor, prev_x0: torch.Tensor | None, links: Links, weight: float) -> torch.Tensor:
    """Blend each frame's ``x0`` (``(N, C, h, w)``) with its predecessor's, warped, in frame order.

    ``prev_x0`` (``(1, C, h, w)``) is the predecessor of frame 0 (the carried frame), or None.
    Each frame blends with the *blended* result of the one before, so consistency propagates.
    """
    from vidrestore.flow import backward_warp

    if weight <= 0:
        return x0
    out = []
    prev = prev_x0
    for i in range(x0.shape[0]):
        cur = x0[i:i + 1]
        if prev is not None and links.linked[i]:
            warped = backward_warp(prev, links.flow[i:i + 1])
            cur = cur + (weight * links.conf[i:i + 1]).to(cur.dtype) * (warped - cur)
        out.append(cur)
        prev = cur
    import torch

    return torch.cat(out, dim=0)
