"""frames=(start, stop): the outputs of input frames [start, stop) equal the same frames of a full run.

The range runs as one segment fed the warm-up and look-ahead frames of the stage chain's reach, so
a preview shows exactly what the whole job will give. Checked on samples/moving.mp4 with the film
preset (one output per input frame) and the interpolate preset (two per input frame), as PNG
folders (lossless, so equality is exact).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.jobs.helpers import frames_of
from vidrestore import api

ROOT = Path(__file__).resolve().parents[2]
MOVING = str(ROOT / "samples" / "moving.mp4")


@pytest.fixture(scope="module")
def full_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One whole run per preset, shared by the range tests."""
    import cv2
    import torch

    before = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    try:
        root = tmp_path_factory.mktemp("full")
        out = {}
        for command, preset in (("restore", "film"), ("interpolate", "interpolate")):
            out[preset] = root / preset
            api.run(api.JobSpec(command=command, input=MOVING, output=str(out[preset]), preset=preset,
                                segmented=False))
        return out
    finally:
        torch.set_num_threads(before[0])
        cv2.setNumThreads(before[1])


@pytest.mark.parametrize("command, preset, frames, per_frame", [
    ("restore", "film", (30, 40), 1),
    ("restore", "film", (0, 4), 1),
    ("interpolate", "interpolate", (33, 38), 2),
    ("interpolate", "interpolate", (71, 75), 2),
])
def test_a_range_equals_those_frames_of_the_full_run(full_runs: dict[str, Path], tmp_path: Path, command: str,
                                                      preset: str, frames: tuple[int, int], per_frame: int) -> None:
    out = tmp_path / "range"
    seen: list[api.Progress] = []
    result = api.run(api.JobSpec(command=command, input=MOVING, output=str(out), preset=preset, frames=frames),
                     progress=seen.append)
    start, stop = frames
    assert result.frames_in == stop - start and result.frames_out == (stop - start) * per_frame
    assert not Path(str(out) + ".vidrestore-work").exists()
    full_times, full = frames_of(full_runs[preset])
    times, got = frames_of(out)
    want = full[start * per_frame:stop * per_frame]
    assert len(got) == len(want)
    for k, (a, b) in enumerate(zip(got, want)):
        assert np.array_equal(a, b), f"frame {start * per_frame + k} differs from the full run"
    assert seen[-1].phase == "join" and seen[-1].done == result.frames_out or seen[-1].total is None
