"""Passthrough round trips: same frames, same timestamps, bit-exact audio, bit depth kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import shared_file
from tests.io.helpers import decode_all, packet_hashes, pix_fmt, psnr, read_frames, run_cli, video_times


def _roundtrip(src: Path, out: Path, *extra: str, min_psnr: float = 40.0, tol: float = 0.0011,
               psnr_every: int = 1) -> dict:
    r = run_cli("restore", str(src), "-o", str(out), "--preset", "passthrough", "-q", *extra)
    assert r.returncode == 0, r.stderr
    assert out.is_file()
    assert (out.parent / (out.name + ".vidrestore.yaml")).is_file()
    # every frame, at the same time (containers store ms (mkv) or the source's own time base)
    t_in, fin = decode_all(src, every=psnr_every)
    t_out, fout = decode_all(out, every=psnr_every)
    assert len(t_out) == len(t_in)
    assert np.max(np.abs(np.array(t_in) - np.array(t_out))) <= tol
    # audio copied packet by packet
    a_in, a_out = packet_hashes(src, "audio"), packet_hashes(out, "audio")
    if out.suffix == src.suffix or src.suffix in (".mp4", ".mkv"):
        assert a_out == a_in
    # content within codec tolerance
    values = [psnr(a, b) for a, b in zip(fin, fout)]
    assert np.mean(values) >= min_psnr, f"mean PSNR {np.mean(values):.2f} dB"
    return {"psnr": values, "frames": len(t_out), "times_in": t_in}


@pytest.mark.parametrize("name", ["moving.mp4", "vfr.mkv", "odd.mp4"])
def test_samples_roundtrip(samples_dir: Path, tmp_path: Path, name: str) -> None:
    src = samples_dir / name
    _roundtrip(src, tmp_path / name)


def test_vfr_sample_keeps_subtitles(samples_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "vfr.mkv"
    _roundtrip(samples_dir / "vfr.mkv", out)
    assert packet_hashes(out, "subtitle") == packet_hashes(samples_dir / "vfr.mkv", "subtitle")
    assert len(packet_hashes(out, "subtitle")) == 2


def test_tenbit_stays_tenbit(samples_dir: Path, tmp_path: Path) -> None:
    src = samples_dir / "tenbit.mkv"
    out = tmp_path / "tenbit.mkv"
    res = _roundtrip(src, out, min_psnr=50.0)
    assert pix_fmt(out) == "yuv420p10le"
    frames = read_frames(out)
    assert frames[0].dtype == np.uint16
    # more than 256 distinct levels in a smooth gradient: not squashed through 8 bits
    assert len(np.unique(frames[0][..., 1])) > 256
    from vidrestore.io.probe import probe_video

    info = probe_video(out)
    assert (info.color.primaries, info.color.transfer, info.color.matrix) == ("bt2020", "smpte2084", "bt2020nc")
    assert res["frames"] == 24


def test_lossless_codec_is_bit_exact(samples_dir: Path, tmp_path: Path) -> None:
    """Lossless RGB encoding (libx264rgb, crf 0): the decoded frames equal the frames that went in."""
    src = samples_dir / "odd.mp4"
    out = tmp_path / "odd.mkv"
    r = run_cli("restore", str(src), "-o", str(out), "--preset", "passthrough", "-q",
                "--set", "encode.codec=libx264rgb", "--set", "encode.crf=0", "--set", "encode.pix_fmt=rgb24")
    assert r.returncode == 0, r.stderr
    fin, fout = read_frames(src), read_frames(out)
    assert len(fin) == len(fout)
    assert all(np.array_equal(a, b) for a, b in zip(fin, fout))


SHARED_CLIPS = [
    ("moviepy_media/chaplin.mp4", ".mp4", ()),  # MP3 audio
    ("moviepy_media/fire2.mp4", ".mp4", ()),  # variable frame rate, rotation 180
    ("moviepy_media/smpte-2997.mp4", ".mp4", ("--set", "encode.preset=ultrafast")),  # 1080p, AAC
    ("moviepy_media/big_buck_bunny_432_433.webm", ".webm", ("--set", "encode.preset=ultrafast")),  # Vorbis
    ("upscale_a_video/old_movie_2.mp4", ".mp4", ()),  # ~24.74 fps
]


@pytest.mark.parametrize("rel,ext,extra", SHARED_CLIPS, ids=[c[0].split("/")[-1] for c in SHARED_CLIPS])
def test_shared_clips_roundtrip(tmp_path: Path, rel: str, ext: str, extra: tuple[str, ...]) -> None:
    src = shared_file(rel)
    out = tmp_path / ("out" + ext)
    tol = 0.0011 if ext != ".mp4" else 1e-6
    res = _roundtrip(src, out, *extra, tol=tol, psnr_every=10 if "smpte" in rel else 1)
    assert packet_hashes(out, "audio") == packet_hashes(src, "audio")
    assert res["frames"] == len(res["times_in"])


def test_vorbis_into_mp4_is_transcoded_with_warning(tmp_path: Path) -> None:
    src = shared_file("moviepy_media/big_buck_bunny_432_433.webm")
    out = tmp_path / "bbb.mp4"
    r = run_cli("restore", str(src), "-o", str(out), "--preset", "passthrough", "-q",
                "--set", "encode.preset=ultrafast")
    assert r.returncode == 0, r.stderr
    assert "transcoding it to aac" in r.stderr
    import av

    with av.open(str(out)) as c:
        a = c.streams.audio[0]
        assert a.codec_context.name == "aac"
        assert float(a.duration * a.time_base) == pytest.approx(1.0, abs=0.1)


def test_audio_none_drops_audio(samples_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "mute.mp4"
    r = run_cli("restore", str(samples_dir / "moving.mp4"), "-o", str(out), "-q", "--set", "encode.audio=none")
    assert r.returncode == 0, r.stderr
    assert packet_hashes(out, "audio") == []
    assert len(video_times(out)) == 75


class _PixelIdentity:
    """A processor that looks at every pixel (RGB in, RGB out) without changing it."""

    uses_pixels = True

    def output_spec(self, info, frame_size):
        from vidrestore.stage import Passthrough

        return Passthrough().output_spec(info, frame_size)

    def process(self, frames):
        for f in frames:
            assert f.rgb is not None
            yield f.with_rgb(f.rgb.copy())

    def stats(self):
        return {}


@pytest.mark.parametrize("name,min_psnr", [("moving.mp4", 40.0), ("vfr.mkv", 40.0), ("tenbit.mkv", 50.0),
                                           ("odd.mp4", 40.0)])
def test_rgb_path_roundtrip(samples_dir: Path, tmp_path: Path, name: str, min_psnr: float) -> None:
    """Through RGB (what every restorer sees): frames, times and audio kept, PSNR within codec tolerance."""
    from vidrestore.config import load_config
    from vidrestore.pipeline.run import run_job

    src = samples_dir / name
    out = tmp_path / name
    cfg = load_config(preset="passthrough")
    res = run_job(src, out, cfg=cfg, processor=_PixelIdentity(), quiet=True, expected_frames=lambda n: n)
    t_in, fin = decode_all(src)
    t_out, fout = decode_all(out)
    assert res.frames_in == res.frames_out == len(t_in) == len(t_out)
    assert np.max(np.abs(np.array(t_in) - np.array(t_out))) <= 0.0011
    assert packet_hashes(out, "audio") == packet_hashes(src, "audio")
    assert fout[0].dtype == fin[0].dtype
    assert np.mean([psnr(a, b) for a, b in zip(fin, fout)]) >= min_psnr
