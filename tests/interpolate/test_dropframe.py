"""Drop-frame check on real clips: remove every other frame, rebuild it, compare with the frame removed.

Protocol in vidrestore/interpolate/dropframe.py (repeats removed, triplets moving >= 1 px scored).
Issue 8's targets are >= 2 dB above linear blending and >= 0.5 dB above ffmpeg minterpolate (mci).
Measured (tools/benchmarks/interpolate.py, full clips): REDS +6.9 / +3.2 dB, chaplin +3.2 / +0.6 dB,
old_movie_2 +0.94 / +1.4 dB; the Vimeo septuplet has no triplet moving 1 px. Each test asserts the
numbers its clip reaches, with a small margin; old_movie_2 misses the blending target, see its test.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.conftest import shared_file
from vidrestore.config import load_config
from vidrestore.interpolate.dropframe import evaluate_clip, remove_duplicates

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="the minterpolate baseline needs ffmpeg")


def png_frames(rel: str) -> list[np.ndarray]:
    import cv2

    folder = shared_file(rel)
    return [np.ascontiguousarray(cv2.imread(str(p), cv2.IMREAD_COLOR)[:, :, ::-1]) for p in sorted(folder.glob("*.png"))]


def video_frames(rel: str, limit: int | None = None) -> list[np.ndarray]:
    from vidrestore.io.reader import open_reader

    out = []
    with open_reader(shared_file(rel)) as reader:
        for frame in reader:
            out.append(frame.rgb)
            if limit and len(out) >= limit:
                break
    return out


@pytest.fixture(scope="module")
def cfg():
    return load_config(preset="interpolate")


def test_reds_beats_both_baselines(cfg) -> None:
    res = evaluate_clip("reds", png_frames("basicvsrpp_reds_demo/demo_000"), cfg)
    assert len(res.scored) == 7
    assert res.gain("ours", "blend") >= 2.0 + 4.0  # measured +6.9 dB
    assert res.gain("ours", "minterpolate") >= 0.5 + 2.0  # measured +3.2 dB
    # per frame too: never below minterpolate
    assert min(np.subtract(res.psnr["ours"], res.psnr["minterpolate"])) > 0.0


def test_chaplin_beats_both_baselines(cfg) -> None:
    """1910s film with grain and repeated frames (every third frame twice): the repeats are removed first."""
    frames = video_frames("moviepy_media/chaplin.mp4")
    clean = remove_duplicates(frames)
    assert len(frames) - len(clean) == 76  # 241 frames = 165 film frames + 76 repeats
    res = evaluate_clip("chaplin", frames, cfg)
    assert len(res.scored) >= 45
    assert res.gain("ours", "blend") >= 2.0 + 0.8  # measured +3.2 dB
    assert res.gain("ours", "minterpolate") >= 0.55  # measured +0.60 dB (target 0.5)


@pytest.fixture(scope="module")
def old_movie(cfg):  # type: ignore[no-untyped-def]
    return evaluate_clip("old_movie_2", video_frames("upscale_a_video/old_movie_2.mp4"), cfg, with_ceiling=True)


@pytest.mark.xfail(strict=True, reason="old_movie_2 reaches +0.94 dB over blending (target 2): its irregular pan "
                                       "cadence puts the held-out frame off the midpoint of its neighbours, which "
                                       "two kept frames cannot reveal (see the ceilings test)")
def test_old_movie_meets_the_targets(old_movie) -> None:  # type: ignore[no-untyped-def]
    """The issue's targets on old_movie_2: >= blend + 2 dB and >= minterpolate + 0.5 dB."""
    assert len(old_movie.scored) >= 18
    assert old_movie.gain("ours", "minterpolate") >= 0.5
    assert old_movie.gain("ours", "blend") >= 2.0


def test_old_movie_ceilings_say_why_the_target_is_missed(old_movie) -> None:  # type: ignore[no-untyped-def]
    """old_movie_2: a slow pan of ~1 px per frame, h264 at 480p. Blending is already at 43.8 dB, and the
    clip's motion cadence is irregular (pan steps alternate ~0.05 / ~0.35 px between consecutive frames),
    so the held-out frame is not at the temporal midpoint of its neighbours.

    The oracle ceilings say why: warping both neighbours along flows computed from the held-out frame
    reaches far above blending, but the same true trajectories placed at their linear midpoint reach
    less than the 2 dB target, and we are about at that linear ceiling. The missing dB are non-uniform
    motion between the kept frames, which two (or four) kept frames do not reveal."""
    assert len(old_movie.scored) >= 18
    assert old_movie.gain("ceiling", "blend") >= 4.0  # measured +4.50 dB
    assert old_movie.gain("ceiling_linear", "blend") < 1.5  # measured +0.98 dB: the target (2) is out of reach this way
    assert old_movie.gain("ours", "ceiling_linear") >= -0.2


def test_vimeo_septuplet_has_nothing_to_score(cfg) -> None:
    """The 112x64 Vimeo septuplet moves 0.3 px between kept frames: the >= 1 px rule leaves no triplet."""
    frames = png_frames("mmagic_vimeo90k/00001/0266")
    res = evaluate_clip("vimeo", frames, cfg)
    assert res.scored == []
    assert res.frames == 7
    everything = evaluate_clip("vimeo", frames, cfg, min_motion=0.0)
    assert len(everything.scored) == 3 and max(everything.motion) < 0.5
    assert abs(everything.gain("ours", "blend")) < 0.3  # nothing moves: all methods agree
