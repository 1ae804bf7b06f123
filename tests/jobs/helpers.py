"""Run the CLI (with the test processors) and read outputs back for the job tests."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``vidrestore ARGS`` in a fresh process (test processors registered), from the project root."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "tests.jobs.cli_main", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def cli_popen(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    full_env = {**os.environ, **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "tests.jobs.cli_main", *args], cwd=ROOT, env=full_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def frames_of(path: Path) -> tuple[list[float], list[np.ndarray]]:
    """Presentation times and RGB frames of every decoded frame of a video (or image folder)."""
    from vidrestore.io.reader import open_reader

    times, frames = [], []
    with open_reader(path) as r:
        for f in r:
            times.append(f.time)
            frames.append(f.rgb)
    return times, frames


def frame_hashes(path: Path) -> list[str]:
    return [hashlib.sha256(f.tobytes()).hexdigest() for f in frames_of(path)[1]]


def manifest(workdir: Path) -> dict:
    return json.loads((workdir / "manifest.json").read_text())


def done_segments(work: Path) -> list[int]:
    """Ids of the segments the manifest records as done ([] while it is missing or being replaced)."""
    try:
        return [s["id"] for s in manifest(work)["segments"] if s["status"] == "done"]
    except (OSError, ValueError, KeyError):
        return []


def kill_nine_when(ready: Callable[[], bool], *args: str, env: dict[str, str] | None = None,
                   timeout: float = 240) -> None:
    """Run the CLI with ``args`` and SIGKILL it once ``ready()`` is true (it must still be running)."""
    proc = cli_popen(*args, env=env)
    try:
        deadline = time.monotonic() + timeout
        while not ready() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, f"the job ended before it could be killed: {proc.stderr.read()}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL


def kill_nine_after(work: Path, *args: str, done: int, env: dict[str, str] | None = None,
                    timeout: float = 240) -> None:
    """Run the CLI with ``args`` and SIGKILL it once ``done`` segments are finished (it must still be running)."""
    kill_nine_when(lambda: len(done_segments(work)) >= done, *args, env=env, timeout=timeout)
