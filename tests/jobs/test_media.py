"""Frame-accurate reading of any range: the same frames, pts and pixels as one full read."""

from __future__ import annotations

import hashlib
import logging
import subprocess
from pathlib import Path

import pytest

from tests.conftest import shared_file
from tests.jobs.clips import make_clip
from vidrestore.io.probe import probe_video
from vidrestore.io.reader import open_reader
from vidrestore.jobs.media import build_frame_table, read_range, scan_scene_cuts
from vidrestore.jobs.plan import FrameTable

RANGES = [(1, 5), (11, 13), (12, 20), (13, 14), (23, 37), (40, 48), (47, 60)]


def _digest(frame) -> tuple[int, int, str]:
    return frame.index, frame.pts, hashlib.sha1(frame.rgb.tobytes()).hexdigest()


def _full(path: Path) -> list[tuple[int, int, str]]:
    with open_reader(path) as r:
        return [_digest(f) for f in r]


def _check_ranges(path: Path, ranges, caplog: pytest.LogCaptureFixture) -> FrameTable:
    info = probe_video(path)
    table = build_frame_table(info)
    full = _full(path)
    assert table.count == len(full) == info.num_frames
    with caplog.at_level(logging.WARNING, logger="vidrestore.jobs"):
        for a, b in ranges:
            got = [_digest(f) for f in read_range(info, table, a, b)]
            assert got == full[a:min(b, len(full))], (path.name, a, b)
    assert "decoding from the start" not in caplog.text  # the seek landed where the table says
    return table


def test_ranges_of_a_clip_with_keyframes_and_b_frames(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clip = make_clip(tmp_path / "g12.mp4", frames=48, gop=12)
    table = _check_ranges(clip, RANGES, caplog)
    assert table.seekable and table.keyframes == (0, 12, 24, 36)
    assert table.keyframe_at_or_before(23) == 12 and table.keyframe_at_or_before(24) == 24


def test_ranges_of_open_gop_ten_bit_hevc(tmp_path: Path, caplog: pytest.LogCaptureFixture, samples_dir: Path) -> None:
    out = tmp_path / "open.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(samples_dir / "moving.mp4"), "-frames:v", "48",
                    "-c:v", "libx265", "-pix_fmt", "yuv420p10le", "-preset", "ultrafast",
                    "-x265-params", "keyint=12:min-keyint=12:open-gop=1:bframes=3:log-level=error", "-an", str(out)],
                   check=True)
    table = _check_ranges(out, RANGES, caplog)
    assert len(table.keyframes) >= 4


def test_ranges_of_vfr_and_real_clips(samples_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    _check_ranges(samples_dir / "vfr.mkv", [(3, 9), (20, 36)], caplog)  # irregular pts, subtitles
    webm = shared_file("moviepy_media/big_buck_bunny_0_30.webm")  # VP8, keyframes at irregular places
    info = probe_video(webm)
    table = build_frame_table(info)
    assert table.keyframes[:4] == (0, 9, 11, 139)
    with open_reader(webm) as r:
        head = [_digest(f) for f, _ in zip(r, range(150))]
    for a, b in [(9, 12), (137, 142)]:
        assert [_digest(f) for f in read_range(info, table, a, b)] == head[a:b]


def test_sequential_fallback_and_image_sequences(tmp_path: Path, samples_dir: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", frames=30, gop=10, audio=False)
    info = probe_video(clip)
    table = build_frame_table(info)
    blind = FrameTable(count=table.count, time_base=table.time_base, pts=(), keyframes=(0,), seekable=False)
    full = _full(clip)
    assert [_digest(f) for f in read_range(info, blind, 17, 25)] == full[17:25]
    seq = samples_dir / "frames16"
    sinfo = probe_video(seq)
    stable = build_frame_table(sinfo)
    assert [_digest(f) for f in read_range(sinfo, stable, 2, 5)] == _full(seq)[2:5]


def test_scene_cut_scan_finds_the_cut(tmp_path: Path) -> None:
    a = make_clip(tmp_path / "a.mp4", frames=20, audio=False, seed=1, noise=2.0)
    b = make_clip(tmp_path / "b.mp4", frames=20, audio=False, seed=2, noise=2.0, size=(96, 64))
    # shot B: the same pattern in other colours (inverted), so the cut is unmistakable
    joined = tmp_path / "cut.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(a), "-i", str(b), "-filter_complex",
                    "[1:v]negate,hue=h=120[b];[0:v][b]concat=n=2:v=1[v]", "-map", "[v]", "-c:v", "libx264",
                    "-crf", "10", str(joined)], check=True)
    cuts = scan_scene_cuts(probe_video(joined), threshold=0.2)
    assert cuts == [20]
