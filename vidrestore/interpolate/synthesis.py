"""Synthesis of a frame at any time t in (0, 1) between two frames, from their bidirectional flow.

Conventions (see :mod:`vidrestore.types`): frames ``(1, 3, H, W)`` float32 in [0, 1]; flows
``(1, 2, H, W)`` in pixels, channel 0 = dx; ``flow_0_to_1`` says, for each pixel of frame 0,
where it is in frame 1. ``t = 0`` is frame 0, ``t = 1`` frame 1.

How a frame at time t is made:

1. **Motion model** (per pair, :meth:`FrameSynthesizer.prepare`): each pixel of frame 0 moves
   along ``flow_0_to_1``, each pixel of frame 1 along ``flow_1_to_0`` backwards in time; linearly,
   or quadratically (Xu et al., "Quadratic Video Interpolation", NeurIPS 2019) when the flows to
   the frame before and the frame after the pair are given: acceleration = flow to the next frame
   + flow to the previous one, faded out where the outer flow fails its forward-backward check.
2. **Flows to t by softmax splatting** (Niklaus & Liu, CVPR 2020, applied to the motion rather
   than the colours): every pixel of both frames is splatted to where it is at time t, carrying
   the flows from there back to frame 0 and on to frame 1. Each splat is weighted by ``exp(Z)``,
   its *importance* ``Z = -alpha * photometric error of its match - beta * (1 - forward-backward
   confidence)`` (a point that does not find itself in the other frame is being covered, so it
   loses wherever a visible point lands on the same spot), times the time distance weight
   (``1 - t`` for frame 0, ``t`` for frame 1: the nearer frame places its points better). Spots no
   splat reaches (dis-occlusions, stretching) are filled from coarser scales (push-pull).
3. **Occlusion-aware backward warping** of both frames with those flows (no holes, no splatting
   blur in the colours; bicubic by default).
4. **Blending by visibility and time distance**: frame 0 is trusted at p when the pixel it is
   sampled from moves there itself (its own displacement brings it to p); otherwise that pixel
   belongs to something else and the point is hidden in frame 0. Same for frame 1. Weights are
   ``(1 - t) V0`` and ``t V1``, so the output goes smoothly from frame 0 to frame 1. The defaults
   (``agreement_px = 10``) keep the visibility soft: estimated flows are wrong often enough that
   averaging both frames beats trusting one; exact flows reproduce occlusions exactly with a strict
   setting (tests/interpolate/test_synthesis.py). A softer setting still would let an occluder
   ghost through, since both frames would then be averaged where one of them is hidden.
   ``alpha`` is moderate because film grain makes the photometric match error noisy: a sharp
   importance would let noise, not occlusion, decide which splat wins.
5. **Refinement** (``refiner``, ``interpolate.refine``): flow between the two warped candidates
   measures where they still disagree; both are moved towards their time-weighted meeting point.
   It costs one more flow estimation per new frame and does not win on every kind of clip, so it is
   off by default (docs/BENCHMARKS.md, "Frame interpolation (issue 8)", the refinement rows).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vidrestore.tensors import check_same_shape, check_shape

if TYPE_CHECKING:
    import torch

    from vidrestore.flow.base import FlowEstimator
    from vidrestore.interpolate.config import InterpolateConfig

log = logging.getLogger(__name__)

_LN2 = math.log(2.0)


@dataclass(frozen=True)
class SynthesisParams:
    """Knobs of :class:`FrameSynthesizer` (defaults chosen on the drop-frame protocol of :mod:`.dropframe`)."""

    alpha: float = 10.0  # importance: weight of the photometric match error (colour units 0..1)
    beta: float = 4.0  # importance: weight of (1 - forward-backward confidence)
    agreement_px: float = 10.0  # visibility: motion disagreement (px) at which a frame's weight halves ...
    agreement_rel: float = 1.0  # ... plus this share of the motion magnitude
    warp_mode: str = "bicubic"  # resampling of the colours: bicubic keeps detail that bilinear blurs
    use_acceleration: bool = True  # quadratic motion from the frames beyond the pair, where given

    def __post_init__(self) -> None:
        for key in ("alpha", "beta"):
            if getattr(self, key) < 0:
                raise ValueError(f"SynthesisParams.{key} must be >= 0, got {getattr(self, key)}")
        if self.agreement_px <= 0 or self.agreement_rel < 0:
            raise ValueError("SynthesisParams: agreement_px must be > 0 and agreement_rel >= 0")
        if self.warp_mode not in ("bilinear", "bicubic"):
            raise ValueError(f"SynthesisParams.warp_mode must be bilinear or bicubic, got {self.warp_mode!r}")

    @classmethod
    def from_section(cls, icfg: InterpolateConfig) -> SynthesisParams:
        """The one place the flow synthesizer reads the config (``interpolate.*``)."""
        return cls(alpha=icfg.alpha, beta=icfg.beta, agreement_px=icfg.agreement_px, agreement_rel=icfg.agreement_rel,
                   warp_mode=icfg.warp, use_acceleration=icfg.acceleration)


@dataclass(frozen=True)
class PairState:
    """What every time t between one pair of frames shares (computed once by :meth:`FrameSynthesizer.prepare`).

    Motion model of a pixel of frame 0: at time t it has moved by ``velocity0 * t + accel0 * t**2 / 2``;
    a pixel of frame 1 by ``velocity1 * u + accel1 * u**2 / 2`` with ``u = t - 1`` (<= 0). Without
    neighbours beyond the pair the accelerations are zero (linear motion).
    """

    frame0: torch.Tensor  # (1, 3, H, W)
    frame1: torch.Tensor
    flow01: torch.Tensor  # (1, 2, H, W) flow_0_to_1
    flow10: torch.Tensor  # (1, 2, H, W) flow_1_to_0
    velocity0: torch.Tensor  # (1, 2, H, W) px per unit t
    accel0: torch.Tensor | None
    velocity1: torch.Tensor
    accel1: torch.Tensor | None
    importance0: torch.Tensor  # (1, 1, H, W): log-weight Z of each pixel of frame 0 in the splat
    importance1: torch.Tensor

    def displacement0(self, t: float) -> torch.Tensor:
        """Where each pixel of frame 0 has moved at time t (px)."""
        d = self.velocity0 * t
        return d if self.accel0 is None else d + self.accel0 * (0.5 * t * t)

    def displacement1(self, t: float) -> torch.Tensor:
        """Where each pixel of frame 1 has moved at time t (px; u = t - 1 <= 0)."""
        u = t - 1.0
        d = self.velocity1 * u
        return d if self.accel1 is None else d + self.accel1 * (0.5 * u * u)


@dataclass(frozen=True)
class FlowPair:
    """Both flows between frames a and b with their forward-backward confidences ``(1, 1, H, W)``.

    Built once per consecutive pair; the synthesiser uses it for the pair itself and, reversed, for
    the quadratic motion of the neighbouring pairs.
    """

    forward: torch.Tensor  # flow_a_to_b (1, 2, H, W)
    backward: torch.Tensor  # flow_b_to_a
    forward_confidence: torch.Tensor  # confidence of each pixel of a
    backward_confidence: torch.Tensor  # confidence of each pixel of b

    @classmethod
    def build(cls, flow_a_to_b: torch.Tensor, flow_b_to_a: torch.Tensor, *, threshold: float = 1.0,
              relative: float = 0.05) -> FlowPair:
        """Confidences from the forward-backward round trip, as :func:`~vidrestore.flow.occlusion.flow_confidence`
        computes them without its range-map term: ``2 ** -(err / tol) ** 2``, ``tol = threshold + relative *
        (|f| + |b(x + f)|)``. The range map is left out: the splat importance already carries the
        photometric error it would add, and it costs more than the rest of the pair.
        """
        fwd, bwd = flow_a_to_b.float(), flow_b_to_a.float()
        if fwd.ndim == 3:
            fwd, bwd = fwd[None], bwd[None]
        return cls(fwd, bwd, _round_trip_confidence(fwd, bwd, threshold, relative),
                   _round_trip_confidence(bwd, fwd, threshold, relative))

    def reversed(self) -> FlowPair:
        return FlowPair(self.backward, self.forward, self.backward_confidence, self.forward_confidence)


# --------------------------------------------------------------------------- building blocks


def splat(values: torch.Tensor, displacement: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Forward-splat ``values`` along ``displacement`` with bilinear kernels scaled by ``weight``.

    ``values`` ``(N, C, H, W)``, ``displacement`` ``(N, 2, H, W)`` px, ``weight`` ``(N, 1, H, W)`` >= 0.
    Returns ``(sum of weight * kernel * values, sum of weight * kernel, sum of kernel)`` on the same
    grid; the last is the plain density (about 1 where the target is covered once). Samples that land
    outside the frame are dropped.
    """
    import torch

    from vidrestore.flow.warp import coords_grid

    n, c, h, w = values.shape
    hw = h * w
    pos = coords_grid(n, h, w, device=values.device) + displacement.float()
    x, y = pos[:, 0].reshape(n, hw), pos[:, 1].reshape(n, hw)
    x0, y0 = x.floor(), y.floor()
    fx, fy = x - x0, y - y0
    wflat = weight.reshape(n, hw, 1).float()
    # rows = source pixels, columns = (weight * values, weight, 1): one index_add_ per batch item
    payload = torch.cat([values.reshape(n, c, hw).transpose(1, 2).float() * wflat, wflat,
                         torch.ones_like(wflat)], dim=2)
    base = (torch.arange(n, device=values.device) * hw).view(n, 1)
    idx, rows = [], []
    for dx, dy, k in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        inside = (xi >= 0) & (xi <= w - 1) & (yi >= 0) & (yi <= h - 1)
        idx.append((base + (yi.clamp(0, h - 1) * w + xi.clamp(0, w - 1)).long()).reshape(-1))
        rows.append((payload * (k * inside).unsqueeze(2)).reshape(n * hw, c + 2))
    out = torch.zeros(n * hw, c + 2, device=values.device, dtype=torch.float32)
    out.index_add_(0, torch.cat(idx), torch.cat(rows))
    out = out.view(n, hw, c + 2)
    acc = out.transpose(1, 2).reshape(n, c + 2, h, w)
    return acc[:, :c], acc[:, c:c + 1], acc[:, c + 1:]


def fill_holes(field: torch.Tensor, confidence: torch.Tensor, *, min_size: int = 2) -> torch.Tensor:
    """Push-pull: replace ``field`` where ``confidence`` (in [0, 1]) is low by its confident surroundings.

    Each level halves the resolution with confidence-weighted means (confidence summed, capped at 1);
    on the way back ``out = c * field + (1 - c) * upsampled coarser result``. Fully confident
    pixels are returned unchanged.
    """
    import torch.nn.functional as F

    c = confidence.clamp(0.0, 1.0)
    h, w = field.shape[-2:]
    if float(c.min()) >= 1.0 or min(h, w) < 2 * min_size:
        return field
    num = F.avg_pool2d(field * c, 2, ceil_mode=True) * 4.0
    den = F.avg_pool2d(c, 2, ceil_mode=True) * 4.0
    coarse = num / den.clamp(min=1e-6)
    coarse = fill_holes(coarse, den.clamp(max=1.0), min_size=min_size)
    up = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    return c * field + (1.0 - c) * up


def _magnitude(vec: torch.Tensor) -> torch.Tensor:
    """Length of 2-vectors ``(N, 2, H, W)`` -> ``(N, 1, H, W)`` (hypot: much faster than ``norm(dim=1)`` on CPU)."""
    import torch

    return torch.hypot(vec[:, 0:1], vec[:, 1:2])


def _round_trip_confidence(flow_ab: torch.Tensor, flow_ba: torch.Tensor, threshold: float,
                           relative: float) -> torch.Tensor:
    from vidrestore.flow.warp import backward_warp

    if threshold <= 0:
        raise ValueError(f"occlusion threshold must be > 0 px, got {threshold}")
    back = backward_warp(flow_ba, flow_ab)
    err = _magnitude(flow_ab + back)
    tol = threshold + relative * (_magnitude(flow_ab) + _magnitude(back))
    return (-_LN2 * (err / tol) ** 2).exp()


def _check_frames(frame0: torch.Tensor, frame1: torch.Tensor, flow01: torch.Tensor, flow10: torch.Tensor) -> None:
    check_shape(frame0, (1, 3, "H", "W"), "frame0")
    check_same_shape(frame1, frame0, "frame1", "frame0")
    h, w = (int(s) for s in frame0.shape[-2:])
    for name, f in (("flow_0_to_1", flow01), ("flow_1_to_0", flow10)):
        check_shape(f, (1, 2, h, w), name)


# --------------------------------------------------------------------------- the synthesizer


class FrameSynthesizer:
    """Makes frames at any t in (0, 1) from two frames and their flows (see the module docstring).

    ``refiner`` (a flow estimator, or None) enables the refinement step. The object keeps no state
    between pairs; :meth:`prepare` once per pair, then :meth:`synthesize` for each t.
    """

    def __init__(self, *, params: SynthesisParams | None = None, refiner: FlowEstimator | None = None) -> None:
        self.params = params or SynthesisParams()
        self.refiner = refiner

    def _acceleration(self, flow_next: torch.Tensor, outer: FlowPair | None,
                      ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Velocity and acceleration from the flows to both temporal neighbours (QVI-style quadratic motion).

        ``flow_next`` goes to the other frame of the pair (time +1 for frame 0, -1 for frame 1 in its own
        clock); ``outer.forward`` goes to the neighbour on the far side. Where that flow fails its
        forward-backward check the acceleration fades to zero.
        """
        if outer is None or not self.params.use_acceleration:
            return flow_next, None
        accel = (flow_next + outer.forward) * outer.forward_confidence
        return flow_next - accel * 0.5, accel

    def prepare(self, frame0: torch.Tensor, frame1: torch.Tensor, flows: FlowPair, *,
                prev: FlowPair | None = None, next: FlowPair | None = None) -> PairState:
        """Per-pair work: motion model and splat importance of both frames.

        ``flows`` holds flow_0_to_1 (forward) and flow_1_to_0. ``prev`` (forward = flow from frame 0 to
        the frame before it) and ``next`` (forward = flow from frame 1 to the frame after it), from
        the same shot, enable quadratic motion.
        """
        from vidrestore.flow.occlusion import photometric_error

        _check_frames(frame0, frame1, flows.forward, flows.backward)
        p = self.params
        f01, f10 = flows.forward, flows.backward
        err0 = photometric_error(frame0, frame1, f01)
        err1 = photometric_error(frame1, frame0, f10)
        v0, a0 = self._acceleration(f01, prev)
        # frame 1's own clock runs u = t - 1: its velocity is minus the one found towards frame 0
        v1n, a1 = self._acceleration(f10, next)
        return PairState(
            frame0=frame0.float(), frame1=frame1.float(), flow01=f01, flow10=f10,
            velocity0=v0, accel0=a0, velocity1=-v1n, accel1=a1,
            importance0=-p.alpha * err0 - p.beta * (1.0 - flows.forward_confidence),
            importance1=-p.alpha * err1 - p.beta * (1.0 - flows.backward_confidence),
        )

    def flows_at(self, pair: PairState, t: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(flow_t_to_0, flow_t_to_1, coverage)`` at time t by softmax splatting of both frames' motion."""
        import torch

        d0, d1 = pair.displacement0(t), pair.displacement1(t)
        z_max = torch.maximum(pair.importance0.amax(), pair.importance1.amax())
        w0 = (pair.importance0 - z_max).exp() * (1.0 - t)
        w1 = (pair.importance1 - z_max).exp() * t
        # a pixel x of frame 0 sits at x + d0 at time t; from there frame 0 is -d0 away, frame 1 f01 - d0
        num0, den0, dens0 = splat(torch.cat([-d0, pair.flow01 - d0], dim=1), d0, w0)
        num1, den1, dens1 = splat(torch.cat([pair.flow10 - d1, -d1], dim=1), d1, w1)
        den = den0 + den1
        flows = (num0 + num1) / den.clamp(min=1e-12)
        coverage = (dens0 + dens1).clamp(max=1.0) * (den > 1e-12)
        flows = fill_holes(flows, coverage)
        return flows[:, :2], flows[:, 2:], coverage

    def _visibility(self, displacement: torch.Tensor, flow_t_to_src: torch.Tensor, span: float) -> torch.Tensor:
        """How surely the source pixel sampled for each pixel of t is the same point (1 = its motion leads here).

        The sampled pixel's own displacement should bring it back: ``d(x + flow) + flow = 0``. The miss
        (px at time t) is divided by ``span`` (t or 1 - t) to compare motions, not positions.
        """
        from vidrestore.flow.warp import backward_warp

        miss = _magnitude(backward_warp(displacement, flow_t_to_src) + flow_t_to_src) / max(span, 1e-3)
        tol = self.params.agreement_px + self.params.agreement_rel * _magnitude(flow_t_to_src) / max(span, 1e-3)
        return (-_LN2 * (miss / tol) ** 2).exp()

    def synthesize(self, pair: PairState, t: float) -> torch.Tensor:
        """The frame at time ``t`` in (0, 1): ``(1, 3, H, W)`` float32, clipped to [0, 1]."""
        from vidrestore.flow.warp import backward_warp, compose_flows

        if not 0.0 < t < 1.0:
            raise ValueError(f"synthesize: t must be in (0, 1), got {t}")
        mode = self.params.warp_mode
        flow_t0, flow_t1, _ = self.flows_at(pair, t)
        vis0 = self._visibility(pair.displacement0(t), flow_t0, t)
        vis1 = self._visibility(pair.displacement1(t), flow_t1, 1.0 - t)
        warped0 = backward_warp(pair.frame0, flow_t0, mode=mode)
        warped1 = backward_warp(pair.frame1, flow_t1, mode=mode)
        if self.refiner is not None:
            # flow between the two candidates: where they still disagree, move both to the
            # time-weighted meeting point (candidate 0 moves by t of the way, candidate 1 by 1 - t)
            residual = self.refiner.estimate(warped0.clamp(0, 1), warped1.clamp(0, 1))
            flow_t0 = compose_flows(residual * (-t), flow_t0)
            flow_t1 = compose_flows(residual * (1.0 - t), flow_t1)
            warped0 = backward_warp(pair.frame0, flow_t0, mode=mode)
            warped1 = backward_warp(pair.frame1, flow_t1, mode=mode)
        a0 = (1.0 - t) * (vis0 + 1e-4)
        a1 = t * (vis1 + 1e-4)
        out = (a0 * warped0 + a1 * warped1) / (a0 + a1)
        return out.clamp_(0.0, 1.0)
