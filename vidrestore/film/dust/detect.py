"""The dust detector of one frame: per-pixel evidence, then regions, then the region tests (package docstring)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from vidrestore.film.dust import regions
from vidrestore.film.dust.evidence import Differences, Levels, seeds
from vidrestore.film.ops import dilate, luma

if TYPE_CHECKING:
    from collections.abc import Sequence

    import torch

    from vidrestore.film.dust.params import DustParams


@dataclass(frozen=True)
class Detection:
    mask: torch.Tensor  # (1, 1, H, W) bool: the detected blotch pixels
    repair_mask: torch.Tensor  # (1, 1, H, W) bool: ``mask`` dilated by ``dilate`` px (what gets repaired)
    threshold: float
    noise: float
    regions: int
    rejected_large: int


@dataclass(frozen=True)
class Neighbourhood:
    """What the detector reads about frame t: the frame, its ``K`` neighbours warped onto it, and their trust.

    ``center`` ``(1, 3, H, W)``; ``warped`` ``(K, 3, H, W)``; ``valid`` ``(K, 1, H, W)`` bool;
    ``sides[k]`` is -1 for a past neighbour, +1 for a future one; ``offsets`` (default: ``sides``)
    picks the nearest neighbours for the noise estimate. ``covered`` (bool ``(1, 1, H, W)``,
    :func:`~vidrestore.film.align.side_coverage`) marks where a side without any in-frame match may
    be missing (shot ends, frame edges in a pan); elsewhere both sides must have a valid neighbour.
    With ``inside`` (``(K, 1, H, W)``, matches inside the neighbour's frame) and ``motion``
    (``(1, 1, H, W)`` local motion in px), strong outliers are also taken where the flow check
    failed. ``clipped`` = ``(white, black)`` bool ``(1, 1, H, W)``
    (:func:`~vidrestore.film.dust.evidence.clip_masks`): where the frame as scanned is clipped white,
    it is not darker dirt (the exposure correction only made a clipped highlight look dark), and
    likewise for black. ``flows`` (``(K, 2, H, W)``, ``flow_{t -> t+k}`` in px) lets the region
    tests tell a region far from any motion boundary. ``sources`` (the ``K`` neighbours not warped,
    same order, each ``(3, H, W)`` or ``(1, 3, H, W)``) with ``flows`` lets
    :func:`~vidrestore.film.dust.regions.moved_content` drop regions near a motion edge whose content
    a nearest neighbour holds a little further than the flow says; only the nearest are read, and
    only when a region is left to test.
    """

    center: torch.Tensor
    warped: torch.Tensor
    valid: torch.Tensor
    sides: list[int]
    offsets: list[int] = field(default_factory=list)
    covered: torch.Tensor | None = None
    inside: torch.Tensor | None = None
    motion: torch.Tensor | None = None
    clipped: tuple[torch.Tensor, torch.Tensor] | None = None
    flows: torch.Tensor | None = None
    sources: Sequence[torch.Tensor] | None = None

    def __post_init__(self) -> None:
        if not self.offsets:
            object.__setattr__(self, "offsets", list(self.sides))

    def per_frame_flows(self) -> np.ndarray | None:
        """``flows`` divided by each neighbour's distance in frames (px per frame), as NumPy; None without flows."""
        import torch

        if self.flows is None:
            return None
        k = len(self.offsets)
        step = torch.tensor([abs(o) for o in self.offsets], dtype=self.flows.dtype, device=self.flows.device)
        return (self.flows / step.view(k, 1, 1, 1)).cpu().numpy()


def detect(nb: Neighbourhood, params: DustParams) -> Detection:
    """Blotch mask of ``nb.center``: seeds from the per-pixel evidence, grown into regions, then the regions
    that pass every test; the repair mask is that, dilated by ``params.dilate``."""
    import torch

    h, w = nb.center.shape[-2:]
    if nb.warped.shape[0] == 0:
        none = torch.zeros(1, 1, h, w, dtype=torch.bool, device=nb.center.device)
        return Detection(mask=none, repair_mask=none, threshold=params.threshold, noise=0.0, regions=0,
                         rejected_large=0)
    diff = Differences.of(nb.center, nb.warped, nb.valid)
    levels = Levels.measure(diff, nb.valid, nb.offsets, params)
    strong, weak, own = seeds(nb, diff, levels, params)
    keep, rejected = _grow(strong, weak, own, params, h * w)
    keep, count = _test_regions(keep, nb, diff, params)
    mask = torch.from_numpy(keep)[None, None].to(nb.center.device)
    return Detection(mask=mask, repair_mask=dilate(mask, params.dilate), threshold=levels.thr, noise=levels.noise,
                     regions=count, rejected_large=rejected)


def _grow(strong: np.ndarray, weak: np.ndarray, own: np.ndarray, params: DustParams, pixels: int
          ) -> tuple[np.ndarray, int]:
    """Seeds grown into the weak pixels around them (hysteresis), too-large regions dropped, then only pixels
    that differ themselves (the 3x3 mean spreads a blotch by a pixel) and no grain-sized specks.
    Returns the mask and the number of regions dropped as too large."""
    keep, _, rejected = regions.hysteresis(strong, weak, int(params.max_area * pixels))
    keep &= own
    keep, _ = regions.drop_specks(keep, params.min_area)
    return keep, rejected


def _test_regions(keep: np.ndarray, nb: Neighbourhood, diff: Differences, params: DustParams
                  ) -> tuple[np.ndarray, int]:
    """The regions that are dirt rather than a failed alignment (:mod:`.regions`), and their number."""
    per_frame = nb.per_frame_flows()
    yc = diff.yc[0, 0].cpu().numpy()
    keep, count = regions.stand_out(keep, yc, diff.d.mean(0)[0].cpu().numpy(), flows=per_frame,
                                    uniform=params.uniform_flow)
    if params.sides_agree is not None and count:
        # what a neighbour shows counts wherever its match lies inside its frame, reliable or not: a strong
        # outlier found where the flow check failed is judged on the same pictures
        shown = nb.valid | nb.inside if nb.inside is not None else nb.valid
        keep, count = regions.sides_agree(keep, yc, diff.yn[:, 0].cpu().numpy(), shown[:, 0].cpu().numpy(),
                                          nb.offsets, params.sides_agree)
    if params.moved_flow is not None and per_frame is not None and nb.sources is not None and count:
        keep, count = _moved(keep, nb, yc, params)
    if params.edge_flow is not None and per_frame is not None:
        keep, count = regions.away_from_motion_edges(keep, per_frame, params.edge_flow)
    return keep, count


def _moved(keep: np.ndarray, nb: Neighbourhood, yc: np.ndarray, params: DustParams) -> tuple[np.ndarray, int]:
    """:func:`~.regions.moved_content` against the nearest neighbours only: a failed alignment there is a small
    displacement away."""
    import torch

    assert nb.sources is not None and nb.flows is not None and params.moved_flow is not None
    h, w = yc.shape
    step = min(abs(x) for x in nb.offsets)
    near_k = [i for i, o in enumerate(nb.offsets) if abs(o) == step]
    near = luma(torch.cat([nb.sources[i].reshape(1, 3, h, w) for i in near_k]))[:, 0].cpu().numpy()
    return regions.moved_content(keep, yc, near, nb.flows[near_k].cpu().numpy(), params.moved_flow,
                                 params.moved_ratio, max(4, int(np.ceil(params.moved_search * w * step))), step)


def detect_blotches(center: torch.Tensor, warped: torch.Tensor, valid: torch.Tensor, sides: list[int],
                    params: DustParams, offsets: list[int] | None = None, covered: torch.Tensor | None = None,
                    inside: torch.Tensor | None = None, motion: torch.Tensor | None = None,
                    clipped: tuple[torch.Tensor, torch.Tensor] | None = None,
                    flows: torch.Tensor | None = None, sources: Sequence[torch.Tensor] | None = None) -> Detection:
    """:func:`detect` with the neighbourhood given piece by piece (the fields of :class:`Neighbourhood`)."""
    nb = Neighbourhood(center=center, warped=warped, valid=valid, sides=list(sides),
                       offsets=list(offsets) if offsets is not None else list(sides), covered=covered,
                       inside=inside, motion=motion, clipped=clipped, flows=flows, sources=sources)
    return detect(nb, params)
