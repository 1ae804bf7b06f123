"""``--engine ray`` with 2 local workers: the frames of --engine local, and no Ray process left behind."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.io.helpers import packet_hashes, video_times
from tests.jobs.clips import LOSSLESS, make_clip
from tests.jobs.helpers import cli, frame_hashes, manifest

pytest.importorskip("ray")


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{proc.name}: {cmdline[:120]}")
    return found


def test_ray_two_workers_equal_local(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=40, gop=10)
    common = ["-q", str(src), *LOSSLESS, "--set", "restorer.name=jobs_test_window", "--segment-frames", "10",
              "--keep-workdir"]
    local = cli("restore", *common, "-o", str(tmp_path / "local.mkv"))
    assert local.returncode == 0, local.stderr
    ray_tmp = tempfile.mkdtemp(prefix="vrray", dir="/tmp")  # short: Ray's socket paths must stay < 108 bytes
    try:
        res = cli("restore", *common, "-o", str(tmp_path / "ray.mkv"), "--engine", "ray", "--workers", "2",
                  "--threads-per-worker", "1", env={"RAY_TMPDIR": ray_tmp}, timeout=420)
        assert res.returncode == 0, res.stderr
        assert any(Path(ray_tmp).rglob("session_*"))  # Ray ran there...
        assert _processes_mentioning(ray_tmp) == []  # ...and was shut down with the job
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert frame_hashes(tmp_path / "ray.mkv") == frame_hashes(tmp_path / "local.mkv")
    assert video_times(tmp_path / "ray.mkv") == video_times(tmp_path / "local.mkv")
    assert packet_hashes(tmp_path / "ray.mkv", "audio") == packet_hashes(src, "audio")
    m = manifest(tmp_path / "ray.mkv.vidrestore-work")
    assert m["runs"][0]["engine"] == "ray" and sorted(m["runs"][0]["computed"]) == [0, 1, 2, 3]
    assert len({s["pid"] for s in m["segments"]}) >= 2  # worker processes shared the segments
