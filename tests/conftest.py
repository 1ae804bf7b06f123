"""Shared fixtures: test data location, offline guard, sample clips, markers, the data policy of CI, and the
config loader's deprecation lines (``deprecations``, used by tests/config and tests/film).

Real clips and weights live in ``../shared`` (or ``$VIDRESTORE_TEST_DATA``, which then is the only
place looked at). Tests that need them carry the ``shared`` marker, applied here at collection to
every test whose fixtures or code reach the data (so ``-m "not shared"`` is the offline selection).
Without the data those tests skip, with the reason; under ``VIDRESTORE_REQUIRE_DATA=1`` (what
``.ci/run`` sets) a missing folder stops the run with one line naming it, and a missing file fails
its test instead of skipping, so a CI without its data cannot stay green. The session ends with the
number of skipped tests and why.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
import types
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_DATA_ENV = "VIDRESTORE_REQUIRE_DATA"


def _find_shared() -> Path | None:
    env = os.environ.get("VIDRESTORE_TEST_DATA")
    candidates = [Path(env)] if env else [ROOT.parent / "shared", ROOT / "shared"]
    for c in candidates:
        if (c / "data").is_dir():
            return c
    return None


SHARED = _find_shared()


def require_data() -> bool:
    """True when missing test data must fail the run (``VIDRESTORE_REQUIRE_DATA`` set to 1/true/yes)."""
    return os.environ.get(REQUIRE_DATA_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _where() -> str:
    env = os.environ.get("VIDRESTORE_TEST_DATA")
    return f"$VIDRESTORE_TEST_DATA={env}" if env else f"{ROOT.parent / 'shared'}"


def _no_data_reason() -> str:
    return f"real test data not found: no data/ folder in {_where()} (set VIDRESTORE_TEST_DATA or place shared/ beside the project)"


def data_missing(reason: str) -> None:
    """Skip the calling test for missing data, or fail it when the run requires the data."""
    if require_data():
        pytest.fail(f"{REQUIRE_DATA_ENV}=1: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared (or $VIDRESTORE_TEST_DATA); skips with the reason when absent."""
    if SHARED is None:
        data_missing(_no_data_reason())
    return SHARED


@pytest.fixture(scope="session")
def shared_data(shared_dir: Path) -> Path:
    return shared_dir / "data"


def shared_file(rel: str) -> Path:
    """Path to a file under shared/data, skipping the test when it is missing."""
    if SHARED is None:
        data_missing(_no_data_reason())
    p = SHARED / "data" / rel
    if not p.exists():
        data_missing(f"{p} missing from the shared test data")
    return p


# --------------------------------------------------------------------------- markers

#: Names whose use means a test reads ../shared (fixtures, helpers of this file and of tests/*).
SHARED_NAMES = frozenset({"SHARED", "shared_dir", "shared_data", "shared_file", "reds_frames", "real_crops",
                          "animevideo_weights", "real_image"})
#: Names whose use means a real network with real weights (or a long real clip) runs: ``slow``.
SLOW_NAMES = frozenset({"animevideo_weights", "realesr-animevideov3.pth", "rife-hd-v3", "lpips_status"})
#: A skip whose reason matches this is a data skip (the helpers above, and the per-area helpers' wording).
DATA_SKIP = re.compile(r"shared (test )?data|test data not found|VIDRESTORE_TEST_DATA|/shared/", re.I)


def _is_data_skip(reason: str) -> bool:
    return bool(DATA_SKIP.search(reason)) or (SHARED is not None and str(SHARED) in reason)


def _names_reached(fn: object, depth: int = 3, seen: set[int] | None = None) -> set[str]:
    """Global names the code of ``fn`` uses, following the functions of tests/* it calls ``depth`` deep."""
    seen = set() if seen is None else seen
    code = getattr(fn, "__code__", None)
    if code is None or id(code) in seen:
        return set()
    seen.add(id(code))
    names: set[str] = set()
    stack = [code]
    while stack:  # nested functions and comprehensions have their own code objects
        c = stack.pop()
        names.update(c.co_names)
        names.update(c.co_varnames)
        names.update(k for k in c.co_consts if isinstance(k, str) and len(k) < 200)
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    if depth > 0:
        module_globals = getattr(fn, "__globals__", {})
        for name in list(names):
            target = module_globals.get(name)
            if inspect.isfunction(target) and (target.__module__ or "").startswith("tests"):
                names |= _names_reached(target, depth - 1, seen)
    return names


def _fixture_functions(item: pytest.Item) -> list[object]:
    info = getattr(item, "_fixtureinfo", None)
    funcs: list[object] = []
    for name in getattr(item, "fixturenames", ()):
        for fixturedef in (info.name2fixturedefs.get(name, ()) if info else ()):
            funcs.append(fixturedef.func)
    return funcs


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Apply ``shared`` and ``slow`` from what each test (its fixtures, the helpers it calls) uses."""
    for item in items:
        fn = getattr(item, "function", None)
        if fn is None:
            continue
        names = set(getattr(item, "fixturenames", ())) | _names_reached(fn)
        for fixture_fn in _fixture_functions(item):
            names |= _names_reached(fixture_fn, depth=2)
        if names & SHARED_NAMES:
            item.add_marker(pytest.mark.shared)
        if names & SLOW_NAMES:
            item.add_marker(pytest.mark.slow)


# --------------------------------------------------------------------------- the data policy of a CI run


def pytest_configure(config: pytest.Config) -> None:
    """Under VIDRESTORE_REQUIRE_DATA=1 a missing data folder stops the run before any test, in one line."""
    if require_data() and SHARED is None:
        raise pytest.UsageError(f"{REQUIRE_DATA_ENV}=1 and the test data is missing: {_no_data_reason()}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    """Under VIDRESTORE_REQUIRE_DATA=1 a skip for missing data (whoever raised it) is a failure."""
    outcome = yield
    report = outcome.get_result()
    if not (require_data() and report.skipped and isinstance(report.longrepr, tuple)):
        return
    reason = str(report.longrepr[2])
    if _is_data_skip(reason) and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"{REQUIRE_DATA_ENV}=1: {reason.removeprefix('Skipped: ')}"


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    """The skip count and its reasons, so a run that skipped what it should have tested says so."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        terminalreporter.write_line("vidrestore: 0 tests skipped")
        return
    reasons = Counter()
    for rep in skipped:
        text = str(rep.longrepr[2]) if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        reasons[" ".join(text.removeprefix("Skipped: ").split())[:120]] += 1
    data = sum(n for r, n in reasons.items() if _is_data_skip(r))
    terminalreporter.write_line(f"vidrestore: {len(skipped)} tests skipped ({data} for missing test data; "
                                f"set {REQUIRE_DATA_ENV}=1 to make those fail)")
    for reason, n in reasons.most_common(8):
        terminalreporter.write_line(f"  {n:4d} x {reason}")


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


# --------------------------------------------------------------------------- config deprecation lines


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def deprecations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The deprecation lines logged during the test, with the once-per-run memory emptied first
    (the handler sits on the config logger itself: the CLI's setup stops propagation above it)."""
    from vidrestore import config

    monkeypatch.setattr(config, "_REPORTED", set())
    handler = _Lines()
    logger = logging.getLogger(config.__name__)
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
