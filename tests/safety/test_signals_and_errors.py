"""Issue 17: signals abort cleanly; every listed failure is one line and exit code 2; warnings and weights."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.safety.conftest import leftovers, make_clip, one_line_exit_2, run_cli

# --------------------------------------------------------------------------- signals


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signal_during_the_write_phase_leaves_nothing(tmp_path: Path, sig: int, code: int) -> None:
    src = make_clip(tmp_path / "long.mp4", size="96x64", frames=300, audio=True)
    out = tmp_path / "out.mp4"
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root))
    proc = subprocess.Popen([sys.executable, "-m", "vidrestore", "restore", str(src), "-o", str(out), "--preset",
                             "film", "-q"], stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 300
    while not leftovers(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # wait for the temporary output: the write phase has begun
    assert proc.poll() is None, "the run ended before the write phase could be interrupted"
    time.sleep(0.5)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert leftovers(tmp_path) == [] and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.mp4"]
    assert err.strip().splitlines()[-1].startswith("vidrestore: interrupted by")


def test_sigkilled_run_temp_file_is_cleaned_by_the_next_run(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "long.mp4", size="96x64", frames=300, audio=False)
    out = tmp_path / "out.mp4"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-m", "vidrestore", "restore", str(src), "-o", str(out), "--preset",
                             "film", "-q"], stderr=subprocess.DEVNULL, env=dict(os.environ, PYTHONPATH=str(root)))
    deadline = time.monotonic() + 300
    while not leftovers(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.kill()
    proc.wait()
    stale = [p for p in leftovers(tmp_path) if "vidrestore-tmp" in p]
    assert stale, "SIGKILL leaves the temporary file (nothing can remove it)"
    small = make_clip(tmp_path / "small.mp4", frames=4, audio=False)
    r = run_cli("restore", str(small), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert leftovers(tmp_path) == []
    assert "removed a temporary file left by an interrupted run" in r.stderr and f"pid {proc.pid}" in r.stderr


# --------------------------------------------------------------------------- one line, exit 2


def test_frames_under_12_px_work_with_every_flow_command(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "tiny.mp4", size="8x8", frames=6, audio=False)
    for args in (["flow", str(src), "-o", str(tmp_path / "f.npz")],
                 ["restore", str(src), "-o", str(tmp_path / "r.mp4"), "--preset", "film"],
                 ["interpolate", str(src), "-o", str(tmp_path / "i.mp4")],
                 ["eval", str(src), str(src), "--metrics", "warp,flicker"]):
        r = run_cli(*args, "-q")
        assert r.returncode == 0, (args[0], r.stderr)
    import numpy as np

    with np.load(tmp_path / "f.npz") as z:
        assert z["flow"].shape == (5, 2, 8, 8)


def test_dis_flow_on_a_tiny_picture_keeps_its_motion() -> None:
    import numpy as np
    import torch

    from vidrestore.flow.dis import DISFlow

    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (10, 10)).astype(np.float32)
    a = torch.from_numpy(np.stack([base] * 3))[None] / 255
    b = torch.roll(a, shifts=1, dims=-1)
    flow = DISFlow(preset="medium").estimate(a, b)
    assert flow.shape == (1, 2, 10, 10) and torch.isfinite(flow).all()
    assert 0.5 < abs(float(flow[0, 0, 2:-2, 2:-2].mean())) < 1.5  # the one-pixel shift is found


def test_non_utf8_config_is_one_line(clip: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "latin1.yaml"
    cfg.write_bytes("# réglages\nencode:\n  crf: 20\n".encode("latin-1"))
    r = run_cli("restore", str(clip), "-o", str(tmp_path / "o.mp4"), "--config", str(cfg), "-q")
    one_line_exit_2(r, str(cfg), "not UTF-8", "line 1")
    assert not (tmp_path / "o.mp4").exists()


def test_base_given_as_a_list_is_one_line(clip: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "mine.yaml"
    cfg.write_text("base: [film]\n")
    r = run_cli("restore", str(clip), "-o", str(tmp_path / "o.mp4"), "--config", str(cfg), "-q")
    one_line_exit_2(r, str(cfg), "base:", "['film']")


def test_truncated_geotiff_is_one_line_naming_it(tmp_path: Path) -> None:
    from tests.decloud.conftest import cloudy_series, write_tif

    cube, _, _, dates = cloudy_series(n=3, h=32, w=40)
    for t, d in enumerate(dates):
        write_tif(tmp_path / "in" / f"S2_{d:%Y%m%d}.tif", cube[t])
    victim = tmp_path / "in" / f"S2_{dates[1]:%Y%m%d}.tif"
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) * 6 // 10])
    r = run_cli("decloud", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-q")
    one_line_exit_2(r, str(victim), "truncated or corrupt")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_video_cut_at_90_percent_is_reported_with_the_frames_missing(tmp_path: Path) -> None:
    src = tmp_path / "whole.mkv"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=25", "-frames:v",
                    "50", "-c:v", "libx264", "-preset", "ultrafast", "-g", "5", str(src)], check=True)
    cut = tmp_path / "cut.mkv"
    data = src.read_bytes()
    cut.write_bytes(data[: len(data) * 9 // 10])
    r = run_cli("restore", str(cut), "-o", str(tmp_path / "o.mp4"))
    assert r.returncode in (0, 2), r.stderr
    if r.returncode == 2:  # refused: one line that says so
        one_line_exit_2(r, "truncated")
    else:  # warned with the count
        warn = [ln for ln in r.stderr.splitlines() if "truncated" in ln]
        assert len(warn) == 1 and "frames are missing" in warn[0], r.stderr
        assert "[matroska" not in r.stderr  # FFmpeg's own notice does not leak
    whole = run_cli("restore", str(src), "-o", str(tmp_path / "w.mp4"))
    assert whole.returncode == 0 and "truncated" not in whole.stderr


# --------------------------------------------------------------------------- warnings through logging


def test_library_warnings_are_logged_once_and_silent_under_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    import warnings

    from vidrestore.cli import setup_logging

    saved = warnings.showwarning
    try:
        setup_logging(0, False)
        for _ in range(3):
            warnings.warn("torch.meshgrid: an indexing argument will be required", UserWarning, stacklevel=1)
        err = capsys.readouterr().err
        assert err.count("indexing argument will be required") == 1
        assert err.startswith("vidrestore: ") and len(err.strip().splitlines()) == 1
        setup_logging(0, True)
        warnings.warn("another library notice", UserWarning, stacklevel=1)
        assert capsys.readouterr().err == ""
    finally:
        warnings.showwarning = saved


# --------------------------------------------------------------------------- weights by path


def test_weights_by_path_are_checked_or_logged_as_unverified(tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    from vidrestore.errors import ChecksumMismatchError
    from vidrestore.weights import get_spec, resolve_weights

    spec = get_spec("realesr-animevideov3")
    other = tmp_path / "my-finetune.pth"
    other.write_bytes(b"a user's own checkpoint")
    with caplog.at_level(logging.INFO, logger="vidrestore"):
        assert resolve_weights(spec, other) == other
    import hashlib

    digest = hashlib.sha256(other.read_bytes()).hexdigest()
    assert any("unverified weights" in r.getMessage() and digest in r.getMessage() for r in caplog.records)
    # a renamed copy with the registered size claims to be the file: it is checked
    assert spec.size is not None
    renamed = tmp_path / "model.pth"
    renamed.write_bytes(b"\0" * spec.size)
    with pytest.raises(ChecksumMismatchError):
        resolve_weights(spec, renamed)
    named = tmp_path / spec.filename
    named.write_bytes(b"not it")
    with pytest.raises(ChecksumMismatchError):
        resolve_weights(spec, named)
