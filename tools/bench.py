"""The one entry point of vidrestore's benchmarks: run them, print a table, update docs/BENCHMARKS.md.

Every module ``tools/benchmarks/<area>.py`` that defines ``AREA`` and
``run(quick: bool = False) -> list[BenchRow]`` is an area. ``tools/bench.py`` imports each one,
runs it, prints one table of all rows and rewrites that area's section of docs/BENCHMARKS.md;
the sections of areas not run this time are kept as they are. Every row carries the machine, the
date and the command that reproduces it.

An area that fails (import error, exception) is reported in the table and in its section (its
previous numbers are kept, marked as not refreshed) and the other areas still run. The exit
code is 0 unless ``--strict`` is given and an area failed or a row missed its target.

    python tools/bench.py                 # everything, full size
    python tools/bench.py --quick         # smaller inputs, for a quick look
    python tools/bench.py --only flow,io  # module names or words of the area titles
    python tools/bench.py --list          # what areas exist
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import os
import re
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.benchmarks.common import BenchRow, machine  # noqa: E402

BENCH_DIR = ROOT / "tools" / "benchmarks"
DOC = ROOT / "docs" / "BENCHMARKS.md"
#: Modules in tools/benchmarks that are helpers, not areas.
HELPERS = {"__init__", "common", "measure"}

BEGIN = "<!-- bench:begin {key} -->"
END = "<!-- bench:end {key} -->"
_SECTION = re.compile(r"<!-- bench:begin (?P<key>[\w.-]+) -->\n(?P<body>.*?)<!-- bench:end (?P=key) -->\n?", re.S)
HEADER_END = "<!-- bench:areas -->"

HEADER = f"""# vidrestore benchmarks

Speed, memory and quality numbers of every area, measured by `tools/bench.py` (the one entry
point; each area lives in `tools/benchmarks/<area>.py`). Each row says what was measured, the
result, the issue's target where it has one, whether it was met, the command that reproduces it,
the machine and the date.

## How we measure

Numbers here are meant to survive a skeptical reader; every area follows these rules.

- **Independent judges.** A method never grades itself. Real film is scored by a frozen spike judge
  (`tools/benchmarks/_spike_judge.py`: Farneback motion compensation, a temporal median test with
  one threshold) that shares no rule, flow or threshold with the film stage's detector, on a sample
  declared before tuning (old_films_bofb 001, chaplin.mp4 frames 0-59). Temporal warping error is
  measured with a flow the method does not use (Farneback, or the known motion of a synthetic pan),
  and the row says which. False repairs are counted beside the repairs.
- **Peers at their best.** Peers run unchanged, at their best documented settings, on the same
  frames, threads and cores: the film rows compare with the best of a fixed set of ffmpeg chains
  chosen before looking (hqdn3d+deflicker, + tmedian, + atadenoise), each reported; Ray is compared
  with the fastest single process on the same cores, start-up included; speed races alternate the
  contenders and keep each one's best of N, on clips long enough to amortise start-up.
- **Held-out splits.** Defaults are tuned on a dev split and the pass marks are reported on another:
  damage seeds 0-3 are for tuning, rows report the mean and the worst of seeds 4-9; rows name the
  clips a default was tuned on ("dev clip") and report held-out clips beside them. Thresholds are
  named parameters in each area module, not numbers in its rows.
- **Honest rows.** A row that misses its target says ❌ and why. Differences within the run-to-run
  spread are not claimed. Rows say which CPU ran them and the load beside every timing (the machine
  is shared: compare within a row or a section, as ratios measured side by side). Rows measured with
  random weights say so ("tiny random-weight model", "random weights: speed only"): they show speed
  and mechanics, never image quality.
- **Tests assert requirements.** Tests assert the issue's target (an `xfail` with the reason where it
  is missed); as-measured snapshots live here. CI (`.ci/run`) sets `VIDRESTORE_REQUIRE_DATA=1`, so a
  missing `../shared` fails the run instead of turning every quality test into a skip, and it prints
  the skip count.

Regenerate:

    python tools/bench.py            # all areas (sections of areas not run are kept)
    python tools/bench.py --only io  # one area; --quick for smaller inputs

Pass: ✅ met, ❌ missed, blank: no target. Sections marked *not refreshed* keep the numbers of their
last successful run because the latest one failed.

{HEADER_END}
"""


@dataclass
class AreaResult:
    key: str  # module name, e.g. "flow"
    title: str  # the module's AREA
    rows: list[BenchRow] = field(default_factory=list)
    error: str | None = None  # one line when the area failed
    seconds: float = 0.0


# --------------------------------------------------------------------------- discovery


def discover(bench_dir: Path = BENCH_DIR) -> list[str]:
    """Module names of the areas in ``bench_dir`` (sorted)."""
    return sorted(p.stem for p in bench_dir.glob("*.py") if p.stem not in HELPERS and not p.stem.startswith("_"))


def import_area(key: str, package: str = "tools.benchmarks") -> ModuleType:
    name = f"{package}.{key}"
    module = importlib.reload(sys.modules[name]) if name in sys.modules else importlib.import_module(name)
    if not isinstance(getattr(module, "AREA", None), str) or not callable(getattr(module, "run", None)):
        raise TypeError(f"tools/benchmarks/{key}.py defines no AREA string and run(quick) function")
    return module


def select(keys: Sequence[str], only: Sequence[str], titles: dict[str, str]) -> list[str]:
    """Areas whose module name equals, or whose title contains, one of ``only`` (case-insensitive)."""
    if not only:
        return list(keys)
    wanted = [w.strip().lower() for w in only if w.strip()]
    chosen = [k for k in keys if any(w == k.lower() or w in titles.get(k, "").lower() for w in wanted)]
    unknown = [w for w in wanted if not any(w == k.lower() or w in titles.get(k, "").lower() for k in keys)]
    if unknown:
        raise SystemExit(f"bench: no area matches {', '.join(unknown)}; areas: {', '.join(keys)}")
    return chosen


# --------------------------------------------------------------------------- running


def default_command(key: str, quick: bool) -> str:
    return f"python tools/bench.py --only {key}" + (" --quick" if quick else "")


def run_area(key: str, module: ModuleType | None, quick: bool, import_error: str | None = None) -> AreaResult:
    """Run one area; any exception becomes ``error`` (with the traceback on stderr), never fatal."""
    title = getattr(module, "AREA", key) if module is not None else key
    result = AreaResult(key=key, title=title)
    if module is None:
        result.error = import_error or "could not be imported"
        return result
    t0 = time.perf_counter()
    try:
        rows = list(module.run(quick=quick))
        for r in rows:
            if not isinstance(r, BenchRow):
                raise TypeError(f"run() returned a {type(r).__name__}, expected BenchRow")
        result.rows = [r if r.command else replace(r, command=default_command(key, quick)) for r in rows]
    except Exception as err:  # noqa: BLE001 - a failing area is reported, the others still run
        traceback.print_exc(file=sys.stderr)
        result.error = _one_line(f"{type(err).__name__}: {err}")
    result.seconds = time.perf_counter() - t0
    return result


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- output


def _pass_mark(p: bool | None) -> str:
    return "" if p is None else ("✅" if p else "❌")


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def format_table(results: Sequence[AreaResult]) -> str:
    """Plain-text table for the terminal."""
    lines: list[str] = []
    for res in results:
        status = f"FAILED: {res.error}" if res.error else f"{len(res.rows)} rows, {res.seconds:.1f} s"
        lines.append(f"== {res.title} [{res.key}] -- {status}")
        for r in res.rows:
            mark = {None: "  ", True: "ok", False: "NO"}[r.passed]
            target = f"  (target {r.target})" if r.target else ""
            notes = f"  -- {r.notes}" if r.notes else ""
            lines.append(f"  [{mark}] {r.name}: {r.result}{target}{notes}")
    return "\n".join(lines)


def render_section(res: AreaResult, *, machine_name: str, date: str, quick: bool) -> str:
    """The Markdown of one area's section (between its markers)."""
    mode = "quick run (`--quick`)" if quick else "full run"
    out = [f"## {res.title}", "", f"_{mode}, {date}, {res.seconds:.0f} s, module `tools/benchmarks/{res.key}.py`._", ""]
    out.append("| Measurement | Result | Target | Pass | Notes | Command | Machine | Date |")
    out.append("|---|---|---|---|---|---|---|---|")
    for r in res.rows:
        out.append("| " + " | ".join([_cell(r.name), _cell(r.result), _cell(r.target), _pass_mark(r.passed),
                                      _cell(r.notes), f"`{_cell(r.command)}`", _cell(machine_name), date]) + " |")
    if not res.rows:
        out.append("| (no rows) | | | | | | | |")
    out.append("")
    return "\n".join(out)


def failed_section(res: AreaResult, previous: str | None, *, machine_name: str, date: str) -> str:
    """Section of a failed area: the failure, then the previous numbers (if any), marked not refreshed."""
    note = (f"> **Latest run failed** ({date}, {machine_name}): `{_cell(res.error or '')}` -- "
            f"rerun with `{default_command(res.key, False)}`.")
    if previous is None:
        return "\n".join([f"## {res.title}", "", note, "", "_No successful run recorded yet._", ""])
    body = re.sub(r"^> \*\*Latest run failed\*\*.*\n\n?", "", previous, flags=re.M)
    lines = body.splitlines()
    if lines and lines[0].startswith("## "):
        heading, rest = lines[0], lines[1:]
        if "(not refreshed)" not in heading:
            heading += " (not refreshed)"
        return "\n".join([heading, "", note, *rest]).rstrip("\n") + "\n"
    return "\n".join([note, "", body]).rstrip("\n") + "\n"


def parse_doc(text: str) -> tuple[str, dict[str, str], list[str], dict[str, str]]:
    """Split BENCHMARKS.md into (header, {area key: section body}, area order, {area key: text after it}).

    Text between one area's end marker and the next area (written by hand: notes, tables of design
    choices) belongs to the area before it and is kept where it is.
    """
    sections: dict[str, str] = {}
    order: list[str] = []
    after: dict[str, str] = {}
    matches = list(_SECTION.finditer(text))
    for i, m in enumerate(matches):
        sections[m.group("key")] = m.group("body")
        order.append(m.group("key"))
        gap = text[m.end():matches[i + 1].start() if i + 1 < len(matches) else len(text)]
        if gap.strip():
            after[m.group("key")] = gap.strip("\n") + "\n"
    header = text[: matches[0].start()] if matches else text
    if HEADER_END not in header:
        header = HEADER
    return header.rstrip("\n") + "\n\n", sections, order, after


def update_doc(text: str | None, results: Sequence[AreaResult], *, machine_name: str, date: str,
               quick: bool) -> str:
    """The new BENCHMARKS.md: sections of ``results`` replaced (or added), all others kept."""
    _, sections, order, after = parse_doc(text) if text else (HEADER + "\n", {}, [], {})
    header = HEADER.rstrip("\n") + "\n\n"  # the rules of measurement are the code's, never a stale copy
    for res in results:
        if res.error:
            sections[res.key] = failed_section(res, sections.get(res.key), machine_name=machine_name, date=date)
        else:
            sections[res.key] = render_section(res, machine_name=machine_name, date=date, quick=quick)
        if res.key not in order:
            order.append(res.key)
    parts = [header]
    for key in order:
        body = sections[key].rstrip("\n") + "\n"
        parts.append(f"{BEGIN.format(key=key)}\n{body}{END.format(key=key)}\n\n")
        if key in after:
            parts.append(after[key] + "\n")
    return "".join(parts).rstrip("\n") + "\n"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="tools/bench.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", default=[], metavar="AREA",
                    help="run only these areas (module names or words of their titles; comma-separated, repeatable)")
    ap.add_argument("--quick", action="store_true", help="smaller inputs (each area decides what that means)")
    ap.add_argument("--list", action="store_true", help="list the areas and exit")
    ap.add_argument("--doc", type=Path, default=DOC, help=f"Markdown file to update (default {DOC.relative_to(ROOT)})")
    ap.add_argument("--no-doc", action="store_true", help="print the table only")
    ap.add_argument("--strict", action="store_true", help="exit 1 if an area failed or a row missed its target")
    ap.add_argument("--bench-dir", type=Path, default=BENCH_DIR, help=argparse.SUPPRESS)
    ap.add_argument("--package", default="tools.benchmarks", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    keys = discover(args.bench_dir)
    modules: dict[str, ModuleType | None] = {}
    import_errors: dict[str, str] = {}
    for key in keys:
        try:
            modules[key] = import_area(key, args.package)
        except Exception as err:  # noqa: BLE001 - reported as a failed area
            traceback.print_exc(file=sys.stderr)
            modules[key] = None
            import_errors[key] = _one_line(f"import failed: {type(err).__name__}: {err}")
    titles = {k: getattr(m, "AREA", k) for k, m in modules.items()}
    if args.list:
        for k in keys:
            print(f"{k:<14} {titles[k]}" + (f"  [{import_errors[k]}]" if k in import_errors else ""))
        return 0
    only = [w for item in args.only for w in item.split(",")]
    chosen = select(keys, only, titles)
    results = []
    for key in chosen:
        print(f"bench: running {key} ({titles[key]}){' --quick' if args.quick else ''} ...", file=sys.stderr, flush=True)
        results.append(run_area(key, modules[key], args.quick, import_errors.get(key)))
    print(format_table(results))
    failed = [r.key for r in results if r.error]
    missed = [f"{r.key}: {row.name}" for r in results for row in r.rows if row.passed is False]
    if failed:
        print(f"\nbench: {len(failed)} area(s) failed: {', '.join(failed)}", file=sys.stderr)
    if missed:
        print(f"bench: {len(missed)} row(s) missed their target: {'; '.join(missed)}", file=sys.stderr)
    if not args.no_doc:
        date = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        old = args.doc.read_text(encoding="utf-8") if args.doc.exists() else None
        write_atomic(args.doc, update_doc(old, results, machine_name=machine(), date=date, quick=args.quick))
        print(f"bench: updated {args.doc}", file=sys.stderr)
    return 1 if args.strict and (failed or missed) else 0


if __name__ == "__main__":
    sys.exit(main())
