"""Issue 6's targets asserted as targets, on data the film defaults were not tuned on (issue 18).

The defaults were tuned on damage seed 3 (dev seeds 0-3) and on the damage table's clips; these tests
use held-out seed 4, and real film scored by the independent judge of tools/benchmarks/_spike_judge.py
(never the restorer's own detector). A missed target is an ``xfail`` that says why, strict: when the
target is met the test fails until the mark is removed. What was measured lives in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import shared_file
from tests.film.clips import psnr, reds_frames, run_film
from vidrestore.film.damage import DamageSpec, render_damage, score_detection

HELDOUT_SEED = 4
GAIN_DB = 5.0
RECALL, PRECISION = 0.90, 0.80
REAL_FALL = 0.80


@pytest.fixture(scope="module")
def reds_heldout():  # type: ignore[no-untyped-def]
    clean = reds_frames(shared_file("basicvsrpp_reds_demo"), n=21)
    damage = render_damage(clean, DamageSpec(seed=HELDOUT_SEED))
    out, proc = run_film(damage.frames)
    p_in = np.array([psnr(d, c) for d, c in zip(damage.frames, clean)])
    p_out = np.array([psnr(o, c) for o, c in zip(out, clean)])
    score = score_detection(damage, [proc.last_masks[i][0] for i in range(len(out))])
    return p_in, p_out, score


def test_reds_held_out_seed_gains_five_db_and_no_frame_gets_worse(reds_heldout) -> None:  # type: ignore[no-untyped-def]
    p_in, p_out, _ = reds_heldout
    assert p_out.mean() - p_in.mean() >= GAIN_DB, (p_in.mean(), p_out.mean())
    assert (p_out > p_in).all(), p_out - p_in


def test_reds_held_out_seed_dust_recall_and_precision(reds_heldout) -> None:  # type: ignore[no-untyped-def]
    _, _, score = reds_heldout
    assert score.visible_recall >= RECALL and score.precision >= PRECISION, score


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="the independent judge sees 61 -> 40 spike regions on old_films_bofb 001 "
                                       "(34 % fewer, target 80 %): it also counts one-frame limb motion the "
                                       "restorer rightly leaves, and some dirt the restorer misses "
                                       "(docs/BENCHMARKS.md, film section)")
def test_real_film_has_far_less_judged_dirt_after_restoration() -> None:
    from tools.benchmarks._spike_judge import judge_clip
    from vidrestore.io.reader import open_reader

    with open_reader(shared_file("old_films_bofb/data_1/001")) as r:
        frames = [f.rgb for f in r]
    out, _ = run_film(frames)
    before, after = judge_clip(frames).total_regions(), judge_clip(out).total_regions()
    assert before > 20
    assert after <= (1 - REAL_FALL) * before, (before, after)
