"""GPU checks for a lent accelerator session (CUDA): prints one JSON line per measurement.

    PYTHONPATH=. python3 tools/gpu_check.py [--weights DIR] [--out FILE.jsonl]

* RAFT small/large (torchvision, random weights: speed only) through vidrestore's RaftFlow, fp16,
  flow pairs per second at 480p and 1080p, 6 and 12 iterations.
* realesr-animevideov3 (the real weights, from --weights DIR) through vidrestore's GanRestorer:
  frames per second for 480p -> 4x in fp16 (batch 1 and 4), and its agreement (PSNR) with fp32.
* The diffusion check (tools/gpu_diffusion_check.py) when diffusers is importable.
* ``cpu``: the GAN CPU fast path on the lent machine's *host CPU* (issue 4's ">= 3x plain fp32 NCHW at
  >= 45 dB"), at 2 torch threads (like the 2-core build machine) and at 8: plain fp32 NCHW against
  vidrestore's GanRestorer with ``precision: auto`` (bf16 + channels_last where oneDNN has native bf16)
  and against fp32 channels_last, with the CPU model and its bf16 flags.

The machine may lack basicsr/realesrgan (only torch/torchvision are certain): the SRVGGNetCompact
architecture is then provided here, written after its published description (a VGG-style stack of
3x3 convolutions with PReLU, a pixel shuffle and a nearest-upsampled skip), with the same state-dict
layout, and loaded with strict=True so the real weights prove the layout.
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _provide_srvgg() -> None:
    try:
        import realesrgan.archs.srvgg_arch  # noqa: F401

        return
    except Exception:  # noqa: BLE001 - not installed on the GPU machine
        pass
    import torch
    from torch import nn
    from torch.nn import functional as F

    class SRVGGNetCompact(nn.Module):
        def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=16, upscale=4, act_type="prelu"):
            super().__init__()
            self.upscale = upscale

            def act() -> nn.Module:
                if act_type == "relu":
                    return nn.ReLU(inplace=True)
                if act_type == "leakyrelu":
                    return nn.LeakyReLU(0.1, inplace=True)
                return nn.PReLU(num_parameters=num_feat)

            layers: list[nn.Module] = [nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), act()]
            for _ in range(num_conv):
                layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), act()]
            layers.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
            self.body = nn.ModuleList(layers)
            self.upsampler = nn.PixelShuffle(upscale)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = x
            for layer in self.body:
                out = layer(out)
            return self.upsampler(out) + F.interpolate(x, scale_factor=self.upscale, mode="nearest")

    pkg = types.ModuleType("realesrgan")
    archs = types.ModuleType("realesrgan.archs")
    srvgg = types.ModuleType("realesrgan.archs.srvgg_arch")
    srvgg.SRVGGNetCompact = SRVGGNetCompact
    pkg.archs = archs
    archs.srvgg_arch = srvgg
    sys.modules.update({"realesrgan": pkg, "realesrgan.archs": archs, "realesrgan.archs.srvgg_arch": srvgg})


def emit(out: list[dict], **row: object) -> None:
    out.append(row)
    print(json.dumps(row), flush=True)


def time_cuda(fn, warmup: int = 3, reps: int = 10) -> float:
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / reps


def check_raft(rows: list[dict]) -> None:
    import torch

    from vidrestore.flow.raft import RaftFlow, build_raft

    for size in ("small", "large"):
        model = build_raft(size)
        for iters in (6, 12):
            flow = RaftFlow(model=model, size=size, iterations=iters, device="cuda", precision="fp16", batch_size=4)
            for name, (h, w) in (("480p", (480, 854)), ("1080p", (1080, 1920))):
                for batch in (1, 4):
                    a = torch.rand(batch, 3, h, w, device="cuda")
                    b = torch.rand(batch, 3, h, w, device="cuda")
                    dt = time_cuda(functools.partial(flow.estimate, a, b), warmup=2, reps=5)
                    emit(rows, check="raft", size=size, iterations=iters, resolution=name, batch=batch,
                         pairs_per_s=round(batch / dt, 2), precision="fp16")


def check_gan(rows: list[dict], weights: Path) -> None:
    import torch

    _provide_srvgg()
    from vidrestore.restore.gan.archs import build_arch, load_into
    from vidrestore.restore.gan.restorer import GanRestorer
    from vidrestore.weights import load_state_dict

    sd = load_state_dict(weights)
    kwargs = {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_conv": 16, "upscale": 4, "act_type": "prelu"}
    for precision in ("fp16", "fp32"):
        for batch in (1, 4):
            net = build_arch("SRVGGNetCompact", kwargs)
            load_into(net, sd, source=str(weights))
            g = GanRestorer(net=net, native_scale=4, precision=precision, device="cuda", batch=batch)
            x = torch.rand(batch, 3, 480, 854, device="cuda")
            dt = time_cuda(functools.partial(g.restore, x), warmup=2, reps=5)
            emit(rows, check="gan", model="realesr-animevideov3", input="480x854", output="1920x3416",
                 precision=precision, batch=batch, frames_per_s=round(batch / dt, 2))
    # fp16 against fp32 on a real-looking input (smooth random field), PSNR
    net16 = build_arch("SRVGGNetCompact", kwargs)
    load_into(net16, sd, source=str(weights))
    net32 = build_arch("SRVGGNetCompact", kwargs)
    load_into(net32, sd, source=str(weights))
    g16 = GanRestorer(net=net16, native_scale=4, precision="fp16", device="cuda")
    g32 = GanRestorer(net=net32, native_scale=4, precision="fp32", device="cuda")
    x = torch.nn.functional.interpolate(torch.rand(1, 3, 30, 54, device="cuda"), size=(240, 427), mode="bicubic")
    x = x.clamp(0, 1)
    a, b = g16.restore(x), g32.restore(x)
    mse = torch.mean((a - b) ** 2).item()
    emit(rows, check="gan_fp16_vs_fp32", psnr_db=round(10 * torch.log10(torch.tensor(1.0 / max(mse, 1e-12))).item(), 2))


def _cpu_flags() -> dict[str, object]:
    info: dict[str, object] = {"model": "unknown", "avx512_bf16": False, "amx_bf16": False, "avx2": False}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    for line in text.splitlines():
        if line.startswith("model name") and info["model"] == "unknown":
            info["model"] = line.split(":", 1)[1].strip()
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            info.update(avx512_bf16="avx512_bf16" in flags, amx_bf16="amx_bf16" in flags, avx2="avx2" in flags)
            break
    return info


def check_cpu_fast_path(rows: list[dict], weights: Path) -> None:
    """Plain fp32 NCHW vs the GanRestorer CPU path on a smooth real-like frame, median of 5 after a warm-up."""
    import torch

    from tools.benchmarks.common import median_time

    _provide_srvgg()
    from vidrestore.restore.gan.archs import build_arch, load_into
    from vidrestore.restore.gan.restorer import GanRestorer, cpu_has_native_bf16
    from vidrestore.weights import load_state_dict

    sd = load_state_dict(weights)
    kwargs = {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_conv": 16, "upscale": 4, "act_type": "prelu"}

    def net() -> torch.nn.Module:
        n = build_arch("SRVGGNetCompact", kwargs)
        load_into(n, sd, source=str(weights))
        return n

    def plain(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return plain_net(x.contiguous()).clamp(0, 1)

    def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
        mse = torch.mean((a.double() - b.double()) ** 2).item()
        return round(10 * torch.log10(torch.tensor(1.0 / max(mse, 1e-20))).item(), 2)

    flags = _cpu_flags()
    emit(rows, check="cpu_info", native_bf16=cpu_has_native_bf16(), cores=torch.get_num_threads(), **flags)
    plain_net = net().eval()
    auto = GanRestorer(net=net(), native_scale=4, precision="auto", device="cpu")
    fp32cl = GanRestorer(net=net(), native_scale=4, precision="fp32", device="cpu")
    gen = torch.Generator().manual_seed(0)
    # the frames tools/benchmarks/gan.py times on the build machine (a real REDS crop), when carried along
    frames = weights.parent / "fastpath_frames.pt"
    real = torch.load(str(frames), weights_only=True) if frames.is_file() else {}
    for threads in (2, 8):
        torch.set_num_threads(threads)
        for h, w in ((120, 160), (240, 320)):
            x = real.get(f"{w}x{h}")
            source = "real crop (the build machine's benchmark frame)"
            if x is None:
                source = "smooth random field"
                x = torch.nn.functional.interpolate(torch.rand(1, 3, h // 8, w // 8, generator=gen), size=(h, w),
                                                    mode="bicubic", align_corners=False).clamp(0, 1)
            t_plain = median_time(functools.partial(plain, x))
            t_auto = median_time(functools.partial(auto.restore, x))
            t_cl = median_time(functools.partial(fp32cl.restore, x))
            ref = plain(x)
            emit(rows, check="cpu_fast_path", cpu=flags["model"], threads=threads, input=f"{w}x{h}",
                 plain_ms=round(1000 * t_plain, 1), auto_ms=round(1000 * t_auto, 1), auto_precision=auto.precision,
                 fp32_channels_last_ms=round(1000 * t_cl, 1), speedup_auto=round(t_plain / t_auto, 2),
                 speedup_fp32_channels_last=round(t_plain / t_cl, 2), psnr_auto_db=psnr(auto.restore(x), ref),
                 psnr_fp32_channels_last_db=psnr(fp32cl.restore(x), ref), frame=source)


def check_diffusion_overhead(rows: list[dict], frames: int = 8, steps: int = 20, window: int = 4) -> None:
    """Consistency step's overhead, measured fairly: both variants warmed up on the same shapes
    (cudnn autotuning excluded), then timed alternately, best of two each."""
    import torch

    sys.path.insert(0, str(ROOT / "tools"))
    import gpu_diffusion_check as gd  # noqa: PLC0415

    model, n_params = gd.build_model("cuda", False)
    torch.backends.cudnn.benchmark = True
    clip = gd.moving_clip(frames, 128)
    kw = {"steps": steps, "strength": 1.0, "window": window}
    gd.time_restore(model, clip, consistency=False, **kw)  # warm-up, same shapes as the timed runs
    gd.time_restore(model, clip, consistency=True, **kw)
    offs, ons = [], []
    for _ in range(2):
        offs.append(gd.time_restore(model, clip, consistency=False, **kw)[0])
        ons.append(gd.time_restore(model, clip, consistency=True, **kw)[0])
    off, on = min(offs), min(ons)
    emit(rows, check="diffusion_overhead", unet_params_m=round(n_params / 1e6, 1), output="512x512",
         dtype="float16", steps=steps, window=window, frames=frames,
         s_per_frame_off=[round(x, 4) for x in offs], s_per_frame_on=[round(x, 4) for x in ons],
         steps_per_s_off=round(steps / off, 2), steps_per_s_on=round(steps / on, 2),
         overhead=round(on / off - 1.0, 4), target=0.10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=str(ROOT / ".gpu"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--skip", default="", help="comma list of checks to skip: raft,gan,diffusion,diffusion_overhead,cpu")
    args = ap.parse_args()
    import torch

    rows: list[dict] = []
    if not torch.cuda.is_available():
        raise SystemExit("gpu_check: no CUDA device")
    emit(rows, check="device", name=torch.cuda.get_device_name(0), torch=torch.__version__,
         capability=".".join(map(str, torch.cuda.get_device_capability(0))))
    skip = set(filter(None, args.skip.split(",")))
    torch.backends.cudnn.benchmark = True
    if "gan" not in skip:
        check_gan(rows, Path(args.weights) / "realesr-animevideov3.pth")
    if "cpu" not in skip:
        check_cpu_fast_path(rows, Path(args.weights) / "realesr-animevideov3.pth")
    if "raft" not in skip:
        check_raft(rows)
    if "diffusion_overhead" not in skip:
        check_diffusion_overhead(rows)
    diff = ROOT / "tools" / "gpu_diffusion_check.py"
    if "diffusion" not in skip and diff.exists():
        try:
            import diffusers  # noqa: F401
        except ImportError:
            emit(rows, check="diffusion", skipped="diffusers not importable")
        else:
            r = subprocess.run([sys.executable, str(diff)], capture_output=True, text=True, timeout=300)
            for line in r.stdout.splitlines():
                if line.startswith("{"):
                    rows.append(json.loads(line))
                    print(line, flush=True)
            if r.returncode != 0:
                emit(rows, check="diffusion", error=r.stderr[-1500:])
    if args.out:
        Path(args.out).write_text("\n".join(json.dumps(r) for r in rows) + "\n")


if __name__ == "__main__":
    main()
