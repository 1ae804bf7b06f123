"""Film stage on a lent GPU (issue 20): frames/s at SD, 1080p and 2K, and agreement with the CPU path.

    PYTHONPATH=. python3 tools/gpu_film_check.py [--frames N] [--flow dis|raft-small] [--weights PATH] [--out F.jsonl]

Frames: a real still (../shared/data/rasterio_testdata/RGB.byte.tif when present, else a synthetic
texture) cut along a smooth camera path with the damage model of :mod:`vidrestore.film.damage` (dust,
scratches, flicker, grain), at 720x576, 1920x1080 and 2048x1080. Each size runs ``--preset film`` with
``film.device=cuda`` (the per-pixel steps on torch tensors on the GPU) and prints one JSON line: frames/s
(wall, synchronised), and the PSNR of the CUDA output against the CPU path's on the first frames
(SD only: the CPU path is slow). With ``--flow dis`` the flow is still OpenCV's DIS on the host CPU;
``--flow raft-small --weights PATH`` runs RAFT on the GPU (random weights are refused offline).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _clip(w: int, h: int, n: int) -> list[np.ndarray]:
    import cv2

    from vidrestore.film.damage import DamageSpec, camera_motion_clip, render_damage

    tif = ROOT.parent / "shared" / "data" / "rasterio_testdata" / "RGB.byte.tif"
    still = None
    if tif.is_file():
        try:
            import rasterio

            with rasterio.open(tif) as r:
                still = np.moveaxis(r.read(), 0, -1)[100:700, 50:750]
        except ImportError:
            still = None
    if still is None:
        rng = np.random.default_rng(0)
        still = cv2.GaussianBlur(rng.integers(0, 255, (600, 800, 3), dtype=np.uint8), (0, 0), 3)
    still = cv2.resize(np.ascontiguousarray(still), (w + w // 4, h + h // 4), interpolation=cv2.INTER_CUBIC)
    clean = camera_motion_clip(still, frames=n, size=(w, h), seed=1)
    return render_damage(clean, DamageSpec(seed=4)).frames


def _run(images: list[np.ndarray], overrides: list[str]) -> tuple[list[np.ndarray], float]:
    import torch

    from vidrestore.config import load_config
    from vidrestore.pipeline.stages import build_film as build_processor
    from vidrestore.types import Frame

    proc = build_processor(load_config(preset="film", overrides=overrides), None)  # type: ignore[arg-type]
    frames = [Frame(index=i, pts=i, time_base=Fraction(1, 24), rgb=im) for i, im in enumerate(images)]
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = [f.rgb for f in proc.process(iter(frames))]
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - t0


def main() -> int:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--flow", default="dis")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("gpu_film_check: no CUDA device here", file=sys.stderr)
        return 2
    flow = [f"flow.method={args.flow}"] + ([f"flow.weights={args.weights}"] if args.weights else [])
    lines = []
    for name, (w, h) in (("SD", (720, 576)), ("1080p", (1920, 1080)), ("2K", (2048, 1080))):
        images = _clip(w, h, args.frames)
        _run(images[:6], ["film.device=cuda", *flow])  # warm-up: kernels, allocator
        out, seconds = _run(images, ["film.device=cuda", *flow])
        row = {"check": "film_cuda", "size": name, "width": w, "height": h, "frames": len(out),
               "fps": round(len(out) / seconds, 3), "flow": args.flow, "device": torch.cuda.get_device_name(0)}
        if name == "SD":
            ref, cpu_seconds = _run(images[:8], [*flow])
            gpu8, _ = _run(images[:8], ["film.device=cuda", *flow])
            d = [float(np.mean((a.astype(np.float64) - b) ** 2)) for a, b in zip(gpu8, ref)]
            row["psnr_vs_cpu_db"] = round(min(99.0 if m == 0 else 10 * np.log10(255.0**2 / m) for m in d), 2)
            row["cpu_fps_same_host"] = round(8 / cpu_seconds, 3)
        print(json.dumps(row), flush=True)
        lines.append(row)
    if args.out is not None:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
