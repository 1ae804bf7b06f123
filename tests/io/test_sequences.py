"""Image sequences in and out (bit-exact), DPX, rotation, decord, the ffmpeg backend, interrupts."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.io.helpers import packet_hashes, read_frames, run_cli, video_times


def _frames(n: int, h: int, w: int, dtype: type, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    hi = 65535 if dtype == np.uint16 else 255
    return [rng.integers(0, hi + 1, size=(h, w, 3), dtype=np.int64).astype(dtype) for _ in range(n)]


def _write_seq(folder: Path, frames: list[np.ndarray], ext: str) -> None:
    import cv2

    folder.mkdir()
    for i, f in enumerate(frames):
        ok, buf = cv2.imencode(ext, cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        assert ok
        buf.tofile(str(folder / f"scan_{i + 8:05d}{ext}"))  # numbering need not start at 0


@pytest.mark.parametrize("ext,dtype", [(".png", np.uint8), (".png", np.uint16), (".tif", np.uint16),
                                       (".tif", np.uint8)])
def test_image_sequence_roundtrip_bit_exact(tmp_path: Path, ext: str, dtype: type) -> None:
    frames = _frames(5, 37, 53, dtype)
    src = tmp_path / "in"
    _write_seq(src, frames, ext)
    out = tmp_path / "out"
    r = run_cli("restore", str(src), "-o", str(out), "-q", "--set", "io.fps=24000/1001")
    assert r.returncode == 0, r.stderr
    got = read_frames(out)
    assert len(got) == 5
    for a, b in zip(frames, got):
        assert b.dtype == a.dtype
        assert np.array_equal(a, b)


def test_numeric_order_not_lexicographic(tmp_path: Path) -> None:
    import cv2

    src = tmp_path / "seq"
    src.mkdir()
    for i in (1, 2, 10, 9):
        cv2.imwrite(str(src / f"f{i}.png"), np.full((4, 4, 3), i, np.uint8))
    from vidrestore.io.reader import open_reader

    with open_reader(src) as r:
        assert [int(f.rgb[0, 0, 0]) for f in r] == [1, 2, 9, 10]


def test_sixteen_bit_sequence_to_video_is_ten_bit(tmp_path: Path, samples_dir: Path) -> None:
    out = tmp_path / "hi.mkv"
    r = run_cli("restore", str(samples_dir / "frames16"), "-o", str(out), "-q")
    assert r.returncode == 0, r.stderr
    from vidrestore.io.probe import probe_video

    info = probe_video(out)
    assert info.bit_depth == 10 and info.num_frames == 6
    src = read_frames(samples_dir / "frames16")
    got = read_frames(out)
    # precision beyond 8 bits kept: errors (codec included) below half an 8-bit step (257 in 16-bit
    # units), and the smooth gradient keeps more than 256 distinct levels
    err = np.mean([np.abs(a.astype(np.int64) - b).mean() for a, b in zip(src, got)])
    assert err < 128, err
    assert len(np.unique(got[0][..., 1])) > 256


def test_dpx_sequence_is_read_at_full_depth(tmp_path: Path, samples_dir: Path) -> None:
    """DPX (10-bit, what film scanners write) made by ffmpeg, read through FFmpeg's decoder."""
    src = tmp_path / "dpx"
    src.mkdir()
    r = subprocess.run(["ffmpeg", "-v", "error", "-i", str(samples_dir / "frames16" / "frame_%04d.png"),
                        "-pix_fmt", "gbrp10le", str(src / "reel_%05d.dpx")], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"system ffmpeg cannot write DPX here: {r.stderr[-200:]!r}")
    frames = read_frames(src)
    assert len(frames) == 6 and frames[0].dtype == np.uint16
    ref = read_frames(samples_dir / "frames16")
    assert np.abs(frames[0].astype(np.int64) - ref[0]).max() <= 64 + 1  # 10-bit quantisation of 16-bit values
    out = tmp_path / "out"
    assert run_cli("restore", str(src), "-o", str(out), "-q").returncode == 0
    assert all(np.array_equal(a, b) for a, b in zip(frames, read_frames(out)))


def _rotated_clip(path: Path, rotation: int) -> np.ndarray:
    """A clip whose display matrix says ``rotation``; returns the stored (unrotated) first frame."""
    import av

    img = np.zeros((48, 64, 3), np.uint8)
    img[:8, :16] = (255, 0, 0)  # red block at the top-left of the stored picture
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25, options={"crf": "0"})
        s.width, s.height, s.pix_fmt = 64, 48, "yuv444p"
        s.set_display_rotation(rotation)
        for i in range(3):
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts = i
            for p in s.encode(vf):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    return img


@pytest.mark.parametrize("rotation", [90, 270])
def test_rotation_applied_like_ffmpeg(tmp_path: Path, rotation: int) -> None:
    src = tmp_path / f"rot{rotation}.mp4"
    _rotated_clip(src, rotation)
    frames = read_frames(src)
    assert frames[0].shape == (64, 48, 3)
    # ffmpeg's autorotate is the reference for which way is up
    png = tmp_path / "ref.png"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(src), "-frames:v", "1", str(png)], check=True)
    import cv2

    ref = cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB)
    assert ref.shape == frames[0].shape
    red_ours = frames[0][..., 0] > 128
    red_ref = ref[..., 0] > 128
    assert (red_ours == red_ref).mean() > 0.99


def test_rotation_carried_when_not_applied(tmp_path: Path) -> None:
    src = tmp_path / "rot.mp4"
    _rotated_clip(src, 90)
    out = tmp_path / "o.mp4"
    r = run_cli("restore", str(src), "-o", str(out), "-q", "--set", "io.apply_rotation=false")
    assert r.returncode == 0, r.stderr
    from vidrestore.io.probe import probe_video

    info = probe_video(out)
    assert (info.width, info.height, info.rotation) == (64, 48, 90)


def test_decord_reader_matches_pyav(samples_dir: Path) -> None:
    pytest.importorskip("decord")
    from vidrestore.config import IOConfig
    from vidrestore.io.reader import open_reader

    src = samples_dir / "moving.mp4"
    with open_reader(src) as r:
        a = [(f.pts, f.rgb) for f in r]
    with open_reader(src, IOConfig(reader="decord")) as r:
        b = [(f.pts, f.rgb) for f in r]
    assert [p for p, _ in a] == [p for p, _ in b]
    # decord converts YUV -> RGB with FFmpeg's default (bilinear, centre-sited chroma) while our PyAV
    # reader honours the stream's chroma siting: the same frames, up to that chroma interpolation
    from tests.io.helpers import psnr

    assert min(psnr(x, y) for (_, x), (_, y) in zip(a, b)) > 33.0


def test_decord_refuses_ten_bit(samples_dir: Path, tmp_path: Path) -> None:
    r = run_cli("restore", str(samples_dir / "tenbit.mkv"), "-o", str(tmp_path / "o.mkv"), "--set", "io.reader=decord")
    assert r.returncode == 2 and "8-bit only" in r.stderr


def test_ffmpeg_backend_keeps_frames_pts_audio(samples_dir: Path, tmp_path: Path) -> None:
    src = samples_dir / "vfr.mkv"
    out = tmp_path / "o.mp4"
    r = run_cli("restore", str(src), "-o", str(out), "-q", "--set", "encode.backend=ffmpeg")
    assert r.returncode == 0, r.stderr
    t_in, t_out = video_times(src), video_times(out)
    assert len(t_in) == len(t_out)
    assert np.max(np.abs(np.array(t_in) - np.array(t_out))) <= 0.0011
    assert packet_hashes(out, "audio") == packet_hashes(src, "audio")
    from tests.io.helpers import psnr

    values = [psnr(a, b) for a, b in zip(read_frames(src), read_frames(out))]
    assert np.mean(values) >= 40


def test_ffmpeg_backend_ten_bit(samples_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.mkv"
    r = run_cli("restore", str(samples_dir / "tenbit.mkv"), "-o", str(out), "-q", "--set", "encode.backend=ffmpeg")
    assert r.returncode == 0, r.stderr
    from tests.io.helpers import pix_fmt

    assert pix_fmt(out) == "yuv420p10le"
    assert len(video_times(out)) == 24


def test_probe_json(samples_dir: Path) -> None:
    r = run_cli("probe", str(samples_dir / "vfr.mkv"), "--json")
    assert r.returncode == 0
    d = json.loads(r.stdout)
    assert d["video"]["frames"] == 36 and d["video"]["frames_exact"] is True
    assert d["video"]["variable_frame_rate"] is True
    assert [a["codec"] for a in d["audio"]] == ["opus"]
    assert [s["codec"] for s in d["subtitles"]] == ["subrip"]
    r = run_cli("probe", str(samples_dir / "tenbit.mkv"), "--json")
    v = json.loads(r.stdout)["video"]
    assert (v["bit_depth"], v["color_transfer"], v["hdr"]) == (10, "smpte2084", True)


def test_interrupt_exits_130_and_removes_partial(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT) in the middle of a job: exit 130 and nothing at or beside OUTPUT."""
    import av

    src = tmp_path / "long.mkv"
    with av.open(str(src), "w") as out:  # long enough that the job is still running when interrupted
        s = out.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
        s.width, s.height, s.pix_fmt = 320, 240, "yuv420p"
        rng = np.random.default_rng(0)
        for i in range(600):
            vf = av.VideoFrame.from_ndarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), format="rgb24")
            vf.pts = i
            for p in s.encode(vf):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    outdir = tmp_path / "out"
    outdir.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "vidrestore", "restore", str(src), "-o", str(outdir / "o.mp4"),
                             "-q", "--set", "encode.preset=veryslow"], stderr=subprocess.PIPE, text=True,
                            # a shell that starts the test run in the background (``cmd &``) ignores SIGINT, and
                            # children inherit that; a user's terminal does not: give the job Python's default
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while time.time() < deadline and not any(outdir.iterdir()):
        time.sleep(0.05)
    assert any(outdir.iterdir()), "the job should have started writing its temporary file"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert list(outdir.iterdir()) == []


@pytest.mark.parametrize("name,dtype", [("tenbit.mkv", np.uint16), ("moving.mp4", np.uint8)])
def test_video_to_png_folder_keeps_depth_and_every_frame(samples_dir: Path, tmp_path: Path, name: str,
                                                          dtype: type) -> None:
    out = tmp_path / "frames"
    r = run_cli("restore", str(samples_dir / name), "-o", str(out), "-q")
    assert r.returncode == 0, r.stderr
    src = read_frames(samples_dir / name)
    got = read_frames(out)
    assert len(got) == len(src) and got[0].dtype == dtype
    # the PNGs hold exactly what the reader decodes
    assert all(np.array_equal(a, b) for a, b in zip(src, got))
