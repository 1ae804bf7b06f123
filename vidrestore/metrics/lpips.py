"""LPIPS v0.1 (AlexNet), computed only with weights that resolve offline; never downloads.

LPIPS (Zhang et al., CVPR 2018) compares deep features of two images: both go through the
ImageNet AlexNet features (after a fixed per-channel scaling of the ``[-1, 1]`` input), the
activations after each of the five ReLUs are unit-normalised along channels, their squared
difference is weighted per channel by a learned 1x1 head, averaged over space and summed over
the five layers. 0 means identical; larger is more different (typical restoration values
0.05..0.5).

Convention: inputs are ``(N, 3, H, W)`` float RGB in ``[0, 1]`` (mapped to ``[-1, 1]``
internally, LPIPS' ``normalize=True``). Inputs smaller than 32 px on a side are refused
(AlexNet's strides leave no feature map).

Weights: see :mod:`vidrestore.metrics.lpips_weights`. :func:`lpips_status` says whether both
files resolve (and why not); :func:`load_lpips` raises :class:`WeightsNotFoundError` naming the
missing file and the command that fetches it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from vidrestore.errors import ShapeError, VidrestoreError
from vidrestore.metrics.lpips_weights import resolve_lpips_weights
from vidrestore.tensors import check_same_shape, check_shape
from vidrestore.weights import load_state_dict

log = logging.getLogger(__name__)

#: Channels after each of the five ReLUs of AlexNet's ``features``.
ALEX_CHANNELS = (64, 192, 384, 256, 256)
#: Indices into torchvision's ``alexnet().features`` where each LPIPS stage ends (exclusive).
ALEX_STAGE_ENDS = (2, 5, 8, 10, 12)
# Per-channel input scaling of LPIPS for inputs in [-1, 1] (the "ScalingLayer").
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
_EPS = 1e-10
MIN_SIZE = 32


class LPIPSAlex(nn.Module):
    """LPIPS network with an AlexNet trunk and five linear heads (no dropout: evaluation only)."""

    def __init__(self) -> None:
        super().__init__()
        features = _alex_features()
        starts = (0, *ALEX_STAGE_ENDS[:-1])
        self.stages = nn.ModuleList(nn.Sequential(*features[a:b]) for a, b in zip(starts, ALEX_STAGE_ENDS))
        self.heads = nn.ModuleList(nn.Conv2d(c, 1, kernel_size=1, bias=False) for c in ALEX_CHANNELS)
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def load_backbone(self, state: Mapping[str, torch.Tensor]) -> None:
        """Load torchvision AlexNet weights (``features.N.weight`` keys; the classifier is ignored)."""
        mapping: dict[str, torch.Tensor] = {}
        starts = (0, *ALEX_STAGE_ENDS[:-1])
        for stage, (a, b) in enumerate(zip(starts, ALEX_STAGE_ENDS)):
            for idx in range(a, b):
                for kind in ("weight", "bias"):
                    key = f"features.{idx}.{kind}"
                    if key in state:
                        mapping[f"stages.{stage}.{idx - a}.{kind}"] = state[key]
        own = {k for k in self.state_dict() if k.startswith("stages.")}
        missing = sorted(own - set(mapping))
        if missing:
            raise VidrestoreError(f"AlexNet checkpoint lacks {', '.join(missing[:4])}: not a torchvision alexnet state dict")
        self.load_state_dict(mapping, strict=False)

    def load_heads(self, state: Mapping[str, torch.Tensor]) -> None:
        """Load LPIPS linear heads (``linK.model.1.weight`` keys as the official v0.1 files have)."""
        mapping = {}
        for k, c in enumerate(ALEX_CHANNELS):
            key = f"lin{k}.model.1.weight"
            if key not in state:
                raise VidrestoreError(f"LPIPS head checkpoint lacks {key!r}: not an LPIPS v0.1 alex file")
            w = state[key]
            if tuple(w.shape) != (1, c, 1, 1):
                raise VidrestoreError(f"LPIPS head {key}: expected shape (1, {c}, 1, 1), got {tuple(w.shape)}")
            mapping[f"heads.{k}.weight"] = w
        self.load_state_dict(mapping, strict=False)

    def forward(self, img0: torch.Tensor, img1: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` x2 in [0, 1] -> distances ``(N,)``."""
        for name, x in (("img0", img0), ("img1", img1)):
            check_shape(x, ("N", 3, "H", "W"), name)
        check_same_shape(img1, img0, "img1", "img0")
        if min(img0.shape[-2:]) < MIN_SIZE:
            raise ShapeError("img0", img0.shape, f"(N, 3, H, W) with H, W >= {MIN_SIZE}")
        x0 = ((img0.float() * 2.0 - 1.0) - self.shift) / self.scale
        x1 = ((img1.float() * 2.0 - 1.0) - self.shift) / self.scale
        total = img0.new_zeros(img0.shape[0], dtype=torch.float32)
        for stage, head in zip(self.stages, self.heads):
            x0, x1 = stage(x0), stage(x1)
            d = (_unit(x0) - _unit(x1)) ** 2
            total = total + head(d).mean(dim=(1, 2, 3))
        return total


def _alex_features() -> nn.Sequential:
    """The layers of torchvision's ``alexnet().features`` with the same indices (so checkpoint keys
    ``features.N.*`` map one to one), without building the 58M-parameter classifier."""
    return nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )


def _unit(feat: torch.Tensor) -> torch.Tensor:
    norm = torch.sqrt((feat * feat).sum(dim=1, keepdim=True))
    return feat / (norm + _EPS)


def load_lpips(
    *,
    backbone: str | os.PathLike[str] | None = None,
    heads: str | os.PathLike[str] | None = None,
    device: str | torch.device = "cpu",
) -> LPIPSAlex:
    """Build LPIPS-alex with verified weights on ``device``; never downloads."""
    backbone_path, heads_path = resolve_lpips_weights(backbone, heads)
    net = LPIPSAlex()
    net.load_backbone(_tensors(load_state_dict(backbone_path)))
    net.load_heads(_tensors(load_state_dict(heads_path)))
    log.info("LPIPS: backbone %s, heads %s", backbone_path, heads_path)
    return net.to(device)


def _tensors(sd: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}


@torch.no_grad()
def lpips_distance(net: LPIPSAlex, img: np.ndarray, other: np.ndarray) -> float:
    """LPIPS between two RGB uint8/uint16 ``(H, W, 3)`` images of the same shape."""
    from vidrestore.tensors import to_tensor

    device = next(net.parameters()).device
    return float(net(to_tensor(img, device), to_tensor(other, device))[0])
