"""GPU check of the diffusion restorer at the size of Stable Diffusion's x4 upscaler, printing one JSON line.

Builds, with random weights (speed does not depend on the values), a UNet2DConditionModel with the
configuration of ``stabilityai/stable-diffusion-x4-upscaler`` (7 -> 4 channels, blocks 256/512/512/1024,
2 layers per block, cross-attention 1024, 1000 noise-level classes; ~473M parameters) and its x4
AutoencoderKL (128/256/512), in fp16 on the GPU (the VAE in fp32, as vidrestore runs it). Then it
restores a moving synthetic clip of 128x128 frames to 512x512 with ``DiffusionRestorer`` (DDIM, windows of 4 frames, overlap 1), with and without the
flow-warped latent consistency step, and reports:

* ``unet_steps_per_s``: frame-steps per second of the UNet alone (batch = the window's new frames);
* ``s_per_frame_consistency_on`` / ``_off`` and ``consistency_overhead`` (target <= 0.10): whole
  restoration (flow, warped noise, sampling, VAE encode/decode, colour fix) per frame, both variants
  warmed up on the same shapes, then timed alternately, best of two;
* peak GPU memory.

Meant to run unattended in well under 3 minutes on one H100:

    python tools/gpu_diffusion_check.py                 # defaults: 8 frames, 20 steps, strength 1
    python tools/gpu_diffusion_check.py --device cpu --small   # a smoke test of the script itself
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: stabilityai/stable-diffusion-x4-upscaler unet/config.json (the architecture fields)
X4_UNET = dict(
    sample_size=128, in_channels=7, out_channels=4, layers_per_block=2, block_out_channels=(256, 512, 512, 1024),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    cross_attention_dim=1024, attention_head_dim=8, num_class_embeds=1000, use_linear_projection=True,
    only_cross_attention=(True, True, True, False), norm_num_groups=32,
)
#: its vae/config.json
X4_VAE = dict(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, block_out_channels=(128, 256, 512),
              down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
              scaling_factor=0.08333)
SMALL_UNET = dict(X4_UNET, block_out_channels=(32, 32, 64, 64), cross_attention_dim=32, norm_num_groups=8,
                  layers_per_block=1)
SMALL_VAE = dict(X4_VAE, block_out_channels=(16, 16, 32), norm_num_groups=8, layers_per_block=1)


def build_model(device: str, small: bool):
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.set_verbosity_error()  # stdout/stderr stay clean for the one JSON line

    from vidrestore.restore.diffusion.models import DiffusionModel
    from vidrestore.restore.diffusion.schedule import NoiseSchedule

    dev = torch.device(device)
    dtype = torch.float16 if dev.type == "cuda" else torch.float32
    torch.manual_seed(0)
    with dev:  # parameters are created on the device directly
        unet = UNet2DConditionModel(**(SMALL_UNET if small else X4_UNET)).to(dtype).eval().requires_grad_(False)
        vae = AutoencoderKL(**(SMALL_VAE if small else X4_VAE)).float().eval().requires_grad_(False)
    schedule = NoiseSchedule.from_config({"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012,
                                          "steps_offset": 1, "set_alpha_to_one": False,
                                          "prediction_type": "v_prediction"})
    low = NoiseSchedule.from_config({"beta_schedule": "linear", "beta_start": 1e-4, "beta_end": 0.02})
    cross = int(unet.config.cross_attention_dim)
    model = DiffusionModel(layout="upscale", path=Path("<random x4 upscaler>"), unet=unet, schedule=schedule,
                           device=dev, dtype=dtype, vae=vae, low_res_schedule=low, max_noise_level=350,
                           latent_channels=4, vae_factor=4, scaling_factor=0.08333, vae_dtype=torch.float32,
                           prompt_embeds=torch.zeros(1, 77, cross, device=dev, dtype=dtype))
    return model, sum(p.numel() for p in unet.parameters())


def moving_clip(n: int, size: int):
    """``n`` frames ``(n, 3, size, size)``: a smooth texture panning 1.5 px right and 0.5 px down per frame."""
    import torch

    ys, xs = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")
    frames = []
    for t in range(n):
        x, y = xs - 1.5 * t, ys - 0.5 * t
        chans = [0.5 + 0.25 * torch.sin(x * 0.11 + y * 0.05 + c) + 0.2 * torch.sin(x * 0.031 - y * 0.17 + 2 * c)
                 for c in range(3)]
        frames.append(torch.stack(chans).clamp(0, 1))
    return torch.stack(frames)


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_unet(model, frames: int, size: int, reps: int) -> float:
    """Frame-steps per second of the UNet alone on a batch of ``frames`` latents."""
    import torch

    x = torch.randn(frames, 4, size, size, device=model.device)
    low = torch.randn(frames, 3, size, size, device=model.device)
    with torch.inference_mode():
        model.predict(x, 500, low_res=low, noise_level=20)
        _sync(model.device)
        t0 = time.perf_counter()
        for _ in range(reps):
            model.predict(x, 500, low_res=low, noise_level=20)
        _sync(model.device)
    return frames * reps / (time.perf_counter() - t0)


def time_restore(model, clip, *, consistency: bool, steps: int, strength: float, window: int) -> tuple[float, dict]:
    import torch

    from vidrestore.flow import DISFlow
    from vidrestore.restore.diffusion.restorer import DiffusionRestorer, DiffusionSettings

    settings = DiffusionSettings(steps=steps, strength=strength, consistency=consistency, seed=0)
    restorer = DiffusionRestorer(model=model, settings=settings, flow=DISFlow(preset="medium") if consistency else None)
    restorer.restore(clip[:2].to(model.device), window=2, overlap=1)  # warm-up (kernels, allocator, DIS)
    restorer.stats.frames = 0
    _sync(model.device)
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = restorer.restore(clip.to(model.device), window=window, overlap=1)
    _sync(model.device)
    secs = (time.perf_counter() - t0) / clip.shape[0]
    if not torch.isfinite(out).all():
        raise RuntimeError("non-finite output")
    return secs, restorer.stats.as_dict()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--small", action="store_true", help="a small UNet and 32x32 input (smoke test on a CPU)")
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--strength", type=float, default=1.0)
    p.add_argument("--window", type=int, default=4)
    args = p.parse_args(argv)
    result: dict = {"check": "gpu_diffusion", "device": args.device}
    try:
        import torch

        if args.device.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError("no CUDA device")
        t_start = time.perf_counter()
        model, n_params = build_model(args.device, args.small)
        size = 32 if args.small else 128
        result.update(unet_params_m=round(n_params / 1e6, 1), input=f"{size}x{size}", output=f"{4 * size}x{4 * size}",
                      dtype=str(model.dtype).replace("torch.", ""), steps=args.steps, strength=args.strength,
                      frames=args.frames, window=args.window, sampler="ddim",
                      build_s=round(time.perf_counter() - t_start, 1))
        if model.device.type == "cuda":
            result["gpu"] = torch.cuda.get_device_name(model.device)
            torch.backends.cudnn.benchmark = True
        new_per_window = max(args.window - 1, 1)
        result["unet_steps_per_s"] = round(time_unet(model, new_per_window, size, 3 if args.small else 10), 2)
        clip = moving_clip(args.frames, size)
        if model.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(model.device)
        kw = {"steps": args.steps, "strength": args.strength, "window": args.window}
        # Fair comparison: both variants first run once untimed on the very shapes of the timed runs
        # (cudnn autotuning, allocator growth), then they are timed alternately, best of two each.
        time_restore(model, clip, consistency=False, **kw)
        time_restore(model, clip, consistency=True, **kw)
        offs, ons = [], []
        stats: dict = {}
        for _ in range(2):
            offs.append(time_restore(model, clip, consistency=False, **kw)[0])
            secs, stats = time_restore(model, clip, consistency=True, **kw)
            ons.append(secs)
        off, on = min(offs), min(ons)
        result.update(s_per_frame_off_runs=[round(v, 4) for v in offs], s_per_frame_on_runs=[round(v, 4) for v in ons])
        run_steps = min(max(int(args.steps * args.strength), 1), args.steps)
        result.update(
            s_per_frame_consistency_off=round(off, 4), s_per_frame_consistency_on=round(on, 4),
            consistency_overhead=round(on / off - 1.0, 4), overhead_target=0.10, overhead_ok=bool(on / off - 1 <= 0.10),
            steps_per_s_consistency_on=round(run_steps / on, 2), steps_per_s_consistency_off=round(run_steps / off, 2),
            mean_flow_confidence=stats.get("mean_flow_confidence"),
        )
        if model.device.type == "cuda":
            result["peak_gpu_mem_gib"] = round(torch.cuda.max_memory_allocated(model.device) / 2**30, 2)
        result["total_s"] = round(time.perf_counter() - t_start, 1)
        result["ok"] = all(math.isfinite(v) for v in (on, off))
    except Exception as err:  # noqa: BLE001 - an unattended check reports every failure in its one JSON line
        result.update(ok=False, error=f"{type(err).__name__}: {err}")
        print(json.dumps(result))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
