"""Dust and dirt: blotches are temporal outliers that the aligned neighbours disagree with.

Detection belongs to the spike-detection-index family (Kokaram, "Motion Picture Restoration",
1998): a pixel of a blotch differs from the motion-compensated previous *and* next frames, with the
same sign, by more than a threshold; a moving object or an uncovered region differs in one
direction only. Here, with ``K`` neighbours (``+-1 .. +-r``) warped onto frame t:

* ``d_k = box3(Y_t - Y_k) - bias_k``: luma differences, averaged over 3x3 so that grain does not
  trigger it, minus their slowly varying part (:func:`.evidence.local_bias`: what deflicker left).
* Only *valid* neighbour pixels count (flow confidence >= 0.5, inside the frame): an occluded or
  badly aligned pixel is neither evidence for nor against a blotch. This is what keeps real motion
  from being taken for dirt.
* A pixel is a blotch seed when every valid neighbour differs by more than ``T`` with the same
  sign (rank-ordered: Y_t lies outside the range of the neighbours), and by more than the
  neighbours differ among themselves (their range, 3x3 means): neighbours that disagree with each
  other mean the alignment failed, as on fast or blurred motion. At least ``min_neighbours`` must
  be valid and come from both sides in time: a pixel occluded on one side is left alone (dirt and
  motion cannot be told apart there). Only where one side has no in-frame match at all (the first
  and last frames of a shot, the edge a pan brings in) do same-side neighbours suffice; they must
  agree with each other within ``T``, the outlier must be clear (``one_sided_contrast``, at least
  ``2 T``) and the picture slow (``override_motion``): a change that lasts looks the same from one
  side (the choice of ``one_sided_contrast`` is measured in docs/BENCHMARKS.md). Copies of
  one another among them (a telecine's repeated frame) count as one picture, and one side alone must
  hold two different pictures: two copies agree with each other whatever they show.
* ``T = max(threshold, sigmas * noise)``, where ``noise`` is the robust (MAD) spread of ``d`` for the
  nearest neighbours, measured on the frame itself: strong grain raises the bar automatically.
* Strong outliers (``override_contrast``, at least ``2 T``) also count where the flow check failed
  (the neighbours need only see the pixel inside their frame), provided the local motion is slow
  (under ``override_motion`` of the frame width): a high-contrast blotch breaks the flow around
  itself, and a slow scene is not where alignment fails by that much.
* With 4 or more neighbours all valid and a slow picture, one of them may agree with a strong
  blotch (its flow locked onto the blotch, matching it to something alike nearby, and the round trip
  closed): the others decide without it, on the same terms (both sides, agreeing among
  themselves), for strong outliers (``override_contrast``) only. A neighbour that repeats the frame
  (telecine) is never left out.
* Nothing is detected where the picture moves faster than ``max_motion`` of the frame width per
  frame (a 31 px mean of the flow to the nearest neighbours): on fast, blurred motion the flow
  check passes wrong matches often enough that limbs and props would be taken for dirt.
* Hysteresis: seeds grow into connected pixels that pass ``T / 2`` (the soft rim of a blotch).
  Regions larger than ``max_area`` (share of the frame) are dropped: dirt is small, disagreement
  that large is a flow failure; regions under ``min_area`` px (default 4) are grain. A region must
  also stand out in the frame itself (:func:`.regions.stand_out`: darker or brighter than a ring around it,
  by a quarter of its temporal difference): a speck does, a piece of a moving limb whose alignment
  failed does not. Where the flow around a region is uniform (``uniform_flow``: no motion edge
  near, so alignment cannot have failed on one), being darker (brighter) than the bright (dark)
  side of the ring is enough: dirt on the border of a cloud and a dark field is no darker than the
  ring's median. Next to a motion edge (``moved_flow``), a region whose content the nearest
  neighbours hold a few pixels away from where the flow points (:func:`.regions.moved_content`) is a limb
  the flow missed, not dirt. And dirt hides one picture that goes on, so some past and some
  future neighbour must agree about what lies under a region (:func:`.regions.sides_agree`,
  ``sides_agree``): where they show two different things, the flow missed motion and a repair
  would paste a mix of both. The mask is dilated by ``dilate`` px for the repair.

Repair: each masked pixel takes the colour of the neighbour whose luma is the confidence-weighted
median of the valid neighbours (one neighbour's RGB, so colours stay consistent); pixels no valid
neighbour sees are filled from their surroundings. The repair is feathered over one pixel.

Modules: :mod:`.params` (the knobs, built from the ``film.dust`` section), :mod:`.evidence` (the
per-pixel tests), :mod:`.regions` (the region tests), :mod:`.detect` (the detector of one frame),
:mod:`.repair`.
"""

from __future__ import annotations

from vidrestore.film.dust.detect import (
           Detection,
           Neighbourhood,
           detect,
           detect_blotches,
)
from vidrestore.film.dust.evidence import SAME_PICTURE, clip_masks, local_bias
from vidrestore.film.dust.params import DustParams
from vidrestore.film.dust.repair import repair, weighted_median_pick

__all__ = ["SAME_PICTURE", "Detection", "DustParams", "Neighbourhood", "clip_masks", "detect", "detect_blotches",
           "local_bias", "repair", "weighted_median_pick"]
