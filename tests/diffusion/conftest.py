"""Fixtures of the diffusion tests: tiny random-weight diffusers folders (built once), real and synthetic clips."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

REDS_FRAME = "basicvsrpp_reds_demo/demo_000/00000000.png"


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models gain nothing from intra-op threads, and on a loaded 2-core machine spinning OpenMP
    threads make every op wait for a second core (measured: 0.3 s vs 2-9 s per UNet call)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """upscale / latent / pixel tiny models saved as diffusers folders (seed 0)."""
    from vidrestore.restore.diffusion.tiny import make_tiny_model

    root = tmp_path_factory.mktemp("tiny-diffusion")
    return {layout: make_tiny_model(layout, root / layout) for layout in ("upscale", "latent", "pixel")}


@pytest.fixture(scope="session")
def tiny_model(tiny_dirs: dict[str, Path]) -> Callable[[str], object]:
    """``tiny_model(layout)``: the folder loaded with ``load_model`` (cached per layout)."""
    from vidrestore.restore.diffusion.models import load_model

    cache: dict[str, object] = {}

    def get(layout: str) -> object:
        if layout not in cache:
            cache[layout] = load_model(tiny_dirs[layout], device="cpu", precision="fp32")
        return cache[layout]

    return get


@pytest.fixture(scope="session")
def real_image(shared_data: Path) -> np.ndarray:
    """A real REDS frame (320x180) as float32 RGB (H, W, 3) in [0, 1]; skips when the shared data is absent."""
    import cv2

    path = shared_data / REDS_FRAME
    if not path.is_file():
        pytest.skip(f"{path} missing from the shared test data")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return bgr[..., ::-1].astype(np.float32) / 255.0
