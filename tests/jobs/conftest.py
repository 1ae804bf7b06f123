"""One torch/OpenCV thread in the job tests: the machine is shared, and a second thread that waits
for a busy core slows small models down 20x. Subprocesses get the same through the environment."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch: pytest.MonkeyPatch):
    import cv2
    import torch

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    before, before_cv = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    yield
    torch.set_num_threads(before)
    cv2.setNumThreads(before_cv)
