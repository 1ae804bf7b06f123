"""Synthetic scenes with known motion, and small clips written with PyAV, for the interpolation tests."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import torch


def texture(height: int, width: int, seed: int, *, tint: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """A natural-looking multi-scale random texture, float32 ``(H, W, 3)`` in [0, 1]."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.zeros((height, width, 3), np.float32)
    for scale, weight in ((4, 0.5), (8, 0.3), (24, 0.2)):
        small = rng.random((max(2, height // scale), max(2, width // scale), 3)).astype(np.float32)
        img += weight * cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    img = (img - img.min()) / (img.max() - img.min())
    return np.clip(img * np.asarray(tint, np.float32), 0.0, 1.0)


def shifted(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``img`` moved by (dx, dy) px (content at x goes to x + dx), bicubic, reflected borders."""
    import cv2

    m = np.float32([[1, 0, dx], [0, 1, dy]])
    h, w = img.shape[:2]
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT101)


def to_u8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


def tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float()


def constant_flow(dx: float, dy: float, height: int, width: int) -> torch.Tensor:
    return torch.tensor([dx, dy], dtype=torch.float32).view(1, 2, 1, 1).expand(1, 2, height, width).contiguous()


def psnr(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor, peak: float = 1.0) -> float:
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else a
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(peak**2 / mse)


def square_scene(t: float, *, size: int = 96, side: int = 32, x0: float = 20.0, travel: float = 16.0,
                 seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A textured square sliding ``travel`` px right over a static background; frame at time t and its square mask."""
    bg = texture(size, size, seed, tint=(0.6, 0.9, 0.7))
    fg = texture(side, side, seed + 1, tint=(1.0, 0.5, 0.4))
    img = bg.copy()
    x = int(round(x0 + travel * t))
    y = (size - side) // 2
    img[y:y + side, x:x + side] = fg
    mask = np.zeros((size, size), bool)
    mask[y:y + side, x:x + side] = True
    return img, mask


def square_flows(*, size: int = 96, side: int = 32, x0: float = 20.0, travel: float = 16.0) -> tuple[torch.Tensor, torch.Tensor]:
    """True ``flow_0_to_1`` and ``flow_1_to_0`` of :func:`square_scene` (background static)."""
    f01 = torch.zeros(1, 2, size, size)
    f10 = torch.zeros(1, 2, size, size)
    y = (size - side) // 2
    xa, xb = int(round(x0)), int(round(x0 + travel))
    f01[0, 0, y:y + side, xa:xa + side] = travel
    f10[0, 0, y:y + side, xb:xb + side] = -travel
    return f01, f10


def write_clip(path: Path, frames: list[np.ndarray], *, rate: Fraction = Fraction(24),
               pts: list[int] | None = None, time_base: Fraction | None = None, audio: bool = True,
               crf: int = 10) -> Path:
    """Encode RGB uint8 frames to ``path`` (H.264) with an AAC sine track as long as the video."""
    import av

    h, w = frames[0].shape[:2]
    time_base = time_base or 1 / rate
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=rate, options={"crf": str(crf), "preset": "veryfast"})
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.time_base = time_base
        vs.codec_context.time_base = time_base
        aus = None
        if audio:
            aus = c.add_stream("aac", rate=48000)
            aus.layout = "mono"
        for i, rgb in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            vf.pts = pts[i] if pts is not None else int(round(Fraction(i) / rate / time_base))
            vf.time_base = time_base
            for p in vs.encode(vf):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
        if aus is not None:
            last = pts[-1] * time_base + (pts[-1] - pts[-2]) * time_base if pts else Fraction(len(frames)) / rate
            samples = int(round(float(last) * 48000))
            tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / 48000)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = tone[start:start + 1024][None]
                af = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
                af.sample_rate = 48000
                af.pts = start
                for p in aus.encode(af):
                    c.mux(p)
            for p in aus.encode():
                c.mux(p)
    return path
