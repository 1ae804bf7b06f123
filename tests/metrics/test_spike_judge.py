"""The independent judge of dirt on real film (tools/benchmarks/_spike_judge.py): it finds a one-frame
speck, leaves smooth motion alone, and shares nothing with the restorer's detector."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from tools.benchmarks import _spike_judge as judge

ROOT = Path(__file__).resolve().parents[2]


def _texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    small = rng.uniform(60, 190, (h // 8 + 2, w // 8 + 2, 3)).astype(np.float32)
    return cv2.resize(small, (w + 16, h + 16), interpolation=cv2.INTER_CUBIC)


def _pan(n: int, speed: float, h: int = 72, w: int = 96) -> list[np.ndarray]:
    big = _texture(h, w + int(speed * n) + 8)
    return [np.clip(big[8:8 + h, int(round(8 + speed * i)):int(round(8 + speed * i)) + w], 0, 255).astype(np.uint8)
            for i in range(n)]


def test_a_one_frame_speck_is_found_once() -> None:
    frames = _pan(7, 0.0)
    frames[3] = frames[3].copy()
    frames[3][30:36, 40:46] = 10  # a dark speck of 36 px in one frame
    got = judge.judge_clip(frames)
    assert got.judged == [1, 2, 3, 4, 5]  # the first and last frames have no neighbour on one side
    assert got.regions[3] == 1 and got.pixels[3] >= 25
    assert got.total_regions() == 1


def test_smooth_motion_and_grain_are_not_spikes() -> None:
    rng = np.random.default_rng(1)
    frames = [np.clip(f + rng.normal(0, 3, f.shape), 0, 255).astype(np.uint8) for f in _pan(7, 1.5)]
    assert judge.judge_clip(frames).total_regions() == 0


def test_the_judge_shares_no_code_with_the_restorer() -> None:
    tree = ast.parse((ROOT / "tools" / "benchmarks" / "_spike_judge.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(m.startswith("vidrestore") for m in imported), imported
