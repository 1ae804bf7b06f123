"""``vidrestore restore --preset film``: the film-cleaning stage as a streaming FrameProcessor.

Per frame, in this order (each step switchable in the ``film`` config section):

1. **Flow and scene cuts.** Frames enter a :class:`~vidrestore.flow.cache.FlowCache` with the
   scene-cut detector: consecutive flows are estimated once per direction, on luma normalised to
   zero mean and unit variance per frame (so flicker does not disturb the flow), and never across a
   cut. Longer flows are composed from consecutive ones. Nothing below reaches across a cut.
2. **Deflicker** (:mod:`~vidrestore.film.deflicker`): gain/offset between consecutive frames on
   motion-compensated reliable pixels, chained and smoothed over ``+-deflicker.window`` frames.
3. **Alignment** (:mod:`~vidrestore.film.align`): the ``+-radius`` neighbours (deflickered) are
   warped onto the frame, with per-pixel flow confidence.
4. **Dust and dirt** (:mod:`~vidrestore.film.dust`) and **line scratches**
   (:mod:`~vidrestore.film.scratch`) are detected and repaired from the aligned neighbours (flow
   filled across the damage first), or by the diffusion restorer's masked inpainting when
   ``restorer.name: diffusion``.
5. **Denoise** (:mod:`~vidrestore.film.denoise`): temporal average weighted by warp error and
   confidence; then optional **re-grain**.
5b. **Second dust pass** (``film.dust.passes: 2``): the cleaned frames go through dust detection and
   repair once more, against their cleaned neighbours (flow estimated again on them; the first
   pass's scene cuts). Specks that grain or a flow failed on every neighbour hid from the first
   pass stand out there. It leaves regions next to a motion edge alone (``dust.second_pass_flow``):
   a repair there would paste the wrong side of the edge.
6. A restorer after it (``restorer.name`` a GAN model, upscaling) is not this stage's business: the
   builder in :mod:`vidrestore.pipeline.stages` chains it after the film stage
   (:class:`~vidrestore.pipeline.chain.Chain`).

The stage holds ``radius + deflicker.window`` frames of look-ahead (``+ radius`` with the second
pass) and emits every input frame exactly once, in order, with its own ``pts``. uint16 frames stay
uint16. Masks of the detected dust and scratches can be written for review (``--save-masks DIR``,
:mod:`~vidrestore.film.masks`).

This module only orchestrates: the window of frames, the order of the steps, the second pass and
what goes downstream. Each step is its own module (above), and so are the flow the stage
estimates (:mod:`.flows`), the masks (:mod:`.masks`), inpainting (:mod:`.inpaint`), the counts and
timings (:mod:`.stats`) and the section it takes (:mod:`.config`, ``film``).

Segments (resume, many workers): every :meth:`FilmProcessor.process` call starts clean and nothing
in the stage has an unbounded memory: deflicker chains exposures from the frame being corrected
over its window, scene cuts are decided from a bounded past (:mod:`~vidrestore.flow.cutmemory`), grain
is drawn from the seed and the frame index. So a segment fed ``warmup_frames`` frames before it and
``lookahead_frames`` after it gives the frames of one uninterrupted run bit for bit (DIS flow and
the film stage on the CPU; a GAN restorer chained after it states its own conditions).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import numpy as np

from vidrestore.device import resolve_device
from vidrestore.film.align import (
    align_neighbours,
    local_motion,
    neighbour_offsets,
    rescue_islands,
    rewarp_filled,
    side_coverage,
)
from vidrestore.film.deflicker import identity_fit, measure_pair
from vidrestore.film.dust import DustParams, Neighbourhood, clip_masks, detect, repair
from vidrestore.film.flows import NormalisedFlow
from vidrestore.film.inpaint import DiffusionInpainter, Inpainter
from vidrestore.film.masks import MaskWriter
from vidrestore.film.ops import remap
from vidrestore.film.scratch import ScratchParams, confirm_lines, repair_lines, widen
from vidrestore.film.stats import FilmStats
from vidrestore.film.window import FrameWindow
from vidrestore.flow.cutmemory import KnownCuts
from vidrestore.stage import same_frames_spec
from vidrestore.types import Frame, OutputSpec, VideoInfo

if TYPE_CHECKING:
    import torch

    from vidrestore.film.align import Aligned
    from vidrestore.film.config import FilmConfig
    from vidrestore.flow.base import FlowEstimator
    from vidrestore.flow.cache import FlowCache
    from vidrestore.flow.config import FlowConfig

log = logging.getLogger(__name__)

__all__ = ["DiffusionInpainter", "FilmProcessor", "Inpainter", "MaskWriter", "build_processor"]


class FilmProcessor:
    """Film cleaning as a :class:`~vidrestore.stage.FrameProcessor` (see module docstring).

    ``config`` is the ``film`` section alone. ``keep_masks`` keeps every frame's final masks in
    :attr:`last_masks` (for a caller that scores them: tests, benchmarks); ``analyse_only`` detects
    and counts (masks, stats) but emits the frames unchanged. Both are plain attributes a caller may
    also set before :meth:`process`.
    """

    def __init__(self, *, config: FilmConfig, estimator: FlowEstimator, scene_cut_threshold: float | None = None,
                 occlusion_threshold: float = 1.0,
                 inpainter: Inpainter | None = None, mask_writer: MaskWriter | None = None,
                 analyse_only: bool = False, keep_masks: bool = False, second_pass: bool = False,
                 second_estimator: FlowEstimator | None = None) -> None:
        self.cfg = config
        self.device = resolve_device(config.device, key="film.device")
        self.flow = NormalisedFlow(estimator)
        self.scene_cut_threshold = scene_cut_threshold  # None: no scene-cut detection
        self.occlusion_threshold = float(occlusion_threshold)
        self.followed = False  # a stage runs after this one in a chain (set by the Chain; see _parallel)
        self.inpainter = inpainter
        self.mask_writer = mask_writer
        self.owned: tuple[int, int | None] | None = None  # input frames whose masks this run writes (None: all)
        self.analyse_only = bool(analyse_only)
        self.keep_masks = bool(keep_masks)
        self.dust = DustParams.of(config.dust, second_pass=second_pass)
        self.scratch = ScratchParams.of(config.scratch)
        self.lookahead = config.lookahead
        self.last_masks: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.known_cuts: KnownCuts | None = None  # set on a second pass: the first pass's scene cuts
        self.second: FilmProcessor | None = None
        self._hold_threads = False  # torch's thread count is held by a parallel run (see _process_parallel)
        if config.dust.enabled and config.dust.passes >= 2:
            self.second = FilmProcessor(config=_second_pass_config(config), estimator=second_estimator or estimator,
                                        occlusion_threshold=occlusion_threshold, second_pass=True, keep_masks=True)
            if scene_cut_threshold is not None:
                self.second.known_cuts = KnownCuts()
        self._reset()

    def _reset(self) -> None:
        """A clean state: nothing carried over from an earlier :meth:`process` call (a segment starts here)."""
        from vidrestore.flow.cache import FlowCache
        from vidrestore.flow.cutmemory import WindowedSceneCuts

        cfg = self.cfg
        detector: WindowedSceneCuts | KnownCuts | None = None
        if self.scene_cut_threshold is not None:
            detector = WindowedSceneCuts(threshold=self.scene_cut_threshold)
        elif self.known_cuts is not None:
            self.known_cuts.clear()
            detector = self.known_cuts
        self.cache: FlowCache = FlowCache(self.flow, scene_cuts=detector, batch_size=2)  # type: ignore[arg-type]
        self.flow.seconds = 0.0
        self._last: int | None = None
        self.tally = FilmStats()
        self.window = FrameWindow(cfg.deflicker, self.scratch, self.tally)
        self.last_masks = {}
        self._pending: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.given_flows: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # second pass: the first pass's flows
        reset = getattr(self.inpainter, "reset", None)
        if reset is not None:
            reset()

    # ----------------------------------------------------------------- contract

    def _reach(self) -> tuple[int, int] | None:
        """``(warm-up, look-ahead)`` of the stage; None when it cannot be split."""
        from vidrestore.flow.cutmemory import CUT_MEMORY

        if self.inpainter is not None:
            return None
        cuts = CUT_MEMORY if self.scene_cut_threshold is not None else 0
        warmup, lookahead = self.cfg.lookahead + cuts, self.cfg.lookahead
        if self.second is not None and not self.analyse_only:
            again = self.second._reach()
            assert again is not None  # no masks written, no inpainter
            warmup, lookahead = warmup + again[0], lookahead + again[1]
        return warmup, lookahead

    @property
    def warmup_frames(self) -> int | None:
        """Input frames before a segment that make its outputs equal one uninterrupted run's, bit for bit.

        ``radius + deflicker.window + CUT_MEMORY``: frame t reads its neighbours ``t +- radius``,
        each deflickered from the pair fits of ``+- deflicker.window`` frames (chained from the
        frame itself, :class:`~vidrestore.film.deflicker.ExposureTrack`), and whether a frame
        starts a shot is decided from the ``CUT_MEMORY`` frames before it
        (:class:`~vidrestore.flow.cutmemory.WindowedSceneCuts`); re-grain is seeded by the frame index.
        A second dust pass (``film.dust.passes: 2``) adds its ``radius`` on the cleaned frames (it
        takes the first pass's scene cuts, :class:`~vidrestore.flow.cutmemory.KnownCuts`). None (never
        split) when dust is inpainted by the diffusion restorer (its latent state is recursive). A
        frame's masks come from the same window as its pixels, so a split run that writes masks writes
        each frame's masks only in the segment that owns it (:meth:`own_frames`).
        """
        reach = self._reach()
        return None if reach is None else reach[0]

    @property
    def lookahead_frames(self) -> int | None:
        """Input frames after a segment its outputs read: ``radius + deflicker.window`` (+ the second pass's
        ``radius``)."""
        reach = self._reach()
        return None if reach is None else reach[1]

    @property
    def writes_per_frame(self) -> bool:
        """True when review masks are written (named by input frame): see :func:`vidrestore.stage.own_frames`."""
        return self.mask_writer is not None

    def own_frames(self, start: int, stop: int | None) -> None:
        """This run owns the outputs of input frames ``[start, stop)``: masks are written for those only."""
        self.owned = (int(start), None if stop is None else int(stop))

    def _owns(self, t: int) -> bool:
        if self.owned is None:
            return True
        start, stop = self.owned
        return start <= t and (stop is None or t < stop)

    def output_spec(self, info: VideoInfo, frame_size: tuple[int, int]) -> OutputSpec:
        return same_frames_spec(info, frame_size)

    def process(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        from vidrestore.film.ops import use_torch_ops

        self._reset()
        use_torch_ops(self.cfg.torch_ops)
        if self._parallel():
            yield from self._process_parallel(frames)
            return
        cleaned = self._process(frames)
        if self.second is not None and not self.analyse_only:
            cleaned = self._second_pass(cleaned)
        yield from cleaned

    def _parallel(self) -> bool:
        """Whether the two dust passes run side by side (``film.parallel``: two threads, both cores).

        Off by default: the first pass then runs up to 6 frames ahead of what the stage's look-ahead
        holds otherwise (a queue of 4 cleaned frames and one in the making), and within that bound
        nothing can overlap: each output of the second pass needs the first pass's newest frame.
        Only with a fixed torch thread count (``film.threads`` > 0) and no stage after this one in a
        chain (``followed``): the count is then held for the whole run, across the yields, instead of
        being set and restored around each frame from two threads at once.
        """
        return (self.cfg.parallel and self.second is not None and not self.analyse_only and self.cfg.threads > 0
                and not self.followed and self.inpainter is None)

    def _process_parallel(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        """The first pass in a thread of its own (:func:`~vidrestore.film.parallel.run_ahead`), feeding the second
        pass here; torch's thread count is held for the whole run."""
        from vidrestore.film.parallel import run_ahead
        from vidrestore.threads import torch_threads

        assert self.second is not None
        self._hold_threads = self.second._hold_threads = True
        cleaned = run_ahead(lambda: self._process(frames), threads=self.cfg.threads)
        try:
            with torch_threads(self.cfg.threads):
                yield from self._second_pass(cleaned)
        finally:
            cleaned.close()  # type: ignore[attr-defined]
            self._hold_threads = self.second._hold_threads = False

    def stats(self) -> dict[str, Any]:
        again = self.second.stats() if self.second is not None and not self.analyse_only else None
        out = self.tally.summary(flow_seconds=self.flow.seconds, cache=self.cache.stats(), second=again)
        if self.inpainter is not None:
            out["inpainter"] = self.inpainter.name
            out["inpainted_frames"] = self.tally.counts["inpainted_frames"]
        if self.mask_writer is not None:
            out["masks_written"] = self.mask_writer.written
        return out

    # ----------------------------------------------------------------- streaming

    def _process(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        next_out: int | None = None
        for frame in frames:
            if self._last is not None and frame.index != self._last + 1:
                raise ValueError(f"film: frames must come in order without gaps (got {frame.index} after {self._last})")
            with self._threads():
                self._ingest(frame)
            if next_out is None:
                next_out = frame.index
            while next_out is not None and self._ready(next_out):
                with self._threads():
                    out = self._emit(next_out)
                yield out
                next_out += 1
        while next_out is not None and self._last is not None and next_out <= self._last:
            with self._threads():
                out = self._emit(next_out)
            yield out
            next_out += 1

    def _second_pass(self, cleaned: Iterator[Frame]) -> Iterator[Frame]:
        """Dust found again on the cleaned frames against their cleaned neighbours, and repaired.

        The first pass aligns grainy, flickering frames: a speck where the flow failed on every
        neighbour, or one that grain hid among the neighbours' disagreement, is left. Denoised and
        deflickered, the same place aligns and stands out. Masks are counted and written here, the
        union of both passes', once the second pass has emitted the frame.
        """
        assert self.second is not None
        for out in self.second.process(cleaned):
            t = out.index
            dust, scratch = self._pending.pop(t)
            again = self.second.last_masks.pop(t)[0]
            self._record(t, dust | again, scratch)
            yield out

    def _threads(self) -> AbstractContextManager[None]:
        """torch threads as ``film.threads`` says while this stage works, restored before frames leave it."""
        from contextlib import nullcontext

        from vidrestore.threads import torch_threads

        if self._hold_threads:
            return nullcontext()
        return torch_threads(self.cfg.threads)

    def _ready(self, index: int) -> bool:
        last = self._last
        if last is None or index > last:
            return False
        return last >= index + self.lookahead or not self.cache.same_shot(index, last)

    def _timed(self, stage: str, t0: float) -> float:
        return self.tally.timed(stage, t0)

    def _ingest(self, frame: Frame) -> None:
        from vidrestore.tensors import to_tensor

        t0 = time.perf_counter()
        x = to_tensor(frame.rgb, device=self.device)
        t0 = self._timed("convert", t0)
        i = frame.index
        is_cut = self.cache.add(i, x[0])
        given = self.given_flows.pop(i - 1, None)
        if given is not None and not is_cut and (i - 1) in self.cache:
            self.cache.provide(i - 1, *given)
        if self.second is not None and self.second.known_cuts is not None:
            self.second.known_cuts.tell(is_cut)
        self.window.add(frame, x)
        first = self._last is None
        self._last = i
        if first or is_cut:
            self.window.start_shot(i)
            return
        if self.cfg.deflicker.enabled:
            self.cache.ensure(i - 1, i + 1, "both")
            t0 = time.perf_counter()
            raw = self.window.raw
            self.window.push_exposure(i, measure_pair(raw[i - 1], raw[i], self.cache.forward(i - 1),
                                                      self.cache.backward(i - 1), grid=self.cfg.deflicker.grid,
                                                      occlusion_threshold=self.occlusion_threshold))
            self._timed("deflicker", t0)
        else:
            self.window.push_exposure(i, identity_fit(self.cfg.deflicker.grid))

    def _emit(self, t: int) -> Frame:
        """Frame ``t`` cleaned: aligned neighbours, damage found, then repaired, denoised and re-grained."""
        from vidrestore.tensors import from_tensor

        center, aligned = self._align(t)
        t0 = time.perf_counter()
        dust, dust_found = self._find_dust(t, center, aligned)
        t0 = self._timed("dust", t0)
        scratch = self._find_scratches(t, center, aligned)
        t0 = self._timed("scratch", t0)
        src = self.window.frames[t]
        if self.analyse_only:
            return self._finish(t, src, dust_found, scratch, t0)
        out = self._clean_up(t, center, aligned, dust, scratch)
        t0 = time.perf_counter()
        (rgb,) = from_tensor(out.clamp(0, 1), dtype=src.rgb.dtype)
        t0 = self._timed("convert", t0)
        return self._finish(t, src.with_rgb(rgb), dust_found, scratch, t0)

    def _align(self, t: int) -> tuple[torch.Tensor, Aligned]:
        """Frame ``t`` deflickered and its ``+-radius`` neighbours of the same shot aligned onto it (islands where
        a blotch broke the flow rescued when dust is looked for)."""
        cfg = self.cfg
        offsets = neighbour_offsets(t, cfg.radius, lambda i: i in self.cache and self.cache.same_shot(t, i))
        center = self.window.clean(t)
        for k in offsets:
            self.window.clean(t + k)
        t0 = time.perf_counter()
        aligned = align_neighbours(t, offsets, self.cache, self.window.clean,
                                   occlusion_threshold=self.occlusion_threshold, min_confidence=cfg.min_confidence)
        if cfg.dust.enabled:
            dust = cfg.dust
            aligned, rescued = rescue_islands(aligned, self.window.clean, center, max_area=dust.max_area,
                                              threshold=2 * dust.threshold, agree=dust.threshold,
                                              ring=dust.rescue_ring, ring_share=dust.rescue_share)
            self.tally.add("rescued_pixels", rescued)
        self._timed("align", t0)
        return center, aligned

    def _find_dust(self, t: int, center: torch.Tensor, aligned: Aligned) -> tuple[torch.Tensor, torch.Tensor]:
        """``(repair mask, detected mask)`` of frame ``t``'s dust, bool ``(1, 1, H, W)`` (empty when off)."""
        import torch

        h, w = center.shape[-2:]
        none = torch.zeros(1, 1, h, w, dtype=torch.bool, device=center.device)
        if not (self.cfg.dust.enabled and len(aligned)):
            return none, none
        nb = Neighbourhood(center=center, warped=aligned.warped, valid=aligned.valid, sides=aligned.sides,
                           offsets=aligned.offsets, covered=side_coverage(aligned), inside=aligned.inside,
                           motion=local_motion(aligned), clipped=clip_masks(self.window.raw[t]), flows=aligned.flows,
                           sources=[self.window.clean(t + k) for k in aligned.offsets])
        det = detect(nb, self.dust)
        self.tally.add("dust_regions", det.regions)
        self.tally.add("rejected_large", det.rejected_large)
        return det.repair_mask, det.mask

    def _find_scratches(self, t: int, center: torch.Tensor, aligned: Aligned) -> torch.Tensor:
        """Frame ``t``'s scratches (lines its neighbours confirm), widened by 1 px; bool ``(1, 1, H, W)``."""
        import torch

        if not self.cfg.scratch.enabled:
            h, w = center.shape[-2:]
            return torch.zeros(1, 1, h, w, dtype=torch.bool, device=center.device)
        others = [self.window.lines(t + k) for k in aligned.offsets]
        shifts = [aligned.flows[i, 0].cpu().numpy() for i in range(len(aligned))]
        lines = confirm_lines(self.window.lines(t), others, self.scratch, shifts)
        return torch.from_numpy(widen(lines, 1))[None, None].to(center.device)

    def _clean_up(self, t: int, center: torch.Tensor, aligned: Aligned, dust: torch.Tensor,
                  scratch: torch.Tensor) -> torch.Tensor:
        """Damage repaired (or inpainted), then the temporal denoise and re-grain; ``(1, 3, H, W)`` float."""
        from vidrestore.film.denoise import grain, noise_sigma, temporal_denoise
        from vidrestore.film.ops import dilate

        cfg = self.cfg
        t0 = time.perf_counter()
        damaged = dust | scratch
        out = center
        warped = aligned.warped
        conf = aligned.conf
        if cfg.scratch.enabled and len(aligned):
            conf = conf * ~self._on_neighbour_lines(t, center, aligned)
        if bool(damaged.any()):
            warped = rewarp_filled(aligned, self.window.clean, dilate(damaged, 3))
            if self.inpainter is not None:
                out = self.inpainter.inpaint(center, damaged, t)
                self.tally.add("inpainted_frames", 1)
            else:
                out = self._repair(center, warped, aligned, conf, dust, scratch)
        t0 = self._timed("repair", t0)
        if cfg.denoise.enabled and cfg.denoise.strength > 0 and len(aligned):
            out, weight = temporal_denoise(out, warped, conf, strength=cfg.denoise.strength,
                                           min_confidence=cfg.min_confidence)
            self.tally.add("neighbour_weight", weight)
        if len(aligned):
            self.tally.add("noise_sum", noise_sigma(center, aligned.warped, aligned.valid))
        t0 = self._timed("denoise", t0)
        g = cfg.grain
        if g.sigma > 0:
            out = (out + grain(out, sigma=g.sigma / 255.0, size=g.size, seed=g.seed, index=t)).clamp_(0, 1)
        self._timed("regrain", t0)
        return out

    def _on_neighbour_lines(self, t: int, center: torch.Tensor, aligned: Aligned) -> torch.Tensor:
        """Where a neighbour's own scratch candidates land, warped onto frame ``t``: never material for it."""
        import torch

        lines = torch.stack([torch.from_numpy(widen(self.window.lines(t + k), 1)) for k in aligned.offsets]).to(
            center.device)
        return remap(lines[:, None].float(), aligned.flows, cubic=False, clip=False) > 0.25

    def _finish(self, t: int, out: Frame, dust: torch.Tensor, scratch: torch.Tensor, t0: float) -> Frame:
        """Count and write the masks of frame ``t`` (after the second pass, if any), forget what no later frame
        needs, return ``out``."""
        dust_np, scratch_np = dust[0, 0].cpu().numpy(), scratch[0, 0].cpu().numpy()
        if self.second is not None and not self.analyse_only:
            self._pending[t] = (dust_np, scratch_np)
            if self.cfg.dust.second_pass_flows == "reuse":
                self._hand_flows(t)
        else:
            self._record(t, dust_np, scratch_np)
        self._timed("masks", t0)
        self._evict(t + 1)
        return out

    def _hand_flows(self, t: int) -> None:
        """Give the second pass this pass's flows between frames ``t`` and ``t + 1`` (when both are in one shot).

        Estimated on the raw frames (normalised), they serve the cleaned ones as well as flows estimated
        again: the picture is the same, only its dust, grain and flicker differ.
        """
        assert self.second is not None
        if (t + 1) in self.cache and self.cache.same_shot(t, t + 1):
            self.second.given_flows[t] = (self.cache.forward(t), self.cache.backward(t))

    def _record(self, t: int, dust: np.ndarray, scratch: np.ndarray) -> None:
        self.tally.count_masks(dust, scratch)
        if self.mask_writer is not None and self._owns(t):
            self.mask_writer.write(t, dust, scratch)
        if self.keep_masks:
            self.last_masks[t] = (dust, scratch)

    def _repair(self, center: torch.Tensor, warped: torch.Tensor, aligned: Aligned, conf: torch.Tensor,
                dust: torch.Tensor, scratch: torch.Tensor) -> torch.Tensor:
        """Dust from the weighted-median neighbour; scratches from neighbours that see past the line, else along it."""
        weights = conf * aligned.valid
        out = repair(center, warped, weights, dust) if bool(dust.any()) else center
        if not bool(scratch.any()):
            return out
        return repair_lines(out, warped, weights, aligned.flows, scratch & ~dust, self.scratch.max_width)

    def _evict(self, next_index: int) -> None:
        keep_from = next_index - self.cfg.radius
        self.cache.evict(keep_from)
        self.window.evict(keep_from)


def _second_pass_config(cfg: FilmConfig) -> FilmConfig:
    """The second dust pass: dust alone, on frames already deflickered, cleaned of scratches and denoised."""
    from dataclasses import replace

    return replace(cfg, deflicker=replace(cfg.deflicker, enabled=False), scratch=replace(cfg.scratch, enabled=False),
                   denoise=replace(cfg.denoise, enabled=False), grain=replace(cfg.grain, sigma=0.0),
                   dust=replace(cfg.dust, passes=1), save_masks=None)


def build_processor(film: FilmConfig, flow: FlowConfig, *, inpainter: Inpainter | None = None) -> FilmProcessor:
    """The film-cleaning stage alone, from its own section and the flow section it estimates motion with;
    ``inpainter`` repairs the damage instead of the neighbours when given. The stage is built from the
    whole config, with a restorer after it or the diffusion restorer as its inpainter, by
    :func:`vidrestore.pipeline.stages.build_film_chain`."""
    from vidrestore.flow import build_flow_estimator

    estimator = build_flow_estimator(flow)
    writer = MaskWriter(film.save_masks) if film.save_masks else None
    log.info("film: flow %s, radius %d, deflicker %s, dust %s, scratches %s, denoise %s, regrain %s%s",
             estimator.name, film.radius,
             f"+-{film.deflicker.window} grid {film.deflicker.grid}" if film.deflicker.enabled else "off",
             "on" if film.dust.enabled else "off", "on" if film.scratch.enabled else "off",
             f"{film.denoise.strength:g}" if film.denoise.enabled else "off",
             f"{film.grain.sigma:g}" if film.grain.sigma > 0 else "off",
             f", inpainting with {inpainter.name}" if inpainter else "")
    return FilmProcessor(config=film, estimator=estimator,
                         scene_cut_threshold=flow.scene_cut_threshold if flow.scene_cut else None,
                         occlusion_threshold=flow.occlusion_threshold,
                         inpainter=inpainter, mask_writer=writer,
                         second_estimator=build_flow_estimator(flow) if film.dust.passes >= 2 else None)
