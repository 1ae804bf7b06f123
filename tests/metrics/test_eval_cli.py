"""``vidrestore eval``: per-frame values, means, JSON, plot, pairing rules and clear errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.metrics.clips import real_frame, shifted, with_offset, write_folder, write_video
from vidrestore.cli import main
from vidrestore.metrics.fidelity import psnr


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["eval", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(err: str, *needles: str) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("vidrestore: error: ")
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], (n, lines[0])


@pytest.fixture(scope="module")
def static_frames() -> list[np.ndarray]:
    return [real_frame() for _ in range(6)]


def test_flickered_clip_scores_worse_than_its_reference(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        static_frames: list[np.ndarray]) -> None:
    ref = write_folder(tmp_path / "ref", static_frames)
    flick = with_offset(static_frames, 6)
    out = write_folder(tmp_path / "out", flick)
    j, p = tmp_path / "report.json", tmp_path / "curves.png"
    rc, stdout, _ = run_cli(capsys, ref, out, "--json", j, "--plot", p, "-q")
    assert rc == 0
    rep = json.loads(j.read_text())
    assert rep["counts"]["paired"] == 6 and len(rep["frames"]) == 6
    assert rep["metrics"] == ["psnr", "ssim", "warp", "warp_ref", "flicker", "flicker_ref"]
    for i, f in enumerate(rep["frames"]):
        assert f["ref_index"] == f["out_index"] == i
        assert f["psnr"] == pytest.approx(psnr(flick[i], static_frames[i]), abs=1e-9)
    assert rep["frames"][0]["warp"] is None and rep["frames"][0]["flicker"] is None
    means = rep["means"]
    # +-6 levels everywhere would be 32.57 dB; dark pixels clip at 0, so a little better.
    assert 20 * math.log10(255 / 6) <= means["psnr"] < 20 * math.log10(255 / 6) + 0.6
    assert means["flicker"] == pytest.approx(12.0, rel=0.1)  # +-6 levels alternate: 12 per frame
    assert means["flicker_ref"] < 0.05 and means["warp_ref"] < 1e-6
    assert means["warp"] == pytest.approx((12 / 255) ** 2, rel=0.15)
    assert "lpips" in rep["skipped"] and "vidrestore weights fetch" in rep["skipped"]["lpips"]
    assert "flicker" in stdout and "mean" in stdout
    import cv2

    img = cv2.imread(str(p))
    assert img is not None and img.shape[1] == 1000 and img.shape[0] == 940  # 10 x (2.2 * 4 + 0.6) in at 100 dpi
    assert img.std() > 10  # curves, axes and text, not a blank canvas


def test_identical_clips_give_inf_and_one(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          static_frames: list[np.ndarray]) -> None:
    ref = write_folder(tmp_path / "ref", static_frames[:3])
    j = tmp_path / "r.json"
    rc, _, _ = run_cli(capsys, ref, ref, "--metrics", "psnr,ssim", "--json", j)
    assert rc == 0
    rep = json.loads(j.read_text())
    assert rep["means"]["psnr"] == "inf" and rep["means"]["ssim"] == 1.0
    assert all(f["psnr"] == "inf" for f in rep["frames"])


def test_y_channel_and_crop_border_reach_the_metric(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    static_frames: list[np.ndarray]) -> None:
    rng = np.random.default_rng(0)
    noisy = [np.clip(f + rng.normal(0, 5, f.shape), 0, 255).astype(np.uint8) for f in static_frames[:2]]
    ref, out = write_folder(tmp_path / "ref", static_frames[:2]), write_folder(tmp_path / "out", noisy)
    j = tmp_path / "r.json"
    rc, _, _ = run_cli(capsys, ref, out, "--metrics", "psnr", "--y-channel", "--crop-border", "4", "--json", j)
    assert rc == 0
    rep = json.loads(j.read_text())
    assert rep["settings"]["channel"].startswith("Y") and rep["settings"]["crop_border"] == 4
    expected = psnr(noisy[1], static_frames[1], crop_border=4, test_y_channel=True)
    assert rep["frames"][1]["psnr"] == pytest.approx(expected, abs=1e-9)
    assert expected != pytest.approx(psnr(noisy[1], static_frames[1]), abs=0.05)


def test_frame_count_mismatch_is_an_error_unless_partial(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          static_frames: list[np.ndarray]) -> None:
    ref = write_folder(tmp_path / "ref", static_frames)
    out = write_folder(tmp_path / "out", static_frames[:5])
    rc, _, err = run_cli(capsys, ref, out, "--metrics", "psnr")
    assert rc == 2
    assert_one_line_error(err, str(out), "has 5 frames", "has 6", "--partial")
    j = tmp_path / "r.json"
    rc, _, _ = run_cli(capsys, ref, out, "--metrics", "psnr", "--partial", "--json", j)
    assert rc == 0
    rep = json.loads(j.read_text())
    assert len(rep["frames"]) == 5 and rep["counts"]["ref_unmatched"] == 1
    assert any("1 more frames" in n for n in rep["notes"])


def test_size_mismatch_is_an_error_unless_resize(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 static_frames: list[np.ndarray]) -> None:
    import cv2

    big = [cv2.resize(f, (192, 128), interpolation=cv2.INTER_CUBIC) for f in static_frames[:3]]
    ref, out = write_folder(tmp_path / "ref", static_frames[:3]), write_folder(tmp_path / "out", big)
    rc, _, err = run_cli(capsys, ref, out, "--metrics", "psnr,ssim")
    assert rc == 2
    assert_one_line_error(err, "is 192x128", "96x64", "--resize")
    j = tmp_path / "r.json"
    rc, _, _ = run_cli(capsys, ref, out, "--metrics", "psnr,ssim", "--resize", "--json", j)
    assert rc == 0
    rep = json.loads(j.read_text())
    assert rep["means"]["psnr"] > 28 and rep["means"]["ssim"] > 0.9  # up then down again: close to the original
    assert any("scaled from 192x128 to 96x64" in n for n in rep["notes"])


def test_match_by_pts_pairs_an_interpolated_clip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 20 fps clip whose even frames are the 10 fps reference: pts matching pairs those 6."""
    base = real_frame((96, 64))
    ref_frames = [shifted(base, 2 * i) for i in range(6)]
    out_frames = []
    for i, f in enumerate(ref_frames):
        out_frames.append(f)
        out_frames.append(shifted(base, 2 * i + 1))  # the in-between frame
    ref = write_video(tmp_path / "ref.mp4", ref_frames, fps=10)
    out = write_video(tmp_path / "out.mp4", out_frames, fps=20)
    rc, _, err = run_cli(capsys, ref, out, "--metrics", "psnr")
    assert rc == 2
    assert_one_line_error(err, "has 12 frames", "has 6", "--match pts")
    j = tmp_path / "r.json"
    rc, _, _ = run_cli(capsys, ref, out, "--metrics", "psnr,ssim,warp", "--match", "pts", "--json", j)
    assert rc == 0
    rep = json.loads(j.read_text())
    assert [f["out_index"] for f in rep["frames"]] == [0, 2, 4, 6, 8, 10]
    assert rep["counts"]["out_unmatched"] == 6
    # The same pictures through the same lossless-coded conversion: identical or nearly so.
    assert all(f["psnr"] == "inf" or f["psnr"] > 40 for f in rep["frames"])


def test_unreadable_and_missing_inputs_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              static_frames: list[np.ndarray]) -> None:
    ref = write_folder(tmp_path / "ref", static_frames[:2])
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x01 this is not a video" * 50)
    rc, _, err = run_cli(capsys, ref, broken)
    assert rc == 2
    assert_one_line_error(err, "broken.mp4")
    rc, _, err = run_cli(capsys, ref, tmp_path / "nope.mp4")
    assert rc == 2
    assert_one_line_error(err, "nope.mp4")


def test_bad_options_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            static_frames: list[np.ndarray]) -> None:
    ref = write_folder(tmp_path / "ref", static_frames[:2])
    rc, _, err = run_cli(capsys, ref, ref, "--metrics", "psnr,sharpness")
    assert rc == 2
    assert_one_line_error(err, "unknown metric 'sharpness'")
    rc, _, err = run_cli(capsys, ref, ref, "--metrics", "lpips")
    assert rc == 2
    assert_one_line_error(err, "vidrestore weights fetch lpips_alex_backbone")
    rc, _, err = run_cli(capsys, ref, ref, "--plot", tmp_path / "curves.pdf")
    assert rc == 2
    assert_one_line_error(err, ".png")
    rc, _, err = run_cli(capsys, ref, ref, "--json", tmp_path / "missing-dir" / "r.json")
    assert rc == 2
    assert_one_line_error(err, "does not exist")


def test_real_sample_video_against_itself(samples_dir: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    j = tmp_path / "r.json"
    rc, _, _ = run_cli(capsys, samples_dir / "moving.mp4", samples_dir / "moving.mp4", "--max-frames", "5",
                       "--json", j)
    assert rc == 0
    rep = json.loads(j.read_text())
    assert len(rep["frames"]) == 5
    assert rep["means"]["psnr"] == "inf" and rep["means"]["ssim"] == 1.0
    # The sample's scene moves: the reference's own warping error is small but not zero.
    assert 0 < rep["means"]["warp_ref"] < 0.01
    assert rep["means"]["warp"] == rep["means"]["warp_ref"]


def _frames(times_ms: list[int]) -> list:  # type: ignore[type-arg]
    from fractions import Fraction

    from vidrestore.types import Frame

    px = np.zeros((2, 2, 3), np.uint8)
    return [Frame(index=i, pts=t, time_base=Fraction(1, 1000), rgb=px) for i, t in enumerate(times_ms)]


def test_pts_pairing_takes_the_nearest_frame_and_counts_the_rest() -> None:
    from vidrestore.errors import MediaError
    from vidrestore.metrics.evaluate import PairCounter, pair_by_time

    ref = _frames([0, 100, 200, 300])
    # Jittered, denser restored clip starting at another time (each clip's own start is t=0).
    out = _frames([1000, 1048, 1099, 1152, 1203, 1251, 1300, 1350])
    c = PairCounter()
    pairs = list(pair_by_time(ref, out, tolerance=0.05, partial=False, counter=c, ref_name="r", out_name="o"))
    assert [(a.index, b.index) for a, b in pairs] == [(0, 0), (1, 2), (2, 4), (3, 6)]
    assert (c.paired, c.ref_seen, c.out_seen, c.out_unmatched, c.ref_unmatched) == (4, 4, 8, 4, 0)
    # A reference frame without a partner (the restored clip dropped t=200): error, or skipped with partial.
    gap = _frames([0, 100, 300])
    with pytest.raises(MediaError, match="reference frame 2 .*--partial"):
        list(pair_by_time(ref, gap, tolerance=0.05, partial=False, counter=PairCounter(), ref_name="r", out_name="o"))
    c = PairCounter()
    pairs = list(pair_by_time(ref, gap, tolerance=0.05, partial=True, counter=c, ref_name="r", out_name="o"))
    assert [(a.index, b.index) for a, b in pairs] == [(0, 0), (1, 1), (3, 2)]
    assert c.ref_unmatched == 1 and c.out_unmatched == 0
