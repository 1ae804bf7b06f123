"""Run configuration: frozen dataclasses loaded from YAML presets in ``configs/``.

A config has sections (``io``, ``flow``, ``temporal``, ``restorer``, ``encode``, ...). Keys
equal dataclass field names. ``load_config`` reads a preset or file with ``yaml.safe_load``,
applies ``--set section.key=value`` overrides (values parsed with ``yaml.safe_load`` too),
rejects unknown keys with a suggestion and checks ranges once, at load time.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from vidrestore.errors import ConfigError
from vidrestore.sections import apply_renames, check, choice, deprecation_line, rename_key, suggest

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class IOConfig:
    reader: str = "pyav"  # pyav | decord
    threads: int = 0  # decoder threads; 0 = automatic
    fps: str | None = None  # frame rate for image-sequence input ("24", "24000/1001"); default 25
    apply_rotation: bool = True  # rotate frames by the display matrix (else carry it to the output)
    queue_size: int = 8  # frames buffered between decode, processing and encode threads

    def __post_init__(self) -> None:
        _choice("io.reader", self.reader, ("pyav", "decord"))
        _check("io.threads", self.threads >= 0, "must be >= 0")
        _check("io.queue_size", self.queue_size >= 1, "must be >= 1")
        if self.fps is not None:
            from fractions import Fraction

            try:
                ok = Fraction(str(self.fps)) > 0
            except (ValueError, ZeroDivisionError):
                ok = False
            _check("io.fps", ok, f"must be a positive rate like 24 or 24000/1001, got {self.fps!r}")


@dataclass(frozen=True)
class FlowConfig:
    method: str = "auto"  # auto | dis | raft-small | raft-large | farneback
    weights: str | None = None  # RAFT checkpoint path (else resolved from the registry)
    iterations: int = 12  # RAFT update iterations
    dis_preset: str = "medium"  # DIS preset: fast | medium (ultrafast allowed)
    dis_finest_scale: int | None = None  # DIS: pyramid level where patch search stops (None: the preset's; 0 = full res)
    downscale: float = 1.0  # estimate flow at 1/downscale resolution, then upsample
    occlusion_threshold: float = 1.0  # forward-backward consistency tolerance (px, plus a relative term)
    scene_cut: bool = True  # detect scene cuts so alignment never crosses one
    scene_cut_threshold: float = 0.2  # histogram distance (0..1) above which a cut may be declared (see flow/scenecut.py)

    def __post_init__(self) -> None:
        _choice("flow.method", self.method, ("auto", "dis", "raft-small", "raft-large", "farneback"))
        _choice("flow.dis_preset", self.dis_preset, ("ultrafast", "fast", "medium"))
        _check("flow.dis_finest_scale", self.dis_finest_scale is None or 0 <= self.dis_finest_scale <= 4,
               "must be null or in [0, 4]")
        _check("flow.iterations", self.iterations >= 1, "must be >= 1")
        _check("flow.downscale", self.downscale >= 1.0, "must be >= 1")
        _check("flow.occlusion_threshold", self.occlusion_threshold > 0, "must be > 0 (pixels)")
        _check("flow.scene_cut_threshold", 0.0 < self.scene_cut_threshold < 1.0, "must be in (0, 1)")


@dataclass(frozen=True)
class TemporalConfig:
    enabled: bool = False
    window: int = 5  # frames in a sliding window
    overlap: int = 2  # frames shared by consecutive windows (warm-up reach)
    strength: float = 0.6  # how strongly aligned neighbours are blended in (0 = off)
    latent_consistency: bool = True  # diffusion: flow-warped latent consistency
    error_scale: float = 0.05  # GAN fusion: input warp error (0..1 units) at which a neighbour's weight halves
    noise_gate: float = 4.0  # GAN fusion: error_scale grows by this x the pair's residual level (0 = off)
    noise_cap: float = 0.03  # GAN fusion: residual level at which that growth has faded to half (a cut, a flash)
    flicker_offset: bool = False  # GAN fusion: a pair's brightness offset is not warp error; each frame keeps its own

    def __post_init__(self) -> None:
        _check("temporal.error_scale", self.error_scale > 0, "must be > 0")
        _check("temporal.noise_gate", self.noise_gate >= 0, "must be >= 0")
        _check("temporal.noise_cap", self.noise_cap > 0, "must be > 0")
        _check("temporal.window", self.window >= 1, "must be >= 1")
        _check("temporal.overlap", 0 <= self.overlap < max(self.window, 1), "must satisfy 0 <= overlap < window")
        _check("temporal.strength", 0.0 <= self.strength <= 1.0, "must be in [0, 1]")


@dataclass(frozen=True)
class RestorerConfig:
    name: str = "none"  # none | realesr-animevideov3 | RealESRGAN_x4plus | ... | diffusion
    weights: str | None = None  # explicit weights path
    scale: float = 1.0  # output scale (native model scale, then resized like Real-ESRGAN's outscale)
    tile: int = 0  # tile size in input pixels; 0 = whole frame
    tile_overlap: int = 16
    batch: int = 1  # frames per model call
    precision: str = "auto"  # auto | fp32 | bf16 | fp16
    cpu_kernel: str = "auto"  # GAN 3x3 convolutions on the CPU in fp32: auto | onednn | winograd (NNPACK)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    model_path: str | None = None  # diffusion: local diffusers folder
    steps: int = 20  # diffusion sampler steps
    strength: float = 0.5  # diffusion img2img start strength
    seed: int = 0
    denoise: float | None = None  # realesr-general-x4v3: blend with the wdn weights (0 weak .. 1 strong)

    def __post_init__(self) -> None:
        _check("restorer.denoise", self.denoise is None or 0.0 <= self.denoise <= 1.0, "must be in [0, 1]")
        _check("restorer.scale", self.scale > 0, "must be > 0")
        _check("restorer.tile", self.tile >= 0, "must be >= 0")
        _check("restorer.tile_overlap", self.tile_overlap >= 0, "must be >= 0")
        _check("restorer.batch", self.batch >= 1, "must be >= 1")
        _choice("restorer.precision", self.precision, ("auto", "fp32", "bf16", "fp16"))
        _choice("restorer.cpu_kernel", self.cpu_kernel, ("auto", "onednn", "winograd"))
        _check("restorer.steps", self.steps >= 1, "must be >= 1")
        _check("restorer.strength", 0.0 < self.strength <= 1.0, "must be in (0, 1]")


@dataclass(frozen=True)
class EncodeConfig:
    backend: str = "pyav"  # pyav | ffmpeg (system ffmpeg through ffmpeg-python)
    codec: str = "auto"  # auto = libx264 (8-bit) / libx265 or libx264 10-bit (>8-bit); or any encoder name
    crf: int | None = 15  # quality for x264/x265/vp9/av1 (None = encoder default)
    preset: str | None = "medium"  # encoder speed preset where the encoder has one
    pix_fmt: str = "auto"  # auto = yuv420p (8-bit) / yuv420p10le (>8-bit); or any pixel format
    audio: str = "copy"  # copy | aac | none
    subtitles: str = "copy"  # copy | none
    threads: int = 0  # encoder threads; 0 = automatic
    options: dict[str, str] = field(default_factory=dict)  # extra encoder options

    def __post_init__(self) -> None:
        _choice("encode.backend", self.backend, ("pyav", "ffmpeg"))
        _choice("encode.audio", self.audio, ("copy", "aac", "none"))
        _choice("encode.subtitles", self.subtitles, ("copy", "none"))
        if self.crf is not None:
            _check("encode.crf", 0 <= self.crf <= 63, "must be in [0, 63]")


@dataclass(frozen=True)
class JobsConfig:
    """Long jobs: segments, work directory, resume and engines (``vidrestore/jobs``; docs/DISTRIBUTED.md).

    None of these keys changes a single output pixel, so they are left out of the config hash that
    ``--resume`` compares (a resumed job may use another engine, worker count or segment size: the
    plan of the interrupted job is kept).
    """

    mode: str = "auto"  # auto (segmented when long, or any job flag given) | segmented | direct (one pass, no work dir)
    segment_frames: int = 0  # input frames per segment; 0 = auto (about 4 segments per worker, 48..300 frames)
    split: str = "auto"  # where segments start: auto | scenes (scene cuts, then keyframes) | keyframes | frames
    engine: str = "local"  # local (this process) | ray (segments as Ray tasks)
    address: str | None = None  # ray: cluster address ("auto", "ray://head:10001"); None = start Ray on this machine
    workers: int = 0  # ray: segments run at once; 0 = the cluster's CPUs / threads_per_worker
    threads_per_worker: int = 1  # ray: torch/OpenCV threads of each task (and CPUs it reserves)
    gpus_per_worker: float = 0.0  # ray: GPUs each task reserves (0 = CPU tasks)
    object_store_mb: int = 512  # ray started here: object store cap (frames never travel through it)
    workdir: str | None = None  # segments and manifest; default OUTPUT.vidrestore-work beside the output
    keep_workdir: bool = False  # keep the work directory (parts, manifest, log) after the join
    part_seconds: float = 2.0  # a segment is written in parts of this much video; a killed job resumes from its
    #                            last finished part after one warm-up (0 = one part per segment)

    def __post_init__(self) -> None:
        _choice("jobs.mode", self.mode, ("auto", "segmented", "direct"))
        _choice("jobs.split", self.split, ("auto", "scenes", "keyframes", "frames"))
        _choice("jobs.engine", self.engine, ("local", "ray"))
        _check("jobs.segment_frames", self.segment_frames >= 0, "must be >= 0 (0 = auto)")
        _check("jobs.workers", self.workers >= 0, "must be >= 0 (0 = auto)")
        _check("jobs.threads_per_worker", self.threads_per_worker >= 1, "must be >= 1")
        _check("jobs.gpus_per_worker", self.gpus_per_worker >= 0, "must be >= 0")
        _check("jobs.object_store_mb", self.object_store_mb >= 80, "must be >= 80 (Ray's minimum)")
        _check("jobs.part_seconds", self.part_seconds >= 0, "must be >= 0 (seconds; 0 = one part per segment)")


@dataclass(frozen=True)
class DecloudConfig:
    """``vidrestore decloud``: satellite time-series cloud/shadow detection and filling.

    Thresholds are in reflectance units (pixel value / ``reflectance_scale``); distances in pixels;
    ``bands`` maps roles (blue, green, red, nir, swir1) to 1-based band numbers or band names.
    """

    # input discovery
    pattern: str | None = None  # per-band files: template with {date} and {band}, e.g. "S2_{date}_{band}.tif"
    band_order: tuple[str, ...] = ()  # per-band files: band names in output order (default: natural sort)
    bands_per_date: int = 0  # multi-date stack: bands of one date (0 = from the dates found in tags)
    dates_from: str = "auto"  # auto (name, then tags) | name | tags
    date_format: str | None = None  # strptime format of the date in names, e.g. "%Y%j" (default: YYYYMMDD forms)
    reproject: bool = False  # warp dates on another CRS/grid onto the first date's grid instead of refusing them
    resampling: str = "cubic"  # cubic | bilinear: sub-pixel alignment and reprojection
    # mask files
    masks: str | None = None  # folder of mask files (matched by date) or template like "{stem}_SCL.tif"
    mask_type: str = "auto"  # auto | binary | s2cloudless | scl | fmask | qa_pixel | cmask | values
    qa_confidence: str = "medium"  # qa_pixel: cloud/shadow confidence (bits 8-11) at or above which a pixel is masked
    cloud_values: tuple[int, ...] = ()  # mask values meaning cloud (default: per mask_type)
    shadow_values: tuple[int, ...] = ()  # mask values meaning cloud shadow (default: per mask_type)
    invalid_values: tuple[int, ...] = ()  # mask values meaning no data (default: per mask_type)
    probability_threshold: float = 0.4  # s2cloudless probability at or above which a pixel is cloud
    # detection
    detect: str = "auto"  # auto (dates without a mask file) | always (mask files + what detection is sure of) | never
    detector: str = "auto"  # auto | spectral | csmask | s2cloudless: which detector (auto: a learned one whose
    #                          bands are mapped and whose package is installed, else spectral; logged)
    product_level: str = "l1c"  # csmask model: l1c (top of atmosphere) | l2a (surface reflectance)
    learned_probability: float = 0.5  # csmask: a pixel is cloud/shadow when that class is likeliest and this likely
    sure_area: int = 16  # detect=always with a mask file: detected regions smaller than this (px) are not added
    bands: dict[str, str] = field(default_factory=dict)  # role -> band, e.g. {blue: 1, green: 2, red: 3, nir: 4}
    reflectance_scale: float = 0.0  # value of reflectance 1.0 (--scale); 0 = from dtype (255, 10000, 1), or for
    #                                   csmask learned from the band statistics (learned.learn_scale)
    brightness_threshold: float = 0.25  # spectral test: mean visible reflectance above which a pixel may be cloud
    whiteness_threshold: float = 0.7  # spectral test: flatness of the visible spectrum (Fmask whiteness)
    hot_threshold: float = 0.08  # haze-optimised transform offset (blue - 0.5 red - this > 0)
    temporal_threshold: float = 0.04  # cloud: brighter than the clear-date background by this much
    shadow_threshold: float = 0.2  # shadow: darker than the background by this fraction
    shadow_search: int = 40  # shadows are looked for within this distance of a cloud (px)
    shadow_azimuth: float | None = None  # direction shadows fall from clouds, degrees clockwise from image up
    #                                      (sun azimuth + 180); None = estimated per date (all around if unclear)
    min_dates_temporal: int = 3  # valid dates a pixel needs before the temporal test is used
    buffer: int = 1  # dilation of cloud and shadow masks (px); detection grows soft edges itself
    # alignment
    align: bool = True  # sub-pixel co-registration by phase correlation on clear pixels
    max_shift: float = 16.0  # largest shift accepted between dates (px)
    align_chip: int = 384  # side of the full-resolution chips the shift is measured on (up to 4 chips)
    # filling
    sources_per_side: int = 1  # clear observations used before and after the date, per pixel
    max_days: float = 0.0  # ignore sources further away in time (0 = no limit)
    regression: str = "global"  # global | local | none: per-band radiometric matching of each source
    regression_radius: int = 10  # local regression window radius (px)
    inpaint: str = "telea"  # telea | navier-stokes | diffusion | none: what fills pixels no date sees clear
    inpaint_radius: int = 5
    # outputs
    composite: str = "none"  # none | median | best: also write one cloud-free image
    block_size: int = 1024  # processing window side (px); shrunk automatically to bound memory
    write_source: bool = True  # <stem>_source.tif: date (YYYYMMDD) each filled pixel came from
    write_quality: bool = True  # <stem>_quality.tif: how each pixel was obtained
    quicklook: bool = True  # decloud_quicklook.png: before / mask / after per date
    dry_run: bool = False  # write only the masks and the report (what would change, and why)
    cog: bool = False  # image outputs as Cloud-Optimized GeoTIFFs (tiled, overviews; profile kept)
    stac: bool = False  # a STAC Item JSON per output date (<stem>.stac.json) with mask and quality assets
    quicklook_size: int = 160  # thumbnail side (px)
    report: bool = True  # decloud_report.json and .txt
    mask_suffix: str = "_mask"
    gdal_cache_mb: int = 128  # GDAL block cache (counts in peak memory)

    def __post_init__(self) -> None:
        _choice("decloud.dates_from", self.dates_from, ("auto", "name", "tags"))
        _choice("decloud.resampling", self.resampling, ("bilinear", "cubic"))
        _choice("decloud.mask_type", self.mask_type,
                ("auto", "binary", "s2cloudless", "scl", "fmask", "qa_pixel", "cmask", "values"))
        _choice("decloud.qa_confidence", self.qa_confidence, ("low", "medium", "high"))
        _choice("decloud.detect", self.detect, ("auto", "always", "never"))
        _choice("decloud.detector", self.detector, ("auto", "spectral", "csmask", "s2cloudless"))
        _choice("decloud.product_level", self.product_level, ("l1c", "l2a"))
        _check("decloud.learned_probability", 0.0 < self.learned_probability <= 1.0, "must be in (0, 1]")
        _check("decloud.sure_area", self.sure_area >= 0, "must be >= 0 px")
        _choice("decloud.regression", self.regression, ("local", "global", "none"))
        _choice("decloud.inpaint", self.inpaint, ("telea", "navier-stokes", "diffusion", "none"))
        _choice("decloud.composite", self.composite, ("none", "median", "best"))
        _check("decloud.bands_per_date", self.bands_per_date >= 0, "must be >= 0")
        _check("decloud.probability_threshold", 0.0 < self.probability_threshold <= 1.0, "must be in (0, 1]")
        _check("decloud.reflectance_scale", self.reflectance_scale >= 0, "must be >= 0 (0 = from dtype)")
        _check("decloud.shadow_threshold", 0.0 < self.shadow_threshold < 1.0, "must be in (0, 1)")
        _check("decloud.temporal_threshold", self.temporal_threshold > 0, "must be > 0")
        _check("decloud.min_dates_temporal", self.min_dates_temporal >= 2, "must be >= 2")
        for key in ("shadow_search", "buffer", "regression_radius", "inpaint_radius"):
            _check(f"decloud.{key}", getattr(self, key) >= 0, "must be >= 0")
        _check("decloud.max_shift", self.max_shift >= 0, "must be >= 0")
        _check("decloud.align_chip", self.align_chip >= 32, "must be >= 32")
        _check("decloud.sources_per_side", self.sources_per_side >= 1, "must be >= 1")
        _check("decloud.max_days", self.max_days >= 0, "must be >= 0 (0 = no limit)")
        _check("decloud.block_size", 64 <= self.block_size <= 8192, "must be in [64, 8192]")
        _check("decloud.quicklook_size", 16 <= self.quicklook_size <= 2048, "must be in [16, 2048]")
        _check("decloud.mask_suffix", bool(self.mask_suffix) and "/" not in self.mask_suffix,
               "must be a non-empty file-name suffix")
        _check("decloud.gdal_cache_mb", self.gdal_cache_mb >= 8, "must be >= 8")
        roles = ("blue", "green", "red", "nir", "swir1", "swir2", "b01", "b02", "b04", "b05", "b08", "b8a", "b09",
                 "b10", "b11", "b12")  # the b.. roles are s2cloudless's Sentinel-2 L1C bands
        for role in self.bands:
            _choice("decloud.bands", role, roles)


@dataclass(frozen=True)
class DiffusionConfig:
    """Diffusion restorer knobs beyond restorer.model_path/steps/strength/seed/tile (issue 5)."""

    sampler: str = "ddim"  # ddim | dpmpp (DPM-Solver++ 2M)
    eta: float = 0.0  # DDIM stochasticity (0 = deterministic)
    schedule: str = "model"  # model (the folder's scheduler config) | linear | scaled_linear | cosine
    noise_level: int = 20  # x4 upscaler: noise added to the low-resolution input (0..max_noise_level)
    prompt: str = ""  # text prompt, when the folder has a text encoder (needs transformers)
    negative_prompt: str = ""  # what classifier-free guidance steers away from (the unconditional prompt)
    guidance_scale: float = 1.0  # classifier-free guidance (SD's 7-9); 1 = off, one UNet call per step
    consistency_start: float = 0.9  # latent-consistency blend weight at the first step
    consistency_end: float = 0.3  # ... and at the last step (linear in between)
    cut_confidence: float = 0.25  # mean flow confidence under which a frame pair counts as a scene cut
    color_fix: str = "adain"  # none | adain | wavelet
    guidance: str = "none"  # none | ddnm (range-null-space super-resolution consistency with the input)
    guidance_interval: int = 1  # DDNM projection every k-th step (the last step always)
    noise_anchor: int = 16  # noise tracks restart from the grid at frames k * noise_anchor (bounds their memory)
    segment_warmup: int = 16  # frames the latent chain needs to forget a segment's cold start (measured)

    def __post_init__(self) -> None:
        _choice("diffusion.sampler", self.sampler, ("ddim", "dpmpp"))
        _choice("diffusion.schedule", self.schedule, ("model", "linear", "scaled_linear", "cosine"))
        _choice("diffusion.color_fix", self.color_fix, ("none", "adain", "wavelet"))
        _choice("diffusion.guidance", self.guidance, ("none", "ddnm"))
        _check("diffusion.eta", self.eta >= 0.0, "must be >= 0")
        _check("diffusion.noise_level", self.noise_level >= 0, "must be >= 0")
        _check("diffusion.consistency_start", 0.0 <= self.consistency_start <= 1.0, "must be in [0, 1]")
        _check("diffusion.consistency_end", 0.0 <= self.consistency_end <= 1.0, "must be in [0, 1]")
        _check("diffusion.cut_confidence", 0.0 <= self.cut_confidence <= 1.0, "must be in [0, 1]")
        _check("diffusion.guidance_interval", self.guidance_interval >= 1, "must be >= 1")
        _check("diffusion.guidance_scale", self.guidance_scale >= 1.0, "must be >= 1 (1 = no classifier-free guidance)")
        _check("diffusion.noise_anchor", self.noise_anchor >= 1, "must be >= 1 frame")
        _check("diffusion.segment_warmup", self.segment_warmup >= 0, "must be >= 0 frames")


@dataclass(frozen=True)
class FilmConfig:
    """``--preset film``: archival film cleaning before any restorer (issue 6; see vidrestore/film).

    Intensities are in [0, 1] units of the frame's range; ``radius`` neighbours on each side are
    aligned with the ``flow`` section's estimator and never across a scene cut.
    """

    enabled: bool = False
    radius: int = 2  # aligned neighbours per side used to find, repair and denoise
    min_confidence: float = 0.5  # flow confidence below which a neighbour pixel is not used (0.5 = occlusion test)
    deflicker: bool = True
    deflicker_window: int = 8  # frames per side of the local-linear exposure fit; slower fades are kept
    deflicker_grid: int = 1  # 1 = one gain/offset per frame; N = N x N regions, smoothly interpolated
    dust: bool = True
    dust_threshold: float = 0.05  # least luma difference from every valid neighbour for a blotch
    dust_sigmas: float = 4.0  # ... and at least this many robust sigmas of those differences
    dust_max_area: float = 0.01  # share of the frame above which disagreement is motion, not dirt
    dust_max_motion: float = 0.03  # no dust detection where the picture moves faster (share of width per frame)
    dust_dilate: int = 1  # px added around each blotch before repair
    dust_override_contrast: float = 0.25  # least outlier taken where the flow check failed around it (slow picture)
    dust_one_sided_contrast: float = 0.15  # least outlier (and >= 2x threshold) at a shot end (one side in time)
    dust_uniform_flow: float = 0.5  # px/frame: flow spread around a region under which no motion edge is near
    dust_moved_flow: float = 1.0  # px/frame: near a motion edge (flow spread above this) a region whose content the
    #                               nearest neighbours hold, displaced, is motion, not dirt (0 = off)
    dust_moved_ratio: float = 0.7  # ... when a shifted match leaves under this share of the flow match's difference
    dust_moved_search: float = 0.02  # ... searched within this share of the frame width
    dust_sides_agree: float = 0.2  # dirt hides one picture: a past and a future neighbour must agree under a region
    #                               (their difference, less the frame's usual one, under this share of its contrast;
    #                               0 = off)
    dust_rescue_ring: int = 12  # px around a blotch that broke the flow, read to fill the flow across it
    dust_rescue_share: float = 0.5  # ... share of that ring that must be reliably aligned
    dust_passes: int = 2  # 2: dust found again against the cleaned neighbours and repaired (what pass 1 missed)
    dust_second_pass_flow: float = 2.5  # px/frame: the second pass leaves regions whose surroundings' flow spreads more
    dust_second_pass_flows: str = "estimate"  # estimate: flows again on the cleaned frames; reuse: the first pass's
    scratches: bool = True
    scratch_threshold: float = 0.015  # least mean contrast of a line against its sides
    scratch_min_length: float = 0.5  # share of the frame height a scratch spans (its pieces together)
    scratch_max_width: int = 3  # px
    scratch_persistence: int = 3  # frames (of 2 radius + 1) showing the line at the same place
    denoise: bool = True
    denoise_strength: float = 1.0  # how much warp error is tolerated before a neighbour is ignored (0 = off)
    regrain: float = 0.0  # grain added back, sigma in 8-bit levels (0 = none)
    regrain_size: float = 1.0  # grain size in px
    seed: int = 0  # re-grain noise seed
    save_masks: str | None = None  # folder for dust/ and scratch/ PNG mask sequences (--save-masks)
    threads: int = 1  # torch threads while the film stage works (its many small operations run fastest on 1)
    parallel: bool = False  # the second dust pass in a thread beside the first: the same output on both cores, but
    #                         up to 6 more frames held (the stage then reads ahead of its declared look-ahead)
    device: str = "cpu"  # cpu | cuda | auto (cuda when there is one): where the per-pixel steps run
    torch_ops: bool = False  # box means, warps and dilations with torch's kernels on the CPU too (what cuda runs)

    def __post_init__(self) -> None:
        _check("film.radius", 1 <= self.radius <= 8, "must be in [1, 8]")
        _check("film.min_confidence", 0.0 <= self.min_confidence < 1.0, "must be in [0, 1)")
        _check("film.deflicker_window", 1 <= self.deflicker_window <= 50, "must be in [1, 50]")
        _check("film.deflicker_grid", 1 <= self.deflicker_grid <= 16, "must be in [1, 16]")
        _check("film.dust_threshold", 0.0 < self.dust_threshold < 1.0, "must be in (0, 1)")
        _check("film.dust_sigmas", self.dust_sigmas >= 0, "must be >= 0")
        _check("film.dust_max_area", 0.0 < self.dust_max_area <= 1.0, "must be in (0, 1]")
        _check("film.dust_max_motion", 0.0 < self.dust_max_motion <= 1.0, "must be in (0, 1]")
        _check("film.dust_dilate", 0 <= self.dust_dilate <= 8, "must be in [0, 8]")
        _check("film.dust_override_contrast", 0.0 < self.dust_override_contrast < 1.0, "must be in (0, 1)")
        _check("film.dust_one_sided_contrast", 0.0 < self.dust_one_sided_contrast < 1.0, "must be in (0, 1)")
        _check("film.dust_uniform_flow", self.dust_uniform_flow >= 0, "must be >= 0 (px per frame; 0 = off)")
        _check("film.dust_moved_flow", self.dust_moved_flow >= 0, "must be >= 0 (px per frame; 0 = off)")
        _check("film.dust_moved_ratio", 0.0 < self.dust_moved_ratio < 1.0, "must be in (0, 1)")
        _check("film.dust_moved_search", 0.0 <= self.dust_moved_search <= 0.25, "must be in [0, 0.25]")
        _check("film.dust_sides_agree", self.dust_sides_agree >= 0, "must be >= 0 (0 = off)")
        _check("film.dust_rescue_ring", 1 <= self.dust_rescue_ring <= 64, "must be in [1, 64] px")
        _check("film.dust_rescue_share", 0.0 < self.dust_rescue_share <= 1.0, "must be in (0, 1]")
        _check("film.dust_passes", self.dust_passes in (1, 2), "must be 1 or 2")
        _check("film.dust_second_pass_flow", self.dust_second_pass_flow > 0, "must be > 0 (px per frame)")
        _choice("film.dust_second_pass_flows", self.dust_second_pass_flows, ("estimate", "reuse"))
        _check("film.scratch_threshold", 0.0 < self.scratch_threshold < 1.0, "must be in (0, 1)")
        _check("film.scratch_min_length", 0.0 < self.scratch_min_length <= 1.0, "must be in (0, 1]")
        _check("film.scratch_max_width", 1 <= self.scratch_max_width <= 16, "must be in [1, 16]")
        _check("film.scratch_persistence", 1 <= self.scratch_persistence <= 2 * self.radius + 1,
               "must be in [1, 2 * film.radius + 1]")
        _check("film.denoise_strength", 0.0 <= self.denoise_strength <= 4.0, "must be in [0, 4]")
        _check("film.regrain", 0.0 <= self.regrain <= 64.0, "must be in [0, 64] (8-bit levels)")
        _check("film.regrain_size", 0.5 <= self.regrain_size <= 8.0, "must be in [0.5, 8] px")
        _check("film.threads", self.threads >= 0, "must be >= 0 (0 = leave torch's setting)")
        _choice("film.device", self.device, ("cpu", "cuda", "auto"))


@dataclass(frozen=True)
class InterpolateConfig:
    """``vidrestore interpolate``: frame-rate conversion by flow-based synthesis (issue 8).

    ``fps`` (when set) wins over ``factor``. See vidrestore/interpolate/timing.py for where frames go.
    """

    factor: int = 2  # output frames per input frame: input k becomes output factor*k, factor-1 made between
    fps: str | None = None  # target rate instead of a factor: "60", "59.94" or "60000/1001"
    end: str = "hold"  # hold (last input shown for its whole duration: audio length kept) | last (stop on it)
    refine: bool = False  # residual flow between the two warped candidates (one more flow per new frame)
    acceleration: bool = True  # quadratic motion from the frames before and after each pair
    warp: str = "bicubic"  # colour resampling: bicubic | bilinear
    alpha: float = 10.0  # splat importance: photometric error weight
    beta: float = 4.0  # splat importance: (1 - forward-backward confidence) weight
    agreement_px: float = 10.0  # visibility: motion disagreement (px) at which a frame's weight halves
    agreement_rel: float = 1.0  # ... plus this share of the motion
    order: str = "auto"  # with restorer.scale != 1: auto (cheaper, timed) | interpolate-first | upscale-first
    method: str = "auto"  # auto (rife when its weights resolve, else flow) | rife | flow (DIS + softmax splatting)
    rife_weights: str | None = None  # explicit RIFE checkpoint (flownet.pkl or the imported safetensors)
    rife_tta: int = 4  # rife: mirrored passes averaged (1, 2 or 4)
    rife_fallback: bool = True  # rife: blend where warping makes the frames less alike, nearest frame on a cut
    rife_precision: str = "auto"  # rife: auto (fp16 on CUDA, fp32 on CPU) | fp32 | bf16 | fp16
    rife_scale: float = 0.0  # rife: network scale (0 = 1, or 0.5 for frames over 2200 px)

    def __post_init__(self) -> None:
        _choice("interpolate.method", self.method, ("auto", "rife", "flow"))
        _check("interpolate.rife_tta", self.rife_tta in (1, 2, 4), "must be 1, 2 or 4")
        _choice("interpolate.rife_precision", self.rife_precision, ("auto", "fp32", "bf16", "fp16"))
        _check("interpolate.rife_scale", self.rife_scale in (0.0, 0.25, 0.5, 1.0, 2.0), "must be 0 (auto), 0.25, 0.5, 1 or 2")
        _check("interpolate.factor", 1 <= self.factor <= 64, "must be in [1, 64]")
        if self.fps is not None:
            from fractions import Fraction

            try:
                ok = Fraction(str(self.fps)) > 0
            except (ValueError, ZeroDivisionError):
                ok = False
            _check("interpolate.fps", ok, f"must be a positive rate like 60 or 60000/1001, got {self.fps!r}")
        _choice("interpolate.end", self.end, ("hold", "last"))
        _choice("interpolate.warp", self.warp, ("bicubic", "bilinear"))
        _choice("interpolate.order", self.order, ("auto", "interpolate-first", "upscale-first"))
        _check("interpolate.alpha", self.alpha >= 0, "must be >= 0")
        _check("interpolate.beta", self.beta >= 0, "must be >= 0")
        _check("interpolate.agreement_px", self.agreement_px > 0, "must be > 0 (pixels)")
        _check("interpolate.agreement_rel", self.agreement_rel >= 0, "must be >= 0")


@dataclass(frozen=True)
class Config:
    preset: str = "custom"  # name of the preset this came from (informational)
    io: IOConfig = field(default_factory=IOConfig)
    flow: FlowConfig = field(default_factory=FlowConfig)
    temporal: TemporalConfig = field(default_factory=TemporalConfig)
    restorer: RestorerConfig = field(default_factory=RestorerConfig)
    encode: EncodeConfig = field(default_factory=EncodeConfig)
    jobs: JobsConfig = field(default_factory=JobsConfig)
    decloud: DecloudConfig = field(default_factory=DecloudConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    interpolate: InterpolateConfig = field(default_factory=InterpolateConfig)
    film: FilmConfig = field(default_factory=FilmConfig)


# --------------------------------------------------------------------------- helpers


# The section helpers live in vidrestore.sections (the core layer, so stage packages can use them).
_check = check
_choice = choice
_suggest = suggest


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """Check/convert a YAML value against a field's annotated type."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(key, value, arg)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if errors else f"{key}: invalid value {value!r}")
    if _is_dataclass_type(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a mapping of keys, got {value!r}")
        return _build(tp, value, prefix=key + ".")
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return {str(k): ("" if v is None else str(v)) for k, v in value.items()}
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        (inner, *_) = typing.get_args(tp) or (Any,)
        return tuple(_coerce(key, v, inner) for v in value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    return value


def _build(cls: type, data: Mapping[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            raise ConfigError(f"unknown key '{prefix}{key}'{_suggest(str(key), names)}")
        kwargs[key] = _coerce(prefix + key, value, hints[key])
    try:
        return cls(**kwargs)
    except TypeError as err:  # pragma: no cover - guarded by the key check above
        raise ConfigError(f"{prefix or 'config'}: {err}") from err


def config_to_dict(cfg: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v):
            out[f.name] = config_to_dict(v)
        elif isinstance(v, tuple):
            out[f.name] = list(v)
        elif isinstance(v, dict):
            out[f.name] = dict(v)
        else:
            out[f.name] = v
    return out


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _deep_merge(dict(out[k]), v)
        else:
            out[k] = v
    return out


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"restorer.scale=2"`` -> (["restorer", "scale"], 2). Values are YAML scalars."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. restorer.scale=2")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set {text!r}: empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as err:
        raise ConfigError(f"--set {text!r}: value is not valid YAML ({err.__class__.__name__})") from err
    return key.split("."), value


# --------------------------------------------------------------------------- presets


def configs_dirs() -> list[Path]:
    """Where presets are looked up: $VIDRESTORE_CONFIGS, then the project's configs/."""
    dirs = []
    env = os.environ.get("VIDRESTORE_CONFIGS")
    if env:
        dirs.append(Path(env))
    dirs.append(Path(__file__).resolve().parent.parent / "configs")
    dirs.append(Path(__file__).resolve().parent / "presets")  # copy inside an installed wheel
    return [d for d in dirs if d.is_dir()]


def list_presets() -> dict[str, tuple[Path, str]]:
    """Preset name -> (file, one-line description from its first comment line)."""
    found: dict[str, tuple[Path, str]] = {}
    for d in configs_dirs():
        for p in sorted(d.glob("*.yaml")):
            if p.stem in found:
                continue
            desc = ""
            for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("#"):
                    desc = line.lstrip("#").strip()
                    break
            found[p.stem] = (p, desc)
    return found


def text_line_of(path: Path, offset: int) -> int:
    """The 1-based line holding byte ``offset`` of ``path`` (for messages about undecodable bytes)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(offset).count(b"\n") + 1
    except OSError:
        return 0


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read config ({err.strerror or err})") from err
    except UnicodeDecodeError as err:
        line = text_line_of(path, err.start)
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset {err.start}, "
                          f"line {line}); save the config as UTF-8") from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})".replace("\n", " ")) from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    return data


def renames() -> dict[str, str]:
    """Old dotted key -> new dotted key, collected from the ``RENAMES`` table of every module that
    defines a section of :class:`Config` (nested sections included), so a section module declares
    its renames beside its fields and nothing else needs editing."""
    table: dict[str, str] = {}
    for module in _section_modules(Config):
        for old, new in getattr(module, "RENAMES", {}).items():
            if table.get(old, new) != new:
                raise ConfigError(f"config key {old} is renamed twice ({table[old]}, {new})")
            table[old] = new
    return table


def _section_modules(cls: type, seen: set[type] | None = None) -> list[Any]:
    seen = set() if seen is None else seen
    if cls in seen:
        return []
    seen.add(cls)
    modules = [sys.modules[cls.__module__]]
    for tp in typing.get_type_hints(cls).values():
        if _is_dataclass_type(tp):
            modules += [m for m in _section_modules(tp, seen) if m not in modules]
    return modules


#: Old keys already reported by this process: one deprecation line per old key per run.
_REPORTED: set[str] = set()


def _report_old_keys(old_keys: Iterable[str], table: Mapping[str, str]) -> None:
    """Log one line per old key, once per process (a run loads its config more than once)."""
    for old in old_keys:
        if old not in _REPORTED:
            _REPORTED.add(old)
            log.warning(deprecation_line(old, table[old]))


def _renamed(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """One source (a file or a mapping) with its old keys moved to the new ones."""
    table = renames()
    if not table:
        return dict(data)
    out, old_keys = apply_renames(data, table, where=where)
    _report_old_keys(old_keys, table)
    return out


def _apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> None:
    """Set each ``--set KEY=VALUE`` in ``data`` (later ones win), old key names mapped to new ones.

    The ``--set`` list is one source: naming one key both ways in it is refused.
    """
    table = renames()
    new_form: dict[str, str] = {}
    old_form: dict[str, str] = {}
    for text in overrides:
        keys, value = parse_override(text)
        dotted, old = rename_key(".".join(keys), value, table)
        (old_form if old else new_form)[dotted] = old or dotted
        if old:
            _report_old_keys([old], table)
        keys = dotted.split(".")
        node = data
        for k in keys[:-1]:
            child = node.get(k)
            if not isinstance(child, dict):
                child = {}
                node[k] = child
            node = child
        node[keys[-1]] = value
    for dotted, old in old_form.items():
        if dotted in new_form:
            raise ConfigError(f"--set: both {old} (old name) and {dotted} are given; keep only {dotted}")


def load_config(
    preset: str | None = None,
    path: str | os.PathLike[str] | None = None,
    overrides: Iterable[str] = (),
    base: Mapping[str, Any] | None = None,
) -> Config:
    """Build a :class:`Config` from a preset name and/or YAML file, then ``--set`` overrides.

    A file may name a parent with ``base: PRESET`` to inherit from it. Old key names (see
    :func:`renames`) are accepted from every source with one deprecation line each.
    """
    data: dict[str, Any] = _renamed(base or {}, where="config")
    name = "custom"
    if preset is not None:
        presets = list_presets()
        if preset not in presets:
            raise ConfigError(f"unknown preset {preset!r}{_suggest(preset, presets)}; see 'vidrestore presets'")
        data = _deep_merge(data, _load_with_base(presets[preset][0], seen=()))
        name = preset
    if path is not None:
        data = _deep_merge(data, _load_with_base(Path(path), seen=()))
        name = data.get("preset", Path(path).stem)
    _apply_overrides(data, overrides)
    data["preset"] = str(data.get("preset", name))
    return _build(Config, data)


def _load_with_base(path: Path, seen: tuple[str, ...]) -> dict[str, Any]:
    data = _renamed(_read_yaml(path), where=str(path))
    parent = data.pop("base", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: base: expected the name of one preset (e.g. base: film), "
                          f"got {type(parent).__name__} {parent!r}")
    if parent in seen:
        raise ConfigError(f"{path}: preset inheritance loops through {parent!r}")
    presets = list_presets()
    if parent not in presets:
        raise ConfigError(f"{path}: base preset {parent!r} not found{_suggest(str(parent), presets)}")
    return _deep_merge(_load_with_base(presets[parent][0], seen + (str(parent),)), data)


def dump_config(cfg: Config, path: str | os.PathLike[str], *, overwrite: bool | None = None,
                inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Write the resolved config as YAML (loadable with ``--config``), atomically and never through a
    link or onto an input; an existing file is replaced only with ``overwrite`` (default: the run's
    ``--overwrite``)."""
    from vidrestore.io import safety

    text = "# resolved vidrestore config; reproduce with: vidrestore ... --config THIS_FILE\n"
    text += yaml.safe_dump(config_to_dict(cfg), sort_keys=False)
    allowed = safety.RUN.overwrite if overwrite is None else overwrite
    safety.atomic_write(path, text, overwrite=allowed or safety.is_vidrestore_sidecar(path), inputs=inputs,
                        what="config sidecar")
