"""DiffusionProcessor fed Frame objects directly: order, pts, bit depth, streaming, odd sizes, settings from config."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from tests.diffusion.clips import textured
from vidrestore.config import load_config
from vidrestore.restore.diffusion.processor import DiffusionProcessor, settings_from_config
from vidrestore.restore.diffusion.restorer import DiffusionRestorer, DiffusionSettings
from vidrestore.types import Frame


def _frames(n: int, h: int, w: int, dtype=np.uint16) -> list[Frame]:
    """A texture panning 1 px per frame, irregular pts."""
    scale = 65535 if dtype == np.uint16 else 255
    big = textured(h, w + n, seed=1)
    return [Frame(index=i, pts=1000 + 37 * i * i, time_base=Fraction(1, 1000),
                  rgb=np.ascontiguousarray((big[:, n - i:n - i + w] * scale).round().astype(dtype))) for i in range(n)]


def test_processor_streams_every_frame_in_order_with_its_pts_and_depth(tiny_model) -> None:
    restorer = DiffusionRestorer(model=tiny_model("latent"), settings=DiffusionSettings(steps=4, strength=0.5))
    proc = DiffusionProcessor(restorer=restorer, window=3, overlap=1)
    frames = _frames(5, 13, 19)  # odd size: padded to the VAE multiple inside, cropped back
    pulled: list[int] = []

    def source():
        for f in frames:
            pulled.append(f.index)
            yield f

    out = []
    for f in proc.process(source()):
        assert len(pulled) - len(out) <= 3  # never more than one window ahead
        out.append(f)
    assert [f.index for f in out] == [f.index for f in frames]
    assert [f.pts for f in out] == [f.pts for f in frames]
    assert all(f.rgb.dtype == np.uint16 and f.rgb.shape == (13, 19, 3) for f in out)
    stats = proc.stats()
    assert stats["frames"] == 5 and stats["flow_pairs"] == 4 and stats["seconds_per_frame"] > 0
    assert stats["linked_frames"] == 4 and stats["scene_cuts"] == 0, stats


def test_unrelated_frames_are_scene_cuts_not_links(tiny_model) -> None:
    restorer = DiffusionRestorer(model=tiny_model("latent"), settings=DiffusionSettings(steps=2, strength=0.5))
    x = torch.from_numpy(np.stack([textured(16, 24, seed=s) for s in (1, 2)])).permute(0, 3, 1, 2)
    restorer.restore(x, window=2, overlap=0)
    assert restorer.stats.cuts == 1 and restorer.stats.linked == 0


def test_pixel_model_on_odd_sizes(tiny_model) -> None:
    x = torch.from_numpy(textured(13, 19)).permute(2, 0, 1)[None]
    out = DiffusionRestorer(model=tiny_model("pixel"), settings=DiffusionSettings(steps=4)).restore(x)
    assert out.shape == (1, 3, 13, 19) and torch.isfinite(out).all()


def test_settings_from_the_preset_and_overrides() -> None:
    cfg = load_config(preset="diffusion", overrides=["restorer.tile=64", "restorer.tile_overlap=16",
                                                     "temporal.latent_consistency=false", "diffusion.sampler=dpmpp"])
    up = settings_from_config(cfg, vae_factor=4, layout="upscale")
    assert (up.scale, up.tile, up.tile_overlap, up.consistency, up.sampler) == (4.0, 64, 16, False, "dpmpp")
    latent = settings_from_config(cfg, vae_factor=8, layout="latent")  # input x4, then /8 to the latent grid
    assert (latent.tile, latent.tile_overlap) == (32, 8)
    assert (cfg.restorer.steps, cfg.restorer.strength, cfg.restorer.seed) == (20, 0.5, 0)


@pytest.mark.parametrize("bad", ["diffusion.sampler=euler", "diffusion.color_fix=magic", "restorer.strength=0"])
def test_bad_settings_are_config_errors(bad: str) -> None:
    from vidrestore.errors import ConfigError

    with pytest.raises(ConfigError):
        load_config(preset="diffusion", overrides=[bad])


def test_the_chain_never_crosses_a_scene_cut(tiny_model, real_image) -> None:
    """Two shots of a real frame (moving crops of different places): the second shot starts a new chain."""
    from tests.diffusion.clips import translated_clip

    shot_a = translated_clip(real_image, n=3, size=(24, 32), step=(1, 0), origin=(10, 20))
    shot_b = translated_clip(real_image, n=3, size=(24, 32), step=(1, 0), origin=(120, 250))
    restorer = DiffusionRestorer(model=tiny_model("latent"), settings=DiffusionSettings(steps=2, strength=0.5))
    restorer.restore(torch.cat([shot_a, shot_b]), window=4, overlap=1)
    assert restorer.stats.cuts == 1 and restorer.stats.linked == 4, restorer.stats.as_dict()
