"""kill -9 half way, then --resume: the frames of one uninterrupted run, finished segments untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.io.helpers import packet_hashes, video_times
from tests.jobs.clips import DELAY_ENV, LOSSLESS, WindowAverage, make_clip
from tests.jobs.helpers import cli, done_segments, frame_hashes, kill_nine_after, manifest
from vidrestore.config import load_config
from vidrestore.jobs.manifest import Manifest, WorkdirBusyError, workdir_lock
from vidrestore.pipeline.run import run_job


def test_kill_nine_half_way_then_resume(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=48, gop=8)
    out = tmp_path / "out.mkv"
    work = tmp_path / "work"
    args = ["restore", "-q", str(src), "-o", str(out), *LOSSLESS, "--set", "restorer.name=jobs_test_window",
            "--segment-frames", "8", "--workdir", str(work), "--keep-workdir"]
    kill_nine_after(work, *args, done=3, env={DELAY_ENV: "80"})
    assert not out.exists()
    before = manifest(work)
    total = len(before["segments"])
    done_before = done_segments(work)
    assert total == 6 and 3 <= len(done_before) < total
    parts = {i: work / before["segments"][i]["part"] for i in done_before}
    stamps = {i: (p.stat().st_ino, p.stat().st_mtime_ns) for i, p in parts.items()}

    res = cli(*args, "--resume", timeout=240)
    assert res.returncode == 0, res.stderr
    after = manifest(work)
    run1, run2 = after["runs"]
    assert run2["resumed"] and run2["done_before"] == done_before
    assert sorted(run2["computed"]) == [i for i in range(total) if i not in done_before]  # nothing redone
    assert all(after["segments"][i]["run"] == 1 for i in done_before)
    assert {i: (p.stat().st_ino, p.stat().st_mtime_ns) for i, p in parts.items()} == stamps
    assert after["complete"] and len(after["output"]["sha256"]) == 64

    cfg = load_config(preset="passthrough", overrides=[a for a in LOSSLESS if a != "--set"])
    run_job(src, tmp_path / "direct.mkv", cfg=cfg, processor=WindowAverage(), quiet=True)
    assert frame_hashes(out) == frame_hashes(tmp_path / "direct.mkv")
    assert video_times(out) == video_times(tmp_path / "direct.mkv")
    assert packet_hashes(out, "audio") == packet_hashes(src, "audio") != []


def test_workdir_lock_and_damaged_manifest(tmp_path: Path) -> None:
    from vidrestore.errors import ResumeError

    with workdir_lock(tmp_path):
        with pytest.raises(WorkdirBusyError, match="another vidrestore job"):
            with workdir_lock(tmp_path):
                pass
    with workdir_lock(tmp_path):  # released
        pass
    (tmp_path / "manifest.json").write_text("{ not json")
    with pytest.raises(ResumeError, match="damaged"):
        Manifest.load(tmp_path)
