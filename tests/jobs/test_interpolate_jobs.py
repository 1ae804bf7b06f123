"""``vidrestore interpolate`` as segments: the frames, pts and sound of one uninterrupted run.

The clip has two shots (a scene cut at frame 20) with motion, so the segment borders cut through
quadratic-motion neighbourhoods, one segment holds the cut, and the last segment ends with the held
last frame. Frames are compared decoded from a lossless encode (libx264rgb, crf 0).
"""

from __future__ import annotations

import shutil
import tempfile
from fractions import Fraction
from pathlib import Path

import pytest

from tests.interpolate.synth import shifted, texture, to_u8, write_clip
from tests.io.helpers import packet_hashes, video_times
from tests.jobs.clips import LOSSLESS, SEGMENT_DELAY_ENV
from tests.jobs.helpers import cli, done_segments, frame_hashes, frames_of, kill_nine_after, manifest
from vidrestore.cli import main

CUT = 20


@pytest.fixture(scope="module")
def two_shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """36 frames of 96x64 at 24 fps: a texture panning right, then (frame 20 on) another panning left."""
    a, b = texture(64, 96, seed=7), texture(64, 96, seed=3, tint=(0.4, 0.9, 1.3))
    frames = [to_u8(shifted(a, 2.0 * i, 0.5 * i)) for i in range(CUT)]
    frames += [to_u8(shifted(b, -1.5 * i, 1.0 * i)) for i in range(36 - CUT)]
    return write_clip(tmp_path_factory.mktemp("clips") / "two_shots.mp4", frames, rate=Fraction(24), crf=6)


def _interpolate(src: Path, out: Path, *extra: str) -> int:
    return main(["interpolate", "-q", str(src), "-o", str(out), *LOSSLESS, *extra])


def _same_video(a: Path, b: Path, src: Path) -> None:
    ha, hb = frame_hashes(a), frame_hashes(b)
    assert len(ha) == len(hb) and ha == hb
    assert video_times(a) == video_times(b)
    assert packet_hashes(a, "audio") == packet_hashes(src, "audio") != []


@pytest.mark.parametrize("timing, frames", [(["--factor", "3"], 108), (["--fps", "60"], 90),
                                            (["--fps", "30000/1001"], 45)])
def test_segments_equal_one_pass(two_shots: Path, tmp_path: Path, timing: list[str], frames: int) -> None:
    work = tmp_path / "work"
    assert _interpolate(two_shots, tmp_path / "direct.mkv", *timing, "--set", "jobs.mode=direct") == 0
    assert _interpolate(two_shots, tmp_path / "seg.mkv", *timing, "--segment-frames", "8", "--workdir", str(work),
                        "--keep-workdir") == 0
    m = manifest(work)
    assert m["command"] == "interpolate" and m["context"]["scene_cuts"] == [CUT]
    assert Fraction(m["context"]["origin"]) == 0
    assert (m["plan"]["warmup"], m["plan"]["lookahead"]) == (1, 2)
    segs = m["segments"]
    assert len(segs) == 5 and all(s["status"] == "done" for s in segs)
    assert [s["read_start"] for s in segs[1:]] == [s["start"] - 1 for s in segs[1:]]
    assert sum(s["frames"] for s in segs) == frames  # every output slot owned by exactly one segment
    assert len(frame_hashes(tmp_path / "direct.mkv")) == frames
    _same_video(tmp_path / "seg.mkv", tmp_path / "direct.mkv", two_shots)


def test_gan_scale_chain_segments_equal_one_pass(shared_dir: Path, tmp_path: Path) -> None:
    weights = shared_dir / "weights" / "realesr-animevideov3.pth"
    if not weights.is_file():
        pytest.skip(f"{weights} missing")
    img = texture(48, 64, seed=5)
    src = write_clip(tmp_path / "small.mp4", [to_u8(shifted(img, 1.5 * i, 0.5 * i)) for i in range(12)],
                     rate=Fraction(24), crf=6)
    gan = ["--factor", "2", "--scale", "2", "--set", f"restorer.weights={weights}"]
    work = tmp_path / "work"
    assert _interpolate(src, tmp_path / "seg.mkv", *gan, "--segment-frames", "4", "--workdir", str(work),
                        "--keep-workdir") == 0
    m = manifest(work)
    order = m["config"]["interpolate.order"]
    assert order in ("interpolate-first", "upscale-first") and len(m["segments"]) == 3  # auto was pinned
    assert _interpolate(src, tmp_path / "direct.mkv", *gan, "--order", order, "--set", "jobs.mode=direct") == 0
    _same_video(tmp_path / "seg.mkv", tmp_path / "direct.mkv", src)
    times, frames = frames_of(tmp_path / "seg.mkv")
    assert len(frames) == 24 and frames[0].shape == (96, 128, 3)
    steps = [b - a for a, b in zip(times, times[1:])]
    assert steps == pytest.approx([1 / 48] * 23, abs=1.1e-3)  # x2 of 24 fps (the .mkv keeps milliseconds)


def test_kill_nine_then_resume_and_changed_config(two_shots: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    out, work = tmp_path / "out.mkv", tmp_path / "work"
    def job(fps: str) -> list[str]:
        return ["interpolate", "-q", str(two_shots), "-o", str(out), *LOSSLESS, "--fps", fps, "--segment-frames", "6",
                "--workdir", str(work), "--keep-workdir"]

    args = job("60")
    kill_nine_after(work, *args, done=2, env={SEGMENT_DELAY_ENV: "1500"})
    assert not out.exists()
    before = manifest(work)
    total, done_before = len(before["segments"]), done_segments(work)
    assert total == 6 and 2 <= len(done_before) < total
    parts = {i: work / before["segments"][i]["part"] for i in done_before}
    stamps = {i: (p.stat().st_ino, p.stat().st_mtime_ns) for i, p in parts.items()}

    # another target rate on --resume: refused with the reason, nothing touched
    capsys.readouterr()
    assert main([*job("50"), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "config differs" in err and "interpolate.fps" in err and len(err.strip().splitlines()) == 1
    assert done_segments(work) == done_before

    assert main([*args, "--resume"]) == 0
    after = manifest(work)
    run2 = after["runs"][-1]
    assert run2["resumed"] and run2["done_before"] == done_before
    assert sorted(run2["computed"]) == [i for i in range(total) if i not in done_before]  # nothing redone
    assert {i: (p.stat().st_ino, p.stat().st_mtime_ns) for i, p in parts.items()} == stamps
    assert _interpolate(two_shots, tmp_path / "direct.mkv", "--fps", "60", "--set", "jobs.mode=direct") == 0
    _same_video(out, tmp_path / "direct.mkv", two_shots)


def test_ray_two_workers_equal_local(two_shots: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    common = ["--factor", "2", "--segment-frames", "9", "--keep-workdir"]
    assert _interpolate(two_shots, tmp_path / "local.mkv", *common) == 0
    ray_tmp = tempfile.mkdtemp(prefix="vrray", dir="/tmp")  # short: Ray's socket paths must stay < 108 bytes
    try:
        res = cli("interpolate", "-q", str(two_shots), "-o", str(tmp_path / "ray.mkv"), *LOSSLESS, *common,
                  "--engine", "ray", "--workers", "2", "--threads-per-worker", "1", env={"RAY_TMPDIR": ray_tmp},
                  timeout=420)
        assert res.returncode == 0, res.stderr
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    _same_video(tmp_path / "ray.mkv", tmp_path / "local.mkv", two_shots)
    m = manifest(tmp_path / "ray.mkv.vidrestore-work")
    assert m["runs"][0]["engine"] == "ray" and sorted(m["runs"][0]["computed"]) == [0, 1, 2, 3]
    assert len({s["pid"] for s in m["segments"]}) >= 2
