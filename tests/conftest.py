"""Shared fixtures: test data location, offline guard, sample clips."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _find_shared() -> Path | None:
    env = os.environ.get("VIDRESTORE_TEST_DATA")
    candidates = [Path(env)] if env else []
    candidates += [ROOT.parent / "shared", ROOT / "shared"]
    for c in candidates:
        if (c / "data").is_dir():
            return c
    return None


SHARED = _find_shared()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared (or $VIDRESTORE_TEST_DATA); skips with the reason when absent."""
    if SHARED is None:
        pytest.skip("real test data not found: set VIDRESTORE_TEST_DATA or place shared/ beside the project")
    return SHARED


@pytest.fixture(scope="session")
def shared_data(shared_dir: Path) -> Path:
    return shared_dir / "data"


def shared_file(rel: str) -> Path:
    """Path to a file under shared/data, skipping the test when it is missing."""
    if SHARED is None:
        pytest.skip("real test data not found: set VIDRESTORE_TEST_DATA or place shared/ beside the project")
    p = SHARED / "data" / rel
    if not p.exists():
        pytest.skip(f"{p} missing from the shared test data")
    return p


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never touch the network, and never read the user's weights cache."""
    monkeypatch.setenv("VIDRESTORE_OFFLINE", "1")
    cache = tmp_path_factory.getbasetemp() / "vidrestore-cache"
    monkeypatch.setenv("VIDRESTORE_CACHE", str(cache))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path_factory.getbasetemp() / "torch-home"))
    monkeypatch.delenv("VIDRESTORE_WEIGHTS", raising=False)

    import urllib.request

    def _no_network(*args, **kwargs):  # pragma: no cover - only hit by a faulty test
        raise AssertionError("tests must not use the network")

    monkeypatch.setattr(urllib.request, "urlopen", _no_network)


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """samples/ made by tools/make_samples.py (generated on the fly when missing)."""
    d = ROOT / "samples"
    if not (d / "moving.mp4").exists():
        import subprocess
        import sys

        subprocess.run([sys.executable, str(ROOT / "tools" / "make_samples.py"), "--out", str(d)], check=True)
    return d
