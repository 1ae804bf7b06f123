"""Scene cuts on real clips: the real cuts found, none in single shots with motion, flicker or fades."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import shared_file
from vidrestore.flow.scenecut import SceneCutDetector, detect_scene_cuts


def decode(path: Path, size: tuple[int, int] | None = None) -> Iterator[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if size is None:
                yield frame.to_ndarray(format="rgb24")
            else:
                yield frame.to_ndarray(format="rgb24", width=size[0], height=size[1])


def test_big_buck_bunny_cuts() -> None:
    """The first 30 s of Big Buck Bunny: a fade-in from black, slow pans, then three hard cuts.

    Frames 283, 376 and 551 start new shots (checked by eye); the fade-in (frames 5-45), whose
    colour histograms change as much as a cut's, must not count.
    """
    path = shared_file("moviepy_media/big_buck_bunny_0_30.webm")
    det = SceneCutDetector()
    for frame in decode(path, size=(320, 180)):
        det.push(frame)
    assert det.index + 1 == 720
    assert det.cuts == [283, 376, 551]
    d = np.array(det.distances)
    assert d[[282, 375, 550]].min() > 0.3  # the cuts are clear
    assert max(det.similarities[i] for i in (282, 375, 550)) < 0.2


@pytest.mark.parametrize("rel", [
    "moviepy_media/chaplin.mp4",  # 1910s film: grain, flicker, camera shake (241 frames)
    "upscale_a_video/old_movie_2.mp4",
    "moviepy_media/fire2.mp4",  # fire: fast non-rigid change
])
def test_single_shots_have_no_cuts(rel: str) -> None:
    assert detect_scene_cuts(decode(shared_file(rel), size=(320, 180))) == []


def test_strong_flicker_and_fades_are_not_cuts(film_frame: torch.Tensor) -> None:
    """Real old-film frames with +-30% gain flicker, then a fade to black and back, stay one shot."""
    folder = shared_file("old_films_bofb/data_1/001")
    import cv2

    frames = [cv2.imread(str(p))[:, :, ::-1].astype(np.float32) / 255 for p in sorted(folder.glob("*.png"))]
    rng = np.random.default_rng(0)
    flicker = [np.clip(f * rng.uniform(0.7, 1.3), 0, 1) for f in frames]
    fade = [frames[-1] * a for a in np.linspace(1, 0, 12)] + [frames[-1] * a for a in np.linspace(0, 1, 12)]
    assert detect_scene_cuts(flicker + fade) == []


def test_concatenated_shots_are_split(sintel_frames: list[torch.Tensor]) -> None:
    """Sintel (10) + REDS street (21) + old film (24) resized to one size: cuts exactly at 10 and 31."""
    import cv2

    size = (320, 180)
    sintel = [cv2.resize(f[0].permute(1, 2, 0).numpy(), size, interpolation=cv2.INTER_AREA) for f in sintel_frames]
    reds = [cv2.imread(str(p))[:, :, ::-1] for p in sorted(shared_file("basicvsrpp_reds_demo/demo_000").glob("*.png"))]
    film = [cv2.resize(cv2.imread(str(p))[:, :, ::-1], size, interpolation=cv2.INTER_AREA)
            for p in sorted(shared_file("old_films_bofb/data_1/001").glob("*.png"))]
    frames = sintel + [r.astype(np.float32) / 255 for r in reds] + [f.astype(np.float32) / 255 for f in film]
    assert detect_scene_cuts(frames) == [10, 31]
    # Shot A, three black frames, shot B: the cut is before B (the black frames stay with A).
    black = [np.zeros_like(frames[0])] * 3
    assert detect_scene_cuts(frames[:10] + black + frames[31:]) == [13]
    # Tensors (3, H, W) are accepted as well as HxWx3 arrays.
    tensors = [torch.from_numpy(np.ascontiguousarray(f)).permute(2, 0, 1) for f in frames[8:13]]
    assert detect_scene_cuts(tensors) == [2]


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="threshold"):
        SceneCutDetector(threshold=1.5)
    with pytest.raises(ValueError, match="contrast"):
        SceneCutDetector(contrast=0.5)
