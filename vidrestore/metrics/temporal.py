"""Temporal-consistency metrics: warping error and flicker index.

Both look at consecutive frame pairs ``(t-1, t)`` of a clip and need to know how the scene moved
between them. That motion is taken from a *guide*: the reference (or input) clip, never the clip
being judged, so a restorer cannot make its own artefacts look consistent. Motion for a pair is a
:class:`PairMotion`: ``flow_t_to_prev`` (``(1, 2, H, W)`` pixels, channel 0 = dx, from the flow
estimator of :mod:`vidrestore.flow`) and ``valid``, the pixels of frame t that are visible in
frame t-1 (forward-backward consistent and inside the frame).

* **Warping error** (Lai et al., "Learning Blind Video Temporal Consistency", ECCV 2018): frame
  t-1 of the judged clip is backward-warped to t with the guide's flow, and the squared difference
  to frame t is averaged over the valid pixels and the three RGB channels, in ``[0, 1]`` units
  (an MSE; multiply by 1000 for the "x 10^-3" tables of papers). A perfectly stable clip of a
  static scene scores 0; flicker, shimmer and temporal noise raise it.
* **Flicker index**: the frame-to-frame change of mean brightness in static regions, in 8-bit luma
  levels (BT.601 weights, 0..255). Static regions are pixels where the guide itself did not
  change after motion compensation (``|blur(Y_t) - blur(Y(warp(t-1))) - m| < static_threshold``,
  ``m`` the median change, so a guide's own global brightness drift does not empty the mask) and
  are valid. Per pair the index is ``|mean_S(Y_t) - mean_S(warp(Y_t-1))|`` of the judged clip.
  Pairs whose static region covers less than ``min_static_fraction`` of the frame are ``nan``
  (reported, left out of means). Without motion (``motion=None``) the static regions are those of
  a fixed camera: zero flow, every pixel in frame.

Frames are torch tensors ``(1, 3, H, W)`` float32 in ``[0, 1]`` (``vidrestore.tensors.to_tensor``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from vidrestore.errors import ShapeError
from vidrestore.tensors import check_shape

if TYPE_CHECKING:
    import torch

    from vidrestore.flow.base import FlowEstimator

#: BT.601 luma weights (full range) used for brightness.
LUMA = (0.299, 0.587, 0.114)
#: Box blur (pixels) applied to the guide before deciding what is static, so grain and noise
#: do not break up the static regions.
STATIC_BLUR = 5
STATIC_THRESHOLD = 0.02
MIN_STATIC_FRACTION = 0.01


@dataclass(frozen=True)
class PairMotion:
    """How the guide moved from frame t-1 to frame t.

    ``flow_t_to_prev`` is ``(1, 2, H, W)`` float32 pixels; ``valid`` is ``(1, 1, H, W)`` bool,
    True where pixel x of frame t is visible at ``x + flow`` in frame t-1.
    """

    flow_t_to_prev: torch.Tensor
    valid: torch.Tensor

    @property
    def valid_fraction(self) -> float:
        return float(self.valid.float().mean())


def _check_frame(x: torch.Tensor, name: str) -> None:
    check_shape(x, (1, 3, "H", "W"), name)


def _check_same(a: torch.Tensor, b: torch.Tensor, name: str) -> None:
    if a.shape != b.shape:
        raise ShapeError(name, b.shape, f"{tuple(a.shape)} like the frame it is compared with")


def estimate_motion(
    estimator: FlowEstimator, guide_t: torch.Tensor, guide_prev: torch.Tensor, *, occlusion_threshold: float = 1.0
) -> PairMotion:
    """Flow t -> t-1 of the guide and its non-occluded pixels (forward-backward check, one batched call)."""
    from vidrestore.flow.base import estimate_both
    from vidrestore.flow.occlusion import occlusion_mask

    _check_frame(guide_t, "guide_t")
    _check_same(guide_t, guide_prev, "guide_prev")
    flow_t_to_prev, flow_prev_to_t = estimate_both(estimator, guide_t, guide_prev)
    # The classic forward-backward test (as Lai et al. evaluate); the range-map term of
    # vidrestore.flow costs more than the rest of the metric and adds little at 1-frame spacing.
    occluded = occlusion_mask(flow_t_to_prev, flow_prev_to_t, threshold=occlusion_threshold, range_threshold=None)
    return PairMotion(flow_t_to_prev=flow_t_to_prev.float(), valid=~occluded)


def static_motion(height: int, width: int, *, device: str | torch.device = "cpu") -> PairMotion:
    """Zero motion with every pixel valid: a fixed camera."""
    import torch

    return PairMotion(
        flow_t_to_prev=torch.zeros(1, 2, height, width, device=device),
        valid=torch.ones(1, 1, height, width, dtype=torch.bool, device=device),
    )


def _warp_prev(prev: torch.Tensor, motion: PairMotion) -> torch.Tensor:
    from vidrestore.flow.warp import backward_warp

    if not bool(motion.flow_t_to_prev.abs().max() > 0):
        return prev
    return backward_warp(prev, motion.flow_t_to_prev)


def _check_motion(frame: torch.Tensor, motion: PairMotion) -> None:
    h, w = frame.shape[-2:]
    if tuple(motion.flow_t_to_prev.shape[-2:]) != (h, w):
        raise ShapeError("motion", motion.flow_t_to_prev.shape, f"(1, 2, {h}, {w}) to match the frames")


def luma(frame: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` RGB in [0, 1] -> ``(N, 1, H, W)`` BT.601 luma in [0, 1]."""
    w = frame.new_tensor(LUMA).view(1, 3, 1, 1)
    return (frame.float() * w).sum(dim=1, keepdim=True)


def _blur(y: torch.Tensor) -> torch.Tensor:
    import torch.nn.functional as F

    return F.avg_pool2d(y, STATIC_BLUR, stride=1, padding=STATIC_BLUR // 2, count_include_pad=False)


def _masked_mse(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> float:
    count = float(mask.sum())
    if count == 0:
        return math.nan
    sq = ((a - b) ** 2).sum(dim=1, keepdim=True)
    return float((sq * mask).sum()) / (a.shape[1] * count)


def _static(guide_t: torch.Tensor, guide_prev_warped: torch.Tensor, valid: torch.Tensor, threshold: float) -> torch.Tensor:
    import torch

    diff = _blur(luma(guide_t)) - _blur(luma(guide_prev_warped))
    if not bool(valid.any()):
        return valid
    offset = torch.median(diff[valid])
    return valid & ((diff - offset).abs() < threshold)


def _flicker(frame_t: torch.Tensor, frame_prev_warped: torch.Tensor, mask: torch.Tensor, min_fraction: float) -> float:
    count = float(mask.sum())
    if count < min_fraction * mask.numel() or count == 0:
        return math.nan
    diff = float(((luma(frame_t) - luma(frame_prev_warped)) * mask).sum()) / count
    return abs(diff) * 255.0


@dataclass(frozen=True)
class PairScores:
    """Temporal values of one pair for the judged clip and for its guide (reference)."""

    warp: float
    warp_guide: float
    flicker: float
    flicker_guide: float


def temporal_pair(
    frame_t: torch.Tensor,
    frame_prev: torch.Tensor,
    guide_t: torch.Tensor,
    guide_prev: torch.Tensor,
    motion: PairMotion,
    *,
    static_threshold: float = STATIC_THRESHOLD,
    min_static_fraction: float = MIN_STATIC_FRACTION,
) -> PairScores:
    """Warping error and flicker of one pair, for the judged clip and the guide, with one warp.

    Static regions: ``|blur(Y_t) - blur(Y(warp(prev))) - m| < static_threshold`` on the guide
    (see the module doc).
    """
    import torch

    _check_frame(frame_t, "frame_t")
    for name, x in (("frame_prev", frame_prev), ("guide_t", guide_t), ("guide_prev", guide_prev)):
        _check_same(frame_t, x, name)
    _check_motion(frame_t, motion)
    warped = _warp_prev(torch.cat([frame_prev.float(), guide_prev.float()], dim=1), motion)
    wf, wg = warped[:, :3], warped[:, 3:]
    valid = motion.valid
    mask_valid = valid.float()
    static = _static(guide_t.float(), wg, valid, static_threshold).float()
    return PairScores(
        warp=_masked_mse(frame_t.float(), wf, mask_valid),
        warp_guide=_masked_mse(guide_t.float(), wg, mask_valid),
        flicker=_flicker(frame_t.float(), wf, static, min_static_fraction),
        flicker_guide=_flicker(guide_t.float(), wg, static, min_static_fraction),
    )


def warping_error_pair(frame_t: torch.Tensor, frame_prev: torch.Tensor, motion: PairMotion) -> float:
    """Warping error of one pair: MSE in [0, 1] units over valid pixels; ``nan`` if none is valid."""
    _check_frame(frame_t, "frame_t")
    _check_same(frame_t, frame_prev, "frame_prev")
    _check_motion(frame_t, motion)
    return _masked_mse(frame_t.float(), _warp_prev(frame_prev.float(), motion), motion.valid.float())


def static_mask(
    guide_t: torch.Tensor,
    guide_prev: torch.Tensor,
    motion: PairMotion,
    *,
    threshold: float = STATIC_THRESHOLD,
) -> torch.Tensor:
    """Bool ``(1, 1, H, W)``: valid pixels where the guide did not change after motion compensation."""
    _check_same(guide_t, guide_prev, "guide_prev")
    _check_motion(guide_t, motion)
    return _static(guide_t.float(), _warp_prev(guide_prev.float(), motion), motion.valid, threshold)


def flicker_pair(
    frame_t: torch.Tensor,
    frame_prev: torch.Tensor,
    guide_t: torch.Tensor,
    guide_prev: torch.Tensor,
    motion: PairMotion,
    *,
    static_threshold: float = STATIC_THRESHOLD,
    min_static_fraction: float = MIN_STATIC_FRACTION,
) -> float:
    """Flicker of one pair in 8-bit luma levels; ``nan`` when the static region is too small."""
    return temporal_pair(frame_t, frame_prev, guide_t, guide_prev, motion, static_threshold=static_threshold,
                         min_static_fraction=min_static_fraction).flicker


@dataclass(frozen=True)
class TemporalScore:
    """Per-pair values (index i is the pair (i, i+1)) and their mean over the finite ones."""

    per_pair: tuple[float, ...]

    @property
    def mean(self) -> float:
        return nanmean(self.per_pair)


def nanmean(values: Sequence[float]) -> float:
    """Mean of the finite values; ``nan`` when there are none."""
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def _sequence_tensors(frames: Sequence[np.ndarray] | torch.Tensor) -> list[torch.Tensor]:
    from vidrestore.tensors import to_tensor

    if hasattr(frames, "ndim") and not isinstance(frames, np.ndarray):  # a (T, 3, H, W) tensor
        return [f.unsqueeze(0) for f in frames]  # type: ignore[union-attr]
    return [to_tensor(f) for f in frames]


def _motions(
    guide: list[torch.Tensor], estimator: FlowEstimator | None, occlusion_threshold: float
) -> list[PairMotion]:
    h, w = guide[0].shape[-2:]
    if estimator is None:
        return [static_motion(h, w, device=guide[0].device) for _ in range(len(guide) - 1)]
    return [
        estimate_motion(estimator, guide[i + 1], guide[i], occlusion_threshold=occlusion_threshold)
        for i in range(len(guide) - 1)
    ]


def _prepare_sequences(
    frames: Sequence[np.ndarray] | torch.Tensor, guide: Sequence[np.ndarray] | torch.Tensor | None
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    clip = _sequence_tensors(frames)
    ref = clip if guide is None else _sequence_tensors(guide)
    if len(ref) != len(clip):
        raise ValueError(f"guide has {len(ref)} frames, the clip {len(clip)}")
    if len(clip) < 2:
        raise ValueError(f"temporal metrics need at least 2 frames, got {len(clip)}")
    for i, (a, b) in enumerate(zip(clip, ref)):
        _check_same(b, a, f"frame {i}")
    return clip, ref


def warping_error(
    frames: Sequence[np.ndarray] | torch.Tensor,
    *,
    guide: Sequence[np.ndarray] | torch.Tensor | None = None,
    estimator: FlowEstimator | None = None,
    occlusion_threshold: float = 1.0,
) -> TemporalScore:
    """Warping error of a whole clip (RGB uint8/uint16 frames or a ``(T, 3, H, W)`` tensor).

    Motion comes from ``guide`` (default: the clip itself) with ``estimator``; without an
    estimator the camera is taken to be fixed (zero flow).
    """
    clip, ref = _prepare_sequences(frames, guide)
    motions = _motions(ref, estimator, occlusion_threshold)
    return TemporalScore(tuple(warping_error_pair(clip[i + 1], clip[i], m) for i, m in enumerate(motions)))


def flicker_index(
    frames: Sequence[np.ndarray] | torch.Tensor,
    *,
    guide: Sequence[np.ndarray] | torch.Tensor | None = None,
    estimator: FlowEstimator | None = None,
    occlusion_threshold: float = 1.0,
    static_threshold: float = STATIC_THRESHOLD,
) -> TemporalScore:
    """Flicker index of a whole clip, in 8-bit luma levels per frame (see module doc).

    Static regions are found in ``guide`` (default: the clip itself), motion-compensated with
    ``estimator`` when given, else with a fixed camera.
    """
    clip, ref = _prepare_sequences(frames, guide)
    motions = _motions(ref, estimator, occlusion_threshold)
    return TemporalScore(tuple(
        flicker_pair(clip[i + 1], clip[i], ref[i + 1], ref[i], m, static_threshold=static_threshold)
        for i, m in enumerate(motions)
    ))
