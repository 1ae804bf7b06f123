"""Line scratches: candidates (lines, not edges or bar borders), persistence on the film, inpainting along the line."""

from __future__ import annotations

import numpy as np

from tests.film.clips import texture
from vidrestore.film.scratch import ScratchParams, confirm_lines, inpaint_rows, line_candidates


def _frame(h: int = 120, w: int = 160, seed: int = 0) -> np.ndarray:
    return texture(h, w, seed=seed).mean(axis=2).astype(np.float32)


def _scratch(lum: np.ndarray, x: float, value: float = 0.97, alpha: float = 0.7, top: int = 10,
             bottom: int = 110, slant: float = 0.005) -> np.ndarray:
    h, w = lum.shape
    out = lum.copy()
    truth = np.zeros((h, w), bool)
    for y in range(top, bottom):
        c = x + slant * (y - h / 2)
        for xx in range(int(c) - 1, int(c) + 3):
            a = np.clip(1.5 - abs(xx - c), 0, 1) * alpha
            if 0 <= xx < w and a > 0:
                out[y, xx] = out[y, xx] * (1 - a) + value * a
                truth[y, xx] |= a > 0.3
    return out, truth


def test_a_scratch_is_a_candidate_an_edge_and_a_bar_border_are_not() -> None:
    lum = _frame()
    lum[:, 100:] += 0.25  # a vertical step edge in the picture
    lum[:, :12] = 0.0  # a letterbox bar, its border a hard edge
    lum[:, 12] = 0.9  # ... with a bright ringing line right beside it
    lum = np.clip(lum, 0, 1)
    damaged, truth = _scratch(lum, 55.0)
    dark, truth_dark = _scratch(damaged, 130.3, value=0.03)
    cand = line_candidates(dark, ScratchParams())
    rows = np.unique(np.nonzero(truth)[0])
    found_rows = [y for y in rows if cand[y, 52:59].any()]
    assert len(found_rows) >= 0.8 * len(rows)
    assert cand[:, 125:136].any(axis=1).sum() >= 0.8 * truth_dark.any(axis=1).sum()
    assert not cand[:, 97:103].any()  # the step edge
    assert not cand[:, :16].any()  # the bar and its border line


def test_texture_alone_gives_no_candidate() -> None:
    for seed in range(3):
        noisy = _frame(seed=seed) + np.random.default_rng(seed).normal(0, 0.03, (120, 160)).astype(np.float32)
        assert line_candidates(noisy, ScratchParams()).sum() == 0


def test_short_or_crooked_lines_are_not_scratches() -> None:
    lum = _frame(seed=4)
    short, _ = _scratch(lum, 60.0, top=40, bottom=80)  # a third of the height
    assert line_candidates(short, ScratchParams()).sum() == 0
    crooked = lum.copy()
    for y in range(5, 115):  # a wiggling line (a rope, a hair): not straight down the film
        x = int(80 + 6 * np.sin(y / 6))
        crooked[y, x:x + 2] = 0.97
    assert line_candidates(crooked, ScratchParams()).sum() == 0


def test_persistence_on_the_film_and_motion_votes() -> None:
    params = ScratchParams(persistence=3)
    line = np.zeros((60, 80), bool)
    line[5:55, 30:32] = True
    shifted = np.roll(line, 4, axis=1)
    still = np.zeros((60, 80), np.float32)
    moving = np.full((60, 80), 4.0, np.float32)  # the picture moves 4 px per frame
    # the line stays on the film while the picture moves: a scratch
    assert confirm_lines(line, [line, line, line, line], params, [moving] * 4).sum() == line.sum()
    # the line moves with the picture: part of the scene
    assert confirm_lines(line, [shifted] * 4, params, [moving] * 4).sum() == 0
    # seen in one other frame only: not persistent enough
    assert confirm_lines(line, [line] + [np.zeros_like(line)] * 3, params, [still] * 4).sum() == 0
    # a static shot: persistence alone decides
    assert confirm_lines(line, [line] * 4, params, [still] * 4).sum() == line.sum()


def test_inpaint_rows_interpolates_across_the_line() -> None:
    ramp = np.tile(np.linspace(0, 1, 40, dtype=np.float32), (10, 1))[..., None].repeat(3, axis=2)
    damaged = ramp.copy()
    mask = np.zeros((10, 40), bool)
    mask[:, 18:21] = True
    damaged[mask] = 1.0
    out = inpaint_rows(damaged, mask)
    assert np.abs(out - ramp).max() < 1e-5
    edge = damaged.copy()
    edge_mask = np.zeros((10, 40), bool)
    edge_mask[:, :3] = True  # at the frame border: the nearest known column
    out = inpaint_rows(edge, edge_mask)
    assert np.allclose(out[:, :3], ramp[:, 3:4])
