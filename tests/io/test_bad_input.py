"""Bad input: one clear line naming the file, exit code 2, nothing left at OUTPUT."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.io.helpers import run_cli


def _make_audio_only(path: Path) -> None:
    import av

    with av.open(str(path), "w") as out:
        s = out.add_stream("aac", rate=48000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 48000
        for i in range(10):
            frame.pts = i * 1024
            for p in s.encode(frame):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)


def _bad_inputs(tmp: Path, samples: Path) -> dict[str, tuple[Path, str]]:
    cases: dict[str, tuple[Path, str]] = {}
    cases["missing"] = (tmp / "nope.mp4", "no such file")
    empty = tmp / "empty.mp4"
    empty.write_bytes(b"")
    cases["empty"] = (empty, "empty")
    text = tmp / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    cases["not a video"] = (text, "not a readable media file")
    trunc = tmp / "trunc.mp4"  # moov atom at the end: cut in half, the index is gone
    trunc.write_bytes((samples / "moving.mp4").read_bytes()[:60_000])
    cases["truncated mp4"] = (trunc, "not a readable media file")
    data = (samples / "vfr.mkv").read_bytes()
    trunc_mkv = tmp / "trunc.mkv"  # Matroska keeps its duration in the header: data cut short is caught
    trunc_mkv.write_bytes(data[: len(data) // 3])
    cases["truncated mkv"] = (trunc_mkv, "truncated")
    audio = tmp / "audio.m4a"
    _make_audio_only(audio)
    cases["audio only"] = (audio, "no video stream")
    mixed = tmp / "mixed"
    mixed.mkdir()
    import cv2

    cv2.imwrite(str(mixed / "f_0001.png"), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(mixed / "f_0002.jpg"), np.zeros((8, 8, 3), np.uint8))
    cases["mixed images"] = (mixed, "mixes image types")
    sizes = tmp / "sizes"
    sizes.mkdir()
    cv2.imwrite(str(sizes / "f_0001.png"), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(sizes / "f_0002.png"), np.zeros((8, 10, 3), np.uint8))
    cases["image of another size"] = (sizes, "f_0002.png")
    i = data.find(b"V_MPEG4/ISO/AVC")
    badcodec = tmp / "badcodec.mkv"  # a codec id no decoder knows
    badcodec.write_bytes(data[:i] + b"V_QQQQQ/ISO/QQQ" + data[i + 15:])
    cases["unreadable codec"] = (badcodec, "no decoder")
    nofiles = tmp / "nofiles"
    nofiles.mkdir()
    cases["empty folder"] = (nofiles, "no numbered images")
    return cases


CASES = ["missing", "empty", "not a video", "truncated mp4", "truncated mkv", "audio only", "mixed images",
         "image of another size", "unreadable codec", "empty folder"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_one_line_exit_2_no_output(tmp_path: Path, samples_dir: Path, case: str) -> None:
    src, expected = _bad_inputs(tmp_path, samples_dir)[case]
    outdir = tmp_path / "out"
    outdir.mkdir()
    out = outdir / "result.mp4"
    r = run_cli("restore", str(src), "-o", str(out), "-q")
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert src.name in lines[0] and expected in lines[0], lines[0]
    assert list(outdir.iterdir()) == [], "nothing may be left at or beside OUTPUT"


def test_probe_bad_input_exit_2(tmp_path: Path) -> None:
    r = run_cli("probe", str(tmp_path / "missing.mov"))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "missing.mov" in r.stderr


def test_traceback_only_with_verbose(tmp_path: Path) -> None:
    r = run_cli("restore", str(tmp_path / "nope.mp4"), "-o", str(tmp_path / "o.mp4"), "-v")
    assert r.returncode == 2 and "Traceback" in r.stderr


def test_output_equal_to_input_refused(tmp_path: Path, samples_dir: Path) -> None:
    src = tmp_path / "in.mp4"
    shutil.copyfile(samples_dir / "moving.mp4", src)
    before = src.read_bytes()
    r = run_cli("restore", str(src), "-o", str(src), "--overwrite", "-q")
    assert r.returncode == 2 and "is the input" in r.stderr
    assert src.read_bytes() == before


def test_existing_output_needs_overwrite(tmp_path: Path, samples_dir: Path) -> None:
    out = tmp_path / "o.mp4"
    out.write_bytes(b"precious")
    r = run_cli("restore", str(samples_dir / "odd.mp4"), "-o", str(out), "-q")
    assert r.returncode == 2 and "already exists" in r.stderr
    assert out.read_bytes() == b"precious"
    r = run_cli("restore", str(samples_dir / "odd.mp4"), "-o", str(out), "-q", "--overwrite")
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 1000


def test_failure_mid_run_keeps_old_output_and_leaves_no_temp(tmp_path: Path, samples_dir: Path) -> None:
    """An encoder that fails at the first frame: exit 2, the old OUTPUT untouched, no temp file."""
    out = tmp_path / "o.mp4"
    out.write_bytes(b"old")
    r = run_cli("restore", str(samples_dir / "moving.mp4"), "-o", str(out), "-q", "--overwrite",
                "--set", "encode.options={profile: nonsense}")
    assert r.returncode == 2, r.stderr
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.mp4"]


def test_unknown_config_key_suggests(tmp_path: Path, samples_dir: Path) -> None:
    r = run_cli("restore", str(samples_dir / "odd.mp4"), "-o", str(tmp_path / "o.mp4"), "--set", "encode.crff=3")
    assert r.returncode == 2
    assert "unknown key 'encode.crff'" in r.stderr and "did you mean 'crf'" in r.stderr
    r = run_cli("restore", str(samples_dir / "odd.mp4"), "-o", str(tmp_path / "o.mp4"), "--preset", "pasthrough")
    assert r.returncode == 2 and "did you mean 'passthrough'" in r.stderr
    assert not (tmp_path / "o.mp4").exists()


def test_unknown_output_extension(tmp_path: Path, samples_dir: Path) -> None:
    r = run_cli("restore", str(samples_dir / "odd.mp4"), "-o", str(tmp_path / "o.xyz"))
    assert r.returncode == 2 and "unknown output type" in r.stderr
