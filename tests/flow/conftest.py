"""Fixtures of the flow tests: real frames from ../shared/data (skipped, with the reason, when absent)."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import shared_file
from tests.flow.synth import load_rgb


@pytest.fixture(scope="session")
def sintel_frames() -> list[torch.Tensor]:
    """The 10 consecutive Sintel frames of ../shared/data/raft_demo_frames, 436x1024."""
    folder = shared_file("raft_demo_frames")
    return [load_rgb(p) for p in sorted(folder.glob("frame_*.png"))]


@pytest.fixture(scope="session")
def film_frame() -> torch.Tensor:
    """One real old-film frame (579x340, grain and dust) from ../shared/data/old_films_bofb."""
    folder = shared_file("old_films_bofb/data_1/001")
    return load_rgb(sorted(folder.glob("*.png"))[0])
