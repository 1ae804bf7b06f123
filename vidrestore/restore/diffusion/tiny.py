"""Tiny random-weight diffusers models of each layout, built from config and saved as real folders.

They exercise every mechanism (loading, sampling, windows, consistency, tiles, DDNM) in seconds on
a CPU, the way diffusers' own tests use tiny random models. They restore nothing: their weights are
random. ``tools/make_tiny_diffusion.py`` is the command-line front end.

Folders written (diffusers' layout, ``save_pretrained`` of each component, safetensors weights):

* ``upscale``: StableDiffusionUpscalePipeline (UNet 7 -> 4 channels with a 1000-entry noise-level
  embedding, x4 AutoencoderKL with ``scaling_factor`` 0.08333, DDIM scheduler, DDPM low-res scheduler).
* ``latent``: a StableDiffusionImg2ImgPipeline-style UNet2DConditionModel + x4 AutoencoderKL + DDIM.
* ``pixel``: DDPMPipeline (UNet2DModel + DDPMScheduler with the cosine schedule), written by diffusers'
  own ``DDPMPipeline.save_pretrained``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from vidrestore.restore.diffusion.models import LAYOUTS, DiffusionModel
from vidrestore.restore.diffusion.schedule import NoiseSchedule

TINY_CROSS_DIM = 16


def _seeded(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


def tiny_unet_config(layout: str) -> dict[str, Any]:
    """The UNet config of a tiny model of ``layout`` (two resolution levels, one attention level).

    One attention head (``attention_head_dim`` counts heads in UNet2DConditionModel, channels per
    head in UNet2DModel): CPU attention runs many narrow heads far slower than one wide head, and a
    tiny test model is only useful while it is fast.
    """
    if layout == "pixel":
        return dict(sample_size=32, in_channels=3, out_channels=3, layers_per_block=1, block_out_channels=(16, 32),
                    down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
                    norm_num_groups=8, attention_head_dim=32)
    cfg: dict[str, Any] = dict(
        sample_size=32, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(16, 32),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=TINY_CROSS_DIM, attention_head_dim=1, norm_num_groups=8, use_linear_projection=True,
    )
    if layout == "upscale":
        cfg.update(in_channels=7, num_class_embeds=1000)
    return cfg


def tiny_vae_config() -> dict[str, Any]:
    """A x4 AutoencoderKL (three levels) with 4 latent channels.

    Without the mid-block self-attention of the SD VAE: over every latent pixel it is quadratic in
    the frame size and was 3/4 of the tiny pipeline's CPU time at 96x64, for nothing the tests need.
    """
    return dict(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1, block_out_channels=(8, 16, 16),
                down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
                norm_num_groups=4, sample_size=64, mid_block_add_attention=False)


def _write_index(folder: Path, pipeline_class: str, components: dict[str, tuple[str | None, str | None]],
                 extra: dict[str, Any] | None = None) -> None:
    import diffusers

    data: dict[str, Any] = {"_class_name": pipeline_class, "_diffusers_version": diffusers.__version__}
    data.update({k: [v[0], v[1]] for k, v in components.items()})
    data.update(extra or {})
    (folder / "model_index.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def build_tiny_components(layout: str, *, seed: int = 0) -> dict[str, Any]:
    """The diffusers objects of a tiny random model of ``layout`` (``unet``, ``scheduler``, ``vae``, ``low_res_scheduler``)."""
    from diffusers import AutoencoderKL, DDIMScheduler, DDPMScheduler, UNet2DConditionModel, UNet2DModel

    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    _seeded(seed)
    if layout == "pixel":
        return {"unet": UNet2DModel(**tiny_unet_config("pixel")),
                "scheduler": DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2",
                                           clip_sample=True, prediction_type="epsilon")}
    unet = UNet2DConditionModel(**tiny_unet_config(layout))
    _seeded(seed + 1)
    vae = AutoencoderKL(**tiny_vae_config(), scaling_factor=0.08333 if layout == "upscale" else 0.18215)
    scheduler = DDIMScheduler(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012,
                              beta_schedule="scaled_linear", clip_sample=False, set_alpha_to_one=False, steps_offset=1,
                              prediction_type="v_prediction" if layout == "upscale" else "epsilon")
    out: dict[str, Any] = {"unet": unet, "vae": vae, "scheduler": scheduler}
    if layout == "upscale":
        out["low_res_scheduler"] = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", beta_start=1e-4,
                                                 beta_end=0.02)
    return out


def model_from_components(layout: str, components: dict[str, Any]) -> DiffusionModel:
    """A :class:`DiffusionModel` straight from in-memory components (float32, CPU), as ``load_model`` would build it."""
    import torch

    unet = components["unet"].eval().requires_grad_(False)
    schedule = NoiseSchedule.from_config(dict(components["scheduler"].config))
    if layout == "pixel":
        return DiffusionModel(layout=layout, path=Path("<memory>"), unet=unet, schedule=schedule,
                              device=torch.device("cpu"), dtype=torch.float32, latent_channels=3)
    vae = components["vae"].eval().requires_grad_(False)
    low = components.get("low_res_scheduler")
    return DiffusionModel(
        layout=layout, path=Path("<memory>"), unet=unet, schedule=schedule, device=torch.device("cpu"),
        dtype=torch.float32, vae=vae, low_res_schedule=None if low is None else NoiseSchedule.from_config(dict(low.config)),
        max_noise_level=350, latent_channels=int(vae.config.latent_channels),
        vae_factor=2 ** (len(vae.config.block_out_channels) - 1), scaling_factor=float(vae.config.scaling_factor),
        vae_dtype=torch.float32, prompt_embeds=torch.zeros(1, 77, int(unet.config.cross_attention_dim)),
    )


def save_components(layout: str, components: dict[str, Any], folder: str | os.PathLike[str]) -> None:
    """Write the components in diffusers' folder layout (``model_index.json`` + one folder each)."""
    from diffusers import DDPMPipeline

    folder = Path(folder)
    if layout == "pixel":
        DDPMPipeline(unet=components["unet"], scheduler=components["scheduler"]).save_pretrained(str(folder))
        return
    for name in ("unet", "vae", "scheduler", "low_res_scheduler"):
        if name in components:
            components[name].save_pretrained(str(folder / name))
    index: dict[str, tuple[str | None, str | None]] = {
        name: ("diffusers", type(components[name]).__name__)
        for name in ("unet", "vae", "scheduler", "low_res_scheduler") if name in components
    }
    index.update({"text_encoder": (None, None), "tokenizer": (None, None)})
    if layout == "upscale":
        _write_index(folder, "StableDiffusionUpscalePipeline", index, {"max_noise_level": 350})
    else:
        _write_index(folder, "StableDiffusionImg2ImgPipeline", index)


def make_tiny_model(layout: str, out_dir: str | os.PathLike[str], *, seed: int = 0, overwrite: bool = False) -> Path:
    """Build a tiny random model of ``layout`` and save it to ``out_dir`` atomically; return the folder."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    out = Path(out_dir)
    if (out.exists() or out.is_symlink()) and not overwrite:
        raise FileExistsError(f"{out} exists (pass overwrite=True to replace it)")
    if out.is_symlink() or (out.exists() and not (out / "model_index.json").is_file()):
        raise FileExistsError(f"{out} is not a diffusers model folder (or is a link); refusing to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        save_components(layout, build_tiny_components(layout, seed=seed), tmp)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out
