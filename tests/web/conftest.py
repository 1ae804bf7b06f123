"""Fixtures of the web app's tests: a root folder holding a copy of samples/moving.mp4, a state
folder, and a test client of the app bound (as the server is by default) to 127.0.0.1."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed: pip install 'vidrestore[web]'")

ROOT = Path(__file__).resolve().parents[2]
MOVING = ROOT / "samples" / "moving.mp4"
LOCAL = "http://127.0.0.1:8765"


@pytest.fixture
def web_root(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    shutil.copy2(MOVING, root / "moving.mp4")
    return root


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


def make_client(roots: list[Path], state: Path, token: str | None = None, host: str = "127.0.0.1"):  # noqa: ANN201
    from fastapi.testclient import TestClient

    from vidrestore.web.app import create_app
    from vidrestore.web.server import prepare

    cfg = prepare(roots=[str(r) for r in roots], host=host, port=8765, token=token, state_dir=str(state))
    return TestClient(create_app(cfg), base_url=LOCAL)


@pytest.fixture
def client(web_root: Path, state_dir: Path):  # noqa: ANN201
    with make_client([web_root], state_dir) as c:
        yield c
