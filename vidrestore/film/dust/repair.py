"""Dust repair: each masked pixel takes one aligned neighbour's colour, the one whose luma is the weighted median.

Taking one neighbour's RGB (not a per-channel median) keeps colours consistent; pixels no valid
neighbour sees are filled from their surroundings, and the repair is feathered over one pixel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vidrestore.film.ops import box_blur, dilate, fill_from_surroundings, luma

if TYPE_CHECKING:
    import torch


def weighted_median_pick(warped: torch.Tensor, weights: torch.Tensor, where: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For the pixels in ``where`` (bool ``(1, 1, H, W)``): RGB of the neighbour with the weighted-median luma.

    ``warped`` ``(K, 3, H, W)``, ``weights`` ``(K, 1, H, W)`` (0 = not usable). Returns ``(rgb (3, P),
    has_any (P,))`` for the ``P`` selected pixels in row-major order.
    """
    import torch

    sel = where[0, 0]
    y = luma(warped)[:, 0][:, sel]  # (K, P)
    wt = weights[:, 0][:, sel].float()
    big = torch.where(wt > 0, y, torch.full_like(y, float("inf")))
    order = big.argsort(dim=0)
    w_sorted = wt.gather(0, order)
    cum = w_sorted.cumsum(0)
    total = cum[-1:]
    pos = (cum >= 0.5 * total).float().argmax(0, keepdim=True)  # first index reaching half the weight
    pick = order.gather(0, pos)[0]  # (P,)
    rgb = warped[:, :, sel]  # (K, 3, P)
    out = rgb.gather(0, pick.view(1, 1, -1).expand(1, 3, -1))[0]
    return out, total[0] > 0


def repair(center: torch.Tensor, warped: torch.Tensor, weights: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Replace ``mask`` pixels of ``center`` by the weighted median of the aligned neighbours (feathered 1 px)."""
    import torch

    if not bool(mask.any()):
        return center
    region = dilate(mask, 1)
    filled = center.clone()
    if warped.shape[0] > 0:
        rgb, has = weighted_median_pick(warped, weights, region)
        sel = region[0, 0]
        flat = filled[0][:, sel]
        flat[:, has] = rgb[:, has]
        filled[0][:, sel] = flat
        missing = torch.zeros_like(region)
        missing[0, 0][sel] = ~has
    else:
        missing = region
    if bool(missing.any()):
        filled = torch.where(missing.expand_as(filled), fill_from_surroundings(center, region, size=7), filled)
    alpha = torch.maximum(mask.float(), box_blur(mask.float(), 3)) * region.float()
    return center * (1 - alpha) + filled * alpha
