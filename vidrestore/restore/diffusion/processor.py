"""``vidrestore restore --preset diffusion``: the diffusion restorer as a streaming FrameProcessor.

Frames arrive one by one; :func:`~vidrestore.temporal.windows.sliding_windows` groups them into
windows of ``temporal.window`` frames sharing ``temporal.overlap`` frames. The new frames of each
window are restored in one batch; the shared (carried) frames are not denoised again, their latent
trajectory joins the windows (see :mod:`~vidrestore.restore.diffusion.restorer`). Every input
frame is emitted exactly once, in order, with its own ``pts``; at most one window is held.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from vidrestore.errors import ConfigError
from vidrestore.types import Frame, OutputSpec, VideoInfo

if TYPE_CHECKING:
    from vidrestore.restore.registry import RestorerSections

log = logging.getLogger(__name__)


def settings_from_config(sections: RestorerSections, *, vae_factor: int = 1, layout: str = "latent") -> Any:
    """:class:`DiffusionSettings` from the config sections (``restorer``, ``diffusion``, ``temporal``, ``flow``).

    ``restorer.scale`` is the output scale, as for every restorer (the x4 upscaler's result is
    resized when it is not 4). ``restorer.tile``/``tile_overlap`` are in input pixels; they are
    converted to latent pixels here (the upscaler's latent has the input's size; latent and pixel
    models work on the input resized by ``scale``, divided by the VAE factor).
    """
    from vidrestore.restore.diffusion.restorer import DiffusionSettings

    r, d = sections.restorer, sections.diffusion
    scale = r.scale
    latent_per_input = 1.0 if layout == "upscale" else r.scale / vae_factor
    tile = max(8, round(r.tile * latent_per_input)) if r.tile > 0 else 0
    overlap = round(r.tile_overlap * latent_per_input)
    return DiffusionSettings(
        steps=r.steps, strength=r.strength, seed=r.seed, sampler=d.sampler, eta=d.eta, scale=scale,
        noise_level=d.noise_level, tile=tile, tile_overlap=overlap, consistency=sections.temporal.latent_consistency,
        consistency_start=d.consistency_start, consistency_end=d.consistency_end,
        occlusion_threshold=sections.flow.occlusion_threshold, cut_confidence=d.cut_confidence,
        scene_cut=sections.flow.scene_cut,
        scene_cut_threshold=sections.flow.scene_cut_threshold, color_fix=d.color_fix,
        guidance=d.guidance, guidance_interval=d.guidance_interval, noise_anchor=d.noise_anchor,
    )


class DiffusionProcessor:
    """FrameProcessor around a :class:`~vidrestore.restore.diffusion.restorer.DiffusionRestorer`.

    Segments: NOT bit-exact, within a stated tolerance. The latent chain is causal (no look-ahead)
    and recursive: each frame's ``x0`` is pulled toward its predecessor's at every step, so a cold
    start fades out over frames instead of vanishing. Its other memories are bounded: noise tracks
    restart at anchor frames (``diffusion.noise_anchor``), scene cuts are decided from the last
    ``CUT_MEMORY`` frames. ``warmup_frames = max(noise_anchor, CUT_MEMORY) + segment_warmup``: the
    first span makes noise and cuts equal to one pass, ``diffusion.segment_warmup`` lets the chain
    forget the rest. tests/restore/test_reach_diffusion.py holds the tolerance: with the warm-up a
    segment stays within it of one pass at the worst anchor phases, without it a segment is clearly
    off. It runs the tiny random-weight model; real weights may fade slower, which is why the
    warm-up is a knob. With ``temporal.latent_consistency`` off frames do not depend on each other
    and the warm-up is 0 (exact up to batch composition).
    """

    def __init__(self, *, restorer: Any, window: int, overlap: int, segment_warmup: int = 16) -> None:
        if window < 1 or not 0 <= overlap < window:
            raise ConfigError(f"temporal.window/overlap: need 0 <= overlap < window, got {window}/{overlap}")
        self.restorer = restorer
        self.window = window
        self.overlap = overlap
        self.segment_warmup = int(segment_warmup)
        self._seconds = 0.0

    @property
    def warmup_frames(self) -> int:
        """Input frames before a segment: noise anchor / cut memory span, then the chain's fade (see class doc)."""
        from vidrestore.flow.cutmemory import CUT_MEMORY

        s = self.restorer.settings
        if not s.consistency:
            return 0
        return max(s.noise_anchor, CUT_MEMORY if s.scene_cut else 0) + self.segment_warmup

    @property
    def lookahead_frames(self) -> int:
        """0: the chain only looks back."""
        return 0

    def output_spec(self, info: VideoInfo, frame_size: tuple[int, int]) -> OutputSpec:
        h, w = self.restorer.output_size(frame_size[1], frame_size[0])
        return OutputSpec(width=w, height=h, time_base=info.time_base, rate=info.avg_rate or info.real_rate,
                          num_frames=info.num_frames, bit_depth=16 if info.is_high_bit_depth else 8)

    def process(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        from vidrestore.temporal.windows import sliding_windows
        from vidrestore.tensors import from_tensor, to_tensor

        state = None
        device = self.restorer.model.device
        for batch in sliding_windows(frames, window=self.window, overlap=self.overlap):
            new = batch.new_items
            if not new:
                continue
            t0 = time.perf_counter()
            x = to_tensor([f.rgb for f in new], device=device)
            out, state = self.restorer.restore_window(x, [f.index for f in new], state)
            dtype = np.uint16 if new[0].rgb.dtype == np.uint16 else np.uint8
            images = from_tensor(out, dtype)
            self._seconds += time.perf_counter() - t0
            log.debug("diffusion window %d: frames %d..%d", batch.window.index, new[0].index, new[-1].index)
            for frame, rgb in zip(new, images):
                yield frame.with_rgb(rgb)

    def stats(self) -> dict[str, Any]:
        out = self.restorer.stats.as_dict()
        frames = out.get("frames") or 0
        out["seconds_per_frame"] = round(self._seconds / frames, 4) if frames else None
        out["model"] = self.restorer.model.name
        return out


def build_processor(sections: RestorerSections, info: VideoInfo) -> DiffusionProcessor:
    """The diffusion family's builder (``restorer.name: diffusion``)."""
    from vidrestore.restore.diffusion.models import load_model
    from vidrestore.restore.diffusion.restorer import DiffusionRestorer

    r, d, temporal = sections.restorer, sections.diffusion, sections.temporal
    if not r.model_path:
        raise ConfigError("restorer.model_path: set it to a local diffusers folder (e.g. --set "
                          "restorer.model_path=DIR; 'python tools/make_tiny_diffusion.py --out DIR' makes a tiny "
                          "random-weight one to try the mechanics)")
    schedule = None if d.schedule == "model" else d.schedule
    model = load_model(r.model_path, device=r.device, precision=r.precision, prompt=d.prompt,
                       negative_prompt=d.negative_prompt, guidance_scale=d.guidance_scale,
                       beta_schedule=schedule)
    settings = settings_from_config(sections, vae_factor=model.vae_factor, layout=model.layout)
    flow = None
    if settings.consistency:
        from vidrestore.flow import build_flow_estimator

        flow = build_flow_estimator(sections.flow, device=model.device)
    restorer = DiffusionRestorer(model=model, settings=settings, flow=flow)
    overlap = temporal.overlap if temporal.window > 1 else 0
    log.info("diffusion: %s, %s sampler, %d steps at strength %.2f, window %d/%d, consistency %s, tile %s",
             model.name, settings.sampler, settings.steps, settings.strength, temporal.window, overlap,
             "on" if settings.consistency else "off", settings.tile or "off")
    return DiffusionProcessor(restorer=restorer, window=temporal.window, overlap=overlap,
                              segment_warmup=d.segment_warmup)
