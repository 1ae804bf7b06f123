"""Optical-flow benchmarks (issue 3), CPU.

* Flow pairs per second at 480p (854x480) and 1080p (1920x1080) for OpenCV DIS ultrafast / fast /
  medium and torchvision RAFT small / large with 6 and 12 update iterations, on consecutive real
  Sintel frames (../shared/data/raft_demo_frames) resized to each size. RAFT speed does not depend
  on the weight values, so random weights stand in where the official ones are not available
  offline. Median of N timed pairs after one warm-up; all rows of one run side by side.
* Sliding-window run over 200 frames of a real film clip (chaplin.mp4, 640x360) with
  ``temporal.window = 5, overlap = 2`` through :class:`vidrestore.flow.FlowCache`: flows computed per
  frame (target <= 2), against what windows recomputing their own pairs would need.
* DIS medium end-point error on real frames warped by known smooth fields up to 8 px (target <= 0.5 px).

    python tools/benchmarks/flow.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.benchmarks.common import SHARED, BenchRow  # noqa: E402

AREA = "Optical flow (issue 3)"
CMD = "python tools/benchmarks/flow.py"
#: Pass marks (issue 3): flows a sliding window may compute per frame (one forward, one backward) ...
MAX_FLOWS_PER_FRAME = 2.0
#: ... and the worst mean end-point error of DIS medium on smooth fields of up to 8 px.
MAX_EPE_MEDIUM_PX = 0.5
SIZES = {"480p": (480, 854), "1080p": (1080, 1920)}


def _sintel_pair(size: tuple[int, int]):
    import torch.nn.functional as F

    from tests.flow.synth import load_rgb

    folder = SHARED / "data" / "raft_demo_frames"
    a = load_rgb(folder / "frame_0016.png")
    b = load_rgb(folder / "frame_0017.png")
    return (F.interpolate(a, size=size, mode="bilinear", align_corners=False, antialias=True),
            F.interpolate(b, size=size, mode="bilinear", align_corners=False, antialias=True))


_CPU: list[float] = []  # CPU seconds (all threads) of the last _time_pairs call, per pair


def _time_pairs(est, t, s, reps: int, warmup: bool = True) -> list[float]:
    """Wall seconds per pair; the process CPU seconds per pair go to ``_CPU`` (less sensitive to a busy machine)."""
    if warmup:
        est.estimate(t, s)  # warm-up (allocations, thread pools)
    out = []
    _CPU.clear()
    for _ in range(reps):
        c0 = time.process_time()
        t0 = time.perf_counter()
        est.estimate(t, s)
        out.append(time.perf_counter() - t0)
        _CPU.append(time.process_time() - c0)
    return out


def _speed(times: list[float]) -> str:
    med = statistics.median(times)
    cpu = statistics.median(_CPU) if _CPU else float("nan")
    return f"{1 / med:.2f} pairs/s ({med * 1000:.0f} ms/pair wall, {cpu * 1000:.0f} ms CPU)"


def _mem_available_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def bench_speed(quick: bool) -> list[BenchRow]:
    import torch

    from vidrestore.flow import DISFlow
    from vidrestore.flow.raft import RaftFlow, build_raft, memory_hint

    if not (SHARED / "data" / "raft_demo_frames").is_dir():
        return [BenchRow("flow pairs/s", "skipped: ../shared/data/raft_demo_frames missing")]
    rows: list[BenchRow] = []
    sizes = {"480p": SIZES["480p"]} if quick else SIZES
    torch.manual_seed(0)
    models = {"small": build_raft("small").eval(), "large": build_raft("large").eval()}
    for label, size in sizes.items():
        t, s = _sintel_pair(size)
        for preset in ("ultrafast", "fast", "medium"):
            times = _time_pairs(DISFlow(preset=preset), t, s, 3 if quick else 9)
            rows.append(BenchRow(f"DIS {preset}, {label} ({size[1]}x{size[0]})", _speed(times), command=CMD,
                                 notes="OpenCV DIS, 8-bit luma, CPU"))
        for name, model in models.items():
            need = memory_hint(*size) + (0.5 if name == "small" else 1.0)
            for iters in (6, 12):
                if quick and (name == "large" and iters == 6):
                    continue
                if _mem_available_gib() < 1.5 * need:
                    rows.append(BenchRow(f"RAFT {name} {iters} it, {label}",
                                         f"skipped: needs ~{need:.1f} GiB, {_mem_available_gib():.1f} GiB free"))
                    continue
                est = RaftFlow(model=model, size=name, iterations=iters, batch_size=1)
                heavy = label == "1080p" or name == "large"
                times = _time_pairs(est, t, s, 1 if heavy else 3, warmup=not heavy)
                rows.append(BenchRow(f"RAFT {name} {iters} it, {label} ({size[1]}x{size[0]})",
                                     _speed(times), command=CMD,
                                     notes=f"torchvision raft_{name}, fp32, CPU {torch.get_num_threads()} threads; "
                                           f"all-pairs correlation ~{memory_hint(*size):.1f} GiB"))
        if label == "1080p":
            est = RaftFlow(model=models["small"], size="small", iterations=12, downscale=2.0, batch_size=1)
            times = _time_pairs(est, t, s, 1, warmup=False)
            rows.append(BenchRow("RAFT small 12 it, 1080p with flow.downscale=2", _speed(times), command=CMD,
                                 notes="estimated at 960x540, flow upsampled"))
    return rows


def bench_sliding_window(quick: bool) -> list[BenchRow]:
    import av

    from vidrestore.flow import DISFlow
    from vidrestore.flow.cache import FlowCache
    from vidrestore.flow.scenecut import SceneCutDetector
    from vidrestore.temporal.windows import plan_windows
    from vidrestore.tensors import to_tensor

    src = SHARED / "data" / "moviepy_media" / "chaplin.mp4"
    if not src.exists():
        return [BenchRow("sliding-window flows per frame", "skipped: chaplin.mp4 missing")]
    n = 200
    frames = []
    with av.open(str(src)) as c:
        for f in c.decode(video=0):
            if len(frames) >= n:
                break
            frames.append(to_tensor(f.to_ndarray(format="rgb24"))[0])
    n = len(frames)
    cache = FlowCache(DISFlow(preset="ultrafast" if quick else "medium"), scene_cuts=SceneCutDetector())
    windows = plan_windows(n, window=5, overlap=2)
    naive = 0
    added = 0
    t0 = time.perf_counter()
    for win in windows:
        while added < win.stop:
            cache.add(added, frames[added])
            added += 1
        cache.window_flows(win.start, win.stop)
        naive += 2 * (win.size - 1)
        cache.evict(win.start)
    seconds = time.perf_counter() - t0
    st = cache.stats()
    return [BenchRow(
        f"sliding window 5/2 over {n} frames (chaplin 640x360, {cache.estimator.name})",
        f"{st['flows_per_frame']} flows computed per frame ({st['flows_forward']} fwd + {st['flows_backward']} bwd; "
        f"windows recomputing their pairs would need {naive / n:.2f}); {n / seconds:.1f} frames/s",
        target=f"<= {MAX_FLOWS_PER_FRAME:g} flows per frame", passed=st["flows_per_frame"] <= MAX_FLOWS_PER_FRAME,
        command=CMD,
        notes=f"{len(windows)} windows, scene cuts {st['scene_cuts'] or 'none'}")]


def bench_accuracy(quick: bool) -> list[BenchRow]:
    import torch

    from tests.flow.synth import load_rgb, smooth_field
    from vidrestore.flow import DISFlow, backward_warp, valid_mask

    path = SHARED / "data" / "raft_demo_frames" / "frame_0016.png"
    if not path.exists():
        return [BenchRow("DIS EPE", "skipped: raft_demo_frames missing")]
    src = load_rgb(path)
    gen = torch.Generator().manual_seed(0)
    rows = []
    for preset in ("ultrafast", "fast", "medium"):
        epes = []
        for _ in range(2 if quick else 5):
            truth = smooth_field(src.shape[-2], src.shape[-1], 8.0, gen)
            flow = DISFlow(preset=preset).estimate(backward_warp(src, truth), src)
            inside = valid_mask(truth, margin=-1.0)
            epes.append(float((flow - truth).norm(dim=1, keepdim=True)[inside].mean()))
        target = f"<= {MAX_EPE_MEDIUM_PX:g} px" if preset == "medium" else ""
        rows.append(BenchRow(f"DIS {preset} end-point error, Sintel 1024x436, smooth fields <= 8 px",
                             f"mean {statistics.mean(epes):.3f} px (max {max(epes):.3f})", target=target,
                             passed=(max(epes) <= MAX_EPE_MEDIUM_PX) if target else None, command=CMD))
    return rows


def _load_note() -> str:
    import os

    try:
        one, five, _ = os.getloadavg()
        return f"load average {one:.1f}/{five:.1f} on {os.cpu_count()} cores during the run"
    except OSError:
        return ""


def run(quick: bool = False) -> list[BenchRow]:
    from dataclasses import replace

    rows = bench_accuracy(quick) + bench_sliding_window(quick) + bench_speed(quick)
    note = _load_note()  # the machine is shared: say how busy it was
    return [replace(r, notes="; ".join(x for x in (r.notes, note) if x)) for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    for row in run(quick=args.quick):
        mark = "" if row.passed is None else (" [PASS]" if row.passed else " [FAIL]")
        print(f"{row.name}: {row.result}{mark}  {row.notes}")


if __name__ == "__main__":
    main()
