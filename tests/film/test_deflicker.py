"""Deflicker: pair fits, the exposure chain and its smoothing (flicker out, fades kept), on the processor too."""

from __future__ import annotations

import numpy as np
import pytest

from tests.film.clips import pan, run_film, texture
from vidrestore.film.deflicker import ExposureTrack, PairFit, _local_linear, fit_pair


def _lum(h: int = 96, w: int = 128, seed: int = 0) -> np.ndarray:
    return texture(h, w, seed=seed).mean(axis=2)


def test_fit_pair_recovers_gain_and_offset_despite_dirt_and_noise() -> None:
    rng = np.random.default_rng(1)
    clean = _lum()
    x = clean + rng.normal(0, 0.01, clean.shape)  # both frames grainy, as film is
    y = 1.12 * clean + 0.03 + rng.normal(0, 0.01, clean.shape)
    y[10:16, 20:26] = 0.02  # dirt in one frame only
    x[50:55, 90:96] = 0.98
    fit = fit_pair(x, y, np.ones_like(x, dtype=bool))
    assert abs(fit.gain.item() - 1.12) < 0.02 and abs(fit.offset.item() - 0.03) < 0.01
    # what matters is the map: over the frame's range it predicts the other frame within 0.4 %
    levels = np.linspace(x.min(), x.max(), 50)
    err = np.abs(fit.gain.item() * levels + fit.offset.item() - (1.12 * levels + 0.03))
    assert err.max() < 0.004, err.max()
    assert fit.reliable.item()


def test_fit_pair_ignores_untrusted_pixels_and_fits_regions() -> None:
    x = _lum(seed=2)
    y = x.copy()
    y[:48, :64] *= 0.9  # a 2x2 grid with different gains per quadrant
    y[:48, 64:] *= 1.0
    y[48:, :64] *= 1.1
    y[48:, 64:] *= 1.2
    valid = np.ones_like(x, dtype=bool)
    y_bad = y.copy()
    y_bad[:, :20] = 0.5  # garbage where the flow failed
    valid[:, :20] = False
    fit = fit_pair(x, y_bad, valid, grid=2)
    for (i, j), g in {(0, 0): 0.9, (0, 1): 1.0, (1, 0): 1.1, (1, 1): 1.2}.items():
        # gain and offset together map the quadrant's mean correctly
        mean = x[i * 48:(i + 1) * 48, j * 64:(j + 1) * 64].mean()
        assert abs(fit.gain[i, j] * mean + fit.offset[i, j] - g * mean) < 0.005, (i, j, fit.gain, fit.offset)


def test_fit_pair_shape_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        fit_pair(np.zeros((4, 4)), np.zeros((4, 5)), np.ones((4, 4), bool))


def test_local_linear_reproduces_a_line_even_at_the_ends() -> None:
    t = np.arange(-8, 1, dtype=np.float64)[:, None, None]  # the last frame of a shot: one-sided window
    w = 9.0 - np.abs(t)
    y = 0.5 - 0.04 * t  # a strong fade: its slope is far above any jitter
    assert abs(_local_linear(t, w, y).item() - 0.5) < 1e-9


def _track(exposures: np.ndarray, window: int, cuts: tuple[int, ...] = ()) -> np.ndarray:
    """Corrected exposure of each frame when the pair fits are exact."""
    tr = ExposureTrack(window=window)
    for i, g in enumerate(exposures):
        if i == 0 or i in cuts:
            tr.start_shot(i)
        else:
            a = np.array([[g / exposures[i - 1]]])
            tr.push(i, PairFit(gain=a, offset=np.zeros((1, 1)), reliable=np.ones((1, 1), bool)))
    out = []
    for i, g in enumerate(exposures):
        c, d = tr.correction(i)
        out.append(c.item() * g + d.item())
    return np.array(out)


def test_flicker_is_removed_and_a_fade_is_kept() -> None:
    rng = np.random.default_rng(3)
    n = 40
    fade = np.linspace(1.0, 0.35, n)  # fade to a third over the clip
    flicker = rng.uniform(0.85, 1.15, n)
    corrected = _track(fade * flicker, window=8)
    ratio = corrected / fade
    # the correction is relative to the first frame's exposure: compare shapes, not the level
    ratio /= ratio.mean()
    assert ratio.std() < 0.3 * flicker.std(), (ratio.std(), flicker.std())
    # the fade survives: the last quarter is as much darker than the first as in the original
    kept = corrected[-10:].mean() / corrected[:10].mean()
    assert abs(kept - fade[-10:].mean() / fade[:10].mean()) < 0.05, kept


def test_smoothing_never_reaches_across_a_cut() -> None:
    exposures = np.array([1.0] * 10 + [0.5] * 10)  # a cut to a darker shot at frame 10
    corrected = _track(exposures, window=8, cuts=(10,))
    assert np.allclose(corrected[:10], 1.0) and np.allclose(corrected[10:], 0.5)


def test_processor_deflickers_toward_the_smoothed_exposure() -> None:
    rng = np.random.default_rng(5)
    clean = pan(16, 72, 96, seed=4)
    gains = rng.uniform(0.85, 1.15, len(clean))
    flick = [np.clip(np.rint(f * g), 0, 255).astype(np.uint8) for f, g in zip(clean, gains)]
    out, proc = run_film(flick, "film.dust=false", "film.scratches=false", "film.denoise=false")
    level_in = np.array([f.mean() for f in flick]) / np.array([c.mean() for c in clean])
    level_out = np.array([f.mean() for f in out]) / np.array([c.mean() for c in clean])
    # flicker is the frame-to-frame jump of the exposure; a slow drift is what a fade looks like
    jump_in = np.abs(np.diff(level_in)).mean()
    jump_out = np.abs(np.diff(level_out)).mean()
    assert jump_out < 0.25 * jump_in, (jump_out, jump_in)
    assert proc.stats()["film_frames"] == 16
