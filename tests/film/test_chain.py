"""The film stage with the other restorers: a GAN model chained after it (upscaling), diffusion as the inpainter."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from tests.conftest import shared_file
from tests.film.clips import frames_of, pan
from vidrestore.config import load_config
from vidrestore.film.damage import DamageSpec, render_damage
from vidrestore.film.ops import dilate
from vidrestore.film.processor import FilmProcessor
from vidrestore.pipeline.chain import Chain
from vidrestore.pipeline.factory import build_processor
from vidrestore.restore.gan.processor import GanProcessor
from vidrestore.types import VideoInfo


def _info(w: int, h: int, n: int) -> VideoInfo:
    return VideoInfo(path="clip.mp4", container="mp4", codec="h264", width=w, height=h, pix_fmt="yuv420p",
                     bit_depth=8, avg_rate=Fraction(24), real_rate=Fraction(24), time_base=Fraction(1, 24),
                     num_frames=n, num_frames_exact=True, duration=n / 24, start_time=0.0, rotation=0)


def test_film_then_gan_upscales_the_cleaned_frames() -> None:
    weights = shared_file("../weights/realesr-animevideov3.pth")
    cfg = load_config(preset="film", overrides=["restorer.name=realesr-animevideov3", f"restorer.weights={weights}",
                                                "restorer.scale=2"])
    info = _info(64, 48, 6)
    proc = build_processor(cfg, info)
    assert isinstance(proc, Chain) and [type(s) for _, s in proc.stages] == [FilmProcessor, GanProcessor]
    spec = proc.output_spec(info, (64, 48))
    assert (spec.width, spec.height) == (128, 96)
    frames = frames_of(pan(6, 48, 64, seed=3))
    out = list(proc.process(iter(frames)))
    assert [f.index for f in out] == list(range(6)) and [f.pts for f in out] == [f.pts for f in frames]
    assert all(f.rgb.shape == (96, 128, 3) for f in out)
    stats = proc.stats()
    assert stats["film_frames"] == 6 and stats["restorer_frames_restored"] == 6


def test_diffusion_inpaints_exactly_the_damaged_pixels(tmp_path: Path) -> None:
    from vidrestore.restore.diffusion.tiny import make_tiny_model

    folder = make_tiny_model("latent", tmp_path / "tiny")
    cfg = load_config(preset="film", overrides=["restorer.name=diffusion", f"restorer.model_path={folder}",
                                                "restorer.steps=2", "film.denoise=false", "film.deflicker=false"])
    proc = build_processor(cfg, _info(64, 48, 8))
    proc.keep_masks = True
    assert isinstance(proc, FilmProcessor) and proc.inpainter is not None  # the restorer inpaints: no stage after
    damage = render_damage(pan(8, 48, 64, seed=1), DamageSpec(seed=1, dust_per_megapixel=2000, flicker=0, grain=0))
    out = list(proc.process(iter(frames_of(damage.frames))))
    assert proc.stats()["inpainted_frames"] >= 4
    changed_any = 0
    for i, f in enumerate(out):
        dust, scratch = proc.last_masks[i]
        # the repair mask: detections widened by dust_dilate (1) plus the feathering margin
        allowed = dilate(torch.from_numpy(dust | scratch)[None, None], 2)[0, 0].numpy()
        diff = np.abs(f.rgb.astype(int) - damage.frames[i].astype(int)).max(axis=-1)
        assert (diff[~allowed] == 0).all(), i  # DDNM with the mask operator keeps every other pixel
        changed_any += int((diff[dust] > 0).sum())
    assert changed_any > 50
