"""Real frames for the GAN and temporal tests (from ../shared/data; the callers skip when it is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

REDS = "basicvsrpp_reds_demo/demo_000"


def reds_frames(shared_dir: Path, count: int) -> list[np.ndarray]:
    """The first ``count`` REDS demo frames, RGB uint8 (180, 320, 3)."""
    import cv2

    folder = shared_dir / "data" / REDS
    files = sorted(folder.glob("*.png"))[:count]
    if len(files) < count:
        pytest.skip(f"{folder}: fewer than {count} frames")
    return [np.ascontiguousarray(cv2.imread(str(f), cv2.IMREAD_COLOR)[:, :, ::-1]) for f in files]


def real_crops(shared_dir: Path, count: int, *, size: int = 64, top: int = 60, left: int = 120) -> torch.Tensor:
    """``(count, 3, size, size)`` float crops of consecutive REDS frames (textured area)."""
    frames = reds_frames(shared_dir, count)
    arr = np.stack([f[top:top + size, left:left + size] for f in frames])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).float().div(255.0).contiguous()


def animevideo_weights(shared_dir: Path) -> Path:
    p = shared_dir / "weights" / "realesr-animevideov3.pth"
    if not p.is_file():
        pytest.skip(f"{p} missing from the shared data")
    return p
