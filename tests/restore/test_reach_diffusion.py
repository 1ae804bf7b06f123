"""The diffusion processor as segments: within a stated tolerance of one pass with its warm-up, not without.

Tiny random-weight x4 upscaler (``make_tiny_model``, seed 0), a real REDS frame translated by (1, 1)
px per frame (16x24 -> 64x96), 8 steps at strength 0.6, windows of 4 sharing 1, noise anchors every
8 frames, scene cuts off (their bounded memory is tested in tests/film/test_segments.py).
Measured over every anchor phase (segment starts 17..32, 6 owned frames each): with
``segment_warmup`` 8 the worst owned frame was 62.3 dB from one pass; with no warm-up 18.7..23.9 dB.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from tests.conftest import shared_file
from vidrestore.types import Frame

N = 40
TOLERANCE_DB = 55.0  # measured worst 62.3 dB with segment_warmup 8, minus a margin


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def processor(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from vidrestore.restore.diffusion.models import load_model
    from vidrestore.restore.diffusion.processor import DiffusionProcessor
    from vidrestore.restore.diffusion.restorer import DiffusionRestorer, DiffusionSettings
    from vidrestore.restore.diffusion.tiny import make_tiny_model

    folder = make_tiny_model("upscale", tmp_path_factory.mktemp("tiny") / "upscale")
    model = load_model(folder, device="cpu", precision="fp32")
    settings = DiffusionSettings(steps=8, strength=0.6, scene_cut=False, noise_anchor=8)
    return DiffusionProcessor(restorer=DiffusionRestorer(model=model, settings=settings), window=4, overlap=1,
                              segment_warmup=8)


@pytest.fixture(scope="module")
def frames() -> list[Frame]:
    import cv2

    from tests.diffusion.clips import translated_clip

    bgr = cv2.imread(str(shared_file("basicvsrpp_reds_demo/demo_000/00000000.png")))
    clip = translated_clip(bgr[..., ::-1].astype(np.float32) / 255, n=N, size=(16, 24), step=(1, 1), origin=(20, 60))
    rgb = (clip.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    return [Frame(index=i, pts=i, time_base=Fraction(1, 25), rgb=rgb[i]) for i in range(N)]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def test_a_segment_with_its_warm_up_is_within_the_tolerance_and_without_it_is_not(processor, frames) -> None:
    assert (processor.warmup_frames, processor.lookahead_frames) == (8 + 8, 0)  # anchor span + chain fade
    one_pass = [f.rgb for f in processor.process(iter(frames))]
    assert len(one_pass) == N

    def segment(start: int, stop: int, warmup: int) -> list[float]:
        out = {f.index: f.rgb for f in processor.process(iter(frames[start - warmup:stop]))}
        return [_psnr(out[i], one_pass[i]) for i in range(start, stop)]

    for start in (17, 25):  # the two anchor phases measured worst
        stop = start + 6
        with_warmup = segment(start, stop, processor.warmup_frames)
        cold = segment(start, stop, 0)
        assert min(with_warmup) >= TOLERANCE_DB, (start, with_warmup)
        assert min(cold) < 30.0, (start, cold)  # a cold start is clearly off: the warm-up is what closes the gap


def test_default_reach_from_the_config() -> None:
    from vidrestore.config import load_config
    from vidrestore.flow.cutmemory import CUT_MEMORY

    d = load_config(preset="diffusion").diffusion
    assert (d.noise_anchor, d.segment_warmup) == (16, 16) and CUT_MEMORY == 24
    # build_processor needs a model folder; the formula is max(noise_anchor, CUT_MEMORY) + segment_warmup
    from types import SimpleNamespace

    from vidrestore.restore.diffusion.processor import DiffusionProcessor
    from vidrestore.restore.diffusion.restorer import DiffusionSettings

    def reach(**kw: object) -> tuple[int, int]:
        restorer = SimpleNamespace(settings=DiffusionSettings(**kw))  # type: ignore[arg-type]
        proc = DiffusionProcessor(restorer=restorer, window=4, overlap=1, segment_warmup=d.segment_warmup)
        return proc.warmup_frames, proc.lookahead_frames

    assert reach() == (24 + 16, 0)
    assert reach(scene_cut=False, noise_anchor=32) == (32 + 16, 0)
    assert reach(consistency=False) == (0, 0)  # frames independent of each other


def test_static_content_keeps_its_noise_across_an_anchor(processor) -> None:
    """Re-basing the noise at anchors changes nothing where nothing moves (frames 6..9 cross anchor 8)."""
    import cv2

    bgr = cv2.imread(str(shared_file("basicvsrpp_reds_demo/demo_000/00000000.png")))[40:56, 100:124]
    still = [Frame(index=6 + i, pts=6 + i, time_base=Fraction(1, 25), rgb=np.ascontiguousarray(bgr[..., ::-1]))
             for i in range(4)]
    out = [f.rgb.astype(int) for f in processor.process(iter(still))]
    assert max(int(np.abs(o - out[0]).max()) for o in out) <= 1
