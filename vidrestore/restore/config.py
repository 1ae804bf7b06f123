"""Config sections of the restorers: ``restorer.*`` (which model, tiles, precision) and
``diffusion.*`` (the diffusion restorer's sampler, guidance and consistency knobs).

Field help lives in each field's ``metadata["help"]`` (see vidrestore.sections).
"""

from __future__ import annotations

from dataclasses import dataclass

from vidrestore.sections import check, choice, knob


@dataclass(frozen=True)
class RestorerConfig:
    name: str = knob("none", "none | realesr-animevideov3 | RealESRGAN_x4plus | ... | diffusion; GAN weights as the "
                             "official .pth or their ncnn conversion ('vidrestore weights import-ncnn')")
    weights: str | None = knob(None, "explicit weights path")
    scale: float = knob(1.0, "output scale (native model scale, then resized like Real-ESRGAN's outscale)")
    tile: int = knob(0, "tile size in input pixels; 0 = whole frame (GAN: out of memory halves the tile "
                        "automatically; diffusion: latent tiles fused with Gaussian weights at every step)")
    tile_overlap: int = knob(16, "pixels each tile overlaps its neighbours (blended, so tile seams do not show)")
    batch: int = knob(1, "frames per model call")
    precision: str = knob("auto", "auto | fp32 | bf16 | fp16; auto: GAN fp16 on GPU, bf16 on CPUs with native bf16, "
                                  "else fp32, and fp32 for >8-bit sources; diffusion fp16 on CUDA, fp32 on CPU")
    cpu_kernel: str = knob("auto", "GAN 3x3 convolutions on the CPU in fp32: auto (winograd where NNPACK runs, one "
                                   "frame per core; else onednn) | onednn | winograd (NNPACK)")
    device: str = knob("auto", "auto | cpu | cuda | cuda:N")
    model_path: str | None = knob(None, "diffusion: local diffusers folder")
    steps: int = knob(20, "diffusion sampler steps for a full run; img2img runs int(steps * strength) of them")
    strength: float = knob(0.5, "diffusion img2img start strength: 1 = from pure noise, lower keeps more of the "
                                "input's structure")
    seed: int = knob(0, "diffusion: random seed; same seed, same input -> same output (noise is a function of seed, "
                        "frame and position)")
    denoise: float | None = knob(None, "realesr-general-x4v3: blend with the wdn weights (0 weak .. 1 strong)")

    def __post_init__(self) -> None:
        check("restorer.denoise", self.denoise is None or 0.0 <= self.denoise <= 1.0, "must be in [0, 1]")
        check("restorer.scale", self.scale > 0, "must be > 0")
        check("restorer.tile", self.tile >= 0, "must be >= 0")
        check("restorer.tile_overlap", self.tile_overlap >= 0, "must be >= 0")
        check("restorer.batch", self.batch >= 1, "must be >= 1")
        choice("restorer.precision", self.precision, ("auto", "fp32", "bf16", "fp16"))
        choice("restorer.cpu_kernel", self.cpu_kernel, ("auto", "onednn", "winograd"))
        check("restorer.steps", self.steps >= 1, "must be >= 1")
        check("restorer.strength", 0.0 < self.strength <= 1.0, "must be in (0, 1]")


@dataclass(frozen=True)
class DiffusionConfig:
    """Diffusion restorer knobs beyond restorer.model_path/steps/strength/seed/tile (issue 5)."""

    sampler: str = knob("ddim", "ddim | dpmpp (DPM-Solver++ 2M)")
    eta: float = knob(0.0, "DDIM stochasticity (0 = deterministic)")
    schedule: str = knob("model", "model (the folder's scheduler config) | linear | scaled_linear | cosine")
    noise_level: int = knob(20, "x4 upscaler: noise added to the low-resolution input (0..max_noise_level)")
    prompt: str = knob("", "text prompt, when the folder has a text encoder (needs transformers)")
    negative_prompt: str = knob("", "what classifier-free guidance steers away from (the unconditional prompt)")
    guidance_scale: float = knob(1.0, "classifier-free guidance (SD's 7-9); 1 = off, one UNet call per step")
    consistency_start: float = knob(0.9, "latent-consistency blend weight at the first step")
    consistency_end: float = knob(0.3, "... and at the last step (linear in between)")
    cut_confidence: float = knob(0.25, "mean flow confidence under which a frame pair counts as a scene cut")
    color_fix: str = knob("adain", "none | adain | wavelet")
    guidance: str = knob("none", "none | ddnm (range-null-space super-resolution consistency with the input)")
    guidance_interval: int = knob(1, "DDNM projection every k-th step (the last step always)")
    noise_anchor: int = knob(16, "noise tracks restart from the grid at frames k * noise_anchor (bounds their memory)")
    segment_warmup: int = knob(16, "frames the latent chain needs to forget a segment's cold start")

    def __post_init__(self) -> None:
        choice("diffusion.sampler", self.sampler, ("ddim", "dpmpp"))
        choice("diffusion.schedule", self.schedule, ("model", "linear", "scaled_linear", "cosine"))
        choice("diffusion.color_fix", self.color_fix, ("none", "adain", "wavelet"))
        choice("diffusion.guidance", self.guidance, ("none", "ddnm"))
        check("diffusion.eta", self.eta >= 0.0, "must be >= 0")
        check("diffusion.noise_level", self.noise_level >= 0, "must be >= 0")
        check("diffusion.consistency_start", 0.0 <= self.consistency_start <= 1.0, "must be in [0, 1]")
        check("diffusion.consistency_end", 0.0 <= self.consistency_end <= 1.0, "must be in [0, 1]")
        check("diffusion.cut_confidence", 0.0 <= self.cut_confidence <= 1.0, "must be in [0, 1]")
        check("diffusion.guidance_interval", self.guidance_interval >= 1, "must be >= 1")
        check("diffusion.guidance_scale", self.guidance_scale >= 1.0, "must be >= 1 (1 = no classifier-free guidance)")
        check("diffusion.noise_anchor", self.noise_anchor >= 1, "must be >= 1 frame")
        check("diffusion.segment_warmup", self.segment_warmup >= 0, "must be >= 0 frames")
