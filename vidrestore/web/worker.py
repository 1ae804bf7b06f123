"""One job (or one preview) in a child process of the server: ``python -m vidrestore.web.worker JOBDIR``.

Why a child process and not a thread: cancel is a signal and the job's own clean-up (the partial
output removed, finished segments kept) runs as for the CLI; a crash in a native library (a
decoder, torch, ncnn) ends the job, not the server; the job's memory is returned when it ends;
and the server's event loop never competes with the job for the GIL.

The job's folder (made by :mod:`vidrestore.web.jobs`) holds ``job.json`` (the spec). The worker
writes ``status.json`` (state, pid, one-line message, result) and ``progress.json`` (the API's
:class:`Progress`, a few times a second) there through the file-safety module, and the API's
work directory is ``work/`` inside it. SIGTERM means *cancel*; a watchdog notices when the server
that started it is gone (a ``kill -9``, a crash) and stops the job the same way, as
*interrupted*: a job nobody can watch or cancel does not keep running, and its finished segments
wait for a resume from the restarted server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from vidrestore.errors import VidrestoreError

JOB = "job.json"
STATUS = "status.json"
PROGRESS = "progress.json"
RESULTS = "results"
FINAL_STATES = ("done", "failed", "cancelled", "interrupted")


def write_json(path: Path, data: dict[str, Any]) -> None:
    from vidrestore.io import safety

    safety.atomic_write(path, json.dumps(data, indent=1, default=str), overwrite=True, what="job record")


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def spec_from(data: dict[str, Any]) -> Any:
    from vidrestore.web.backend import JobSpec

    d = dict(data)
    if isinstance(d.get("input"), list):
        d["input"] = tuple(d["input"])
    d["overrides"] = tuple(d.get("overrides") or ())
    if d.get("frames") is not None:
        d["frames"] = tuple(d["frames"])
    return JobSpec(**d)


def spec_to_dict(spec: Any) -> dict[str, Any]:
    d = asdict(spec)
    d["options"] = dict(spec.options)
    return d


class _Reporter:
    """Writes the API's progress to ``progress.json``, at most every ``every`` seconds (and the last)."""

    def __init__(self, folder: Path, every: float = 0.3) -> None:
        self.folder, self.every, self.last = folder, every, 0.0

    def __call__(self, p: Any) -> None:
        now = time.monotonic()
        if now - self.last < self.every and not (p.total and p.done >= p.total):
            return
        self.last = now
        data = asdict(p) if is_dataclass(p) else dict(p)
        write_json(self.folder / PROGRESS, {**data, "at": time.time()})


def _watch_parent(cancel: threading.Event, why: dict[str, str]) -> None:
    parent = os.getppid()
    while not cancel.is_set():
        if os.getppid() != parent:
            why.setdefault("state", "interrupted")
            cancel.set()
            return
        time.sleep(0.5)


def _result_dict(result: Any) -> dict[str, Any]:
    keys = ("output", "frames_in", "frames_out", "seconds", "segments", "computed", "reused")
    if isinstance(result, dict):
        return {k: result[k] for k in keys if k in result}
    return {k: getattr(result, k) for k in keys if hasattr(result, k)}


def run_job(folder: Path) -> int:
    from vidrestore.web.backend import Cancelled, run

    job = read_json(folder / JOB)
    spec = spec_from(job["spec"])
    cancel = threading.Event()
    why: dict[str, str] = {}

    def on_term(signum: int, frame: object) -> None:
        why.setdefault("state", "cancelled")
        cancel.set()

    def on_hup(signum: int, frame: object) -> None:  # the server is stopping: resumable, not cancelled
        why.setdefault("state", "interrupted")
        cancel.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_hup)
    threading.Thread(target=_watch_parent, args=(cancel, why), daemon=True).start()
    status: dict[str, Any] = {**read_json(folder / STATUS), "state": "running", "pid": os.getpid(),
                              "started": time.time(), "resume": spec.resume, "message": ""}
    status.pop("result", None)
    write_json(folder / STATUS, status)
    try:
        result = run(spec, progress=_Reporter(folder), cancel=cancel)
    except (Cancelled, KeyboardInterrupt):
        status.update(state=why.get("state", "cancelled"), message="stopped; finished segments are kept for resume")
    except VidrestoreError as err:
        status.update(state=why.get("state", "failed"), message=one_line(str(err)))
    except Exception as err:  # noqa: BLE001 - reported on the page as the CLI reports it
        status.update(state="failed", message=one_line(f"internal error: {type(err).__name__}: {err}"))
    else:
        status.update(state="done", result=_result_dict(result))
        if job.get("kind") == "job":
            status["extras"] = make_extras(folder, spec)
    status["ended"] = time.time()
    write_json(folder / STATUS, status)
    return 0 if status["state"] == "done" else 3


def make_extras(folder: Path, spec: Any) -> dict[str, str]:
    """After a finished job: the ``compare`` sheet and the ``eval`` plot (restore, interpolate), or the
    decloud masks as PNGs for the page. Made with the public CLI commands, so the page shows exactly
    what a user running them would get; a failure here is reported, the job stays done."""
    results = folder / RESULTS
    results.mkdir(exist_ok=True)
    made: dict[str, str] = {}
    if spec.command == "decloud":
        return decloud_extras(Path(spec.output), results)
    base = [sys.executable, "-m", "vidrestore"]
    steps = {
        "compare": [*base, "compare", str(spec.input), spec.output, "-o", str(results / "compare.png"),
                    "--labels", "before,after", "--count", "4", "--match",
                    "time" if spec.command == "interpolate" else "index", "-q"],
        "eval": [*base, "eval", str(spec.input), spec.output, "--metrics", "psnr,ssim", "--resize",
                 "--max-frames", "300", "--plot", str(results / "eval.png"), "--json", str(results / "eval.json"),
                 *(["--match", "pts", "--partial"] if spec.command == "interpolate" else []), "-q"],
    }
    for name, argv in steps.items():
        done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=1800)
        made[name] = "ok" if done.returncode == 0 else one_line(done.stderr.strip().splitlines()[-1:][0]
                                                                 if done.stderr.strip() else f"exit {done.returncode}")
    return made


def decloud_extras(output: Path, results: Path) -> dict[str, str]:
    """Each ``<stem>_mask.tif`` (0 clear, 1 cloud, 2 shadow) as a coloured PNG the browser can show."""
    import cv2
    import numpy as np


    colours = np.array([[0, 0, 0, 0], [255, 255, 255, 200], [255, 80, 40, 200]], dtype=np.uint8)  # RGBA
    masks = results / "masks"
    masks.mkdir(exist_ok=True)
    n = 0
    for tif in sorted(output.glob("*_mask.tif")):
        m = cv2.imread(str(tif), cv2.IMREAD_UNCHANGED)
        if m is None or m.ndim != 2:
            continue
        n += write_png(masks / f"{tif.stem}.png", cv2.cvtColor(colours[np.clip(m, 0, 2)], cv2.COLOR_RGBA2BGRA),
                       what="mask view")
    return {"masks": f"{n} masks"}


def write_png(path: Path, img: Any, *, what: str) -> bool:
    """``img`` (OpenCV channel order, or one channel) as a PNG at ``path``, atomically; False if it cannot be encoded."""
    import cv2

    from vidrestore.io import safety

    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".png", img)
    if ok:
        safety.atomic_write(path, buf.tobytes(), overwrite=True, what=what)
    return bool(ok)


def run_preview(folder: Path) -> int:
    """A preview: the API's run on a frame range into ``after/``, and the same input frames into
    ``before/`` (for decloud, a dry run: masks, report and quick-look)."""
    code = run_job(folder)
    status = read_json(folder / STATUS)
    if status.get("state") != "done":
        return code
    job = read_json(folder / JOB)
    spec = spec_from(job["spec"])
    if spec.command == "decloud":  # the masks as coloured PNGs, and every date as the viewer shows frames
        decloud_extras(Path(spec.output), folder)
        write_date_views(spec, folder)
    elif spec.frames is not None:
        try:
            write_before(spec, folder / "before")
        except VidrestoreError as err:
            status.update(state="failed", message=one_line(str(err)))
            write_json(folder / STATUS, status)
            return 3
    return 0


#: Long side, in px, of the dates a decloud preview shows in the viewer.
DATE_VIEW_SIZE = 1024


def write_date_views(spec: Any, folder: Path) -> None:
    """A decloud preview's dates for the viewer: ``before/`` and (after a full run, not a dry run)
    ``after/`` as RGB PNGs with one stretch for the whole series, ``masks/cloud/`` and
    ``masks/shadow/`` (white = detected) for the overlays, ``dates.json`` the labels; file N is the
    Nth date in time."""
    import cv2
    import numpy as np

    from vidrestore.decloud.masks import CLOUD, SHADOW
    from vidrestore.decloud.report import date_views
    from vidrestore.decloud.series import discover_series, resolve_band_roles
    from vidrestore.web.backend import load_config

    dc = load_config(spec).decloud
    series = discover_series(spec.inputs, dc)
    views = date_views(Path(spec.output), series, resolve_band_roles(series, dc.bands), dc, size=DATE_VIEW_SIZE,
                       with_after=not dc.dry_run)

    for i, v in enumerate(views):
        name = f"{i:06d}.png"
        write_png(folder / "before" / name, cv2.cvtColor(v.before, cv2.COLOR_RGB2BGR), what="date view")
        if v.after is not None:
            write_png(folder / "after" / name, cv2.cvtColor(v.after, cv2.COLOR_RGB2BGR), what="date view")
        write_png(folder / "masks" / "cloud" / name, (v.mask == CLOUD).astype(np.uint8) * 255, what="date view")
        write_png(folder / "masks" / "shadow" / name, (v.mask == SHADOW).astype(np.uint8) * 255, what="date view")
    write_json(folder / "dates.json", {"dates": [v.label for v in views], "dry_run": dc.dry_run})


def write_before(spec: Any, out: Path) -> None:
    """The input frames [start, stop) of a preview, read as the job reads them (rotation, depth)."""
    import cv2

    from vidrestore.io import safety
    from vidrestore.io.reader import open_reader
    from vidrestore.web.backend import load_config

    cfg = load_config(spec)
    start, stop = spec.frames
    out.mkdir(exist_ok=True)
    with open_reader(str(spec.input), cfg.io) as reader:
        for frame in reader:
            if frame.index >= stop:
                break
            if frame.index >= start:
                bgr = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR)
                ok, buf = cv2.imencode(".png", bgr)
                if ok:
                    safety.atomic_write(out / f"frame_{frame.index:06d}.png", buf.tobytes(), overwrite=True,
                                        what="preview frame")


def _log_to_stderr() -> None:
    """vidrestore's messages (segments kept, resumed, joined; warnings) as ``vidrestore: ...`` lines in
    the job's log.txt (the worker's stderr)."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s vidrestore: %(message)s", "%H:%M:%S"))
    root = logging.getLogger("vidrestore")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


def main(argv: list[str]) -> int:
    _log_to_stderr()
    folder = Path(argv[0])
    kind = read_json(folder / JOB).get("kind", "job")
    return run_preview(folder) if kind == "preview" else run_job(folder)


if __name__ == "__main__":  # pragma: no cover - the server starts it
    sys.exit(main(sys.argv[1:]))
