"""RIFE and the flow synthesizer mixed per pair, weighted by how well each rebuilds the clip's own frames.

Neither synthesizer wins on every kind of material. On the drop-frame benchmark the DIS + splatting
synthesizer (:mod:`~vidrestore.interpolate.synthesis`, with quadratic motion from the neighbouring
frames) is ahead of RIFE on some clips (a moving camera on modern video, damaged film) and behind on
others (grainy 1910s film, cartoons). Which one to trust for a pair (k, k + 1) is decided from the
input frames alone, by self-validation (``interpolate.rife_ensemble``):

1. **Rebuild test.** Every input frame j whose neighbours j - 1 and j + 1 are in its shot is made
   again by each synthesizer from those two (t = 1/2), as if it had been dropped, and compared with
   the real frame j: mean squared error over RGB in [0, 1] (:func:`rebuild_errors`). Each frame is
   tested once and serves the two pairs it belongs to. RIFE runs its tests with one pass (no
   mirrored ones): the weights come out the same, at a quarter of the cost.
2. **Weights.** A pair's errors are the means over its own frames k and k + 1 (those that could be
   tested); RIFE's share is ``w = e_flow / (e_rife + e_flow)`` (:func:`rife_share`): equal errors
   mix half and half, and the synthesizer with much the larger error gets little weight. The
   pair's new frames are ``w * RIFE + (1 - w) * flow`` at every t, before RIFE's fallback (blend
   where warping makes the frames less alike, nearest frame at a cut), which then applies to the mix.
3. **No test, no mix.** A pair none of whose frames can be tested (the ends of a clip, a shot of two
   frames) uses RIFE alone, and so does a pair RIFE treats as a cut.

The test doubles the gap a synthesizer bridges, so it measures which one copes better with *this*
clip's motion, grain and damage, not the exact error of the new frame. The cost per input frame is
one more RIFE pair at one pass (the test), one DIS flow pair and the flow synthesizer twice (test and pair).
The weighting was chosen on the dev clips of the interpolation benchmark against picking the better
one, a plain average, and a three-way mix that includes blending (docs/BENCHMARKS.md, "Frame
interpolation vs RIFE").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from vidrestore.flow.base import FlowEstimator
    from vidrestore.interpolate.synthesis import FrameSynthesizer, PairState


@dataclass(frozen=True)
class RebuildError:
    """Mean squared error of one input frame rebuilt from its two neighbours, per synthesizer."""

    rife: float
    flow: float


@dataclass(frozen=True)
class MixedState:
    """A pair's RIFE state, the flow synthesizer's, and RIFE's share of the mix."""

    rife: Any  # RifeState
    flow: PairState
    share: float


def _mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a.float() - b.float()) ** 2).mean())


def rebuild_errors(rife: Any, flow_synth: FrameSynthesizer, estimator: FlowEstimator, before: torch.Tensor,
                   middle: torch.Tensor, after: torch.Tensor, *, occlusion_threshold: float = 1.0) -> RebuildError:
    """Item 1 of the module docstring: ``middle`` made by each synthesizer from ``before`` and ``after``
    (``(1, 3, H, W)`` float in [0, 1]); the flow synthesizer runs on DIS flows between those two, with
    linear motion (no outer neighbours)."""
    from vidrestore.flow.base import estimate_both
    from vidrestore.interpolate.synthesis import FlowPair

    counts = dict(getattr(rife, "counts", {}))
    made_rife = rife.synthesize(rife.prepare(before, after), 0.5)
    if counts:  # a test is not an interpolated pair: RIFE's counters stay those of the output
        rife.counts.update(counts)
    forward, backward = estimate_both(estimator, before, after)
    pair = FlowPair.build(forward, backward, threshold=occlusion_threshold)
    made_flow = flow_synth.synthesize(flow_synth.prepare(before, after, pair), 0.5)
    return RebuildError(rife=_mse(made_rife, middle), flow=_mse(made_flow, middle))


def rife_share(errors: Sequence[RebuildError]) -> float:
    """Item 2 of the module docstring: RIFE's weight from the tested frames' errors (1.0 with none)."""
    if not errors:
        return 1.0
    e_rife = sum(e.rife for e in errors) / len(errors)
    e_flow = sum(e.flow for e in errors) / len(errors)
    total = e_rife + e_flow
    return 0.5 if total <= 1e-12 else e_flow / total
