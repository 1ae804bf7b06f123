"""Colour correction of a diffusion output against its input, as StableSR / Upscale-A-Video do.

Random or imperfect diffusion models drift in colour; restoration must keep the source's colours.

* ``adain``: per frame and channel, match the output's mean and standard deviation to the
  reference's (adaptive instance normalisation).
* ``wavelet``: keep the output's high frequencies and take the low frequencies (the colour and
  shading) from the reference. Frequencies are split by an a-trous (dilated) 3x3 binomial blur
  pyramid of ``levels`` levels; the low-pass is the last blurred image.

Tensors are ``(N, 3, H, W)`` float; the reference is resized (bicubic, antialiased) to the
output's size when they differ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vidrestore.sections import choice

if TYPE_CHECKING:
    import torch

COLOR_FIXES = ("none", "adain", "wavelet")


def _match_size(ref: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    import torch.nn.functional as F

    if tuple(ref.shape[-2:]) == tuple(size):
        return ref
    shrink = size[0] < ref.shape[-2] or size[1] < ref.shape[-1]
    return F.interpolate(ref, size=size, mode="bicubic", align_corners=False, antialias=shrink)


def adain_color_fix(out: torch.Tensor, ref: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Per-frame, per-channel mean/std of ``out`` set to those of ``ref``."""
    ref = _match_size(ref.float(), tuple(out.shape[-2:]))
    o = out.float()
    mo, so = o.mean(dim=(-2, -1), keepdim=True), o.std(dim=(-2, -1), keepdim=True)
    mr, sr = ref.mean(dim=(-2, -1), keepdim=True), ref.std(dim=(-2, -1), keepdim=True)
    return (o - mo) / (so + eps) * sr + mr


def _blur(x: torch.Tensor, dilation: int) -> torch.Tensor:
    import torch
    import torch.nn.functional as F

    k1 = torch.tensor([0.25, 0.5, 0.25], dtype=x.dtype, device=x.device)
    kernel = (k1[:, None] * k1[None, :]).expand(x.shape[1], 1, 3, 3).contiguous()
    pad = dilation
    mode = "reflect" if min(x.shape[-2:]) > pad else "replicate"
    xp = F.pad(x, (pad, pad, pad, pad), mode=mode)
    return F.conv2d(xp, kernel, groups=x.shape[1], dilation=dilation)


def low_frequency(x: torch.Tensor, levels: int = 5) -> torch.Tensor:
    """The low-pass of an a-trous blur pyramid (dilations 1, 2, 4, ...)."""
    low = x
    for i in range(levels):
        low = _blur(low, 2**i)
    return low


def wavelet_color_fix(out: torch.Tensor, ref: torch.Tensor, levels: int = 5) -> torch.Tensor:
    """High frequencies of ``out`` plus low frequencies of ``ref``."""
    ref = _match_size(ref.float(), tuple(out.shape[-2:]))
    o = out.float()
    return o - low_frequency(o, levels) + low_frequency(ref, levels)


def color_fix(out: torch.Tensor, ref: torch.Tensor, method: str) -> torch.Tensor:
    """Apply ``method`` (one of :data:`COLOR_FIXES`)."""
    choice("diffusion.color_fix", method, COLOR_FIXES)
    if method == "adain":
        return adain_color_fix(out, ref)
    if method == "wavelet":
        return wavelet_color_fix(out, ref)
    return out
