"""The film stage on torch's kernels (what runs on a GPU) agrees with the OpenCV path on the CPU."""

from __future__ import annotations

import numpy as np
import pytest

from tests.film.clips import pan, psnr, run_film
from vidrestore.film.damage import DamageSpec, render_damage


@pytest.fixture(scope="module")
def damaged():
    clean = pan(8, 96, 128, seed=2)
    damage = render_damage(clean, DamageSpec(seed=5, dust_per_megapixel=600.0))
    return clean, damage.frames


def _masks(proc, n: int) -> list[np.ndarray]:
    return [proc.last_masks[i][0] for i in range(n)]


def test_torch_kernels_on_the_cpu_match_the_opencv_path(damaged) -> None:
    clean, frames = damaged
    ref, p_ref = run_film(frames)
    out, p_out = run_film(frames, "film.torch_ops=true")
    assert len(out) == len(ref) == len(frames)
    # the warps differ in the last bits (OpenCV's fixed-point sub-pixel positions, torch's float ones)
    assert min(psnr(a, b) for a, b in zip(out, ref)) > 45.0
    m_ref, m_out = _masks(p_ref, len(ref)), _masks(p_out, len(out))
    union = sum(int((a | b).sum()) for a, b in zip(m_ref, m_out))
    inter = sum(int((a & b).sum()) for a, b in zip(m_ref, m_out))
    assert union > 50 and inter / union > 0.97  # the same dust found
    gain_ref = np.mean([psnr(o, c) for o, c in zip(ref, clean)])
    gain_out = np.mean([psnr(o, c) for o, c in zip(out, clean)])
    assert abs(gain_out - gain_ref) < 0.05


def test_the_torch_kernels_are_really_used(damaged, monkeypatch: pytest.MonkeyPatch) -> None:
    """With film.torch_ops the warps never reach OpenCV's remap (so a CUDA tensor would stay on its device)."""
    import cv2

    calls = {"n": 0}
    real = cv2.remap

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(cv2, "remap", counting)
    run_film(damaged[1][:4], "film.torch_ops=true")
    assert calls["n"] == 0
    run_film(damaged[1][:4])
    assert calls["n"] > 0


def test_cuda_asked_for_without_a_gpu_is_one_clear_error() -> None:
    import torch

    from vidrestore.config import load_config
    from vidrestore.errors import ConfigError
    from vidrestore.pipeline.stages import build_film as build_processor

    if torch.cuda.is_available():
        pytest.skip("a GPU is here")
    with pytest.raises(ConfigError, match="film.device: cuda"):
        build_processor(load_config(preset="film", overrides=["film.device=cuda"]), None)  # type: ignore[arg-type]


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_the_cpu(damaged) -> None:
    _, frames = damaged
    ref, _ = run_film(frames)
    out, _ = run_film(frames, "film.device=cuda")
    assert min(psnr(a, b) for a, b in zip(out, ref)) > 40.0


def test_parallel_passes_give_the_same_frames_within_their_stated_read_ahead() -> None:
    """film.parallel: the two dust passes in two threads give the frames of one thread, bit for bit, and read at
    most 6 frames beyond the declared look-ahead (the hand-over queue)."""
    from fractions import Fraction

    from vidrestore.config import load_config
    from vidrestore.pipeline.stages import build_film as build_processor
    from vidrestore.types import Frame

    images = render_damage(pan(14, 48, 64, seed=1), DamageSpec(seed=2, dust_per_megapixel=900.0)).frames
    ref, _ = run_film(images)
    proc = build_processor(load_config(preset="film", overrides=["film.parallel=true"]), None)  # type: ignore[arg-type]
    assert proc._parallel()
    pulled: list[int] = []

    def source():
        for i, im in enumerate(images):
            pulled.append(i)
            yield Frame(index=i, pts=i, time_base=Fraction(1, 24), rgb=im)

    out = []
    for f in proc.process(source()):
        assert len(pulled) - len(out) <= proc.lookahead_frames + 1 + 6
        out.append(f.rgb)
    assert len(out) == len(ref) and all(np.array_equal(a, b) for a, b in zip(out, ref))
