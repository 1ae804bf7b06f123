"""Clips for the film tests: synthetic textures with known motion, and real frames from ../shared."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from vidrestore.types import Frame


def texture(h: int, w: int, *, seed: int = 0, grey: bool = False) -> np.ndarray:
    """Float ``(h, w, 3)`` in [0.1, 0.9]: noise at several scales plus a few sharp shapes (enough for flow)."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.float32)
    for scale, amp in ((3, 0.35), (9, 0.35), (25, 0.3)):
        n = rng.normal(0, 1, (h, w, 3)).astype(np.float32)
        n = cv2.GaussianBlur(n, (0, 0), scale / 2)
        n /= max(float(n.std()), 1e-6)
        img += amp * n
    for _ in range(max(2, h * w // 3000)):
        cy, cx, r = rng.integers(0, h), rng.integers(0, w), int(rng.integers(3, 10))
        cv2.circle(img, (int(cx), int(cy)), r, tuple(float(v) for v in rng.normal(0, 1.5, 3)), -1)
    img = (img - img.min()) / (img.max() - img.min())
    img = 0.1 + 0.8 * img
    if grey:
        img = np.repeat(img.mean(axis=2, keepdims=True), 3, axis=2)
    return img


def pan(n: int, h: int, w: int, *, speed: tuple[float, float] = (1.5, 0.7), seed: int = 0,
        grey: bool = False, tint: tuple[float, float, float] | None = None) -> list[np.ndarray]:
    """``n`` uint8 frames of a texture panning by ``speed`` px per frame (sub-pixel, bicubic).

    ``tint`` squares the texture and scales its channels (a scene that looks nothing like the default).
    """
    import cv2

    margin = int(np.ceil(max(abs(speed[0]), abs(speed[1])) * n)) + 4
    big = texture(h + 2 * margin, w + 2 * margin, seed=seed, grey=grey)
    if tint is not None:
        big = big**2 * np.asarray(tint, np.float32)
    out = []
    for t in range(n):
        m = np.float32([[1, 0, margin + speed[0] * t], [0, 1, margin + speed[1] * t]])
        f = cv2.warpAffine(big, m, (w, h), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP)
        out.append(np.clip(np.rint(f * 255), 0, 255).astype(np.uint8))
    return out


def frames_of(images: list[np.ndarray], *, time_base: Fraction = Fraction(1, 24), start: int = 0) -> list[Frame]:
    return [Frame(index=start + i, pts=(start + i) * 3, time_base=time_base, rgb=img) for i, img in enumerate(images)]


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    d = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    if mask is not None:
        d = d[mask]
    mse = float(d.mean())
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def reds_frames(folder: Path, n: int = 21) -> list[np.ndarray]:
    """The REDS demo clip (``folder`` = shared/data/basicvsrpp_reds_demo), first ``n`` frames."""
    import cv2

    files = sorted((folder / "demo_000").glob("*.png"))[:n]
    return [cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB) for f in files]


def run_film(images: list[np.ndarray], *overrides: str, keep_masks: bool = True, analyse_only: bool = False):
    """FilmProcessor (DIS flow) over ``images``; returns ``(output images, processor)``."""
    from vidrestore.config import load_config
    from vidrestore.pipeline.stages import build_film as build_processor

    cfg = load_config(preset="film", overrides=list(overrides))
    proc = build_processor(cfg, None)  # type: ignore[arg-type]
    proc.keep_masks = keep_masks
    proc.analyse_only = analyse_only
    out = [f.rgb for f in proc.process(iter(frames_of(images)))]
    return out, proc
