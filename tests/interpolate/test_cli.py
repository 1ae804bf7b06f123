"""``vidrestore interpolate`` end to end: frame counts, exact timestamps, audio and subtitles kept, --scale, bad input."""

from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.interpolate.synth import shifted, texture, to_u8, write_clip
from vidrestore.cli import main


def packets(path: Path, kind: str) -> list[tuple[int, str]]:
    """(pts, sha256) of every non-empty packet of the first stream of ``kind``."""
    import av

    with av.open(str(path)) as c:
        streams = [s for s in c.streams if s.type == kind]
        if not streams:
            return []
        return [(int(p.pts), hashlib.sha256(bytes(p)).hexdigest()) for p in c.demux(streams[0]) if p.size]


def video_times(path: Path) -> tuple[list[Fraction], tuple[int, int]]:
    import av

    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        frames = list(c.decode(vs))
        return [Fraction(f.pts) * vs.time_base for f in frames], (vs.width, vs.height)


def stream_end(path: Path, kind: str) -> Fraction:
    """End time (pts + duration) of the last packet of the first stream of ``kind``."""
    import av

    with av.open(str(path)) as c:
        s = [s for s in c.streams if s.type == kind][0]
        end = Fraction(0)
        for p in c.demux(s):
            if p.size and p.pts is not None:
                end = max(end, Fraction(p.pts + (p.duration or 0)) * s.time_base)
        return end


def moving_clip(path: Path, n: int, rate: Fraction, size: tuple[int, int] = (64, 96), **kwargs) -> Path:
    img = texture(*size, seed=7)
    frames = [to_u8(shifted(img, 2.0 * i, 0.5 * i)) for i in range(n)]
    return write_clip(path, frames, rate=rate, **kwargs)


def test_factor_two_on_the_sample_keeps_audio_and_duration(samples_dir: Path, tmp_path: Path) -> None:
    src = samples_dir / "moving.mp4"
    out = tmp_path / "x2.mp4"
    assert main(["interpolate", str(src), "-o", str(out), "--factor", "2", "-q"]) == 0
    times, _ = video_times(out)
    src_times, _ = video_times(src)
    assert len(times) == 2 * len(src_times) == 150
    assert {b - a for a, b in zip(times, times[1:])} == {Fraction(1, 50)}
    assert times[::2] == src_times  # input frame k is output frame 2k, at its own time
    assert packets(out, "audio") == packets(src, "audio")  # bit-exact, same timestamps
    step = Fraction(1, 50)
    assert abs(stream_end(out, "video") - stream_end(src, "video")) <= step
    assert abs(stream_end(out, "video") - stream_end(out, "audio")) <= step  # measured: equal (held last frame)
    assert Path(str(out) + ".vidrestore.yaml").is_file()


@pytest.mark.parametrize("src_rate, target, expected", [
    (Fraction(24), "60", Fraction(60)),
    (Fraction(24000, 1001), "60000/1001", Fraction(60000, 1001)),
])
def test_24_to_60_exact_count_and_even_pts(tmp_path: Path, src_rate: Fraction, target: str, expected: Fraction) -> None:
    n = 24
    src = moving_clip(tmp_path / "in.mp4", n, src_rate, time_base=1 / (src_rate * 1000) if src_rate.denominator > 1
                      else Fraction(1, 12288))
    out = tmp_path / "out.mp4"
    assert main(["interpolate", str(src), "-o", str(out), "--fps", target, "-q"]) == 0
    times, _ = video_times(out)
    assert len(times) == int(np.ceil(n / src_rate * expected)) == 60
    assert {b - a for a, b in zip(times, times[1:])} == {1 / expected}
    assert abs(stream_end(out, "video") - stream_end(src, "video")) <= 1 / expected


def test_vfr_keeps_its_timeline_audio_and_subtitles(samples_dir: Path, tmp_path: Path) -> None:
    src = samples_dir / "vfr.mkv"
    out = tmp_path / "vfr2.mkv"
    assert main(["interpolate", str(src), "-o", str(out), "--factor", "2", "-q"]) == 0
    src_times, _ = video_times(src)
    times, _ = video_times(out)
    assert len(set(np.round(np.diff([float(t) for t in src_times]), 3))) > 1  # the sample really is VFR
    assert len(times) == 2 * len(src_times)
    assert times[::2] == src_times
    for k in range(len(src_times) - 1):  # each new frame half-way between its sources (Matroska: 1 ms ticks)
        assert abs(times[2 * k + 1] - (src_times[k] + src_times[k + 1]) / 2) <= Fraction(1, 2000)
    assert packets(out, "audio") == packets(src, "audio")
    assert packets(out, "subtitle") == packets(src, "subtitle") != []


def test_scale_two_doubles_size_and_frames(shared_dir: Path, tmp_path: Path) -> None:
    weights = shared_dir / "weights" / "realesr-animevideov3.pth"
    if not weights.is_file():
        pytest.skip(f"{weights} missing")
    src = moving_clip(tmp_path / "small.mp4", 6, Fraction(24), size=(48, 64))
    out = tmp_path / "up.mp4"
    rc = main(["interpolate", str(src), "-o", str(out), "--factor", "2", "--scale", "2", "-q",
               "--set", f"restorer.weights={weights}"])
    assert rc == 0
    times, size = video_times(out)
    assert len(times) == 12 and size == (128, 96)
    assert packets(out, "audio") == packets(src, "audio")
    # upscale-first gives the same count, size and timing
    out2 = tmp_path / "up2.mp4"
    rc = main(["interpolate", str(src), "-o", str(out2), "--factor", "2", "--scale", "2", "--order", "upscale-first",
               "-q", "--set", f"restorer.weights={weights}"])
    assert rc == 0
    times2, size2 = video_times(out2)
    assert times2 == times and size2 == size


@pytest.mark.parametrize("args, fragment", [
    (["--factor", "2"], "missing.mp4"),
    (["--fps", "abc"], "abc"),
    (["--fps", "0"], "frame rate"),
    (["--factor", "2", "--scale", "2", "--set", "restorer.name=none"], "GAN model"),
    (["--factor", "2", "--set", "interpolate.end=sometimes"], "interpolate.end"),
])
def test_bad_input_is_one_line_and_exit_2(samples_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                          args: list[str], fragment: str) -> None:
    src = tmp_path / "missing.mp4" if fragment == "missing.mp4" else samples_dir / "moving.mp4"
    out = tmp_path / "out.mp4"
    assert main(["interpolate", str(src), "-o", str(out), "-q", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0] and "Traceback" not in err[0]
    assert not out.exists()


def test_factor_and_fps_together_are_refused(samples_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["interpolate", str(samples_dir / "moving.mp4"), "-o", str(tmp_path / "o.mp4"), "--factor", "2",
              "--fps", "60"])
    assert exc.value.code == 2


def test_real_scenes_joined_are_never_mixed(tmp_path: Path) -> None:
    """REDS street frames followed by chaplin film frames (both 320x180): the frame between the last REDS
    frame and the first chaplin frame repeats one of them, and no output frame is a blend of the two."""
    import cv2

    from tests.conftest import shared_file
    from vidrestore.io.reader import open_reader

    reds = sorted(shared_file("basicvsrpp_reds_demo/demo_000").glob("*.png"))[:8]
    scene_a = [np.ascontiguousarray(cv2.imread(str(p))[:, :, ::-1]) for p in reds]
    scene_b = []
    with open_reader(shared_file("moviepy_media/chaplin.mp4")) as r:
        for f in r:
            if f.index >= 8:
                break
            scene_b.append(cv2.resize(f.rgb, (320, 180), interpolation=cv2.INTER_AREA))
    src = write_clip(tmp_path / "joined.mp4", scene_a + scene_b, rate=Fraction(25), crf=4)
    out = tmp_path / "joined2.mp4"
    assert main(["interpolate", str(src), "-o", str(out), "--factor", "2", "-q", "--set", "encode.crf=4"]) == 0
    with open_reader(src) as r:
        inputs = [f.rgb for f in r]
    with open_reader(out) as r:
        outputs = [f.rgb for f in r]
    assert len(outputs) == 32

    def psnr(a: np.ndarray, b: np.ndarray) -> float:
        return 10 * np.log10(255.0**2 / max(np.mean((a.astype(float) - b.astype(float)) ** 2), 1e-9))

    for i, frame in enumerate(outputs):
        near = [inputs[k] for k in {min(i // 2, 15), min((i + 1) // 2, 15)}]
        best = max(psnr(frame, ref) for ref in near)
        other_scene = scene_b[0] if i < 16 else scene_a[-1]
        if i != 15:
            assert psnr(frame, other_scene) < 20.0, f"output {i} carries the other scene"
        if i in (14, 15, 16):  # around the cut: the nearest frame, repeated (only the re-encoding differs)
            assert best > 35.0, f"output {i} is not a repeat of its nearest input ({best:.1f} dB)"
    mid = outputs[15]
    assert max(psnr(mid, inputs[7]), psnr(mid, inputs[8])) > 35.0
    assert min(psnr(mid, inputs[7]), psnr(mid, inputs[8])) < 20.0  # one of them, not a blend of both
