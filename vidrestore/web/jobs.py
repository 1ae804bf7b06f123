"""The server's jobs and previews, kept as folders in its state directory.

``STATE/jobs/<id>/`` is a job: ``job.json`` (the :class:`JobSpec` and a label), ``status.json`` and
``progress.json`` (written by the worker, :mod:`vidrestore.web.worker`), ``log.txt``, ``results/``
(compare sheet, eval plot, decloud mask views) and ``work/``, the API's work directory of the
segmented (resumable) run. The job list is these folders, read again on every start, so a server
killed with ``kill -9`` comes back with every job and offers *resume* for the interrupted ones:
their finished segments are in ``work/`` and the API continues from them.

``STATE/previews/<key>/`` is a preview, ``key`` a hash of the input's identity, the resolved config,
the options and the frame range: the same settings on the same frames are computed once.

Jobs run one at a time by default (the rest wait, *queued*): a reel and a satellite stack would
otherwise compete for the same cores and both finish later.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from vidrestore.errors import VidrestoreError
from vidrestore.web.worker import (
    JOB,
    PROGRESS,
    RESULTS,
    STATUS,
    read_json,
    spec_to_dict,
    write_json,
)

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
ACTIVE = ("queued", "starting", "running")


class JobConflict(VidrestoreError):
    """A second job for an output that a job is already writing (or may resume)."""


class JobStore:
    def __init__(self, state_dir: Path, *, max_running: int = 1) -> None:
        self.state = Path(state_dir)
        self.jobs_dir = self.state / "jobs"
        self.previews_dir = self.state / "previews"
        for d in (self.state, self.jobs_dir, self.previews_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.max_running = max_running
        self.procs: dict[str, subprocess.Popen] = {}
        self.lock = threading.RLock()
        self.preview_lock = threading.Lock()
        self._stop = threading.Event()
        self._recover()
        self._monitor = threading.Thread(target=self._watch, name="vidrestore-jobs", daemon=True)
        self._monitor.start()

    # ------------------------------------------------------------------ listing

    def folder(self, job_id: str) -> Path:
        if not job_id or "/" in job_id or job_id.startswith(".") or not (self.jobs_dir / job_id / JOB).is_file():
            raise KeyError(job_id)
        return self.jobs_dir / job_id

    def ids(self) -> list[str]:
        return sorted((p.name for p in self.jobs_dir.iterdir() if (p / JOB).is_file()), reverse=True)

    def describe(self, job_id: str) -> dict[str, Any]:
        folder = self.folder(job_id)
        job = read_json(folder / JOB)
        status = read_json(folder / STATUS)
        progress = read_json(folder / PROGRESS)
        state = status.get("state", "queued")
        resumable = state in ("interrupted", "cancelled", "failed") and (folder / "work" / MANIFEST).is_file()
        results = folder / RESULTS
        extras = sorted(p.relative_to(results).as_posix() for p in results.rglob("*.png")) if results.is_dir() else []
        return {"id": job_id, "label": job.get("label", ""), "created": job.get("created"), "spec": job["spec"],
                "command_line": job.get("command_line", ""), "state": state, "message": status.get("message", ""),
                "result": status.get("result"), "progress": progress, "resumable": resumable, "extras": extras,
                "runs": status.get("runs", 0)}

    def list(self) -> list[dict[str, Any]]:
        return [self.describe(i) for i in self.ids()]

    # ------------------------------------------------------------------ changes

    def create(self, spec: Any, *, label: str, command_line: str, job_id: str | None = None) -> str:
        """Record a new job (queued) and start it when a slot is free."""
        with self.lock:
            self._check_output_free(spec.output)
            job_id = job_id or new_id()
            folder = self.jobs_dir / job_id
            folder.mkdir()
            write_json(folder / JOB, {"id": job_id, "kind": "job", "label": label, "created": time.time(),
                                      "spec": spec_to_dict(spec), "command_line": command_line})
            write_json(folder / STATUS, {"state": "queued"})
        self.pump()
        return job_id

    def reserve(self) -> tuple[str, Path]:
        """A new job id and the work directory its spec must name."""
        job_id = new_id()
        return job_id, self.jobs_dir / job_id / "work"

    def _check_output_free(self, output: str) -> None:
        want = os.path.realpath(output)
        for other in self.list():
            if os.path.realpath(other["spec"]["output"]) != want:
                continue
            if other["state"] in ACTIVE:
                raise JobConflict(f"{output}: job {other['id']} is already writing this output; one job per output")
            if other["resumable"]:
                raise JobConflict(f"{output}: job {other['id']} was interrupted writing this output; resume it "
                                  "or remove it first")

    def cancel(self, job_id: str) -> None:
        with self.lock:
            folder = self.folder(job_id)
            status = read_json(folder / STATUS)
            if status.get("state") == "queued":
                write_json(folder / STATUS, {**status, "state": "cancelled", "message": "cancelled before it started"})
                return
            pid = self._live_pid(job_id, status)
            if pid is None:
                raise JobConflict(f"job {job_id} is not running")
            os.kill(pid, signal.SIGTERM)

    def resume(self, job_id: str) -> None:
        with self.lock:
            info = self.describe(job_id)
            if not info["resumable"]:
                raise JobConflict(f"job {job_id} cannot be resumed (state {info['state']}, "
                                  f"{'no' if not (self.folder(job_id) / 'work' / MANIFEST).is_file() else 'a'} work directory)")
            old = self.procs.get(job_id)
            if old is not None and old.poll() is None:  # it has written its final state and is exiting
                try:
                    old.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    raise JobConflict(f"job {job_id} is still stopping; resume it in a moment") from None
            self.procs.pop(job_id, None)  # its ended process: reaped here, not mistaken for the new run's
            folder = self.folder(job_id)
            job = read_json(folder / JOB)
            job["spec"]["resume"] = True
            write_json(folder / JOB, job)
            write_json(folder / STATUS, {"state": "queued", "runs": info["runs"]})
        self.pump()

    def remove(self, job_id: str) -> None:
        """Forget a job that is not running: its folder in the state directory (never its output)."""
        with self.lock:
            info = self.describe(job_id)
            if info["state"] in ACTIVE:
                raise JobConflict(f"job {job_id} is {info['state']}; cancel it first")
            shutil.rmtree(self.folder(job_id))

    # ------------------------------------------------------------------ running

    def pump(self) -> None:
        with self.lock:
            running = [i for i, p in self.procs.items() if p.poll() is None]
            for job_id in sorted(self.ids()):
                if len(running) >= self.max_running:
                    return
                if read_json(self.jobs_dir / job_id / STATUS).get("state") == "queued":
                    self._spawn(job_id)
                    running.append(job_id)

    def _spawn(self, job_id: str) -> None:
        folder = self.jobs_dir / job_id
        status = read_json(folder / STATUS)
        write_json(folder / STATUS, {"state": "starting", "runs": int(status.get("runs", 0)) + 1})
        self.procs[job_id] = spawn_worker(folder)

    def _live_pid(self, job_id: str, status: dict[str, Any]) -> int | None:
        proc = self.procs.get(job_id)
        if proc is not None and proc.poll() is None:
            return proc.pid
        pid = status.get("pid")
        return pid if isinstance(pid, int) and worker_alive(pid, self.jobs_dir / job_id) else None

    def _recover(self) -> None:
        """On start: a job recorded as running whose worker is gone was interrupted (the server or the
        machine went down under it)."""
        for job_id in self.ids():
            folder = self.jobs_dir / job_id
            status = read_json(folder / STATUS)
            if status.get("state") in ("running", "starting") and self._live_pid(job_id, status) is None:
                write_json(folder / STATUS, {**status, "state": "interrupted",
                                             "message": "the server stopped during this job; resume continues it"})

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self._reap()
            except Exception:  # noqa: BLE001 - the monitor must outlive one bad folder
                log.exception("job monitor")

    def _reap(self) -> None:
        with self.lock:
            for job_id, proc in list(self.procs.items()):
                code = proc.poll()
                if code is None:
                    continue
                del self.procs[job_id]
                folder = self.jobs_dir / job_id
                status = read_json(folder / STATUS)
                if status.get("state") in ("starting", "running"):  # died without a word: a signal, a crash
                    write_json(folder / STATUS, {**status, "state": "failed",
                                                 "message": f"the job's process ended with code {code}; see log.txt"})
        self.pump()

    def shutdown(self) -> None:
        """Server stopping: each running job stops as *interrupted* (resumable)."""
        self._stop.set()
        with self.lock:
            for proc in self.procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGHUP)
            for proc in self.procs.values():
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()

    # ------------------------------------------------------------------ previews

    def preview(self, spec: Any, key: str, *, timeout: float = 900) -> tuple[Path, dict[str, Any]]:
        """Run (or find in the cache) the preview ``key``; returns its folder and status."""
        folder = self.previews_dir / key
        status = read_json(folder / STATUS)
        if status.get("state") == "done":
            return folder, status
        with self.preview_lock:
            status = read_json(folder / STATUS)
            if status.get("state") == "done":
                return folder, status
            if folder.exists():
                shutil.rmtree(folder)  # an earlier failed or interrupted attempt: ours, in the cache
            folder.mkdir()
            write_json(folder / JOB, {"id": key, "kind": "preview", "spec": spec_to_dict(spec), "created": time.time()})
            proc = spawn_worker(folder)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.terminate()
                proc.wait()
            status = read_json(folder / STATUS)
            if status.get("state") != "done" and not status.get("message"):
                status = {"state": "failed", "message": f"the preview's process ended with code {proc.returncode}"}
            return folder, status


def new_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def spawn_worker(folder: Path) -> subprocess.Popen:
    """The worker in its own session: a Ctrl-C in the server's terminal reaches the server, which
    then stops its jobs as *interrupted*, instead of reaching the jobs directly."""
    logfile = open(folder / "log.txt", "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        return subprocess.Popen([sys.executable, "-m", "vidrestore.web.worker", str(folder)], stdin=subprocess.DEVNULL,
                                stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        logfile.close()


def worker_alive(pid: int, folder: Path) -> bool:
    """Whether ``pid`` is still the worker of ``folder`` (a PID reused by another program is not)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\x00")
    except OSError:
        return False
    return str(folder).encode() in cmdline


def preview_key(*, input_identity: Any, config: dict[str, Any], spec: dict[str, Any]) -> str:
    """Hash of what a preview's pixels depend on (not of where its files go)."""
    relevant = {k: v for k, v in spec.items() if k not in ("output", "workdir", "resume", "overwrite", "keep_workdir")}
    opts = dict(relevant.get("options") or {})
    opts.pop("save_masks", None)
    relevant["options"] = opts
    text = json.dumps({"input": input_identity, "config": config, "spec": relevant}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
