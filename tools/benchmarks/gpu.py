"""GPU rows (issues 3, 4, 5): measured on a lent accelerator by ``tools/gpu_check.py``.

No GPU is on the build machine or in CI, so this area does not measure: it renders the JSON lines
that ``tools/gpu_check.py`` wrote on the lent machine (kept in docs/gpu/*.jsonl, one file per run).
Re-measure on any CUDA machine with:

    PYTHONPATH=. python3 tools/gpu_check.py --weights DIR_WITH_realesr-animevideov3.pth --out docs/gpu/NEW.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.benchmarks.common import BenchRow  # noqa: E402

AREA = "GPU, lent accelerator (issues 3, 4, 5)"
CMD = "PYTHONPATH=. python3 tools/gpu_check.py --weights .gpu --out docs/gpu/RUN.jsonl"


#: The consistency step's allowed cost on the GPU (issue 5), checked against overhead + run-to-run spread.
OVERHEAD_TARGET = 0.10
#: The GAN CPU fast path's pass mark (issue 4), as in tools/benchmarks/gan.py: this speed-up at this PSNR.
FAST_PATH_SPEEDUP = 3.0
FAST_PATH_DB = 45.0


def _spread(*series: list[float]) -> float:
    """The largest relative run-to-run spread of the repeats of any variant: below it no difference is real."""
    return max(((max(v) - min(v)) / min(v) if len(v) > 1 else 0.0) for v in series)


def _rows_of(path: Path) -> list[BenchRow]:
    rows: list[BenchRow] = []
    recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    card = next((r.get("name") for r in recs if r.get("check") == "device"), "unknown GPU")
    torch_v = next((r.get("torch") for r in recs if r.get("check") == "device"), "?")
    note = f"{card}, torch {torch_v}, recorded in docs/gpu/{path.name}"
    gan = [r for r in recs if r.get("check") == "gan"]
    for r in gan:
        rows.append(BenchRow(
            name=f"GAN realesr-animevideov3 {r['input']} -> x4, {r['precision']}, batch {r['batch']}",
            result=f"{r['frames_per_s']} frames/s", notes=note, command=CMD + " --skip raft,diffusion"))
    for r in recs:
        if r.get("check") == "gan_fp16_vs_fp32":
            rows.append(BenchRow(name="GAN fp16 vs fp32 output agreement", result=f"{r['psnr_db']} dB PSNR",
                                 notes=note, command=CMD))
    for r in recs:
        if r.get("check") == "raft":
            rows.append(BenchRow(
                name=f"RAFT {r['size']} {r['iterations']} iters, {r['resolution']}, {r['precision']}, batch {r['batch']}",
                result=f"{r['pairs_per_s']} flow pairs/s", notes=note + "; random weights (speed only)",
                command=CMD + " --skip gan,diffusion"))
    for r in recs:
        if r.get("check") == "cpu_fast_path":
            ok = r["speedup_auto"] >= FAST_PATH_SPEEDUP and r["psnr_auto_db"] >= FAST_PATH_DB
            rows.append(BenchRow(
                name=(f"GAN CPU fast path on the lent machine's host CPU, animevideov3 {r['input']} -> x4, "
                      f"{r['threads']} torch threads"),
                result=(f"plain fp32 NCHW {r['plain_ms']} ms; vidrestore auto ({r['auto_precision']}, channels_last) "
                        f"{r['auto_ms']} ms: {r['speedup_auto']}x at {r['psnr_auto_db']} dB; fp32 channels_last "
                        f"{r['fp32_channels_last_ms']} ms: {r['speedup_fp32_channels_last']}x"),
                target=f">= {FAST_PATH_SPEEDUP:g}x at >= {FAST_PATH_DB:g} dB", passed=ok, notes=f"{r['cpu']}; {r.get('frame', 'smooth random field')}; " + note,
                command=CMD + " --skip raft,gan,diffusion,diffusion_overhead"))
    for r in recs:
        if r.get("check") == "diffusion_overhead":
            over = float(r["overhead"])
            noise = _spread(r["s_per_frame_off"], r["s_per_frame_on"])
            upper = over + noise
            rows.append(BenchRow(
                name=(f"diffusion UNet {r['unet_params_m']}M params (SD x4 upscaler size, random weights: "
                      f"speed only), {r['output']} output, {r['dtype']}, {r['steps']} DDIM steps, "
                      f"window {r['window']}"),
                result=(f"{r['steps_per_s_off']} denoising steps/s ({min(r['s_per_frame_off']):.3f} s/frame) without "
                        f"consistency, {r['steps_per_s_on']} steps/s ({min(r['s_per_frame_on']):.3f} s/frame) with it: "
                        f"overhead {over * 100:+.1f}% with a run-to-run spread of {noise * 100:.1f}%"
                        + (": no overhead can be told from the noise" if abs(over) <= noise else "")
                        + f"; upper bound {upper * 100:+.1f}%"),
                target=f"consistency overhead <= {OVERHEAD_TARGET * 100:g}% (upper bound)",
                passed=upper <= OVERHEAD_TARGET,
                notes=note + "; both variants warmed up on the same shapes, timed alternately, best of two; "
                             "spread = largest (max - min) / min of either variant's repeats",
                command=CMD + " --skip raft,gan,diffusion"))
    return rows


def run(quick: bool = False) -> list[BenchRow]:
    rows: list[BenchRow] = []
    for path in sorted((ROOT / "docs" / "gpu").glob("*.jsonl")):
        rows.extend(_rows_of(path))
    return rows or [BenchRow(name="GPU checks", result="no recorded GPU run in docs/gpu/")]


if __name__ == "__main__":
    for row in run():
        print(row)
