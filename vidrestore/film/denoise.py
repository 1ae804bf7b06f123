"""Grain and noise: motion-compensated temporal averaging weighted by warp error; optional re-graining.

Denoising. Frame t is averaged with its neighbours warped onto it. A neighbour pixel's weight is its
flow confidence times a patch test on the warp error (the non-local-means form):

    D_k = box5( mean over RGB of (x_t - w_k)^2 )
    weight_k = conf_k * exp( -max(D_k / s_k^2 - 1, 0) / strength^2 )

``s_k^2`` is the squared robust (MAD) spread of ``x_t - w_k`` over the frame: what two views of the
same content differ by when only grain separates them (it already includes the smoothing the
sub-pixel warp does to the neighbour's grain). Where the neighbour shows the same thing, D is about
``s^2`` and the weight about 1; where alignment failed, an object moved differently or the neighbour
has dirt, D grows and the weight falls toward 0, so the frame keeps its own pixel. The frame itself
has weight 1.

Re-graining adds Gaussian grain of ``sigma`` (0..1 units), blurred to ``size`` px and scaled by
``0.5 + 2 L (1 - L)`` of the luma (strongest in the mid-tones, like film), monochrome when the frame
is grey. The noise of frame ``index`` is drawn from ``seed`` and ``index``, so a rerun (or a
resumed segment) gives the same grain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vidrestore.film.ops import box_blur, luma, robust_sigma

if TYPE_CHECKING:
    import torch


def temporal_denoise(center: torch.Tensor, warped: torch.Tensor, conf: torch.Tensor, *, strength: float = 1.0,
                     patch: int = 5, min_confidence: float = 0.0) -> tuple[torch.Tensor, float]:
    """Weighted temporal average of ``center`` ``(1, 3, H, W)`` with ``warped`` ``(K, 3, H, W)``.

    ``conf`` ``(K, 1, H, W)`` in [0, 1] (pixels under ``min_confidence`` get weight 0). Returns the
    result and the mean total neighbour weight (how much averaging happened, 0..K).
    """
    import torch

    if warped.shape[0] == 0 or strength <= 0:
        return center, 0.0
    diff2 = ((center - warped) ** 2).mean(1, keepdim=True)  # (K, 1, H, W)
    dist = box_blur(diff2, patch)
    weights = []
    for k in range(warped.shape[0]):
        good = conf[k, 0] >= max(min_confidence, 0.5)
        s = robust_sigma((center[0] - warped[k])[:, good].flatten()) if bool(good.any()) else 0.0
        s2 = max(s * s, 1e-8)
        w = torch.exp(-(dist[k] / s2 - 1.0).clamp(min=0.0) / (strength * strength))
        w = w * conf[k] * (conf[k] >= min_confidence)
        weights.append(w)
    wts = torch.stack(weights)  # (K, 1, H, W)
    total = 1.0 + wts.sum(0, keepdim=True)
    out = (center + (wts * warped).sum(0, keepdim=True)) / total
    return out, float(wts.sum(0).mean())


def grain(frame: torch.Tensor, *, sigma: float, size: float = 1.0, seed: int = 0, index: int = 0) -> torch.Tensor:
    """Film-like grain for ``frame`` ``(1, 3, H, W)`` (see module docstring); returns the grain, not the sum."""
    import math

    import torch
    import torch.nn.functional as F

    _, _, h, w = frame.shape
    gen = torch.Generator().manual_seed((int(seed) * 1_000_003 + int(index)) % (2**63 - 1))
    mono = bool((frame.amax(1) - frame.amin(1)).mean() < 2.0 / 255.0)
    noise = torch.randn(1, 1 if mono else 3, h, w, generator=gen).to(frame.device)
    if size > 1.0:
        s = size / 2.0
        radius = max(1, int(math.ceil(2.5 * s)))
        x = torch.arange(-radius, radius + 1, dtype=torch.float32)
        k = torch.exp(-(x * x) / (2 * s * s))
        k = k / k.sum()
        c = noise.shape[1]
        noise = F.conv2d(F.pad(noise, (radius, radius, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
        noise = F.conv2d(F.pad(noise, (0, 0, radius, radius), mode="reflect"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
        noise = noise / (k * k).sum()  # unit variance again after blurring twice with k
    y = luma(frame)
    return noise * (0.5 + 2.0 * y * (1.0 - y)) * sigma


def noise_sigma(center: torch.Tensor, warped: torch.Tensor, valid: torch.Tensor) -> float:
    """Grain sigma of ``center`` (0..1 units) from its differences to the nearest valid neighbour, /sqrt(2)."""
    if warped.shape[0] == 0:
        return 0.0
    good = valid[0, 0]
    if not bool(good.any()):
        return 0.0
    return robust_sigma((center - warped[0:1])[0][:, good].flatten()) / 2 ** 0.5
