"""``vidrestore restore --preset diffusion`` end to end with a tiny model: frames, timestamps, audio kept."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.diffusion.clips import textured
from tests.io.helpers import packet_hashes, read_frames, run_cli, video_times

PTS_MS = [0, 40, 80, 160, 200, 280, 320]  # variable frame rate, time base 1/1000


@pytest.fixture(scope="module")
def small_vfr_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """7 frames 64x48, VFR (pts in ms), with an AAC stereo tone."""
    import av

    path = tmp_path_factory.mktemp("clip") / "small.mkv"
    base = textured(48, 96, seed=3)
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=25, options={"crf": "12"})
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        vs.time_base = vs.codec_context.time_base = Fraction(1, 1000)
        au = out.add_stream("aac", rate=48000, layout="stereo")
        t = np.arange(48000 * 40 // 100) / 48000.0
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        samples = np.stack([tone, tone])
        for i in range(0, samples.shape[1], 1024):
            af = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, i:i + 1024]), format="fltp", layout="stereo")
            af.sample_rate, af.pts = 48000, i
            for p in au.encode(af):
                out.mux(p)
        for p in au.encode(None):
            out.mux(p)
        for k, pts in enumerate(PTS_MS):
            rgb = (base[:, 2 * k:2 * k + 64] * 255).round().astype(np.uint8)
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            vf.pts = pts
            for p in vs.encode(vf):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
    return path


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI child runs a tiny model: one intra-op thread (see conftest._one_thread)."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def test_restore_with_the_diffusion_preset_keeps_frames_timestamps_and_audio(tiny_dirs, small_vfr_clip: Path,
                                                                             tmp_path: Path) -> None:
    out = tmp_path / "restored.mkv"
    proc = run_cli("restore", str(small_vfr_clip), "-o", str(out), "--preset", "diffusion", "-q",
                   "--set", f"restorer.model_path={tiny_dirs['upscale']}", "--set", "restorer.steps=4",
                   "--set", "restorer.tile=32", "--set", "restorer.tile_overlap=8", "--set", "temporal.window=3",
                   "--set", "flow.method=dis")
    assert proc.returncode == 0, proc.stderr
    assert video_times(out) == pytest.approx(video_times(small_vfr_clip), abs=1e-6)
    assert len(video_times(out)) == len(PTS_MS)
    frames = read_frames(out)
    assert frames[0].shape == (192, 256, 3)  # x4
    assert packet_hashes(out, "audio") == packet_hashes(small_vfr_clip, "audio")  # bit-exact audio
    assert (out.parent / (out.name + ".vidrestore.yaml")).exists() or any(out.parent.glob("*.vidrestore.yaml"))


def test_missing_model_path_is_one_clear_line(small_vfr_clip: Path, tmp_path: Path) -> None:
    proc = run_cli("restore", str(small_vfr_clip), "-o", str(tmp_path / "x.mkv"), "--preset", "diffusion")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "restorer.model_path" in lines[0], proc.stderr
    assert not (tmp_path / "x.mkv").exists()


def test_incomplete_model_folder_is_one_clear_line(tiny_dirs, small_vfr_clip: Path, tmp_path: Path) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_dirs["upscale"], broken)
    shutil.rmtree(broken / "vae")
    proc = run_cli("restore", str(small_vfr_clip), "-o", str(tmp_path / "y.mkv"), "--preset", "diffusion",
                   "--set", f"restorer.model_path={broken}")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    line = [s for s in proc.stderr.strip().splitlines() if "error" in s]
    assert len(line) == 1 and "missing vae/ folder" in line[0] and str(broken) in line[0], proc.stderr
    assert not (tmp_path / "y.mkv").exists()
