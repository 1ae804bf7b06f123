"""Foundation I/O benchmarks (issue 2).

* Passthrough of a 1080p clip against ``ffmpeg -i IN -c:v libx264 -preset P -crf C -c:a copy OUT`` with the
  same settings, run side by side (alternating, best of N): target wall time <= 1.3x ffmpeg's.
* Peak RSS of a passthrough of 300 vs 3000 frames at 640x360: target ratio <= 1.1.

    python tools/benchmarks/io.py [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.benchmarks.common import SHARED, BenchRow, peak_rss_of  # noqa: E402

AREA = "Foundation I/O (issue 2)"
#: Pass marks (issue 2): a passthrough's wall time against ffmpeg's on the same encode ...
MAX_VS_FFMPEG = 1.3
#: ... and peak memory on a 10x longer clip against a short one (bounded memory).
MAX_RSS_GROWTH = 1.1


def _make_clip(path: Path, frames: int, w: int, h: int) -> None:
    """A moving textured 640x360 clip with an AAC tone (fast to make: ultrafast x264)."""
    import math
    from fractions import Fraction

    import av
    import numpy as np

    sys.path.insert(0, str(ROOT / "tools"))
    from make_samples import _add_tone, texture  # noqa: PLC0415

    big = (texture(h * 2, w * 2, seed=5) * 255).astype(np.uint8)
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=25, options={"preset": "ultrafast", "crf": "20"})
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        audio = _add_tone(out, "aac", frames / 25)
        for i in range(frames):
            x = int((w / 2) * (0.5 + 0.5 * math.sin(i / 50)))
            y = int((h / 2) * (0.5 + 0.5 * math.cos(i / 70)))
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(big[y:y + h, x:x + w]), format="rgb24")
            vf.pts = i
            vf.time_base = Fraction(1, 25)
            for p in vs.encode(vf):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
        for p in audio:
            out.mux(p)


def bench_passthrough_vs_ffmpeg(quick: bool) -> list[BenchRow]:
    src = SHARED / "data" / "moviepy_media" / "smpte-2997.mp4"
    if not src.exists() or not shutil.which("ffmpeg"):
        return [BenchRow("passthrough 1080p vs ffmpeg", "skipped: smpte-2997.mp4 or ffmpeg missing")]
    rows = []
    presets = ["veryfast"] if quick else ["medium", "veryfast"]
    crf = 15
    for preset in presets:
        with tempfile.TemporaryDirectory() as td:
            ours_cmd = [sys.executable, "-m", "vidrestore", "restore", str(src), "-o", f"{td}/ours.mp4", "-q",
                        "--overwrite", "--preset", "passthrough", "--set", f"encode.preset={preset}",
                        "--set", f"encode.crf={crf}"]
            ff_cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c:v", "libx264", "-preset", preset,
                      "-crf", str(crf), "-c:a", "copy", f"{td}/ffmpeg.mp4"]
            t_ours, t_ff = [], []
            for _ in range(1 if quick else 2):  # alternate so both see the same machine load
                w, _, p = peak_rss_of(ff_cmd)
                assert p.returncode == 0, p.stderr
                t_ff.append(w)
                w, _, p = peak_rss_of(ours_cmd)
                assert p.returncode == 0, p.stderr
                t_ours.append(w)
            ratio = min(t_ours) / min(t_ff)
            rows.append(BenchRow(
                name=f"passthrough smpte-2997.mp4 1080p 251 frames, x264 {preset} crf {crf}",
                result=f"vidrestore {min(t_ours):.1f} s, ffmpeg {min(t_ff):.1f} s: ratio {ratio:.2f}",
                target=f"<= {MAX_VS_FFMPEG:g}x ffmpeg", passed=ratio <= MAX_VS_FFMPEG,
                command=" ".join(ours_cmd[1:]).replace(td, "OUT") + "  vs  " + " ".join(ff_cmd).replace(td, "OUT"),
            ))
    return rows


def bench_memory_flat(quick: bool) -> list[BenchRow]:
    short, long_ = (100, 1000) if quick else (300, 3000)
    with tempfile.TemporaryDirectory() as td:
        peaks = {}
        for n in (short, long_):
            clip = Path(td) / f"c{n}.mp4"
            _make_clip(clip, n, 640, 360)
            cmd = [sys.executable, "-m", "vidrestore", "restore", str(clip), "-o", f"{td}/o{n}.mp4", "-q",
                   "--set", "encode.preset=ultrafast"]
            _, peak, p = peak_rss_of(cmd)
            assert p.returncode == 0, p.stderr
            peaks[n] = peak
    ratio = peaks[long_] / peaks[short]
    return [BenchRow(
        name=f"peak RSS passthrough 640x360, {short} vs {long_} frames",
        result=f"{peaks[short] / 2**20:.0f} MiB vs {peaks[long_] / 2**20:.0f} MiB: ratio {ratio:.3f}",
        target=f"<= {MAX_RSS_GROWTH:g}", passed=ratio <= MAX_RSS_GROWTH,
        command=f"vidrestore restore CLIP -o OUT.mp4 --set encode.preset=ultrafast (clips of {short} and {long_} "
                "frames made by tools/benchmarks/io.py)",
    )]


def run(quick: bool = False) -> list[BenchRow]:
    return bench_passthrough_vs_ffmpeg(quick) + bench_memory_flat(quick)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    for row in run(a.quick):
        print(row)
