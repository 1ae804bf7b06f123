"""Fixtures of the file-safety tests: a tiny clip with sound, a sentinel tree, a dead PID."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest


def make_clip(path: Path, *, size: str = "48x32", frames: int = 8, rate: int = 10, audio: bool = True) -> Path:
    """A small H.264 clip (with an AAC track) written by the system ffmpeg."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    cmd = ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    cmd += ["-frames:v", str(frames), "-pix_fmt", "yuv444p", "-c:v", "libx264", "-preset", "ultrafast"]
    if audio:
        cmd += ["-c:a", "aac", "-shortest"]
    subprocess.run([*cmd, str(path)], check=True)
    return path


@pytest.fixture(scope="session")
def clip_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4")


@pytest.fixture
def clip(clip_master: Path, tmp_path: Path) -> Path:
    """A fresh copy of the tiny clip in ``tmp_path/in/`` (tests may check it stays byte-identical)."""
    d = tmp_path / "in"
    d.mkdir()
    return Path(shutil.copy2(clip_master, d / "clip.mp4"))


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "vidrestore", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: kind and content (sha256 of files, target of links, mode of others)."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = os.lstat(p)
            rel = str(p.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", hashlib.sha256(p.read_bytes()).hexdigest())
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir",)
            else:
                out[rel] = ("other", stat.S_IFMT(st.st_mode))
    return out


def leftovers(root: Path) -> list[str]:
    """Temporary or lock files of vidrestore anywhere under ``root``."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if "vidrestore-tmp" in p.name or "vidrestore-lock" in p.name or "vidrestore-old" in p.name)


@pytest.fixture
def dead_pid() -> int:
    """The PID of a process that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def one_line_exit_2(r, *needles: str, prefix: str = "vidrestore: error: ") -> None:  # type: ignore[no-untyped-def]
    """The CLI refused: exit 2 and one stderr line that starts with ``prefix`` and holds every needle."""
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), r.stderr
    for n in needles:
        assert n in lines[0], lines[0]
