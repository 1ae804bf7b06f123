"""What every benchmark module returns: rows for docs/BENCHMARKS.md.

Each module ``tools/benchmarks/<area>.py`` defines ``AREA`` (a title, e.g. "Optical flow (issue 3)")
and ``def run(quick: bool = False) -> list[BenchRow]``. ``tools/bench.py`` runs them and rewrites the
area's section of docs/BENCHMARKS.md, with the machine, date and command beside every row.
Compare as ratios measured side by side in one run: the machine is shared and noisy.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("VIDRESTORE_TEST_DATA", ROOT.parent / "shared"))


@dataclass(frozen=True)
class BenchRow:
    name: str  # what was measured, e.g. "DIS medium, 480p"
    result: str  # the measured value(s), with units
    target: str = ""  # the target, e.g. "<= 1.3x ffmpeg"
    passed: bool | None = None  # None when there is no target
    command: str = ""  # the command that reproduces this row
    notes: str = ""


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def median_time(fn, reps: int = 5) -> float:
    """Median wall seconds of ``fn()`` over ``reps`` calls, after one warm-up call (oneDNN primitives,
    allocations, lazy imports are paid there, not in the timing)."""
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


class Timer:
    def __enter__(self) -> Timer:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0


def run_measured(cmd: list[str], **kwargs) -> tuple[float, int, subprocess.CompletedProcess]:
    """Run a command; return (wall seconds, peak RSS in bytes of the child, completed process)."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # max over all children so far
    return wall, peak, proc


def peak_rss_of(cmd: list[str], **kwargs) -> tuple[float, int, subprocess.CompletedProcess]:
    """Run ``cmd`` under /usr/bin/time-like measurement in a fresh Python so the peak is its own."""
    wrapper = [sys.executable, str(Path(__file__).with_name("measure.py")), "--", *cmd]
    t0 = time.perf_counter()
    proc = subprocess.run(wrapper, capture_output=True, text=True, **kwargs)
    wall = time.perf_counter() - t0
    peak = 0
    for line in proc.stderr.splitlines():
        if line.startswith("PEAK_RSS_BYTES="):
            peak = int(line.split("=", 1)[1])
    return wall, peak, proc
