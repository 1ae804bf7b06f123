"""The data policy of CI: without its data a run under VIDRESTORE_REQUIRE_DATA=1 fails, saying what is
missing in one line; without the variable, data tests skip with the reason and the run says how many."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: One test that needs ../shared (a real-frame test) and one that does not, from the metrics area.
DATA_TEST = "tests/metrics/test_fidelity.py::test_real_frames_agree_with_scikit_image"
PLAIN_TEST = "tests/metrics/test_fidelity.py::test_identical_images_give_inf_psnr_and_ssim_one"


def _pytest(tmp_path: Path, data: Path, require: bool, *tests: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("VIDRESTORE_REQUIRE_DATA", "PYTEST_ADDOPTS")}
    env.update(VIDRESTORE_TEST_DATA=str(data), PYTHONPATH=str(ROOT))
    if require:
        env["VIDRESTORE_REQUIRE_DATA"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


def test_missing_data_folder_stops_the_run_in_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "no-data"
    empty.mkdir()
    r = _pytest(tmp_path, empty, True, DATA_TEST, PLAIN_TEST)
    out = (r.stdout + r.stderr).strip().splitlines()
    assert r.returncode != 0
    assert len(out) == 1, out
    assert "VIDRESTORE_REQUIRE_DATA=1" in out[0] and str(empty) in out[0]


def test_missing_file_fails_its_test_under_require_and_skips_without(tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    (partial / "data").mkdir(parents=True)
    required = _pytest(tmp_path, partial, True, DATA_TEST, PLAIN_TEST)
    assert required.returncode == 1, required.stdout[-2000:]
    assert "1 failed, 1 passed" in required.stdout
    assert "missing from the shared test data" in required.stdout
    relaxed = _pytest(tmp_path, partial, False, DATA_TEST, PLAIN_TEST)
    assert relaxed.returncode == 0, relaxed.stdout[-2000:]
    assert "1 passed, 1 skipped" in relaxed.stdout
    assert "vidrestore: 1 tests skipped (1 for missing test data" in relaxed.stdout


def test_markers_are_applied() -> None:
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider", "-m", "shared",
                        "tests/metrics/test_fidelity.py"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines = [ln for ln in r.stdout.splitlines() if "::" in ln]
    assert DATA_TEST in lines and PLAIN_TEST not in lines
