"""The ``vidrestore interpolate`` stage: input frames in, frames at the new rate out, streaming.

Frame flow, for each consecutive input pair (k, k + 1):

* the pair's flows (both directions) come from a :class:`~vidrestore.flow.cache.FlowCache`, which
  also runs the scene-cut detector: a pair across a cut is never interpolated, its slots repeat the
  nearest frame (t < 1/2: frame k, else frame k + 1);
* output slots come from a :class:`~vidrestore.interpolate.timing.Retimer` (exact pts);
* copies (``t == 0``) are the input pixels, bit for bit (uint16 stays uint16); new frames come from
  the synthesizer ``interpolate.method`` names (:func:`choose_synthesizer`): the
  :class:`~vidrestore.interpolate.rife.RifeSynthesizer` (no optical flow is estimated for it: the
  cache then only holds frames and finds cuts), or the flow
  :class:`~vidrestore.interpolate.synthesis.FrameSynthesizer`, with quadratic motion when frames
  k - 1 and k + 2 belong to the same shot;
* with RIFE and ``interpolate.rife_ensemble`` (the default), each pair's new frames mix RIFE's with
  the flow synthesizer's, weighted by how well each rebuilds frames k and k + 1 from their own
  neighbours (:mod:`~vidrestore.interpolate.ensemble`): the same frames k - 1 .. k + 2.

The stage holds four input frames (k - 1 .. k + 2), so memory does not grow with the clip. With
``restorer.scale != 1`` a GAN restorer stage runs after it (interpolate at the low resolution,
then upscale every output frame) or before it (``interpolate.order: upscale-first``); ``auto`` (the
default) compares both orders' costs (:func:`measure_costs`, :func:`cheaper_order`). The chain
itself (and the film stage before it with ``--preset film``) is built in
:mod:`vidrestore.pipeline.stages`; :class:`InputSceneCuts` at its head finds the scene cuts on the
input frames.

Segments (``vidrestore interpolate --workdir/--resume/--engine ray``, :mod:`vidrestore.jobs`):
the slots of pair (k, k + 1) need frames k - 1 .. k + 2, so a segment owning input frames
``[start, stop)`` is fed one frame of warm-up and two of look-ahead (``warmup_frames = 1``,
``lookahead_frames = 2``) and keeps the output slots whose times lie in ``[time(start),
time(stop))``. Two facts cannot be seen from inside a segment, so the job computes them in one
pass before the segments run (:mod:`vidrestore.jobs.context`) and hands them over (``use_job_context``):
the time of the video's first frame (the origin of the ``--fps`` grid) and the scene cuts, found
by the same detector on the same frames as the streaming run, so every decision is the one an
uninterrupted run makes. With ``--scale`` upscaling first, cuts are detected on the input frames
(before the restorer) in both kinds of run.
"""

from __future__ import annotations

import copy
import logging
import time
from collections import deque
from collections.abc import Container, Iterator, Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from vidrestore.device import resolve_device
from vidrestore.interpolate.timing import Retimer, Slot, parse_rate
from vidrestore.stage import same_frames_spec
from vidrestore.tensors import check_same_shape
from vidrestore.types import Frame, OutputSpec, VideoInfo

if TYPE_CHECKING:
    import torch

    from vidrestore.flow.base import FlowEstimator
    from vidrestore.flow.cache import FlowCache
    from vidrestore.flow.config import FlowConfig
    from vidrestore.interpolate.config import InterpolateConfig
    from vidrestore.interpolate.ensemble import RebuildError
    from vidrestore.interpolate.synthesis import FlowPair, FrameSynthesizer, PairState

log = logging.getLogger(__name__)


class PlannedCuts:
    """A scene-cut "detector" that answers from a known set of cuts (global frame indices).

    Stands in for :class:`~vidrestore.flow.scenecut.SceneCutDetector` in a
    :class:`~vidrestore.flow.cache.FlowCache`: call :meth:`expect` with the frame's index before
    the cache's ``add``; ``push`` then says whether that frame starts a shot.
    """

    def __init__(self, cuts: Container[int]) -> None:
        self.cuts = cuts
        self._index: int | None = None

    def expect(self, index: int) -> None:
        self._index = index

    def push(self, frame: object) -> bool:
        if self._index is None:
            raise RuntimeError("PlannedCuts.push: expect(index) must be called first")
        index, self._index = self._index, None
        return index in self.cuts


class InterpolationProcessor:
    """FrameProcessor that changes the frame rate (see the module docstring).

    ``factor`` or ``rate`` (exactly one) sets the output timing; ``end`` is ``hold`` or ``last``
    (:mod:`vidrestore.interpolate.timing`). ``cache`` supplies flows and scene cuts; every
    ``process()`` call starts from a clean one (same estimator and detector settings).
    """

    #: Segment reach (see the module docstring): frame k - 1 before a segment, k + 1 and k + 2 after it.
    warmup_frames = 1
    lookahead_frames = 2

    def __init__(self, *, synthesizer: FrameSynthesizer, cache: FlowCache, factor: int | None = None,
                 rate: Fraction | None = None, end: str = "hold", occlusion_threshold: float = 1.0,
                 partner: FrameSynthesizer | None = None) -> None:
        if (factor is None) == (rate is None):
            raise ValueError("InterpolationProcessor: give exactly one of factor or rate")
        if partner is not None and getattr(synthesizer, "uses_flow", True):
            raise ValueError("InterpolationProcessor: a partner (ensemble) goes with the RIFE synthesizer only")
        self.synthesizer = synthesizer
        self.partner = partner  # flow synthesizer mixed with RIFE per pair (vidrestore/interpolate/ensemble.py)
        self.tester = one_pass(synthesizer) if partner is not None else None  # RIFE of the rebuild tests
        self.cache = cache
        self.factor = factor
        self.rate = rate
        self.end = end
        self.occlusion_threshold = occlusion_threshold
        self.retimer: Retimer | None = None
        self._info: VideoInfo | None = None
        self._detector_template = copy.deepcopy(cache.detector)  # kept pristine: each process() starts from a copy
        self._origin: Fraction | None = None  # job context: time of the video's first frame
        self.cuts: Container[int] | None = None  # known scene cuts (job context, or a chain's live detection)
        self._frames: dict[int, Frame] = {}
        self._pairs: dict[int, FlowPair] = {}
        self._state: tuple[int, PairState] | None = None
        self._rebuilt: dict[int, RebuildError | None] = {}  # ensemble: frame -> its rebuild test (None: untestable)
        self._shares: list[float] = []
        self._counts = {"frames_in": 0, "frames_out": 0, "copied": 0, "synthesized": 0, "held": 0,
                        "repeated_at_cuts": 0}
        self._seconds = 0.0

    # ----------------------------------------------------------------- contract

    @property
    def frame_ratio(self) -> Fraction | None:
        """Output frames per input frame: the factor; None with a target rate (it depends on the timing)."""
        return Fraction(self.factor) if self.factor is not None else None

    def _retimer(self, info: VideoInfo) -> Retimer:
        nominal = info.avg_rate or info.real_rate
        return Retimer(time_base=info.time_base, factor=self.factor, rate=self.rate, end=self.end,
                       nominal_rate=nominal)

    def output_spec(self, info: VideoInfo, frame_size: tuple[int, int]) -> OutputSpec:
        self._info = info
        self.retimer = self._retimer(info)
        count = None
        if info.num_frames:
            duration = None
            if self.rate is not None and info.duration:
                duration = Fraction(str(info.duration)).limit_denominator(1_000_000)
            count = self.retimer.expected_count(info.num_frames, duration)
        return OutputSpec(width=frame_size[0], height=frame_size[1], time_base=self.retimer.time_base,
                          rate=self.retimer.output_rate, num_frames=count,
                          bit_depth=16 if info.is_high_bit_depth else 8)

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self._counts)
        out["interpolation_seconds"] = round(self._seconds, 3)
        out["method"] = getattr(self.synthesizer, "name", "flow")
        out.update({f"rife_{k}": v for k, v in getattr(self.synthesizer, "counts", {}).items()})
        if self.partner is not None:
            out["ensemble_pairs"] = len(self._shares)
            out["ensemble_mean_rife_share"] = round(sum(self._shares) / len(self._shares), 3) if self._shares else None
        out.update({f"flow_{k}": v for k, v in self.cache.stats().items()})
        return out

    def use_job_context(self, context: Mapping[str, Any]) -> None:
        """Facts about the whole video, computed by the job (:mod:`vidrestore.jobs.context`; see the module
        docstring)."""
        origin = context.get("origin")
        self._origin = Fraction(origin) if origin is not None else None
        cuts = context.get("scene_cuts")
        self.cuts = frozenset(int(c) for c in cuts) if cuts is not None else None

    def _fresh_cache(self) -> FlowCache:
        """A cache with no frames, the same estimator and settings; known cuts replace the detector."""
        from vidrestore.flow.cache import FlowCache

        old = self.cache
        detector: Any = None
        if self._detector_template is not None:
            detector = PlannedCuts(self.cuts) if self.cuts is not None else copy.deepcopy(self._detector_template)
        if old.frames_added == 0 and type(detector) is type(old.detector) and self.cuts is None:
            return old
        return FlowCache(old.estimator, scene_cuts=detector, batch_size=old.batch_size,
                         occlusion_threshold=old.occlusion_threshold)

    def _reset(self) -> None:
        """Clean state for a new ``process()`` call (Segmentable: nothing carried over)."""
        if self._info is not None:
            self.retimer = self._retimer(self._info)
        if self._origin is not None and self.retimer is not None:
            self.retimer.anchor(self._origin)
        self.cache = self._fresh_cache()
        self._frames, self._pairs, self._state = {}, {}, None
        self._rebuilt, self._shares = {}, []
        self._counts = dict.fromkeys(self._counts, 0)
        self._seconds = 0.0

    def expected_frames(self, frames_in: int) -> int | None:
        """Output count for ``frames_in`` inputs, known exactly in factor mode (None with a target rate)."""
        if self.retimer is None or self.factor is None:
            return None
        return self.retimer.expected_count(frames_in)

    # ----------------------------------------------------------------- streaming

    def process(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        from vidrestore.tensors import to_tensor

        if self.retimer is None:
            raise RuntimeError("InterpolationProcessor: output_spec() must be called before process()")
        self._reset()
        retimer = self.retimer
        planned = self.cache.detector if isinstance(self.cache.detector, PlannedCuts) else None
        pending: deque[Slot] = deque()
        last: Frame | None = None
        position = -1
        for frame in frames:
            position += 1
            self._counts["frames_in"] += 1
            if last is not None:
                check_same_shape(frame.rgb, last.rgb, f"input frame {frame.index} (interpolation needs one frame size)",
                                 "earlier frames")
            self._frames[position] = frame
            if planned is not None:
                planned.expect(frame.index)
            self.cache.add(position, to_tensor(frame.rgb))
            pending.extend(retimer.push(Fraction(frame.pts) * frame.time_base))
            last = frame
            # slots of pair (k, k + 1) need frame k + 2 too (quadratic motion): ready up to k = position - 2
            yield from self._drain(pending, ready_before=position - 1)
            self._evict(position - 3)
        if last is None:
            return
        known = Fraction(last.duration) * last.time_base if last.duration else None
        pending.extend(retimer.finish(known))
        yield from self._drain(pending, ready_before=position + 1)

    def _drain(self, pending: deque[Slot], ready_before: int) -> Iterator[Frame]:
        while pending and (pending[0].left < ready_before or pending[0].is_copy and pending[0].left <= ready_before):
            slot = pending.popleft()
            yield self._render(slot)

    def _evict(self, before: int) -> None:
        for k in [k for k in self._frames if k < before]:
            del self._frames[k]
        for k in [k for k in self._pairs if k < before]:
            del self._pairs[k]
        for k in [k for k in self._rebuilt if k < before]:
            del self._rebuilt[k]
        self.cache.evict(before)

    def _render(self, slot: Slot) -> Frame:
        assert self.retimer is not None  # noqa: S101 - set in output_spec
        source = self._frames[slot.left]
        if slot.is_copy:
            rgb = source.rgb
            self._counts["held" if slot.hold else "copied"] += 1
        elif not self.cache.same_shot(slot.left, slot.left + 1):
            nearest = slot.left if slot.t < Fraction(1, 2) else slot.left + 1
            rgb = self._frames[nearest].rgb
            self._counts["repeated_at_cuts"] += 1
        else:
            rgb = self._synthesize(slot)
            self._counts["synthesized"] += 1
        self._counts["frames_out"] += 1
        return Frame(index=self._counts["frames_out"] - 1, pts=slot.pts, time_base=self.retimer.time_base, rgb=rgb)

    # ----------------------------------------------------------------- synthesis

    def _pair(self, k: int) -> FlowPair:
        from vidrestore.interpolate.synthesis import FlowPair

        if k not in self._pairs:
            self._pairs[k] = FlowPair.build(self.cache.forward(k)[None], self.cache.backward(k)[None],
                                            threshold=self.occlusion_threshold)
        return self._pairs[k]

    def _neighbour(self, a: int, b: int, k: int) -> FlowPair | None:
        """Pair k when frames a and b are present and in one shot (the far side of a quadratic fit)."""
        if a in self.cache and b in self.cache and a in self._frames and b in self._frames \
                and self.cache.same_shot(a, b):
            return self._pair(k)
        return None

    def _pair_state(self, left: int) -> Any:
        if self._state is not None and self._state[0] == left:
            return self._state[1]
        if not getattr(self.synthesizer, "uses_flow", True):  # RIFE finds its own motion: no flow estimated
            rife: Any = self.synthesizer
            state = rife.prepare(self.cache.frame(left)[None], self.cache.frame(left + 1)[None])
            if self.partner is not None and not state.nearest:
                state = self._mixed(left, state)
        else:
            state = self._flow_state(self.synthesizer, left)
        self._state = (left, state)
        return state

    def _flow_state(self, synthesizer: FrameSynthesizer, left: int) -> PairState:
        """The flow synthesizer's pair state, with quadratic motion when frames left - 1 and left + 2 are in the shot."""
        prev = self._neighbour(left - 1, left, left - 1)
        nxt = self._neighbour(left + 1, left + 2, left + 1)
        return synthesizer.prepare(
            self.cache.frame(left)[None], self.cache.frame(left + 1)[None], self._pair(left),
            prev=prev.reversed() if prev is not None else None, next=nxt,
        )

    def _mixed(self, left: int, rife_state: Any) -> Any:
        """RIFE's state, or the ensemble's when a frame of the pair passed its rebuild test (ensemble.py)."""
        from vidrestore.interpolate.ensemble import MixedState, rife_share

        assert self.partner is not None  # noqa: S101 - checked by the caller
        errors = [e for j in (left, left + 1) if (e := self._rebuild(j)) is not None]
        if not errors:
            return rife_state
        share = rife_share(errors)
        self._shares.append(share)
        return MixedState(rife_state, self._flow_state(self.partner, left), share)

    def _rebuild(self, j: int) -> RebuildError | None:
        """Frame j rebuilt from frames j - 1 and j + 1 by both synthesizers (None: not all three in one shot)."""
        from vidrestore.interpolate.ensemble import rebuild_errors

        if j not in self._rebuilt:
            around = (j - 1, j, j + 1)
            if not all(i in self.cache and i in self._frames for i in around) \
                    or not self.cache.same_shot(j - 1, j + 1):
                return None  # not stored: a frame may still arrive (the last pair's look-ahead)
            assert self.partner is not None  # noqa: S101 - only called for an ensemble
            before, middle, after = (self.cache.frame(i)[None] for i in around)
            self._rebuilt[j] = rebuild_errors(self.tester, self.partner, self.cache.estimator, before, middle,
                                              after, occlusion_threshold=self.occlusion_threshold)
        return self._rebuilt[j]

    def _synthesize(self, slot: Slot) -> np.ndarray:
        from vidrestore.interpolate.ensemble import MixedState
        from vidrestore.tensors import from_tensor

        t0 = time.perf_counter()
        state = self._pair_state(slot.left)
        t = float(slot.t)
        if isinstance(state, MixedState):
            assert self.partner is not None  # noqa: S101 - a MixedState is only made with a partner
            rife: Any = self.synthesizer
            out: torch.Tensor = rife.synthesize(state.rife, t, mix=(self.partner.synthesize(state.flow, t), state.share))
        else:
            out = self.synthesizer.synthesize(state, t)
        dtype = self._frames[slot.left].rgb.dtype
        (rgb,) = from_tensor(out, dtype=dtype)
        self._seconds += time.perf_counter() - t0
        return rgb


class InputSceneCuts:
    """A stage that passes frames on unchanged and tells ``interpolator`` the scene cuts among them.

    Placed at the head of a chain whose interpolator sees other frames than the input (upscaled, or
    cleaned by the film stage), so that cuts are found on the input frames, as :mod:`vidrestore.jobs.context`
    finds them for a segmented job. It does nothing when the interpolator has no detector or already
    knows the video's cuts (a job context was given).
    """

    warmup_frames = 0
    lookahead_frames = 0

    def __init__(self, interpolator: InterpolationProcessor) -> None:
        self.interpolator = interpolator

    def output_spec(self, info: VideoInfo, frame_size: tuple[int, int]) -> OutputSpec:
        return same_frames_spec(info, frame_size)

    def process(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        interp = self.interpolator
        if interp._detector_template is None or interp._origin is not None:
            return frames
        return self._detect_cuts(frames, interp)

    @staticmethod
    def _detect_cuts(frames: Iterator[Frame], interp: InterpolationProcessor) -> Iterator[Frame]:
        detector = copy.deepcopy(interp._detector_template)
        cuts: set[int] = set()
        interp.cuts = cuts  # read by the interpolator as later frames reach it (always after this)
        first = True
        for frame in frames:
            if starts_shot(detector, frame.rgb) and not first:
                cuts.add(frame.index)
            first = False
            yield frame

    def stats(self) -> dict[str, Any]:
        return {}


def one_pass(synthesizer: Any) -> Any:
    """The same RIFE network with one pass (no mirrored ones): what the ensemble's rebuild tests run. Its weights
    give the frames that tests with the defaults' four passes give, for a quarter of the work (docs/BENCHMARKS.md,
    "Interpolation ensemble: measured design choices")."""
    from dataclasses import replace

    params = getattr(synthesizer, "params", None)
    if params is None or getattr(params, "tta", 1) <= 1:
        return synthesizer
    return type(synthesizer)(synthesizer.net, params=replace(params, tta=1), device=str(synthesizer.device))


def starts_shot(detector: Any, rgb: np.ndarray) -> bool:
    """Push one frame into a scene-cut detector exactly as the flow cache does (the same tensor): how
    :class:`InputSceneCuts` and a segmented job's one pass (:mod:`vidrestore.jobs.context`) find the
    cuts the streaming run finds."""
    from vidrestore.tensors import to_tensor

    t = to_tensor(rgb)
    return bool(detector.push(t[0] if t.ndim == 4 else t))


# --------------------------------------------------------------------------- builders


def build_synthesizer(cfg: InterpolateConfig, refiner: FlowEstimator | None = None) -> FrameSynthesizer:
    from vidrestore.interpolate.synthesis import FrameSynthesizer, SynthesisParams

    return FrameSynthesizer(params=SynthesisParams.from_section(cfg), refiner=refiner)


def choose_synthesizer(cfg: InterpolateConfig, refiner: FlowEstimator | None = None) -> Any:
    """``interpolate.method``: ``rife`` (its weights must resolve), ``flow``, or ``auto`` (RIFE when its
    weights resolve, else flow); logs which one runs and why."""
    from vidrestore.errors import WeightsNotFoundError

    if cfg.method in ("auto", "rife"):
        from vidrestore.interpolate.rife import RifeParams, build_rife_synthesizer

        try:
            synth = build_rife_synthesizer(cfg.rife_weights, params=RifeParams.from_section(cfg),
                                           device=resolve_device("auto").type)
        except WeightsNotFoundError as err:
            if cfg.method == "rife" or cfg.rife_weights is not None:
                raise
            log.info("interpolate: method auto -> flow (DIS + splatting): %s", err)
        else:
            log.info("interpolate: method %s -> rife (RIFE HD v3, %s, tta %d, fallback %s)", cfg.method,
                     synth.device.type, cfg.rife_tta, "on" if cfg.rife_fallback else "off")
            return synth
    else:
        log.info("interpolate: method flow (DIS + splatting)")
    return build_synthesizer(cfg, refiner)


def build_processor(icfg: InterpolateConfig, flow: FlowConfig, device: str = "cpu") -> InterpolationProcessor:
    """The interpolation stage alone, from its own section and the flow section it estimates motion with
    (the chain around it is built from the whole config by :mod:`vidrestore.pipeline.stages`)."""
    from vidrestore.flow import build_flow_estimator
    from vidrestore.flow.cache import cache_from_config

    estimator = build_flow_estimator(flow, device=device)
    refiner = estimator if icfg.refine else None
    rate = parse_rate(icfg.fps) if icfg.fps is not None else None
    factor = None if rate is not None else icfg.factor
    log.info("interpolate: %s, flow %s%s, end=%s", f"to {rate} fps" if rate else f"x{factor}",
             getattr(estimator, "name", type(estimator).__name__), ", refined" if refiner else "", icfg.end)
    synthesizer = choose_synthesizer(icfg, refiner)
    partner = None
    if icfg.rife_ensemble and not getattr(synthesizer, "uses_flow", True):
        partner = build_synthesizer(icfg, refiner)
        log.info("interpolate: rife mixed per pair with the flow synthesizer (interpolate.rife_ensemble)")
    return InterpolationProcessor(synthesizer=synthesizer, cache=cache_from_config(flow, estimator),
                                  factor=factor, rate=rate, end=icfg.end,
                                  occlusion_threshold=flow.occlusion_threshold, partner=partner)


def outputs_per_input(icfg: InterpolateConfig, info: VideoInfo) -> float:
    """Output frames per input frame: the factor, or target rate / source rate."""
    if icfg.fps is None:
        return float(icfg.factor)
    source = info.avg_rate or info.real_rate
    return float(parse_rate(icfg.fps) / source) if source else 2.0


def cheaper_order(*, ratio: float, area_scale: float, gan_cost: float, interp_cost: float) -> str:
    """Which stage order costs less per input frame (costs in seconds per input-size pixel).

    ``gan_cost``: the restorer on one frame; ``interp_cost``: one pair's flows and preparation plus
    ``ratio - 1`` new frames, at the input size (it grows with the pixel count, ``area_scale`` times
    at the output size). Interpolating first runs the restorer ``ratio`` times per input frame;
    upscaling first runs it once but interpolates ``area_scale`` times more pixels.
    """
    interpolate_first = ratio * gan_cost + interp_cost
    upscale_first = gan_cost + area_scale * interp_cost
    return "upscale-first" if upscale_first < interpolate_first else "interpolate-first"


def measure_costs(gan: Any, interp: InterpolationProcessor, *, ratio: float, side: int = 192,
                  ) -> tuple[float, float]:
    """Seconds per pixel of the restorer on one frame and of one interpolation pair, timed on a textured
    ``side`` x ``side`` test pair after a warm-up call (both costs scale with the pixel count)."""
    import torch
    import torch.nn.functional as F

    from vidrestore.interpolate.synthesis import FlowPair

    gen = torch.Generator().manual_seed(0)
    base = F.interpolate(torch.rand(1, 3, side // 8, side // 8, generator=gen), size=(side, side), mode="bicubic",
                         align_corners=False).clamp(0, 1)
    moved = torch.roll(base, shifts=(2, 3), dims=(2, 3))
    pixels = float(side * side)

    frames = max(1, int(getattr(gan.restorer, "parallel_frames", 1)))
    batch = base.expand(frames, -1, -1, -1).contiguous()

    def gan_once() -> None:  # a batch as the stage runs it (side by side on the winograd kernel), per frame below
        gan.restorer.restore(batch)

    new_frames = max(1, round(ratio - 1))

    def one_pair(synth: Any) -> None:  # the pair's preparation (flows first, for a flow synthesizer) and new frames
        if getattr(synth, "uses_flow", True):
            flows = FlowPair.build(interp.cache.estimator.estimate(base, moved),
                                   interp.cache.estimator.estimate(moved, base))
            state = synth.prepare(base, moved, flows)
        else:
            state = synth.prepare(base, moved)
        for j in range(new_frames):
            synth.synthesize(state, (j + 1) / (new_frames + 1))

    def interp_once() -> None:
        one_pair(interp.synthesizer)
        if interp.partner is not None:  # the ensemble: a rebuild test and the flow synthesizer's frames
            from vidrestore.interpolate.ensemble import rebuild_errors

            rebuild_errors(interp.tester, interp.partner, interp.cache.estimator, base, (base + moved) * 0.5, moved)
            one_pair(interp.partner)

    costs = []
    for fn, per in ((gan_once, frames), (interp_once, 1)):
        fn()
        t0 = time.perf_counter()
        fn()
        costs.append((time.perf_counter() - t0) / pixels / per)
    return costs[0], costs[1]
