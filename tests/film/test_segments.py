"""The film stage has a finite temporal reach: a segment fed its warm-up and look-ahead is bit-exact.

Three memories were unbounded and are now windows: the deflicker exposure chain (chained from the
frame being corrected, over its window), scene cuts (decided from the last ``CUT_MEMORY`` frames),
and the processor's own state (every ``process()`` call starts clean). Each is checked for
exactness with its context, and for a difference with one frame less (so the checks can fail).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import shared_file
from tests.film.clips import frames_of
from vidrestore.film.deflicker import ExposureTrack, PairFit
from vidrestore.flow.cutmemory import CUT_MEMORY, WindowedSceneCuts


def _png(path: Path, size: tuple[int, int] = (160, 90)) -> np.ndarray:
    import cv2

    img = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def three_shots() -> list[np.ndarray]:
    """Sintel (10 frames), the REDS demo (21), real damaged film (24): real cuts before frames 10 and 31."""
    sintel = [_png(p) for p in sorted(shared_file("raft_demo_frames").glob("frame_*.png"))]
    reds = [_png(p) for p in sorted(shared_file("basicvsrpp_reds_demo/demo_000").glob("*.png"))]
    film = [_png(p) for p in sorted(shared_file("old_films_bofb/data_1/001").glob("*.png"))]
    assert (len(sintel), len(reds), len(film)) == (10, 21, 24)
    return sintel + reds + film


def _cuts(frames: list[np.ndarray], start: int = 0) -> list[int]:
    det = WindowedSceneCuts()
    return [start + i for i, f in enumerate(frames[start:]) if det.push(f)]


def test_windowed_cuts_find_the_real_cuts_and_depend_on_their_window_only(three_shots: list[np.ndarray]) -> None:
    full = _cuts(three_shots)
    assert full == [10, 31]
    # a detector started anywhere agrees with the one-pass decisions from CUT_MEMORY frames on
    for start in (1, 5, 7, 9):
        late = _cuts(three_shots, start)
        assert [c for c in late if c >= start + CUT_MEMORY] == [c for c in full if c >= start + CUT_MEMORY]
        assert late == full  # the cut before 31 is reached by all of them
    # shot A, three black frames, shot B: the cut is before B (black frames stay with A)
    black = [np.zeros_like(three_shots[0])] * 3
    assert _cuts(three_shots[:10] + black + three_shots[31:]) == [13]


def test_a_blank_run_longer_than_the_memory_ends_the_shot(three_shots: list[np.ndarray]) -> None:
    black = [np.zeros_like(three_shots[0])] * (CUT_MEMORY + 2)
    fade_back = three_shots[:8] + black + three_shots[8:10]  # the same shot after more than a second of black
    assert _cuts(fade_back) == [8 + len(black)]
    short = three_shots[:8] + black[:4] + three_shots[8:10]  # a short fade through black: one shot
    assert _cuts(short) == []


def _random_fits(n: int, seed: int = 0) -> list[PairFit]:
    rng = np.random.default_rng(seed)
    return [PairFit(gain=rng.uniform(0.8, 1.2, (2, 2)), offset=rng.uniform(-0.05, 0.05, (2, 2)),
                    reliable=np.ones((2, 2), bool)) for _ in range(n)]


def _corrections(fits: list[PairFit], first: int, window: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Corrections of frames first..n-1 from a track that starts (as a shot) at ``first``."""
    track = ExposureTrack(window=window, grid=2)
    track.start_shot(first)
    for k in range(first + 1, len(fits)):
        track.push(k, fits[k])
    return {k: track.correction(k) for k in range(first, len(fits))}


def test_deflicker_correction_reads_its_window_only() -> None:
    window, n, t = 6, 40, 25
    fits = _random_fits(n)
    one_pass = _corrections(fits, 0, window)
    segment = _corrections(fits, t - window, window)  # a segment whose warm-up is the window
    for k in range(t, n):
        assert np.array_equal(one_pass[k][0], segment[k][0]) and np.array_equal(one_pass[k][1], segment[k][1])
    short = _corrections(fits, t - window + 1, window)  # one frame less: frame t's correction changes
    assert not np.allclose(one_pass[t][1], short[t][1], atol=1e-6)


def test_deflicker_matches_the_shot_chained_exposure_it_replaces() -> None:
    """Gains equal the chain from the shot's first frame; offsets agree to second order in the jitter."""
    window, n = 8, 30
    fits = _random_fits(n, seed=4)
    new = _corrections(fits, 0, window)
    gain, offset = [np.ones((2, 2))], [np.zeros((2, 2))]  # the chain from frame 0 (G_0 = 1, O_0 = 0)
    for k in range(1, n):
        gain.append(fits[k].gain * gain[-1])
        offset.append(fits[k].gain * offset[-1] + fits[k].offset)
    from vidrestore.film.deflicker import _local_linear

    for t in range(n):
        ks = [k for k in range(t - window, t + window + 1) if 0 <= k < n]
        tt = np.asarray([k - t for k in ks], float)[:, None, None]
        w = window + 1.0 - np.abs(tt)
        g_hat = np.exp(_local_linear(tt, w, np.stack([np.log(gain[k]) for k in ks])))
        o_hat = _local_linear(tt, w, np.stack([offset[k] for k in ks]))
        c = g_hat / gain[t]
        d = o_hat - c * offset[t]
        assert np.allclose(new[t][0], c, rtol=1e-9)
        assert np.abs(new[t][1] - d).max() < 0.01  # +-20 % gain jitter, +-0.05 offsets: 1 % of the range at most


def test_a_segment_fed_its_reach_equals_one_pass_bit_for_bit() -> None:
    """Real film (old_films_bofb, 24 frames, 160x90): the processor's own frames, no codec in between."""
    from vidrestore.config import load_config
    from vidrestore.pipeline.stages import build_film as build_processor

    images = [_png(p) for p in sorted(shared_file("old_films_bofb/data_1/001").glob("*.png"))]
    # a short deflicker window keeps the clip short enough to run fast; scene cuts off: their memory is
    # checked above, and here the frames before the segment would be fewer than CUT_MEMORY
    cfg = load_config(preset="film", overrides=["film.deflicker_window=4", "flow.scene_cut=false", "film.regrain=3",
                                                "film.dust_passes=1"])
    proc = build_processor(cfg, None)  # type: ignore[arg-type]
    assert (proc.warmup_frames, proc.lookahead_frames) == (6, 6)
    frames = frames_of(images)
    one_pass = [f.rgb for f in proc.process(iter(frames))]
    start, stop = 12, 16

    def segment(warmup: int, lookahead: int) -> list[np.ndarray]:
        fed = frames[start - warmup:stop + lookahead]
        return [f.rgb for f in proc.process(iter(fed)) if start <= f.index < stop]  # the same processor, reused

    exact = segment(proc.warmup_frames, proc.lookahead_frames)
    assert all(np.array_equal(a, b) for a, b in zip(exact, one_pass[start:stop])) and len(exact) == 4
    short_warmup = segment(proc.warmup_frames - 1, proc.lookahead_frames)
    short_lookahead = segment(proc.warmup_frames, proc.lookahead_frames - 1)
    assert not np.array_equal(short_warmup[0], one_pass[start])  # the first frame of the segment needs it all
    assert not np.array_equal(short_lookahead[-1], one_pass[stop - 1])


def test_the_second_dust_pass_adds_its_reach_and_a_segment_fed_it_is_bit_exact() -> None:
    """The second pass reads the first pass's output of ``t +- radius``: ``radius`` more frames each way."""
    from vidrestore.config import load_config
    from vidrestore.pipeline.stages import build_film as build_processor

    images = [_png(p, (320, 180)) for p in sorted(shared_file("old_films_bofb/data_1/001").glob("*.png"))]
    cfg = load_config(preset="film", overrides=["film.deflicker_window=4", "flow.scene_cut=false"])
    proc = build_processor(cfg, None)  # type: ignore[arg-type]
    assert (proc.warmup_frames, proc.lookahead_frames) == (8, 8)
    frames = frames_of(images)
    proc.keep_masks = True
    one_pass = [f.rgb for f in proc.process(iter(frames))]
    assert proc.stats()["second_pass_regions_per_frame"] > 0  # the second pass repairs something here
    start, stop = 12, 16

    def segment(warmup: int, lookahead: int) -> list[np.ndarray]:
        fed = frames[start - warmup:stop + lookahead]
        return [f.rgb for f in proc.process(iter(fed)) if start <= f.index < stop]

    exact = segment(8, 8)
    assert all(np.array_equal(a, b) for a, b in zip(exact, one_pass[start:stop])) and len(exact) == 4
    first_pass_reach = segment(6, 6)  # what the stage needed with one pass is not enough now
    assert not all(np.array_equal(a, b) for a, b in zip(first_pass_reach, one_pass[start:stop]))


def test_the_second_pass_cuts_where_the_first_does(three_shots: list[np.ndarray]) -> None:
    from vidrestore.config import load_config
    from vidrestore.pipeline.stages import build_film as build_processor

    proc = build_processor(load_config(preset="film", overrides=["film.denoise=false"]), None)  # type: ignore[arg-type]
    assert proc.second is not None
    out = [f.index for f in proc.process(iter(frames_of(three_shots)))]
    assert out == list(range(len(three_shots)))
    assert proc.cache.cuts == [10, 31] and proc.second.cache.cuts == [10, 31]


def test_reach_adds_a_downstream_restorer_and_keeps_mask_writing_to_input_frames(tmp_path: Path) -> None:
    from vidrestore.config import load_config
    from vidrestore.film.processor import MaskWriter
    from vidrestore.pipeline.chain import Chain
    from vidrestore.pipeline.stages import build_film as build_processor
    from vidrestore.stage import segment_reach

    proc = build_processor(load_config(preset="film"), None)  # type: ignore[arg-type]
    # pass 1 (radius, deflicker window, cut memory), then the second dust pass on its output (radius; it takes
    # the first pass's cuts)
    assert segment_reach(proc) == (2 + 8 + CUT_MEMORY + 2, 2 + 8 + 2)

    class _Downstream:
        warmup_frames, lookahead_frames = 3, 1

    assert segment_reach(Chain([("", proc), ("restorer", _Downstream())])) == (  # type: ignore[list-item]
        2 + 8 + CUT_MEMORY + 2 + 3, 2 + 8 + 2 + 1)
    # a restorer that declares no reach
    assert segment_reach(Chain([("", proc), ("restorer", object())])) is None  # type: ignore[list-item]
    # writing masks keeps the reach: each segment writes the masks of the input frames it owns
    proc.mask_writer = MaskWriter(tmp_path / "masks")
    assert segment_reach(proc) == (2 + 8 + CUT_MEMORY + 2, 2 + 8 + 2) and proc.writes_per_frame
    chain = Chain([("", proc), ("restorer", _Downstream())])  # type: ignore[list-item]
    chain.own_frames(12, 24)
    assert proc.owned == (12, 24)

    class _Doubler:  # a stage that emits two frames per input frame (interpolation x2)
        warmup_frames, lookahead_frames, frame_ratio = 0, 1, 2

    # after it, frame numbers are no longer input frames: a mask writer there cannot be told what it owns
    later = build_processor(load_config(preset="film"), None)  # type: ignore[arg-type]
    later.mask_writer = proc.mask_writer
    assert segment_reach(Chain([("interpolate", _Doubler()), ("", later)])) is None  # type: ignore[list-item]
    later.mask_writer = None
    assert segment_reach(Chain([("interpolate", _Doubler()), ("", later)])) is not None  # type: ignore[list-item]
    proc.owned = later.owned = None
    Chain([("interpolate", _Doubler()), ("", later)]).own_frames(0, 5)  # type: ignore[list-item]
    assert later.owned is None  # not told: its frames are not input frames
