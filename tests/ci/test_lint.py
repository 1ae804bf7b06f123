"""Lint and type checks run with the suite (so the README's one test command, and CI, run them).

ruff with the rules in pyproject.toml [tool.ruff] over the package, tests, tools and examples;
mypy over the core layer listed in [tool.mypy] (types, stage contract, sections, device, errors,
the Python API, the stage chain and the file-safety module).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tool(name: str) -> str:
    found = Path(sys.executable).with_name(name)
    if found.exists():
        return str(found)
    other = shutil.which(name)
    if other is None:
        pytest.fail(f"{name} is not installed: it is in the dev extra (bash tools/install.sh installs it)")
    return other


def test_ruff_is_clean() -> None:
    done = subprocess.run([_tool("ruff"), "check", "--output-format", "concise", "vidrestore", "tests", "tools",
                           "examples"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_is_clean_on_the_core() -> None:
    done = subprocess.run([_tool("mypy")], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
