"""Fixtures of the API tests: one torch/OpenCV thread (the machine is shared), the job tests' processors
registered, and the decloud tests' small GeoTIFF series."""

from __future__ import annotations

import pytest

from tests.decloud.conftest import s2_folder  # noqa: F401 - a fixture shared with the decloud tests
from tests.jobs.conftest import _one_thread  # noqa: F401 - autouse: one thread per test


@pytest.fixture(autouse=True)
def _test_processors(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.jobs.clips import register
    from vidrestore.pipeline import factory

    monkeypatch.setattr(factory, "PROCESSORS", dict(factory.PROCESSORS))
    register(factory.PROCESSORS)
