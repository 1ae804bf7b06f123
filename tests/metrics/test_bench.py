"""tools/bench.py: discovers areas, prints a table, rewrites only the sections it ran, survives a
failing area, and writes machine/date/command beside every row."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT))
from tools import bench  # noqa: E402

GOOD = '''
from tools.benchmarks.common import BenchRow
AREA = "Good area (issue 99)"
VALUE = {value!r}
def run(quick=False):
    return [BenchRow("speed of a thing", f"{{VALUE}} fps", target=">= 10 fps", passed=VALUE >= 10),
            BenchRow("size | with a pipe", "3 MB", command="python custom.py --flag", notes="quick" if quick else "")]
'''
BAD = '''
AREA = "Bad area"
def run(quick=False):
    raise RuntimeError("ran out of {what}")
'''
FIXED = '''
from tools.benchmarks.common import BenchRow
AREA = "Bad area"
def run(quick=False):
    return [BenchRow("now it works", "1 s")]
'''
BROKEN = "import a_module_that_does_not_exist_anywhere\nAREA = 'Broken'\n"


def make_package(tmp_path: Path, files: dict[str, str]) -> tuple[Path, str]:
    name = f"fakebench_{uuid.uuid4().hex[:8]}"
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "common.py").write_text("# a helper, not an area\n")
    for stem, text in files.items():
        (pkg / f"{stem}.py").write_text(text)
    return pkg, name


def run_bench(pkg: Path, name: str, doc: Path, *extra: str) -> int:
    return bench.main(["--bench-dir", str(pkg), "--package", name, "--doc", str(doc), *extra])


def sections(doc: Path) -> dict[str, str]:
    return bench.parse_doc(doc.read_text())[1]


def test_runs_all_areas_reports_failures_and_writes_the_doc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # modules are rewritten within a second
    pkg, name = make_package(tmp_path, {"good": GOOD.format(value=12), "bad": BAD.format(what="memory"),
                                        "broken": BROKEN})
    doc = tmp_path / "BENCHMARKS.md"
    assert run_bench(pkg, name, doc) == 0  # failures are reported, not fatal
    out, err = capsys.readouterr()
    assert "[ok] speed of a thing: 12 fps" in out
    assert "FAILED: RuntimeError: ran out of memory" in out
    assert "FAILED: import failed: ModuleNotFoundError" in out
    assert "2 area(s) failed: bad, broken" in err
    text = doc.read_text()
    assert text.startswith("# vidrestore benchmarks") and bench.HEADER_END in text
    secs = sections(doc)
    assert set(secs) == {"bad", "broken", "good"}
    machine = bench.machine()
    good_rows = [ln for ln in secs["good"].splitlines() if ln.startswith("| ") and "Measurement" not in ln]
    assert len(good_rows) == 2
    for row in good_rows:
        assert machine.replace("|", "\\|") in row  # machine, date and command beside every row
        assert row.count("`") == 2
    assert "`python tools/bench.py --only good`" in good_rows[0] and "✅" in good_rows[0]
    assert "`python custom.py --flag`" in good_rows[1] and "size \\| with a pipe" in good_rows[1]
    assert "Latest run failed" in secs["bad"] and "ran out of memory" in secs["bad"]
    assert "No successful run recorded yet" in secs["broken"]
    # --strict turns failures into exit code 1.
    assert run_bench(pkg, name, doc, "--strict", "--only", "bad") == 1


def test_only_rewrites_the_chosen_sections_and_keeps_old_numbers_of_failures(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # modules are rewritten within a second
    pkg, name = make_package(tmp_path, {"good": GOOD.format(value=12), "bad": FIXED})
    doc = tmp_path / "B.md"
    assert run_bench(pkg, name, doc) == 0
    first = sections(doc)
    assert "now it works" in first["bad"]
    # The "bad" area breaks: its last good numbers stay, marked not refreshed; "good" is untouched.
    (pkg / "bad.py").write_text(BAD.format(what="patience"))
    assert run_bench(pkg, name, doc, "--only", "bad") == 0
    second = sections(doc)
    assert second["good"] == first["good"]
    assert "now it works" in second["bad"] and "(not refreshed)" in second["bad"]
    assert "ran out of patience" in second["bad"]
    # A slower "good" run misses its target: the row says so, --strict fails, the title also selects.
    (pkg / "good.py").write_text(GOOD.format(value=5))
    assert run_bench(pkg, name, doc, "--only", "Good area", "--quick", "--strict") == 1
    third = sections(doc)
    assert "5 fps" in third["good"] and "❌" in third["good"] and "quick run" in third["good"]
    assert "--only good --quick" in third["good"]
    assert third["bad"] == second["bad"]
    assert list(bench.parse_doc(doc.read_text())[1]) == ["bad", "good"]  # order kept
    with pytest.raises(SystemExit, match="no area matches nothing-like-this"):
        run_bench(pkg, name, doc, "--only", "nothing-like-this")
    capsys.readouterr()


def test_the_project_areas_are_discovered() -> None:
    keys = bench.discover()
    assert "metrics" in keys and "common" not in keys and "measure" not in keys
    module = bench.import_area("metrics")
    assert module.AREA.startswith("Metrics") and callable(module.run)


def test_hand_written_text_between_and_after_areas_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Notes written by hand after an area (a table of design choices, say) survive a rewrite of any area."""
    monkeypatch.syspath_prepend(str(tmp_path))
    pkg, name = make_package(tmp_path, {"good": GOOD.format(value=12), "bad": FIXED})
    doc = tmp_path / "BENCH.md"
    assert run_bench(pkg, name, doc) == 0
    text = doc.read_text()
    end_bad, end_good = bench.END.format(key="bad"), bench.END.format(key="good")
    middle = "## Notes on the bad area\n\n| Choice | Measurement |\n|---|---|\n| a | b |\n"
    tail = "## Design choices\n\nwritten by hand.\n"
    text = text.replace(end_bad + "\n", end_bad + "\n\n" + middle).rstrip("\n") + "\n\n" + tail
    doc.write_text(text)
    for only in ("good", "bad"):
        assert run_bench(pkg, name, doc, "--only", only) == 0
        now = doc.read_text()
        assert middle in now and tail in now
        assert now.index(end_bad) < now.index(middle) < now.index(bench.BEGIN.format(key="good"))
        assert now.index(end_good) < now.index(tail)
    capsys.readouterr()
