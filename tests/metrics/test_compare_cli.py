"""``vidrestore compare``: outputs opened and checked (size, labels, frame order), any two sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.metrics.clips import write_folder, write_video
from vidrestore.cli import main
from vidrestore.metrics.compare import (
    GAP,
    Crop,
    choose_frames,
    compose,
    detail_crop,
    plan_layout,
    sweep_position,
)

# Clip A (the "input"): 64x48, reddish; clip B (the "output"): 128x96, bluish. Frame i of each has
# its own brightness, so a decoded comparison tells which frames it shows, in which order.
N = 6


def level(i: int) -> int:
    return 40 + 25 * i


def clip_a(n: int = N) -> list[np.ndarray]:
    return [np.full((48, 64, 3), (level(i), level(i) // 3, 10), np.uint8) for i in range(n)]


def clip_b(n: int = N) -> list[np.ndarray]:
    return [np.full((96, 128, 3), (10, level(i) // 3, level(i)), np.uint8) for i in range(n)]


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    rc = main(["compare", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


def decode(path: Path) -> list[np.ndarray]:
    from vidrestore.io.reader import open_reader

    with open_reader(path) as r:
        return [f.rgb for f in r]


def assert_one_line_error(err: str, *needles: str) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("vidrestore: error: "), err
    for n in needles:
        assert n in lines[0], (n, lines[0])


@pytest.fixture()
def folders(tmp_path: Path) -> tuple[Path, Path]:
    return write_folder(tmp_path / "a", clip_a()), write_folder(tmp_path / "b", clip_b())


def test_side_by_side_video_size_order_and_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  folders: tuple[Path, Path]) -> None:
    a, b = folders
    out = tmp_path / "side.mp4"
    rc, stdout, _ = run_cli(capsys, a, b, "-o", out, "--labels", "before,after")
    assert rc == 0 and "6 frames" in stdout
    frames = decode(out)
    assert len(frames) == N
    # A is scaled 64x48 -> 128x96 to match B's height: 128 + gap + 128 wide.
    assert frames[0].shape == (96, 128 + GAP + 128, 3)
    for i, f in enumerate(frames):
        left = f[60:90, 10:118].astype(float).mean(axis=(0, 1))  # below the label box
        right = f[60:90, 128 + GAP + 10:-10].astype(float).mean(axis=(0, 1))
        assert left[0] == pytest.approx(level(i), abs=4), i  # red channel of A carries the index
        assert right[2] == pytest.approx(level(i), abs=4), i  # blue channel of B
        # The label box (darkened to 30 %, white text) is not the plain, uniform frame.
        box = f[1:12, 1:40].astype(float).max(axis=2)
        assert box.min() < 0.6 * level(i) and box.max() > 150, i
        assert f[60:90, 10:118].astype(float).std(axis=(0, 1)).max() < 3  # the plain frame is uniform


def test_labels_change_only_the_label_box() -> None:
    a, b = clip_a()[3], clip_b()[3]
    layout = plan_layout((64, 48), (128, 96), mode="side")
    plain = compose(a, b, layout, labels=None)
    labelled = compose(a, b, layout, labels=("input", "restored"))
    diff = np.any(plain != labelled, axis=2)
    ys, xs = np.nonzero(diff)
    assert diff.sum() > 100
    assert ys.max() < 30  # only in the top rows ...
    left_box = xs[xs < 128]
    right_box = xs[xs >= 128 + GAP]
    assert left_box.max() < 90 and right_box.min() >= 128 + GAP and right_box.max() < 128 + GAP + 90
    # ... and the panels elsewhere are the plainly scaled frames.
    assert np.array_equal(labelled[40:, :128], plain[40:, :128])


def test_wipe_shows_a_left_of_the_divider_and_b_right(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      folders: tuple[Path, Path]) -> None:
    a, b = folders
    out = tmp_path / "wipe.mp4"
    rc, _, _ = run_cli(capsys, a, b, "-o", out, "--layout", "wipe", "--position", "0.25")
    assert rc == 0
    frames = decode(out)
    assert len(frames) == N and frames[0].shape == (96, 128, 3)  # the larger clip's size
    f = frames[4].astype(float)
    assert f[50:90, 4:26, 0].mean() == pytest.approx(level(4), abs=4)  # A (red) left of x = 32
    assert f[50:90, 40:120, 2].mean() == pytest.approx(level(4), abs=4)  # B (blue) right of it
    assert f[50:90, 40:120, 0].mean() < 20


def test_sweep_moves_the_divider_across_and_back() -> None:
    pos = [sweep_position(i, 9) for i in range(9)]
    assert pos[0] == pytest.approx(0.1) and pos[4] == pytest.approx(0.9) and pos[8] == pytest.approx(0.1)
    assert pos[:5] == sorted(pos[:5]) and pos[4:] == sorted(pos[4:], reverse=True)


def test_png_sheet_rows_zooms_and_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         folders: tuple[Path, Path]) -> None:
    import cv2

    a, b = folders
    out = tmp_path / "sheet.png"
    rc, stdout, _ = run_cli(capsys, a, b, "-o", out, "--frames", "1,5", "--crop", "32,24,32,24")
    assert rc == 0 and "frames 1, 5" in stdout
    sheet = cv2.imread(str(out))[..., ::-1]
    # Rows 96 px high: A scaled to 128, B 128, two zooms of a 32x24 crop -> 128 px wide each.
    assert sheet.shape == (96 + GAP + 96, 128 + 128 + 128 + 128 + 3 * GAP, 3)
    for row, i in enumerate((1, 5)):
        y0 = row * (96 + GAP)
        b_panel = sheet[y0 + 60:y0 + 90, 128 + GAP + 10:128 + GAP + 118]
        zoom_b = sheet[y0 + 60:y0 + 90, 3 * (128 + GAP) + 10:-10]
        assert b_panel[..., 2].mean() == pytest.approx(level(i), abs=2)
        assert zoom_b[..., 2].mean() == pytest.approx(level(i), abs=2)
        label = sheet[y0 + 1:y0 + 12, 1:40].astype(float).max(axis=2)  # dark box, white text
        assert label.min() < 0.6 * level(i) and label.max() > 150
    assert out.stat().st_mode & 0o044  # readable by others like any file the user writes


def test_time_matching_holds_the_slower_clip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write_video(tmp_path / "a.mp4", clip_a(3), fps=10)
    b = write_video(tmp_path / "b.mp4", clip_b(6), fps=20)
    out = tmp_path / "held.mp4"
    rc, _, err = run_cli(capsys, a, b, "-o", out)
    assert rc == 2
    assert_one_line_error(err, "has 6 frames", "--match time")
    rc, _, _ = run_cli(capsys, a, b, "-o", out, "--match", "time")
    assert rc == 0
    frames = decode(out)
    assert len(frames) == 6
    shown_a = [int(round((f[60:90, 10:118, 0].astype(float).mean() - 40) / 25)) for f in frames]
    shown_b = [int(round((f[60:90, 140:-10, 2].astype(float).mean() - 40) / 25)) for f in frames]
    assert shown_a == [0, 0, 1, 1, 2, 2]
    assert shown_b == [0, 1, 2, 3, 4, 5]


def test_real_clip_keeps_timing_and_audio(samples_dir: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from vidrestore.io.probe import probe_video

    src = samples_dir / "moving.mp4"
    out = tmp_path / "cmp.mp4"
    rc, _, _ = run_cli(capsys, src, src, "-o", out, "--height", "64", "--layout", "stack")
    assert rc == 0
    si, oi = probe_video(src), probe_video(out)
    assert oi.num_frames == si.num_frames
    assert (oi.width, oi.height) == (86, 64 + GAP + 64)  # 320x240 at width 86 (64 * 4/3, even)
    assert len(oi.audio) == len(si.audio) == 1
    assert oi.duration == pytest.approx(si.duration, abs=0.1)


def test_bad_requests_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], folders: tuple[Path, Path]) -> None:
    a, b = folders
    short = write_folder(tmp_path / "short", clip_b(4))
    rc, _, err = run_cli(capsys, a, short, "-o", tmp_path / "x.mp4")
    assert rc == 2
    assert_one_line_error(err, "has 6 frames", "--partial")
    assert not (tmp_path / "x.mp4").exists() and not list(tmp_path.glob(".x.mp4*"))  # partial output removed
    rc, _, _ = run_cli(capsys, a, short, "-o", tmp_path / "x.mp4", "--partial")
    assert rc == 0 and len(decode(tmp_path / "x.mp4")) == 4
    rc, _, err = run_cli(capsys, a, b, "-o", tmp_path / "x.mp4")
    assert rc == 2
    assert_one_line_error(err, "already exists", "--overwrite")
    rc, _, err = run_cli(capsys, a, b, "-o", tmp_path / "s.png", "--frames", "2,60")
    assert rc == 2
    assert_one_line_error(err, "no frame 60")
    rc, _, err = run_cli(capsys, a, b, "-o", tmp_path / "s.png", "--labels", "only-one")
    assert rc == 2
    assert_one_line_error(err, "--labels")
    rc, _, err = run_cli(capsys, a, tmp_path / "missing", "-o", tmp_path / "y.mp4")
    assert rc == 2
    assert_one_line_error(err, "missing")


def test_helpers() -> None:
    assert choose_frames(100, 4) == [0, 33, 66, 99]
    assert choose_frames(3, 4) == [0, 1, 2]
    assert choose_frames(1, 4) == [0]
    img = np.zeros((90, 120, 3), np.uint8)
    img[50:70, 80:100] = np.indices((20, 20)).sum(0)[..., None] * 6  # the only detail
    c = detail_crop(img, fraction=0.25)
    assert isinstance(c, Crop) and c.w == 22
    assert 58 <= c.x <= 100 and 28 <= c.y <= 70
    assert plan_layout((640, 360), (1280, 720), mode="side").width == 1280 + GAP + 1280
    odd = plan_layout((641, 361), (100, 75), mode="wipe", height=101)
    assert odd.height % 2 == 0 and odd.width % 2 == 0 and abs(odd.height - 101) == 1  # even for 4:2:0
