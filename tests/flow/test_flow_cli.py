"""``vidrestore flow``: .npz flows checked against the sample clip's known camera motion, visualisations
with every frame and timestamp kept, scene cuts, and one-line errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import shared_file
from vidrestore.cli import main
from vidrestore.flow.visualize import flow_to_rgb


def camera_flow(i: int, j: int, n: int = 75, w: int = 320, h: int = 240) -> np.ndarray:
    """True background flow frame i -> frame j of samples/moving.mp4 (tools/make_samples.py:scene_frames).

    Frame k shows texture point ``zoom_k * p + d_k`` at pixel p, so p in frame i is at
    ``(zoom_i * p + d_i - d_j) / zoom_j`` in frame j.
    """

    def params(k: int) -> tuple[float, np.ndarray]:
        t = k / (n - 1)
        return 1.0 + 0.08 * t, np.array([40 + 120 * t + 6 * math.sin(2 * math.pi * t), 30 + 50 * t])

    zi, di = params(i)
    zj, dj = params(j)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    p = np.stack([xs, ys])
    return ((zi * p + (di - dj)[:, None, None]) / zj - p).astype(np.float32)


def object_far(i: int, n: int = 75, w: int = 320, h: int = 240, radius: float = 45.0) -> np.ndarray:
    """Pixels far from the moving disc in frames i and i+1 (its motion differs from the camera's)."""
    ys, xs = np.mgrid[0:h, 0:w]
    far = np.ones((h, w), bool)
    for k in (i, i + 1):
        t = k / (n - 1)
        cx, cy = 20 + (w - 40) * t, h * 0.6 + 15 * math.sin(4 * math.pi * t)
        far &= (xs - cx) ** 2 + (ys - cy) ** 2 > radius ** 2
    far[:8], far[-8:], far[:, :8], far[:, -8:] = False, False, False, False
    return far


def test_npz_flows_match_the_known_camera_motion(samples_dir: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "flows.npz"
    assert main(["flow", str(samples_dir / "moving.mp4"), "-o", str(out), "--method", "dis", "-q"]) == 0
    data = np.load(out)
    flow = data["flow"]
    assert flow.dtype == np.float16 and flow.shape == (74, 2, 240, 320)
    assert data["index_t"].tolist() == list(range(74)) and data["index_s"].tolist() == list(range(1, 75))
    assert bool(data["connected"].all()) and data["scene_cuts"].size == 0
    assert data["pts"].tolist() == [i * 512 for i in range(75)] and str(data["time_base"]) == "1/12800"
    assert str(data["method"]) == "dis-medium"
    epes = []
    for k in range(0, 74, 8):
        err = np.linalg.norm(flow[k].astype(np.float32) - camera_flow(k, k + 1), axis=0)
        epes.append(float(np.median(err[object_far(k)])))
    assert max(epes) <= 0.25, epes  # H.264-compressed frames, ~1.6-2.5 px of motion per frame
    assert (tmp_path / "flows.npz.vidrestore.yaml").is_file()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left behind


def _first_frames(src: Path, folder: Path, n: int) -> None:
    import cv2

    from vidrestore.io.reader import open_reader

    folder.mkdir()
    with open_reader(src) as r:
        for f in r:
            if f.index >= n:
                break
            cv2.imwrite(str(folder / f"f_{f.index:04d}.png"), f.rgb[:, :, ::-1])


def test_visualisation_pictures_are_the_flows(samples_dir: Path, tmp_path: Path) -> None:
    """Frame k of the visualisation is exactly flow_to_rgb(flow k -> k+1); the last one the reversed backward flow."""
    import cv2

    src = tmp_path / "src"
    _first_frames(samples_dir / "moving.mp4", src, 8)
    npz = tmp_path / "f.npz"
    pngs = tmp_path / "vis"
    common = ["--method", "dis", "--set", "flow.dis_preset=fast", "-q"]
    assert main(["flow", str(src), "-o", str(npz), "--float32", "--backward", *common]) == 0
    assert main(["flow", str(src), "-o", str(pngs), "--max-flow", "4", *common]) == 0
    data = np.load(npz)
    files = sorted(pngs.glob("*.png"))
    assert len(files) == 8
    for k in range(7):
        got = cv2.imread(str(files[k]))[:, :, ::-1]
        want = flow_to_rgb(torch.from_numpy(data["flow"][k])[None], max_flow=4.0)[0].permute(1, 2, 0).numpy()
        assert np.array_equal(got, want), k
    got = cv2.imread(str(files[7]))[:, :, ::-1]
    want = flow_to_rgb(-torch.from_numpy(data["flow_backward"][6])[None], max_flow=4.0)[0].permute(1, 2, 0).numpy()
    assert np.array_equal(got, want)


def test_visualisation_video_keeps_every_frame_and_vfr_timestamps(samples_dir: Path, tmp_path: Path) -> None:
    from vidrestore.io.reader import open_reader

    src = samples_dir / "vfr.mkv"  # 36 frames at irregular times
    out = tmp_path / "vis.mkv"
    assert main(["flow", str(src), "-o", str(out), "--method", "dis", "--set", "flow.dis_preset=ultrafast",
                 "--set", "encode.preset=ultrafast", "-q"]) == 0
    with open_reader(src) as a, open_reader(out) as b:
        times_in = [f.pts * f.time_base for f in a]
        times_out = [f.pts * f.time_base for f in b]
    assert len(times_in) == 36 and times_out == times_in


def test_scene_cut_in_an_image_sequence(tmp_path: Path, sintel_frames: list[torch.Tensor]) -> None:
    """Folder input of two shots: the pair across the cut is stored as zeros and marked unconnected."""
    import cv2

    folder = tmp_path / "seq"
    folder.mkdir()
    film_dir = shared_file("old_films_bofb/data_1/001")
    shot_b = [cv2.resize(cv2.imread(str(p)), (256, 112)) for p in sorted(film_dir.glob("*.png"))[:3]]
    shot_a = [cv2.resize((f[0].permute(1, 2, 0).numpy()[:, :, ::-1] * 255).round().astype(np.uint8), (256, 112))
              for f in sintel_frames[:4]]
    for i, img in enumerate(shot_a + shot_b):
        cv2.imwrite(str(folder / f"img_{i:03d}.png"), img)
    out = tmp_path / "cut.npz"
    assert main(["flow", str(folder), "-o", str(out), "--method", "dis", "--backward", "-q"]) == 0
    data = np.load(out)
    assert data["scene_cuts"].tolist() == [4]
    assert data["connected"].tolist() == [True, True, True, False, True, True]
    assert float(np.abs(data["flow"][3]).max()) == 0.0 and float(np.abs(data["flow_backward"][3]).max()) == 0.0
    assert float(np.abs(data["flow"][0]).mean()) > 0.1  # Sintel frames do move


def test_errors_are_one_line_with_exit_code_2(samples_dir: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    src = str(samples_dir / "moving.mp4")
    out = tmp_path / "x.npz"
    out.write_bytes(b"old")
    assert main(["flow", src, "-o", str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert "already exists" in err and len(err.splitlines()) == 1
    assert out.read_bytes() == b"old"
    assert main(["flow", src, "-o", str(tmp_path / "y.npz"), "--method", "raft-small", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert "vidrestore weights fetch raft_small" in err and len(err.splitlines()) == 1
    assert main(["flow", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "z.npz"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert "missing.mp4" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "y.npz").exists() and not (tmp_path / "z.npz").exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
