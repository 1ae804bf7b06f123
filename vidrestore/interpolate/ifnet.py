"""IFNet, "HD v3" variant: the flow network of RIFE (Huang et al., "Real-Time Intermediate Flow
Estimation for Video Frame Interpolation", ECCV 2022), written for vidrestore from the paper's
description and the layout of the released checkpoint.

What the network computes, for two frames I0, I1 (N, 3, H, W) in [0, 1], channels in the order the
released model was trained on (BGR):

* three :class:`IFBlock` stages, coarse to fine (the frames seen at 1/4, 1/2 and 1/1 of their size);
  each looks at both frames warped by the current estimate plus the current fusion mask and
  predicts a *residual* of the two flows from the middle frame back to I0 and on to I1
  (``(N, 4, H, W)``: dx, dy to I0, then dx, dy to I1) and of the mask's logit;
* every stage is evaluated twice, on (I0, I1, mask) and on (I1, I0, -mask), and the two answers are
  averaged with the second one's roles swapped: the estimate is symmetric in time by construction;
* the middle frame is ``sigmoid(mask) * warp(I0) + (1 - sigmoid(mask)) * warp(I1)``.

The checkpoint also holds ``block_tea`` (the distillation teacher that saw the true middle frame
in training). It is kept as a module so the state dict loads strictly, and never run.

Both passes of a stage run as one batch of two (one convolution call instead of two). The state
dict keys are the checkpoint's once its ``module.`` prefix is stripped (:func:`strip_prefix`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

#: Channel width of every IFBlock in the HD v3 model, and its three scales.
WIDTH = 90
SCALES = (4.0, 2.0, 1.0)
#: Frames are padded to a multiple of this (stride 4 of conv0, times the coarsest scale 4, times 2).
ALIGN = 32


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    """3x3 convolution with a per-channel PReLU (keys ``.0`` conv, ``.1`` PReLU)."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=True), nn.PReLU(cout))


def _up_head(width: int, cout: int) -> nn.Sequential:
    """Two stride-2 transposed convolutions back to the block's input resolution (4x)."""
    half = width // 2
    return nn.Sequential(nn.ConvTranspose2d(width, half, 4, 2, 1), nn.PReLU(half),
                         nn.ConvTranspose2d(half, cout, 4, 2, 1))


def _resize(x: torch.Tensor, factor: float) -> torch.Tensor:
    if factor == 1.0:
        return x
    return F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False,
                         recompute_scale_factor=False)


class IFBlock(nn.Module):
    """One coarse-to-fine stage: (frames, mask, current flow) at 1/scale -> residual flow and mask logit."""

    def __init__(self, in_channels: int, width: int = WIDTH) -> None:
        super().__init__()
        self.conv0 = nn.Sequential(_conv(in_channels, width // 2, 2), _conv(width // 2, width, 2))
        self.convblock0 = nn.Sequential(_conv(width, width), _conv(width, width))
        self.convblock1 = nn.Sequential(_conv(width, width), _conv(width, width))
        self.convblock2 = nn.Sequential(_conv(width, width), _conv(width, width))
        self.convblock3 = nn.Sequential(_conv(width, width), _conv(width, width))
        self.conv1 = _up_head(width, 4)  # residual flow (to I0, to I1)
        self.conv2 = _up_head(width, 1)  # residual mask logit

    def forward(self, x: torch.Tensor, flow: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        x = _resize(x, 1.0 / scale)
        flow = _resize(flow, 1.0 / scale) * (1.0 / scale)
        feat = self.conv0(torch.cat((x, flow), 1))
        for res in (self.convblock0, self.convblock1, self.convblock2, self.convblock3):
            feat = res(feat) + feat
        return _resize(self.conv1(feat), scale) * scale, _resize(self.conv2(feat), scale)


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Bilinear backward warp with the network's own convention (corner-aligned grid, border padding).

    The model was trained with this sampling; :mod:`vidrestore.flow.warp` uses pixel centres
    (``align_corners=False``), which shifts samples by a fraction of a pixel and costs accuracy here.
    """
    n, _, h, w = flow.shape
    ys = torch.linspace(-1.0, 1.0, h, device=flow.device, dtype=flow.dtype)
    xs = torch.linspace(-1.0, 1.0, w, device=flow.device, dtype=flow.dtype)
    gx = xs.view(1, 1, w).expand(n, h, w) + flow[:, 0] * (2.0 / (w - 1.0))
    gy = ys.view(1, h, 1).expand(n, h, w) + flow[:, 1] * (2.0 / (h - 1.0))
    grid = torch.stack((gx, gy), dim=3)
    return F.grid_sample(image, grid.to(image.dtype), mode="bilinear", padding_mode="border", align_corners=True)


_SWAP = [2, 3, 0, 1]  # (to I0, to I1) <-> (to I1, to I0)


class IFNet(nn.Module):
    """The HD v3 flow network (see the module docstring). :meth:`forward` returns ``(flow, mask_logit)``."""

    def __init__(self, width: int = WIDTH) -> None:
        super().__init__()
        self.block0 = IFBlock(7 + 4, width)
        self.block1 = IFBlock(7 + 4, width)
        self.block2 = IFBlock(7 + 4, width)
        self.block_tea = IFBlock(10 + 4, width)  # training-time teacher: loaded, never run

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, scales: Sequence[float] = SCALES,
                ) -> tuple[torch.Tensor, torch.Tensor]:
        n, _, h, w = img0.shape
        flow = img0.new_zeros(n, 4, h, w)
        mask = img0.new_zeros(n, 1, h, w)
        warped0, warped1 = img0, img1
        for block, scale in zip((self.block0, self.block1, self.block2), scales):
            x = torch.cat((torch.cat((warped0, warped1, mask), 1), torch.cat((warped1, warped0, -mask), 1)), 0)
            f, m = block(x, torch.cat((flow, flow[:, _SWAP]), 0), scale)
            flow = flow + (f[:n] + f[n:, _SWAP]) * 0.5
            mask = mask + (m[:n] - m[n:]) * 0.5
            warped0 = warp(img0, flow[:, :2])
            warped1 = warp(img1, flow[:, 2:])
        return flow, mask


def strip_prefix(state: Mapping[str, Any], prefix: str = "module.") -> dict[str, Any]:
    """The checkpoint's keys without the ``module.`` that ``DataParallel`` added when it was saved."""
    return {k.removeprefix(prefix): v for k, v in state.items()}


def build_ifnet(state: Mapping[str, Any]) -> IFNet:
    """An :class:`IFNet` in eval mode with ``state`` loaded strictly (every key, every shape)."""
    net = IFNet()
    net.load_state_dict(strip_prefix(state), strict=True)
    return net.eval().requires_grad_(False)


def merge(img0: torch.Tensor, img1: torch.Tensor, flow: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The middle frame from the network's flows and mask logit (as the model was trained)."""
    m = torch.sigmoid(mask)
    return warp(img0, flow[:, :2]) * m + warp(img1, flow[:, 2:]) * (1.0 - m)
