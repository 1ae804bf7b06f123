"""The diffusion restorer: windows of frames denoised together, consistent over time, tiled in space.

One call of :meth:`DiffusionRestorer.restore_window` takes the *new* frames of a window
``(T, 3, H, W)`` in [0, 1] and the :class:`ChainState` left by the previous window, and returns the
restored frames and the state for the next window. Per window:

1. Flow links of every new frame to its predecessor (the previous frame of the window, or the
   carried frame of the previous window), with confidence from forward-backward consistency.
2. Start noise from :mod:`~vidrestore.restore.diffusion.consistency`'s warped noise tracks (the
   same content gets the same noise); with ``consistency`` off, independent noise per frame.
3. Start sample: the encoded input noised to the strength's timestep (img2img), or pure noise at
   strength 1. For the x4 upscaler the low-resolution input is noise-augmented (``noise_level``)
   and concatenated to the latent.
4. Every step: UNet on Gaussian-weighted latent tiles (:class:`~.tiles.TileFuser`), data
   prediction ``x0``, flow-warped blending with the predecessor's ``x0`` at the same step
   (strength schedule), optional DDNM projection, sampler step.
5. Decode, colour fix against the input, exact DDNM projection at the end, clamp.

The carried frame's latent trajectory (its ``x0`` at every step) is what joins windows: the first
new frame blends with it exactly as it would with a frame of its own window. Frames already
produced are never denoised again, so the output does not depend on the window length and no seam
forms between windows.
"""

from __future__ import annotations

import copy
import functools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vidrestore.errors import ConfigError, ShapeError, VidrestoreError
from vidrestore.restore.diffusion.colorfix import COLOR_FIXES, color_fix
from vidrestore.restore.diffusion.consistency import (
    Links,
    NoiseTrack,
    advance_track,
    blend_chain,
    empty_links,
    lattice_noise,
    link_frames,
    start_track,
    strength_schedule,
)
from vidrestore.restore.diffusion.guidance import Degradation, Downsample, Mask, project, project_consistent
from vidrestore.restore.diffusion.samplers import SAMPLERS, build_sampler
from vidrestore.restore.diffusion.tiles import TileFuser
from vidrestore.sections import check, choice

if TYPE_CHECKING:
    import torch

    from vidrestore.flow.base import FlowEstimator
    from vidrestore.restore.diffusion.models import DiffusionModel

log = logging.getLogger(__name__)

GUIDANCE = ("none", "ddnm")
MIN_TILE = 16  # latent pixels: the smallest tile the out-of-memory path shrinks to
_NOISE_STREAM = 0
_LOW_RES_STREAM = 1
_STEP_STREAM = 100


@dataclass(frozen=True)
class DiffusionSettings:
    """Sampling settings (config keys in brackets).

    ``scale`` is output pixels per input pixel: for the x4 upscaler its native 4 by default (other
    values resize the x4 result); for latent and pixel models the input is resized by ``scale``
    first (default 1). ``tile``/``tile_overlap`` are in *latent* pixels (0 = whole frame).
    """

    steps: int = 20  # [restorer.steps]
    strength: float = 0.5  # [restorer.strength] img2img start strength; 1 = from pure noise
    seed: int = 0  # [restorer.seed]
    sampler: str = "ddim"  # [diffusion.sampler] ddim | dpmpp
    eta: float = 0.0  # [diffusion.eta] DDIM stochasticity
    scale: float | None = None  # [restorer.scale]
    noise_level: int = 20  # [diffusion.noise_level] x4 upscaler low-res noise augmentation
    tile: int = 0
    tile_overlap: int = 8
    consistency: bool = True  # [temporal.latent_consistency]
    consistency_start: float = 0.9  # [diffusion.consistency_start]
    consistency_end: float = 0.3  # [diffusion.consistency_end]
    occlusion_threshold: float = 1.0  # [flow.occlusion_threshold]
    cut_confidence: float = 0.25  # [diffusion.cut_confidence] mean confidence under which a pair is a cut
    scene_cut: bool = True  # [flow.scene_cut] also break the chain where the scene-cut detector fires
    scene_cut_threshold: float = 0.2  # [flow.scene_cut_threshold]
    color_fix: str = "adain"  # [diffusion.color_fix] none | adain | wavelet
    guidance: str = "none"  # [diffusion.guidance] none | ddnm (x scale super-resolution consistency)
    guidance_interval: int = 1  # [diffusion.guidance_interval] project every k-th step
    noise_anchor: int = 16  # [diffusion.noise_anchor] noise tracks restart from the grid at frames k * noise_anchor

    def __post_init__(self) -> None:
        check("restorer.steps", self.steps >= 1, "must be >= 1")
        check("restorer.strength", 0.0 < self.strength <= 1.0, "must be in (0, 1]")
        choice("diffusion.sampler", self.sampler, SAMPLERS)
        check("diffusion.eta", self.eta >= 0.0, "must be >= 0")
        check("restorer.scale", self.scale is None or self.scale > 0, "must be > 0")
        check("restorer.tile", self.tile >= 0 and self.tile_overlap >= 0, "tile and overlap must be >= 0")
        check("diffusion.consistency_start/end", 0.0 <= self.consistency_start <= 1.0 and
              0.0 <= self.consistency_end <= 1.0, "must be in [0, 1]")
        choice("diffusion.color_fix", self.color_fix, COLOR_FIXES)
        choice("diffusion.guidance", self.guidance, GUIDANCE)
        check("diffusion.guidance_interval", self.guidance_interval >= 1, "must be >= 1")
        check("diffusion.noise_level", self.noise_level >= 0, "must be >= 0")
        check("diffusion.noise_anchor", self.noise_anchor >= 1, "must be >= 1 frame")


@dataclass
class ChainState:
    """What the next window needs from the last frame restored (the carried frame)."""

    index: int
    frame: torch.Tensor  # (1, 3, H, W) input frame, for the flow to the next frame
    denoised: list[torch.Tensor]  # its x0 at every step, (1, C, h, w) each
    track: NoiseTrack  # latent-grid noise track
    low_res_track: NoiseTrack | None = None  # input-grid noise track (x4 upscaler augmentation)
    timesteps: tuple[int, ...] = ()


@dataclass
class RestorerStats:
    frames: int = 0
    windows: int = 0
    unet_evaluations: int = 0  # frame-tile evaluations (one frame, one tile, one step)
    flow_pairs: int = 0
    linked: int = 0
    cuts: int = 0
    mean_confidence: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        conf = sum(self.mean_confidence) / len(self.mean_confidence) if self.mean_confidence else None
        return {"frames": self.frames, "windows": self.windows, "unet_evaluations": self.unet_evaluations,
                "flow_pairs": self.flow_pairs, "linked_frames": self.linked, "scene_cuts": self.cuts,
                "mean_flow_confidence": None if conf is None else round(conf, 4)}


@dataclass
class _Geometry:
    in_size: tuple[int, int]  # input (H, W)
    work_size: tuple[int, int]  # image the model (or its VAE) sees, before padding
    pad_size: tuple[int, int]  # after padding to the VAE multiple
    latent: tuple[int, int]  # sample grid
    out_native: tuple[int, int]  # what decoding gives (cropped)
    out_size: tuple[int, int]  # what is returned


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    import torch.nn.functional as F

    if tuple(x.shape[-2:]) == tuple(size):
        return x
    shrink = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=shrink)


def _pad_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    import torch.nn.functional as F

    ph, pw = size[0] - x.shape[-2], size[1] - x.shape[-1]
    if ph == 0 and pw == 0:
        return x
    mode = "reflect" if ph < x.shape[-2] and pw < x.shape[-1] else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


def _is_out_of_memory(err: BaseException) -> bool:
    """CUDA's OutOfMemoryError, or the CPU allocator's failure."""
    import torch

    if isinstance(err, (torch.cuda.OutOfMemoryError, MemoryError)):
        return True
    text = str(err)
    return "out of memory" in text or "can't allocate memory" in text


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


def fill_holes(x: torch.Tensor, known: torch.Tensor, max_iterations: int = 256) -> torch.Tensor:
    """Fill unknown pixels (``known == 0``) by repeated 3x3 averaging of known neighbours (start image for inpainting)."""
    import torch
    import torch.nn.functional as F

    k = known.float().expand(x.shape[0], 1, *x.shape[-2:]).clone()
    out = x * k
    kernel = torch.ones(1, 1, 3, 3, device=x.device, dtype=x.dtype)
    for _ in range(max_iterations):
        if bool((k > 0).all()):
            return out
        num = F.conv2d(out.reshape(-1, 1, *out.shape[-2:]), kernel, padding=1).view_as(out)
        den = F.conv2d(k, kernel, padding=1)
        grow = (k == 0) & (den > 0)
        filled = num / den.clamp(min=1e-6)
        out = torch.where(grow.expand_as(out), filled, out)
        k = torch.where(grow, torch.ones_like(k), k)
    mean = (x * known).sum(dim=(-2, -1), keepdim=True) / known.sum(dim=(-2, -1), keepdim=True).clamp(min=1)
    return torch.where(k.expand_as(out) > 0, out, mean.expand_as(out))


class DiffusionRestorer:
    """Restores frames with a loaded :class:`~.models.DiffusionModel` (see the module docstring)."""

    def __init__(self, *, model: DiffusionModel, settings: DiffusionSettings,
                 flow: FlowEstimator | None = None) -> None:
        if settings.noise_level > model.max_noise_level and model.layout == "upscale":
            raise ConfigError(f"diffusion.noise_level: {settings.noise_level} exceeds the model's "
                              f"max_noise_level {model.max_noise_level}")
        if settings.consistency and flow is None:
            from vidrestore.flow import DISFlow

            flow = DISFlow(preset="medium")
        self.model = model
        self.settings = settings
        self.flow = flow
        self.stats = RestorerStats()
        self._fusers: dict[tuple[int, int], TileFuser] = {}
        self._cuts: Any = None  # SceneCutDetector of the current chain
        self._tile = settings.tile  # latent tile size in use (shrunk after running out of memory)
        self._unet_batch: int | None = None  # frames per UNet call (None = the whole window)

    # ------------------------------------------------------------------ geometry
    @property
    def scale(self) -> float:
        s = self.settings.scale
        if s is None:
            return float(self.model.native_scale)
        return float(s)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """Output ``(H, W)`` for an input of ``(height, width)``."""
        return max(1, round(height * self.scale)), max(1, round(width * self.scale))

    def _geometry(self, height: int, width: int) -> _Geometry:
        m = self.model
        out_size = self.output_size(height, width)
        if m.layout == "upscale":
            f = m.vae_factor
            return _Geometry((height, width), (height * f, width * f), (height * f, width * f), (height, width),
                             (height * f, width * f), out_size)
        work = out_size  # latent and pixel models work at the output size
        f = m.vae_factor
        pad = (math.ceil(work[0] / f) * f, math.ceil(work[1] / f) * f)
        return _Geometry((height, width), work, pad, (pad[0] // f, pad[1] // f), work, out_size)

    def _fuser(self, latent: tuple[int, int]) -> TileFuser:
        if latent not in self._fusers:
            self._fusers[latent] = TileFuser(height=latent[0], width=latent[1], tile=self._tile,
                                             overlap=self.settings.tile_overlap, device=self.model.device)
        return self._fusers[latent]

    # ------------------------------------------------------------------ degradation operators
    def _sr_operator(self, geo: _Geometry) -> Downsample:
        f = geo.out_native[0] / geo.in_size[0]
        if abs(f - round(f)) > 1e-9 or round(f) < 2 or geo.out_native[1] != geo.in_size[1] * round(f):
            raise ConfigError("diffusion.guidance: ddnm super-resolution needs an integer output scale >= 2 "
                              f"(got {geo.in_size} -> {geo.out_native})")
        return Downsample(round(f))

    # ------------------------------------------------------------------ public API
    def restore(self, frames: torch.Tensor, *, window: int = 8, overlap: int = 1,
                masks: torch.Tensor | None = None, first_index: int = 0) -> torch.Tensor:
        """Restore a whole clip ``(N, 3, H, W)`` in [0, 1] window by window; returns ``(N, 3, H', W')``.

        ``masks`` ``(N, 1, H, W)`` (nonzero = pixel to fill) turns on inpainting: DDNM with the mask
        operator keeps every other pixel exactly.
        """
        import torch

        from vidrestore.temporal.windows import plan_windows

        outs = []
        state: ChainState | None = None
        for win in plan_windows(frames.shape[0], window=window, overlap=overlap):
            sl = slice(win.emit_start, win.stop)
            idx = list(range(first_index + win.emit_start, first_index + win.stop))
            out, state = self.restore_window(frames[sl], idx, state, masks=None if masks is None else masks[sl])
            outs.append(out)
        return torch.cat(outs, dim=0) if outs else frames.new_zeros(0, 3, *self.output_size(*frames.shape[-2:]))

    @property
    def _no_grad(self) -> Any:
        import torch

        return torch.inference_mode()

    def restore_window(self, frames: torch.Tensor, indices: Sequence[int], state: ChainState | None, *,
                       masks: torch.Tensor | None = None) -> tuple[torch.Tensor, ChainState]:
        """Restore the new frames of one window; see the module docstring.

        Running out of memory is handled on one explicit path: the window is retried with half as
        many frames per UNet call, then with latent tiles half as large, each step logged; when
        neither can shrink any more a :class:`~vidrestore.errors.VidrestoreError` says so.
        """
        with self._no_grad:
            while True:
                saved = (copy.deepcopy(self.stats), copy.deepcopy(self._cuts))
                try:
                    return self._restore_window(frames, list(indices), state, masks)
                except (RuntimeError, MemoryError) as err:
                    if not _is_out_of_memory(err):
                        raise
                    self.stats, self._cuts = saved
                    self._shrink_after_oom(frames, err)

    def _shrink_after_oom(self, frames: torch.Tensor, err: BaseException) -> None:
        import torch

        n = frames.shape[0]
        latent = self._geometry(*frames.shape[-2:]).latent
        current = self._unet_batch or n
        if current > 1:
            self._unet_batch = max(1, current // 2)
            log.warning("diffusion: out of memory (%s); retrying with %d frame(s) per UNet call",
                        _first_line(err), self._unet_batch)
        else:
            tile = self._tile or max(latent)
            if tile // 2 < MIN_TILE:
                raise VidrestoreError(
                    f"out of memory even with one frame per UNet call and latent tiles of {tile} px "
                    f"({_first_line(err)}); use a smaller restorer.tile, a lower output scale or a smaller model"
                ) from err
            self._tile = tile // 2
            self._fusers.clear()
            log.warning("diffusion: out of memory (%s); retrying with latent tiles of %d px",
                        _first_line(err), self._tile)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _predict_tile(self, x: torch.Tensor, t: int, low_res: torch.Tensor | None,
                      rows: slice, cols: slice) -> torch.Tensor:
        """The UNet on one latent tile (what :class:`TileFuser` asks for), at this step's ``x`` and ``t``."""
        return self._predict(x[..., rows, cols], t, None if low_res is None else low_res[..., rows, cols])

    def _predict(self, x: torch.Tensor, t: int, low_res: torch.Tensor | None) -> torch.Tensor:
        """The UNet on ``x``, ``_unet_batch`` frames at a time."""
        import torch

        m, s = self.model, self.settings
        step = self._unet_batch or x.shape[0]
        if step >= x.shape[0]:
            return m.predict(x, t, low_res=low_res, noise_level=s.noise_level)
        parts = [m.predict(x[i:i + step], t, low_res=None if low_res is None else low_res[i:i + step],
                           noise_level=s.noise_level) for i in range(0, x.shape[0], step)]
        return torch.cat(parts)

    # ------------------------------------------------------------------ the window
    def _restore_window(self, frames: torch.Tensor, indices: list[int], state: ChainState | None,
                        masks: torch.Tensor | None) -> tuple[torch.Tensor, ChainState]:
        import torch

        m, s = self.model, self.settings
        if frames.ndim != 4 or frames.shape[1] != 3:
            raise ShapeError("frames", frames.shape, "(T, 3, H, W)")
        if len(indices) != frames.shape[0]:
            raise ValueError(f"{len(indices)} indices for {frames.shape[0]} frames")
        n = frames.shape[0]
        x_in = frames.to(m.device, torch.float32)
        geo = self._geometry(*x_in.shape[-2:])
        if state is not None and tuple(state.frame.shape[-2:]) != geo.in_size:
            state = None  # the frame size changed: start a new chain

        op, y = self._operator(geo, x_in, masks)
        links = self._links(x_in, state, geo)
        tracks = self._tracks(links.flow, links.conf, links.linked, None if state is None else state.track,
                              indices, geo.latent)
        noise = self._draw(tracks, m.latent_channels, _NOISE_STREAM)
        low_res = low_tracks = None
        if m.layout == "upscale":
            low_tracks = self._tracks(links.flow_in, links.conf_in, links.linked,
                                      None if state is None else state.low_res_track, indices, geo.in_size)
            low_noise = self._draw(low_tracks, 3, _LOW_RES_STREAM)
            assert m.low_res_schedule is not None  # noqa: S101 - load_model sets it for this layout
            low_res = m.low_res_schedule.add_noise(x_in * 2.0 - 1.0, low_noise, s.noise_level)

        sampler = build_sampler(s.sampler, schedule=m.schedule, eta=s.eta)
        init = self._init_sample(x_in, geo, masks)
        sampler.set_timesteps(s.steps, m.device, strength=s.strength if init is not None else 1.0)
        timesteps = tuple(int(t) for t in sampler.timesteps)
        carried = state.denoised if (state is not None and state.timesteps == timesteps) else None
        if state is not None and carried is None:
            links.linked = [False] + links.linked[1:]
        x = noise if init is None else sampler.add_noise(init, noise)
        weights = strength_schedule(len(timesteps), s.consistency_start, s.consistency_end)
        fuser = self._fuser(geo.latent)
        trajectory: list[torch.Tensor] = []
        for k, t in enumerate(timesteps):
            out = fuser(functools.partial(self._predict_tile, x, t, low_res))
            self.stats.unet_evaluations += n * len(fuser.tiles)
            x0 = sampler.predict_denoised(out, t, x)
            if s.consistency:
                x0 = blend_chain(x0, None if carried is None else carried[k], links, weights[k])
            if op is not None and (k % s.guidance_interval == 0 or k == len(timesteps) - 1):
                x0 = self._guide(x0, op, y, geo)
            trajectory.append(x0[-1:].clone())
            # DDIM with eta > 0 draws fresh noise every step: warped along the same tracks
            noise_k = self._draw(tracks, m.latent_channels, _STEP_STREAM + k) if s.eta > 0 else None
            x = sampler.step_denoised(x0, t, x, noise=noise_k).prev_sample

        images = m.decode(x)[..., : geo.out_native[0], : geo.out_native[1]]
        images = color_fix(images, x_in, s.color_fix)
        if op is not None:
            images = project_consistent(op, images, y)
        images = _resize(images, geo.out_size).clamp_(0.0, 1.0)

        new_state = ChainState(index=indices[-1], frame=x_in[-1:].clone(), denoised=trajectory,
                               track=tracks[-1], low_res_track=None if low_tracks is None else low_tracks[-1],
                               timesteps=timesteps)
        self.stats.frames += n
        self.stats.windows += 1
        return images, new_state

    # ------------------------------------------------------------------ pieces
    def _operator(self, geo: _Geometry, x_in: torch.Tensor,
                  masks: torch.Tensor | None) -> tuple[Degradation | None, torch.Tensor | None]:
        """The DDNM operator (in output-image space) and its measurement ``y`` in [0, 1], or (None, None)."""
        from vidrestore.restore.diffusion.guidance import masks_to_known

        if masks is not None:
            if geo.out_native != geo.in_size:
                raise ConfigError("inpainting (masks) needs a model working at the input size: "
                                  "a latent or pixel model with restorer.scale = 1")
            known = masks_to_known(masks.to(x_in.device))
            if known.shape[0] != x_in.shape[0] or tuple(known.shape[-2:]) != geo.in_size:
                raise ShapeError("masks", masks.shape, f"({x_in.shape[0]}, 1, {geo.in_size[0]}, {geo.in_size[1]})")
            return Mask(known), x_in
        if self.settings.guidance == "ddnm":
            return self._sr_operator(geo), x_in
        return None, None

    def _links(self, x_in: torch.Tensor, state: ChainState | None, geo: _Geometry) -> Links:
        import torch

        n = x_in.shape[0]
        if not self.settings.consistency or self.flow is None:
            return empty_links(n, geo.latent, geo.in_size, x_in.device)
        has_prev = [True] * n
        if state is None:
            has_prev[0] = False
            prev = torch.cat([x_in[:1], x_in[:-1]], dim=0)
        else:
            prev = torch.cat([state.frame.to(x_in.device), x_in[:-1]], dim=0)
        detected = self._detect_cuts(x_in, restart=state is None)
        for i in detected:
            has_prev[i] = False
        self.stats.cuts += len(detected)
        if not any(has_prev):
            return empty_links(n, geo.latent, geo.in_size, x_in.device)
        links = link_frames(self.flow, x_in, prev, has_prev, latent=geo.latent,
                            occlusion_threshold=self.settings.occlusion_threshold,
                            cut_confidence=self.settings.cut_confidence)
        pairs = sum(has_prev)
        self.stats.flow_pairs += pairs
        self.stats.linked += sum(links.linked)
        self.stats.cuts += pairs - sum(links.linked)
        self.stats.mean_confidence.extend(c for c, h in zip(links.mean_conf, has_prev) if h)
        return links

    def _detect_cuts(self, x_in: torch.Tensor, *, restart: bool) -> list[int]:
        """Batch positions where the scene-cut detector starts a new shot (the chain must not cross)."""
        if not self.settings.scene_cut:
            return []
        if restart or self._cuts is None:
            from vidrestore.flow.cutmemory import WindowedSceneCuts

            # decided from the last CUT_MEMORY frames only, so a segment finds the cuts one pass finds
            self._cuts = WindowedSceneCuts(threshold=self.settings.scene_cut_threshold)
        return [i for i in range(x_in.shape[0]) if self._cuts.push(x_in[i:i + 1])]

    def _tracks(self, flow: torch.Tensor, conf: torch.Tensor, linked: list[bool], prev: NoiseTrack | None,
                indices: list[int], size: tuple[int, int]) -> list[NoiseTrack]:
        """Noise tracks of the new frames on a grid of ``size`` (latent or input), chained from ``prev``.

        At anchor frames (``index % noise_anchor == 0``) and where a chain starts (first frame, cut)
        the track is the anchor track: the grid, lineage 0 (:func:`start_track` of frame 0). Static
        content keeps its noise across an anchor (its track is that already); moving content's noise
        is re-based there (occluded pixels still start lineages of their own frame). So the noise
        of frame t depends on the flows since the last anchor only, and a segment reproduces it
        from the first anchor it reads on.
        """
        tracks: list[NoiseTrack] = []
        anchor = self.settings.noise_anchor
        for i, index in enumerate(indices):
            if self.settings.consistency and (index % anchor == 0 or prev is None or not linked[i]):
                track = start_track(0, size[0], size[1], self.model.device)  # the anchor track
            elif self.settings.consistency:
                track = advance_track(prev, flow[i:i + 1], conf[i:i + 1] >= 0.5, index)
            else:
                track = start_track(index, size[0], size[1], self.model.device)
            tracks.append(track)
            prev = track
        return tracks

    def _draw(self, tracks: list[NoiseTrack], channels: int, stream: int) -> torch.Tensor:
        """Noise ``(N, C, h, w)`` read from the tracks."""
        import torch

        return torch.cat([lattice_noise(t, channels, seed=self.settings.seed, stream=stream) for t in tracks], dim=0)

    def _init_sample(self, x_in: torch.Tensor, geo: _Geometry, masks: torch.Tensor | None) -> torch.Tensor | None:
        """The clean start sample (img2img), or None to start from pure noise (strength 1)."""
        from vidrestore.restore.diffusion.guidance import masks_to_known

        m = self.model
        if self.settings.strength >= 1.0:
            return None
        img = x_in
        if masks is not None:
            img = fill_holes(img, masks_to_known(masks.to(img.device)))
        img = _resize(img, geo.work_size).clamp(0.0, 1.0)
        img = _pad_to(img, geo.pad_size)
        return m.encode(img)

    def _guide(self, x0: torch.Tensor, op: Degradation, y: torch.Tensor, geo: _Geometry) -> torch.Tensor:
        """DDNM step on the predicted clean sample (through the VAE for latent models)."""
        m = self.model
        if m.vae is None:
            img = x0[..., : geo.out_native[0], : geo.out_native[1]]
            img = project(op, img, y * 2.0 - 1.0)
            return _pad_to(img, tuple(x0.shape[-2:]))
        img = m.decode(x0)[..., : geo.out_native[0], : geo.out_native[1]]
        img = project_consistent(op, img, y)
        return m.encode(_pad_to(img.clamp(0.0, 1.0), geo.pad_size))
