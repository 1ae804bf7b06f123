"""The dust detector's parameters: the ``film.dust`` section's knobs as the detector reads them, plus fixed ones.

Built from the section in one place (:meth:`DustParams.of`): there a knob's "0 = off" becomes None
(the detector then skips that test), and the second dust pass gets its motion-edge limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vidrestore.film.config import DustConfig


@dataclass(frozen=True)
class DustParams:
    threshold: float = 0.05  # least difference (0..1) from every valid neighbour
    sigmas: float = 4.0  # ... and this many robust sigmas of the measured differences
    max_area: float = 0.01  # share of the frame above which a region is not dirt
    dilate: int = 1  # px
    min_area: int = 4  # px: smaller regions are grain, not dirt
    min_neighbours: int = 2
    max_motion: float = 0.03  # no detection where the picture moves faster (share of the frame width per frame)
    override_contrast: float = 0.25  # outliers this strong count without flow confidence ...
    override_motion: float = 0.02  # ... where the local motion is below this share of the frame width
    one_sided_contrast: float = 0.15  # least outlier (and >= 2 T) where only one side in time exists
    uniform_flow: float = 0.5  # px per frame: flow spread around a region under which no motion boundary is near
    edge_flow: float | None = None  # px per frame: drop regions whose surroundings' flow spreads more (None = off)
    moved_flow: float | None = 1.0  # px per frame: near a motion edge (flow spread above this), look for the region's
    #                                  content displaced in the neighbours (:func:`~.regions.moved_content`; None = off)
    moved_ratio: float = 0.7  # ... found when a shifted match explains the region this much better than the flow did
    moved_search: float = 0.02  # ... searched within this share of the frame width around the flow's match
    sides_agree: float | None = 0.2  # a region is dirt only if some past and some future neighbour agree on what is
    #                                  under it: their difference there (less the frame's usual one) under this share
    #                                  of the region's contrast (:func:`~.regions.sides_agree`; None = off)

    def __post_init__(self) -> None:
        if self.threshold <= 0 or self.sigmas < 0:
            raise ValueError("dust threshold must be > 0 and sigmas >= 0")
        if self.min_neighbours < 1:
            raise ValueError("dust min_neighbours must be >= 1")
        if not 0 < self.moved_ratio < 1 or self.moved_search < 0:
            raise ValueError("dust moved_ratio must be in (0, 1) and moved_search >= 0")
        if self.sides_agree is not None and self.sides_agree <= 0:
            raise ValueError("dust sides_agree must be > 0 (or None = off)")

    @classmethod
    def of(cls, section: DustConfig, *, second_pass: bool = False) -> DustParams:
        """The detector's parameters for the ``film.dust`` section (the second pass also avoids motion edges)."""
        return cls(threshold=section.threshold, sigmas=section.sigmas, max_area=section.max_area,
                   dilate=section.dilate, max_motion=section.max_motion,
                   override_contrast=section.override_contrast, one_sided_contrast=section.one_sided_contrast,
                   uniform_flow=section.uniform_flow, moved_flow=section.moved_flow or None,
                   moved_ratio=section.moved_ratio, moved_search=section.moved_search,
                   sides_agree=section.sides_agree or None,
                   edge_flow=section.second_pass_flow if second_pass else None)
