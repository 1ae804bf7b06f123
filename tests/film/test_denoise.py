"""Temporal denoising weighted by warp error, and re-graining."""

from __future__ import annotations

import numpy as np
import torch

from tests.film.clips import texture
from vidrestore.film.denoise import grain, noise_sigma, temporal_denoise


def _views(n: int = 5, noise: float = 0.03, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    base = torch.from_numpy(texture(64, 96, seed=seed)).permute(2, 0, 1)
    views = torch.stack([base + torch.from_numpy(rng.normal(0, noise, base.shape).astype(np.float32))
                         for _ in range(n)])
    return base, views


def test_averaging_aligned_neighbours_cuts_the_noise() -> None:
    base, views = _views()
    center, warped = views[2:3], torch.cat([views[:2], views[3:]])
    out, weight = temporal_denoise(center, warped, torch.ones(4, 1, 64, 96))
    before = (center - base).std().item()
    after = (out - base).std().item()
    assert after < before / 1.9, (before, after)  # 5 frames averaged: ideally / 2.24
    assert weight > 3.0
    assert abs(noise_sigma(center, warped, torch.ones(4, 1, 64, 96, dtype=torch.bool)) - 0.03) < 0.004


def test_a_neighbour_showing_something_else_is_not_averaged_in() -> None:
    base, views = _views(seed=1)
    center, warped = views[2:3], torch.cat([views[:2], views[3:]]).clone()
    other = torch.from_numpy(texture(64, 96, seed=9)).permute(2, 0, 1)
    warped[1, :, 16:48, 24:72] = other[:, 16:48, 24:72]  # failed alignment in one neighbour
    out, _ = temporal_denoise(center, warped, torch.ones(4, 1, 64, 96))
    region = (slice(None), slice(None), slice(20, 44), slice(28, 68))
    err = (out - base)[region].abs().mean().item()
    leak = (out - base)[region].mean().item()
    assert err < 0.02 and abs(leak) < 0.003, (err, leak)


def test_untrusted_pixels_get_no_weight() -> None:
    base, views = _views(seed=2)
    center = views[2:3]
    warped = torch.zeros(4, 3, 64, 96)  # garbage, but marked untrusted
    out, weight = temporal_denoise(center, warped, torch.zeros(4, 1, 64, 96))
    assert torch.equal(out, center) and weight == 0.0


def test_grain_is_film_like_and_reproducible() -> None:
    grey = torch.full((1, 3, 128, 128), 0.5)
    g1 = grain(grey, sigma=4 / 255, seed=7, index=3)
    g2 = grain(grey, sigma=4 / 255, seed=7, index=3)
    g3 = grain(grey, sigma=4 / 255, seed=7, index=4)
    assert torch.equal(g1, g2) and not torch.equal(g1, g3)
    assert g1.shape == (1, 1, 128, 128)  # monochrome on a grey frame (broadcast over RGB)
    assert abs(g1.std().item() - 4 / 255) < 0.15 * 4 / 255  # mid-grey: full strength
    dark = grain(torch.full((1, 3, 128, 128), 0.02), sigma=4 / 255, seed=7, index=3)
    assert dark.std() < 0.65 * g1.std()  # weaker in the shadows
    big = grain(grey, sigma=4 / 255, size=3.0, seed=7, index=3)
    assert abs(big.std().item() - 4 / 255) < 0.2 * 4 / 255  # same strength, coarser
    lag1 = (big[..., 1:] * big[..., :-1]).mean() / big.var()
    assert lag1 > 0.5  # neighbouring pixels correlated: bigger grains
    colour = torch.rand(1, 3, 32, 32)
    assert not torch.equal(grain(colour, sigma=0.02)[:, 0], grain(colour, sigma=0.02)[:, 1])
