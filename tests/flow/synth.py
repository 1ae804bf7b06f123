"""Synthetic flow pairs made from real frames: known flow, known occlusion."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


def load_rgb(path: Path) -> torch.Tensor:
    """A PNG as ``(1, 3, H, W)`` float32 in [0, 1]."""
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(path)
    return torch.from_numpy(np.ascontiguousarray(bgr[:, :, ::-1])).permute(2, 0, 1)[None].float() / 255.0


def smooth_field(height: int, width: int, max_px: float, gen: torch.Generator, grid: int = 4) -> torch.Tensor:
    """A smooth random flow ``(1, 2, H, W)`` whose largest |component| is exactly ``max_px``."""
    low = torch.rand(1, 2, grid, grid, generator=gen) * 2 - 1
    field = torch.nn.functional.interpolate(low, size=(height, width), mode="bicubic", align_corners=True)
    return field / field.abs().amax() * max_px


def ellipse_mask(height: int, width: int, cx: float, cy: float, rx: float, ry: float) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(height).float(), torch.arange(width).float(), indexing="ij")
    return ((((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2) <= 1.0).float()[None, None]


@dataclass
class LayeredPair:
    frame_t: torch.Tensor
    frame_s: torch.Tensor
    flow_t_to_s: torch.Tensor  # ground truth
    flow_s_to_t: torch.Tensor  # ground truth of the other direction
    occluded: torch.Tensor  # bool (1, 1, H, W): pixels of t hidden in s (not counting out of frame)
    in_frame: torch.Tensor  # bool: the true match lies inside s (1 px margin)


def layered_pair(background: torch.Tensor, texture: torch.Tensor, gen: torch.Generator, *,
                 bg_px: float = 4.0, object_px: float = 8.0) -> LayeredPair:
    """A textured ellipse moving ``object_px`` over a background moving by a smooth field.

    Frame s is the background image with the object; frame t is the background backward-warped by
    the smooth field with the object shifted. Background pixels of t whose match in s falls under
    the object are truly occluded.
    """
    from vidrestore.flow import backward_warp, valid_mask

    _, _, h, w = background.shape
    flow_bg = smooth_field(h, w, bg_px, gen)
    angle = float(torch.rand(1, generator=gen)) * 2 * math.pi
    d = torch.tensor([math.cos(angle), math.sin(angle)]) * object_px
    shift = d.view(1, 2, 1, 1).expand(1, 2, h, w)
    mask_t = ellipse_mask(h, w, w / 2, h / 2, w / 5, h / 4)
    mask_s = backward_warp(mask_t, -shift, mode="nearest")  # mask_s(x) = mask_t(x - d)
    tex_s = backward_warp(texture, -shift)
    frame_t = mask_t * texture + (1 - mask_t) * backward_warp(background, flow_bg)
    frame_s = mask_s * tex_s + (1 - mask_s) * background
    truth = torch.where(mask_t.bool(), shift, flow_bg)
    truth_back = torch.where(mask_s.bool(), -shift, invert_flow(flow_bg))
    occluded = ~mask_t.bool() & (backward_warp(mask_s, flow_bg, mode="nearest") > 0.5)
    return LayeredPair(frame_t, frame_s, truth, truth_back, occluded, valid_mask(truth, margin=-1.0))


def invert_flow(flow: torch.Tensor, iterations: int = 20) -> torch.Tensor:
    """Inverse of a smooth, invertible flow by fixed-point iteration: ``inv(y) = -flow(y + inv(y))``."""
    from vidrestore.flow import backward_warp

    inv = -flow.clone()
    for _ in range(iterations):
        inv = -backward_warp(flow, inv)
    return inv
