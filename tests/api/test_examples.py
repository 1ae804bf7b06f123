"""The examples/ scripts run as a user runs them (a fresh process), so they can never rot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.jobs.helpers import frames_of

ROOT = Path(__file__).resolve().parents[2]


def _run_example(name: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(ROOT / "examples" / name), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900, check=False)


def test_custom_stage_runs_through_the_api_and_does_what_it_says(tmp_path: Path) -> None:
    out = tmp_path / "ghost"
    proc = _run_example("custom_stage.py", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"{out}: 75 frames" in proc.stdout
    _, inputs = frames_of(ROOT / "samples" / "moving.mp4")
    _, outputs = frames_of(out)
    assert len(outputs) == len(inputs) == 75
    assert np.array_equal(outputs[0], inputs[0])
    for k in (1, 40, 74):
        want = (3 * inputs[k].astype(np.uint32) + inputs[k - 1] + 2) // 4
        assert np.array_equal(outputs[k], want.astype(np.uint8)), k


def test_python_job_restores_then_interpolates_with_progress(tmp_path: Path) -> None:
    proc = _run_example("python_job.py", str(tmp_path), "--frames", "10:16")
    assert proc.returncode == 0, proc.stderr
    assert "vidrestore restore " in proc.stdout and "--frames 10:16" in proc.stdout
    assert "clean.mp4: 6 frames cleaned" in proc.stdout and "smooth.mp4: 6 frames in, 12 out" in proc.stdout
    assert "segment 1/1: 6/6 frames" in proc.stderr and "process: 12/12 frames" in proc.stderr
    assert len(frames_of(tmp_path / "clean.mp4")[1]) == 6 and len(frames_of(tmp_path / "smooth.mp4")[1]) == 12
