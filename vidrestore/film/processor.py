"""``vidrestore restore --preset film``: the film-cleaning stage as a streaming FrameProcessor.

Per frame, in this order (each step switchable in the ``film`` config section):

1. **Flow and scene cuts.** Frames enter a :class:`~vidrestore.flow.cache.FlowCache` with the
   scene-cut detector: consecutive flows are estimated once per direction, on luma normalised to
   zero mean and unit variance per frame (so flicker does not disturb the flow), and never across a
   cut. Longer flows are composed from consecutive ones. Nothing below reaches across a cut.
2. **Deflicker** (:mod:`~vidrestore.film.deflicker`): gain/offset between consecutive frames on
   motion-compensated reliable pixels, chained and smoothed over ``+-deflicker_window`` frames.
3. **Alignment** (:mod:`~vidrestore.film.align`): the ``+-radius`` neighbours (deflickered) are
   warped onto the frame, with per-pixel flow confidence.
4. **Dust and dirt** (:mod:`~vidrestore.film.dust`) and **line scratches**
   (:mod:`~vidrestore.film.scratch`) are detected and repaired from the aligned neighbours (flow
   filled across the damage first), or by the diffusion restorer's masked inpainting when
   ``restorer.name: diffusion``.
5. **Denoise** (:mod:`~vidrestore.film.denoise`): temporal average weighted by warp error and
   confidence; then optional **re-grain**.
5b. **Second dust pass** (``film.dust_passes: 2``): the cleaned frames go through dust detection and
   repair once more, against their cleaned neighbours (flow estimated again on them; the first
   pass's scene cuts). Specks that grain or a flow failed on every neighbour hid from the first
   pass stand out there. It leaves regions next to a motion edge alone (``dust_second_pass_flow``):
   its repairs there pasted the wrong side of the edge (old_films_bofb).
6. Optional **restorer** after it: with ``restorer.name`` a GAN model, the cleaned frames go through
   that restorer's processor (upscaling); the output size is the restorer's.

The stage holds ``radius + deflicker_window`` frames of look-ahead (``+ radius`` with the second
pass) and emits every input frame exactly once, in order, with its own ``pts``. uint16 frames stay
uint16. Masks of the detected dust and scratches can be written for review (``--save-masks DIR``:
``DIR/dust/NNNNNN.png`` and ``DIR/scratch/NNNNNN.png``, white = detected, named by frame index).

Segments (resume, many workers): every :meth:`FilmProcessor.process` call starts clean and nothing
in the stage has an unbounded memory: deflicker chains exposures from the frame being corrected
over its window, scene cuts are decided from a bounded past (:mod:`~vidrestore.film.shots`), grain
is drawn from the seed and the frame index. So a segment fed ``warmup_frames`` frames before it and
``lookahead_frames`` after it gives the frames of one uninterrupted run bit for bit (DIS flow and
the film stage on the CPU; a downstream GAN restorer states its own conditions).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from vidrestore.errors import OutputError
from vidrestore.film.align import (
    align_neighbours,
    local_motion,
    neighbour_offsets,
    rescue_islands,
    rewarp_filled,
    side_coverage,
)
from vidrestore.film.deflicker import ExposureTrack, apply_correction, downscale_factor, fit_pair
from vidrestore.film.dust import DustParams, detect_blotches, repair, weighted_median_pick
from vidrestore.film.ops import remap
from vidrestore.film.scratch import ScratchParams, confirm_lines, inpaint_rows, line_candidates, widen
from vidrestore.film.shots import KnownCuts
from vidrestore.pipeline.base import FrameProcessor, OutputSpec
from vidrestore.types import Frame, VideoInfo

if TYPE_CHECKING:
    import torch

    from vidrestore.config import Config, FilmConfig
    from vidrestore.flow.base import FlowEstimator
    from vidrestore.flow.cache import FlowCache

log = logging.getLogger(__name__)

STAGES = ("flow", "deflicker", "align", "dust", "scratch", "repair", "denoise", "regrain", "convert", "masks")


class Inpainter(Protocol):
    """Fills masked pixels of one frame: ``(1, 3, H, W)`` and bool ``(1, 1, H, W)`` -> ``(1, 3, H, W)``."""

    name: str

    def inpaint(self, frame: torch.Tensor, mask: torch.Tensor, index: int) -> torch.Tensor: ...


class MaskWriter:
    """Writes ``DIR/dust/NNNNNN.png`` and ``DIR/scratch/NNNNNN.png`` (8-bit, 255 = detected), each atomically.

    The two subfolders are vidrestore's own (created with the output marker); an existing one is
    reused only when it holds nothing but masks of an earlier run, and then only with ``--overwrite``
    when it has any. Each mask goes through :mod:`vidrestore.io.safety`, so none lands on an input
    or through a link.
    """

    def __init__(self, folder: str | os.PathLike[str], *, overwrite: bool | None = None) -> None:
        from vidrestore.io import safety

        self.folder = Path(folder)
        if self.folder.is_symlink():
            raise OutputError(f"{self.folder}: --save-masks is a symbolic link; vidrestore never writes through a "
                              "link (give the real folder)")
        if self.folder.exists() and not self.folder.is_dir():
            raise OutputError(f"{self.folder}: --save-masks needs a folder, and this is a file")
        overwrite = safety.RUN.overwrite if overwrite is None else overwrite
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(f"{self.folder}: cannot create the mask folder ({err.strerror or err})") from err
        for sub in ("dust", "scratch"):
            path = self.folder / sub
            safety.check_not_input(path, (), what="--save-masks folder", folder=True)
            if not (path.exists() or path.is_symlink()):
                safety.make_folder(path, what="the mask folder")
                continue
            if path.is_symlink() or not path.is_dir() or not safety.is_vidrestore_folder(path):
                raise OutputError(f"{path}: --save-masks would write into a folder vidrestore did not create; "
                                  "choose a new folder")
            if any(p.suffix == ".png" for p in path.iterdir()) and not overwrite:
                raise OutputError(f"{path}: already holds masks (use --overwrite to replace them)")
        self.written = 0

    def write(self, index: int, dust: np.ndarray, scratch: np.ndarray) -> None:
        import cv2

        from vidrestore.io import safety

        for sub, mask in (("dust", dust), ("scratch", scratch)):
            path = self.folder / sub / f"{index:06d}.png"
            with safety.temp_target(path, overwrite=True, what="mask", suffix=".png") as tmp:
                if not cv2.imwrite(str(tmp), mask.astype(np.uint8) * 255):
                    raise OutputError(f"{path}: cannot write the mask image")
        self.written += 1


class _NormalisedFlow:
    """Wraps an estimator: each frame's luma is normalised to zero mean / unit variance first (flicker-proof)."""

    def __init__(self, inner: FlowEstimator) -> None:
        self.inner = inner
        self.name = inner.name
        self.seconds = 0.0

    @staticmethod
    def _norm(x: torch.Tensor) -> torch.Tensor:
        from vidrestore.film.ops import luma

        y = luma(x.float())
        mean = y.mean(dim=(1, 2, 3), keepdim=True)
        std = y.std(dim=(1, 2, 3), keepdim=True).clamp(min=1e-3)
        z = ((y - mean) / std * 0.2 + 0.5).clamp_(0.0, 1.0)
        return z.expand(-1, 3, -1, -1)

    def estimate(self, frame_t: torch.Tensor, frame_s: torch.Tensor) -> torch.Tensor:
        t0 = time.perf_counter()
        a, b = self._norm(frame_t), self._norm(frame_s)
        with _estimator_lock(self.inner):  # one OpenCV flow object is not safe to call from two threads at once
            out = self.inner.estimate(a, b)
        self.seconds += time.perf_counter() - t0
        return out


_LOCKS: dict[int, Any] = {}


def _estimator_lock(estimator: Any) -> Any:
    """A lock per estimator object (the two dust passes of a parallel run may share one)."""
    import threading

    lock = _LOCKS.get(id(estimator))
    if lock is None:
        lock = _LOCKS.setdefault(id(estimator), threading.Lock())
    return lock


class FilmProcessor:
    """Film cleaning as a :class:`~vidrestore.pipeline.base.FrameProcessor` (see module docstring)."""

    def __init__(self, *, config: FilmConfig, estimator: FlowEstimator, scene_cut_threshold: float | None = None,
                 occlusion_threshold: float = 1.0, downstream: FrameProcessor | None = None,
                 inpainter: Inpainter | None = None, mask_writer: MaskWriter | None = None,
                 analyse_only: bool = False, second_pass: bool = False,
                 second_estimator: FlowEstimator | None = None) -> None:
        self.cfg = config
        self.device = film_device(config.device)
        self.flow = _NormalisedFlow(estimator)
        self.scene_cut_threshold = scene_cut_threshold  # None: no scene-cut detection
        self.occlusion_threshold = float(occlusion_threshold)
        self.downstream = downstream
        self.inpainter = inpainter
        self.mask_writer = mask_writer
        self.analyse_only = bool(analyse_only)  # detect and count (masks, stats) but emit the frames unchanged
        self.dust = DustParams(threshold=config.dust_threshold, sigmas=config.dust_sigmas,
                               max_area=config.dust_max_area, dilate=config.dust_dilate,
                               max_motion=config.dust_max_motion,
                               override_contrast=config.dust_override_contrast,
                               one_sided_contrast=config.dust_one_sided_contrast,
                               uniform_flow=config.dust_uniform_flow,
                               moved_flow=config.dust_moved_flow or None, moved_ratio=config.dust_moved_ratio,
                               moved_search=config.dust_moved_search, sides_agree=config.dust_sides_agree or None,
                               edge_flow=config.dust_second_pass_flow if second_pass else None)
        self.scratch = ScratchParams(threshold=config.scratch_threshold, min_length=config.scratch_min_length,
                                     max_width=config.scratch_max_width, persistence=config.scratch_persistence)
        self.lookahead = config.radius + (config.deflicker_window if config.deflicker else 0)
        self.last_masks: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.keep_masks = False  # tests and benchmarks: keep every frame's masks in last_masks
        self.known_cuts: KnownCuts | None = None  # set on a second pass: the first pass's scene cuts
        self.second: FilmProcessor | None = None
        self._hold_threads = False  # torch's thread count is held by a parallel run (see _process_parallel)
        if config.dust and config.dust_passes >= 2:
            self.second = FilmProcessor(config=_second_pass_config(config), estimator=second_estimator or estimator,
                                        occlusion_threshold=occlusion_threshold, second_pass=True)
            self.second.keep_masks = True
            if scene_cut_threshold is not None:
                self.second.known_cuts = KnownCuts()
        self._reset()

    def _reset(self) -> None:
        """A clean state: nothing carried over from an earlier :meth:`process` call (a segment starts here)."""
        from vidrestore.film.shots import WindowedSceneCuts
        from vidrestore.flow.cache import FlowCache

        cfg = self.cfg
        detector: WindowedSceneCuts | KnownCuts | None = None
        if self.scene_cut_threshold is not None:
            detector = WindowedSceneCuts(threshold=self.scene_cut_threshold)
        elif self.known_cuts is not None:
            self.known_cuts.clear()
            detector = self.known_cuts
        self.cache: FlowCache = FlowCache(self.flow, scene_cuts=detector, batch_size=2)  # type: ignore[arg-type]
        self.flow.seconds = 0.0
        self.exposure = ExposureTrack(window=cfg.deflicker_window, grid=cfg.deflicker_grid)
        self._frames: dict[int, Frame] = {}
        self._raw: dict[int, torch.Tensor] = {}
        self._clean: dict[int, torch.Tensor] = {}
        self._lines: dict[int, np.ndarray] = {}
        self._last: int | None = None
        self._seconds = dict.fromkeys(STAGES, 0.0)
        self._counts: dict[str, Any] = {"frames": 0, "dust_pixels": 0, "dust_regions": 0, "dust_frames": 0,
                                        "scratch_pixels": 0, "scratch_frames": 0, "rejected_large": 0,
                                        "neighbour_weight": 0.0, "noise_sum": 0.0, "inpainted_frames": 0,
                                        "rescued_pixels": 0}
        self.last_masks = {}
        self._pending: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.given_flows: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # second pass: the first pass's flows
        reset = getattr(self.inpainter, "reset", None)
        if reset is not None:
            reset()

    # ----------------------------------------------------------------- contract

    def _reach(self) -> tuple[int, int] | None:
        """``(warm-up, look-ahead)`` of the stage and its downstream restorer; None when it cannot be split."""
        from vidrestore.film.shots import CUT_MEMORY
        from vidrestore.pipeline.base import segment_reach

        if self.mask_writer is not None or self.inpainter is not None:
            return None
        cfg = self.cfg
        deflicker = cfg.deflicker_window if cfg.deflicker else 0
        cuts = CUT_MEMORY if self.scene_cut_threshold is not None else 0
        warmup, lookahead = cfg.radius + deflicker + cuts, cfg.radius + deflicker
        if self.second is not None and not self.analyse_only:
            again = self.second._reach()
            assert again is not None  # no masks written, no inpainter, no downstream
            warmup, lookahead = warmup + again[0], lookahead + again[1]
        if self.downstream is None:
            return warmup, lookahead
        after = segment_reach(self.downstream)
        if after is None:
            return None
        return warmup + after[0], lookahead + after[1]

    @property
    def warmup_frames(self) -> int | None:
        """Input frames before a segment that make its outputs equal one uninterrupted run's, bit for bit.

        ``radius + deflicker_window + CUT_MEMORY``: frame t reads its neighbours ``t +- radius``,
        each deflickered from the pair fits of ``+- deflicker_window`` frames (chained from the
        frame itself, :class:`~vidrestore.film.deflicker.ExposureTrack`), and whether a frame
        starts a shot is decided from the ``CUT_MEMORY`` frames before it
        (:class:`~vidrestore.film.shots.WindowedSceneCuts`); re-grain is seeded by the frame index.
        A second dust pass (``film.dust_passes: 2``) adds its ``radius`` on the cleaned frames (it
        takes the first pass's scene cuts, :class:`~vidrestore.film.shots.KnownCuts`), and a
        downstream restorer its warm-up. None (never split) when masks are written
        (a warm-up frame would overwrite the mask of a frame another segment owns) or dust is
        inpainted by the diffusion restorer (its latent state is recursive).
        """
        reach = self._reach()
        return None if reach is None else reach[0]

    @property
    def lookahead_frames(self) -> int | None:
        """Input frames after a segment its outputs read: ``radius + deflicker_window`` (+ the second pass's
        ``radius``, + the restorer's)."""
        reach = self._reach()
        return None if reach is None else reach[1]

    def output_spec(self, info: VideoInfo, frame_size: tuple[int, int]) -> OutputSpec:
        if self.downstream is not None:
            return self.downstream.output_spec(info, frame_size)
        return OutputSpec(width=frame_size[0], height=frame_size[1], time_base=info.time_base,
                          rate=info.avg_rate or info.real_rate, num_frames=info.num_frames,
                          bit_depth=16 if info.is_high_bit_depth else 8)

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
        if self.downstream is not None:
            yield from self.downstream.process(cleaned)
        else:
            yield from cleaned

    def _parallel(self) -> bool:
        """Whether the two dust passes run side by side (``film.parallel``: two threads, both cores).

        Off by default: the first pass then runs up to 6 frames ahead of what the stage's look-ahead
        holds otherwise (a queue of 4 cleaned frames and one in the making), and within that bound
        nothing can overlap: each output of the second pass needs the first pass's newest frame.
        Only with a fixed torch thread count (``film.threads`` > 0) and nothing downstream: the count
        is then held for the whole run instead of being set and restored around each frame from two
        threads at once.
        """
        return (self.cfg.parallel and self.second is not None and not self.analyse_only and self.cfg.threads > 0
                and self.downstream is None and self.inpainter is None)

    def _process_parallel(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        """The first pass in a thread of its own, feeding the second pass here through a short queue.

        Each pass does exactly what it does in one thread (same frames in the same order, the same
        torch thread count), so the output is the same bit for bit; OpenCV, NumPy and torch release
        the GIL in their loops, so the two passes share both cores.
        """
        import queue
        import threading

        import torch

        from vidrestore.threads import torch_threads

        assert self.second is not None
        handoff: queue.Queue[Any] = queue.Queue(maxsize=4)
        stop = threading.Event()
        done = object()

        def put(item: Any) -> bool:
            while not stop.is_set():
                try:
                    handoff.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def first_pass() -> None:
            torch.set_num_threads(self.cfg.threads)
            try:
                for out in self._process(frames):
                    if not put(out):
                        return
                put(done)
            except BaseException as err:  # handed to the consumer, raised there
                put(err)

        def cleaned() -> Iterator[Frame]:
            # started on the second pass's first request: after its reset (which clears the cuts the first pass
            # tells it)
            worker.start()
            while True:
                item = handoff.get()
                if item is done:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item

        self._hold_threads = self.second._hold_threads = True
        worker = threading.Thread(target=first_pass, name="film-first-pass", daemon=True)
        try:
            with torch_threads(self.cfg.threads):
                yield from self._second_pass(cleaned())
        finally:
            stop.set()
            if worker.is_alive():
                worker.join()
            self._hold_threads = self.second._hold_threads = False

    def stats(self) -> dict[str, Any]:
        n = max(self._counts["frames"], 1)
        self._seconds["flow"] = self.flow.seconds
        seconds = dict(self._seconds)
        again = self.second.stats() if self.second is not None and not self.analyse_only else None
        if again is not None:
            seconds["second_pass"] = again["film_seconds"]
        total = sum(seconds.values())
        out: dict[str, Any] = dict(self.cache.stats())
        out.update({
            "film_frames": self._counts["frames"],
            "dust_regions_per_frame": round(self._counts["dust_regions"] / n, 3),
            "dust_pixels_per_frame": round(self._counts["dust_pixels"] / n, 1),
            "frames_with_dust": self._counts["dust_frames"],
            "frames_with_scratches": self._counts["scratch_frames"],
            "scratch_pixels_per_frame": round(self._counts["scratch_pixels"] / n, 1),
            "large_regions_rejected": self._counts["rejected_large"],
            "rescued_pixels_per_frame": round(self._counts["rescued_pixels"] / n, 1),
            "mean_neighbour_weight": round(self._counts["neighbour_weight"] / n, 3),
            "mean_noise_sigma_8bit": round(255.0 * self._counts["noise_sum"] / n, 2),
            "film_seconds": round(total, 3),
            "stage_seconds": {k: round(v, 3) for k, v in seconds.items()},
            "stage_share": {k: round(v / total, 3) if total > 0 else 0.0 for k, v in seconds.items()},
        })
        if again is not None:
            out["second_pass_regions_per_frame"] = again["dust_regions_per_frame"]
        if self.inpainter is not None:
            out["inpainter"] = self.inpainter.name
            out["inpainted_frames"] = self._counts["inpainted_frames"]
        if self.mask_writer is not None:
            out["masks_written"] = self.mask_writer.written
        if self.downstream is not None:
            out["restorer"] = self.downstream.stats()
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
        now = time.perf_counter()
        self._seconds[stage] += now - t0
        return now

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
        self._frames[i] = frame
        self._raw[i] = x
        first = self._last is None
        self._last = i
        if first or is_cut:
            self.exposure.start_shot(i)
            return
        if self.cfg.deflicker:
            self.cache.ensure(i - 1, i + 1, "both")
            t0 = time.perf_counter()
            self.exposure.push(i, self._pair_fit(i - 1))
            self._timed("deflicker", t0)
        else:
            self.exposure.push(i, _identity_fit(self.cfg.deflicker_grid))

    def _pair_fit(self, t: int) -> Any:
        import torch.nn.functional as F

        from vidrestore.film.align import fb_confidence
        from vidrestore.film.ops import box_blur, luma
        from vidrestore.flow import backward_warp, resize_flow

        a, b = self._raw[t], self._raw[t + 1]
        h, w = a.shape[-2:]
        f = downscale_factor(h, w)
        size = (max(8, h // f), max(8, w // f))
        # a 3x3 mean on both, so the bilinear warp's extra smoothing of b is negligible (it biases
        # block medians of skewed texture by 1-3 % otherwise)
        ya = box_blur(F.interpolate(luma(a), size=size, mode="area"), 3)
        yb = box_blur(F.interpolate(luma(b), size=size, mode="area"), 3)
        fwd = resize_flow(self.cache.forward(t)[None], size)
        bwd = resize_flow(self.cache.backward(t)[None], size)
        conf = fb_confidence(fwd, bwd, threshold=self.occlusion_threshold / f + 0.25)
        yb_on_a = backward_warp(yb, fwd)
        # clipped pixels (black or white in any channel) do not follow the exposure: leave them out
        clip_a = F.interpolate(_clipped(a), size=size, mode="area")
        clip_b = backward_warp(F.interpolate(_clipped(b), size=size, mode="area"), fwd)
        valid = ((conf >= 0.5) & (clip_a < 0.02) & (clip_b < 0.02))[0, 0].cpu().numpy()
        return fit_pair(ya[0, 0].cpu().numpy(), yb_on_a[0, 0].cpu().numpy(), valid, grid=self.cfg.deflicker_grid)

    def _clean_frame(self, i: int) -> torch.Tensor:
        """Frame ``i`` deflickered (cached)."""
        if i not in self._clean:
            t0 = time.perf_counter()
            x = self._raw[i]
            if self.cfg.deflicker:
                x = apply_correction(x, *self.exposure.correction(i))
            self._clean[i] = x
            self._timed("deflicker", t0)
        return self._clean[i]

    def _line_candidates(self, i: int) -> np.ndarray:
        if i not in self._lines:
            from vidrestore.film.ops import luma

            y = luma(self._clean_frame(i))[0, 0].cpu().numpy()
            self._lines[i] = line_candidates(y, self.scratch)
        return self._lines[i]

    def _emit(self, t: int) -> Frame:
        import torch

        from vidrestore.film.denoise import grain, noise_sigma, temporal_denoise
        from vidrestore.film.ops import dilate
        from vidrestore.tensors import from_tensor

        cfg = self.cfg
        offsets = neighbour_offsets(t, cfg.radius, lambda i: i in self.cache and self.cache.same_shot(t, i))
        center = self._clean_frame(t)
        for k in offsets:
            self._clean_frame(t + k)
        t0 = time.perf_counter()
        aligned = align_neighbours(t, offsets, self.cache, self._clean_frame,
                                   occlusion_threshold=self.occlusion_threshold, min_confidence=cfg.min_confidence)
        if cfg.dust:
            aligned, rescued = rescue_islands(aligned, self._clean_frame, center, max_area=cfg.dust_max_area,
                                              threshold=2 * cfg.dust_threshold, agree=cfg.dust_threshold,
                                              ring=cfg.dust_rescue_ring, ring_share=cfg.dust_rescue_share)
            self._counts["rescued_pixels"] += rescued
        t0 = self._timed("align", t0)
        h, w = center.shape[-2:]
        dust = torch.zeros(1, 1, h, w, dtype=torch.bool, device=center.device)
        dust_found = dust
        if cfg.dust and len(aligned):
            det = detect_blotches(center, aligned.warped, aligned.valid, aligned.sides, self.dust, aligned.offsets,
                                  covered=side_coverage(aligned), inside=aligned.inside,
                                  motion=local_motion(aligned), clipped=_clip_masks(self._raw[t]),
                                  flows=aligned.flows,
                                  sources=[self._clean_frame(t + k) for k in aligned.offsets])
            dust, dust_found = det.repair_mask, det.mask
            self._counts["dust_regions"] += det.regions
            self._counts["rejected_large"] += det.rejected_large
        t0 = self._timed("dust", t0)
        scratch = torch.zeros_like(dust)
        if cfg.scratches:
            others = [self._line_candidates(t + k) for k in aligned.offsets]
            shifts = [aligned.flows[i, 0].cpu().numpy() for i in range(len(aligned))]
            lines = confirm_lines(self._line_candidates(t), others, self.scratch, shifts)
            scratch = torch.from_numpy(widen(lines, 1))[None, None].to(center.device)
        t0 = self._timed("scratch", t0)

        src = self._frames[t]
        if self.analyse_only:
            return self._finish(t, src, dust_found, scratch, t0)
        damaged = dust | scratch
        out = center
        warped = aligned.warped
        conf = aligned.conf
        if cfg.scratches and len(aligned):
            # a neighbour's own scratch candidates (warped onto this frame) are never material
            lines = torch.stack([torch.from_numpy(widen(self._line_candidates(t + k), 1)) for k in aligned.offsets]).to(
                center.device)
            on_line = remap(lines[:, None].float(), aligned.flows, cubic=False, clip=False) > 0.25
            conf = conf * ~on_line
        if bool(damaged.any()):
            warped = rewarp_filled(aligned, self._clean_frame, dilate(damaged, 3))
            if self.inpainter is not None:
                out = self.inpainter.inpaint(center, damaged, t)
                self._counts["inpainted_frames"] += 1
            else:
                out = self._repair(center, warped, aligned, conf, dust, scratch)
        t0 = self._timed("repair", t0)
        if cfg.denoise and cfg.denoise_strength > 0 and len(aligned):
            out, weight = temporal_denoise(out, warped, conf, strength=cfg.denoise_strength,
                                           min_confidence=cfg.min_confidence)
            self._counts["neighbour_weight"] += weight
        if len(aligned):
            self._counts["noise_sum"] += noise_sigma(center, aligned.warped, aligned.valid)
        t0 = self._timed("denoise", t0)
        if cfg.regrain > 0:
            out = (out + grain(out, sigma=cfg.regrain / 255.0, size=cfg.regrain_size, seed=cfg.seed, index=t)).clamp_(0, 1)
        t0 = self._timed("regrain", t0)

        (rgb,) = from_tensor(out.clamp(0, 1), dtype=src.rgb.dtype)
        t0 = self._timed("convert", t0)
        return self._finish(t, src.with_rgb(rgb), dust_found, scratch, t0)

    def _finish(self, t: int, out: Frame, dust: torch.Tensor, scratch: torch.Tensor, t0: float) -> Frame:
        """Count and write the masks of frame ``t`` (after the second pass, if any), forget what no later frame
        needs, return ``out``."""
        dust_np, scratch_np = dust[0, 0].cpu().numpy(), scratch[0, 0].cpu().numpy()
        if self.second is not None and not self.analyse_only:
            self._pending[t] = (dust_np, scratch_np)
            if self.cfg.dust_second_pass_flows == "reuse":
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
        self._count_masks(dust, scratch)
        if self.mask_writer is not None:
            self.mask_writer.write(t, dust, scratch)
        if self.keep_masks:
            self.last_masks[t] = (dust, scratch)

    def _repair(self, center: torch.Tensor, warped: torch.Tensor, aligned: Any, conf: torch.Tensor,
                dust: torch.Tensor, scratch: torch.Tensor) -> torch.Tensor:
        """Dust from the weighted-median neighbour; scratches from neighbours that see past the line, else along it."""
        import torch

        weights = conf * aligned.valid
        out = repair(center, warped, weights, dust) if bool(dust.any()) else center
        if not bool(scratch.any()):
            return out
        line = scratch & ~dust
        off = aligned.flows[:, 0:1].abs() >= self.scratch.max_width + 1.0
        has = torch.zeros_like(line)
        if len(aligned):
            rgb, ok = weighted_median_pick(warped, weights * off, line)
            sel = line[0, 0]
            flat = out[0][:, sel]
            flat[:, ok] = rgb[:, ok]
            out = out.clone()
            out[0][:, sel] = flat
            has[0, 0][sel] = ok
        rest = (line & ~has)[0, 0].cpu().numpy()
        if rest.any():
            img = out[0].permute(1, 2, 0).cpu().numpy()
            filled = inpaint_rows(np.ascontiguousarray(img), rest)
            out = torch.from_numpy(filled).permute(2, 0, 1)[None].contiguous().to(center.device)
        return out

    def _count_masks(self, dust: np.ndarray, scratch: np.ndarray) -> None:
        c = self._counts
        c["frames"] += 1
        nd, ns = int(dust.sum()), int(scratch.sum())
        c["dust_pixels"] += nd
        c["scratch_pixels"] += ns
        c["dust_frames"] += int(nd > 0)
        c["scratch_frames"] += int(ns > 0)

    def _evict(self, next_index: int) -> None:
        keep_from = next_index - self.cfg.radius
        self.cache.evict(keep_from)
        self.exposure.evict(keep_from - self.cfg.deflicker_window)
        for store in (self._frames, self._raw, self._clean, self._lines):
            for k in [k for k in store if k < keep_from]:
                del store[k]


def film_device(name: str) -> torch.device:
    """``film.device``: ``cpu``, ``cuda`` (refused in one line when there is none) or ``auto``."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from vidrestore.errors import ConfigError

        raise ConfigError("film.device: cuda asked for, but torch sees no CUDA device here (use cpu or auto)")
    return torch.device(name)


def _second_pass_config(cfg: FilmConfig) -> FilmConfig:
    """The second dust pass: dust alone, on frames already deflickered, cleaned of scratches and denoised."""
    from dataclasses import replace

    return replace(cfg, deflicker=False, scratches=False, denoise=False, regrain=0.0, dust_passes=1, save_masks=None)


def _clip_masks(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(white, black)`` bool ``(1, 1, H, W)``: clipped areas of the scanned frame wider than 5 px, grown by 3 px,
    where a pixel itself or one next to it is clipped.

    Narrower clipped spots are left out: a white speck of dust is clipped too, and it is dirt. So is
    a dark speck *inside* a clipped highlight (dirt on a white sky): its own pixels are not clipped,
    and the 3x3 means of the detector carry a clipped pixel's difference one pixel further, no more.
    """
    from vidrestore.film.ops import dilate

    def wide(m: torch.Tensor) -> torch.Tensor:
        return dilate(~dilate(~m, 2), 3) & dilate(m, 1)  # opening by a 5x5 square, grown, near clipped pixels

    return wide(x.amax(1, keepdim=True) >= 0.985), wide(x.amin(1, keepdim=True) <= 0.015)


def _clipped(x: torch.Tensor) -> torch.Tensor:
    """``(1, 1, H, W)`` float: 1 where any channel is within 1 % of black or white."""
    return ((x.amax(1, keepdim=True) >= 0.99) | (x.amin(1, keepdim=True) <= 0.01)).float()


def _identity_fit(grid: int) -> Any:
    from vidrestore.film.deflicker import PairFit

    return PairFit(gain=np.ones((grid, grid)), offset=np.zeros((grid, grid)), reliable=np.ones((grid, grid), bool))


class DiffusionInpainter:
    """Masked inpainting with the diffusion restorer (DDNM with the mask operator keeps every other pixel)."""

    def __init__(self, restorer: Any) -> None:
        self.restorer = restorer
        self.name = f"diffusion ({getattr(restorer.model, 'name', 'model')})"
        self._state: Any = None

    def reset(self) -> None:
        """Forget the latent state carried from frame to frame (a new :meth:`FilmProcessor.process` call)."""
        self._state = None

    def inpaint(self, frame: torch.Tensor, mask: torch.Tensor, index: int) -> torch.Tensor:
        device = self.restorer.model.device
        out, self._state = self.restorer.restore_window(frame.to(device), [index], self._state,
                                                        masks=mask.float().to(device))
        return out.float().cpu().clamp(0, 1)


def build_processor(cfg: Config, info: VideoInfo) -> FilmProcessor:
    """``PROCESSORS["film"]``: film cleaning, then the configured restorer (a GAN model) if any."""
    from vidrestore.flow import build_flow_estimator
    from vidrestore.pipeline import factory
    from vidrestore.restore.registry import capabilities

    film = cfg.film
    downstream = None
    inpainter = None
    restorer_can = capabilities(cfg.restorer.name)
    if restorer_can.can_inpaint:
        restorer = factory.build_processor(cfg, info, stages=False)
        inpainter = DiffusionInpainter(restorer.restorer)  # type: ignore[attr-defined]
        if inpainter.restorer.output_size(8, 8) != (8, 8):
            from vidrestore.errors import ConfigError

            raise ConfigError("film with restorer.name=diffusion inpaints dust and scratches: the diffusion model "
                              "must work at the input size (restorer.scale: 1 and a latent or pixel model)")
    elif restorer_can.needs_pixels:
        downstream = factory.build_processor(cfg, info, stages=False)
    estimator = build_flow_estimator(cfg.flow)
    writer = MaskWriter(film.save_masks) if film.save_masks else None
    log.info("film: flow %s, radius %d, deflicker %s, dust %s, scratches %s, denoise %s, regrain %s%s%s",
             estimator.name, film.radius,
             f"+-{film.deflicker_window} grid {film.deflicker_grid}" if film.deflicker else "off",
             "on" if film.dust else "off", "on" if film.scratches else "off",
             f"{film.denoise_strength:g}" if film.denoise else "off",
             f"{film.regrain:g}" if film.regrain > 0 else "off",
             f", inpainting with {inpainter.name}" if inpainter else "",
             f", then {cfg.restorer.name}" if downstream else "")
    return FilmProcessor(config=film, estimator=estimator,
                         scene_cut_threshold=cfg.flow.scene_cut_threshold if cfg.flow.scene_cut else None,
                         occlusion_threshold=cfg.flow.occlusion_threshold, downstream=downstream,
                         inpainter=inpainter, mask_writer=writer,
                         second_estimator=build_flow_estimator(cfg.flow) if film.dust_passes >= 2 else None)
