"""``--engine ray``: segments as Ray tasks, on this machine or on a cluster.

* Without ``--address``, Ray is started here (``ray.init``) with ``num_cpus`` = workers x threads,
  a capped object store (``jobs.object_store_mb``; frames never travel through it) and no
  dashboard, and is shut down at the end. With ``--address`` the job joins an existing cluster
  (docs/DISTRIBUTED.md: the input, the work directory and the model weights must be readable, and
  the work directory writable, at the same paths on every node).
* Each task reserves ``jobs.threads_per_worker`` CPUs (and ``jobs.gpus_per_worker`` GPUs) and
  limits torch/OpenCV to that many threads; at most ``workers`` tasks run at once.
* Tasks write their part into the work directory and return a small result; the driver records it
  in the manifest as it comes (so a crash of the driver keeps every finished segment).
* Tasks report frames done to one small actor; the driver shows them in one progress bar.
* Ray usage statistics are switched off (no network use), unless the user set them.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from vidrestore.config import config_to_dict
from vidrestore.errors import ConfigError, VidrestoreError
from vidrestore.jobs.config import JobsConfig
from vidrestore.jobs.plan import FrameTable
from vidrestore.jobs.worker import SegmentResult, SegmentTask, run_segment

log = logging.getLogger(__name__)

#: How often a task reports its frame count to the progress actor (seconds).
REPORT_EVERY_S = 0.5


def _import_ray() -> Any:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no network use at run time
    try:
        import ray
    except ImportError as err:
        raise ConfigError("--engine ray needs the ray package (pip install 'vidrestore[dist]')") from err
    return ray


class _Progress:
    """Ray actor: frames done per segment (so a retried task does not count twice)."""

    def __init__(self) -> None:
        self.done: dict[int, int] = {}

    def set(self, seg_id: int, frames: int) -> None:
        self.done[seg_id] = frames

    def total(self) -> int:
        return sum(self.done.values())


def _task(task: SegmentTask, table: FrameTable, config: dict[str, Any], progress: Any) -> SegmentResult:
    """Body of one Ray task (runs in a Ray worker process).

    The frame table comes once via the object store; the config travels as plain data and is rebuilt
    by this worker's own loader, so a node running another vidrestore version fails with one clear
    line (an unknown key) rather than with a half-unpickled object.
    """
    from vidrestore.config import load_config
    from vidrestore.io import safety

    task = replace(task, table=table, cfg=load_config(base=config))
    frames = 0
    last = time.monotonic()

    def report(n: int) -> None:
        nonlocal frames, last
        frames += n
        now = time.monotonic()
        if now - last >= REPORT_EVERY_S:
            progress.set.remote(task.segment.id, frames)
            last = now

    # the planner checked the job's files: masks another worker wrote are this job's own (only for this task,
    # as the worker process may run another job's task next)
    before, safety.RUN.continuing = safety.RUN.continuing, True
    try:
        result = run_segment(task, progress=report)
    finally:
        safety.RUN.continuing = before
    progress.set.remote(task.segment.id, result.frames)
    return result


def _init(ray: Any, jobs: JobsConfig, workers: int) -> bool:
    """Connect to (or start) Ray; True when this call started it."""
    if ray.is_initialized():
        return False
    verbose = logging.getLogger("vidrestore").isEnabledFor(logging.DEBUG)
    common: dict[str, Any] = {"include_dashboard": False, "log_to_driver": verbose, "logging_level": logging.ERROR,
                              "configure_logging": True}
    if jobs.address:
        _check_reachable(jobs.address)
        try:
            ray.init(address=jobs.address, **common)
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise ConfigError(f"jobs.address: cannot connect to the Ray cluster at {jobs.address!r} ({err})") from err
        return True
    # Workers started here inherit this environment and get this process's working directory on
    # their import path (Ray's default), so a processor importable here is importable there.
    cpus = (workers or os.cpu_count() or 1) * jobs.threads_per_worker
    try:
        ray.init(num_cpus=cpus, object_store_memory=jobs.object_store_mb << 20, **common)
    except Exception as err:  # noqa: BLE001 - Ray raises a bare Exception for this
        # Ray gives its raylet a fixed 30 s to register; a loaded machine can miss that once
        if "timed out during startup" not in str(err):
            raise
        log.warning("Ray did not start within its 30 s limit (machine busy?); retrying once")
        ray.shutdown()
        ray.init(num_cpus=cpus, object_store_memory=jobs.object_store_mb << 20, **common)
    return True


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast (one line) when ``HOST:PORT`` or ``ray://HOST:PORT`` does not answer: Ray itself retries for minutes."""
    import socket

    hostport = address.split("://", 1)[-1]
    if hostport in ("auto", "local") or ":" not in hostport:
        return
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except (OSError, ValueError) as err:
        raise ConfigError(f"jobs.address: no Ray cluster answers at {address!r} ({err})") from err


def _worker_count(ray: Any, jobs: JobsConfig) -> int:
    if jobs.workers:
        return jobs.workers
    cpus = int(ray.cluster_resources().get("CPU", 1))
    return max(1, cpus // jobs.threads_per_worker)


@contextmanager
def ray_session(jobs: JobsConfig) -> Iterator[tuple[Any, int]]:
    """``(ray, workers)``: Ray connected (started here without ``jobs.address``, then shut down at
    the end) and how many tasks may run at once."""
    ray = _import_ray()
    started = _init(ray, jobs, jobs.workers)
    try:
        yield ray, _worker_count(ray, jobs)
    finally:
        if started:
            ray.shutdown()


def run_bounded(ray: Any, items: Iterable[Any], submit: Callable[[Any], Any], *, workers: int,
                on_result: Callable[[Any], None], on_tick: Callable[[], None] | None = None) -> None:
    """Keep at most ``workers`` tasks in flight: ``submit(item)`` returns an ObjectRef, ``on_result``
    gets each task's value in the driver in finish order, ``on_tick`` runs about twice a second. The
    first failing task stops the job: the tasks still running are cancelled and its error re-raised."""
    queue = list(items)[::-1]
    running: set[Any] = set()
    try:
        while queue or running:
            while queue and len(running) < workers:
                running.add(submit(queue.pop()))
            ready, _ = ray.wait(list(running), num_returns=1, timeout=0.5)
            for ref in ready:
                running.discard(ref)
                on_result(_get(ray, ref))
            if on_tick is not None:
                on_tick()
    except BaseException:
        for ref in running:
            ray.cancel(ref, force=True)
        raise


def run_ray(tasks: Sequence[SegmentTask], *, jobs: JobsConfig, on_result: Callable[[SegmentResult], None],
            on_progress: Callable[[int], None] | None = None) -> None:
    """Run ``tasks`` on Ray; ``on_result`` is called in the driver as each finishes (in finish order).

    ``on_progress`` gets the frames done so far by all running tasks (finished tasks are reported
    through ``on_result``). The first failing task stops the job: the others are cancelled.
    """
    if not tasks:
        return
    with ray_session(jobs) as (ray, workers):
        log.info("ray: %d segments on %d workers x %d threads%s", len(tasks), workers, jobs.threads_per_worker,
                 f" at {jobs.address}" if jobs.address else " (local)")
        progress = ray.remote(num_cpus=0)(_Progress).remote()
        table_ref = ray.put(tasks[0].table)  # shared by all tasks (every frame's pts): stored once
        config = config_to_dict(tasks[0].cfg)
        remote = ray.remote(_task).options(num_cpus=jobs.threads_per_worker, num_gpus=jobs.gpus_per_worker,
                                           max_retries=0)

        def submit(task: SegmentTask) -> Any:
            task = replace(task, threads=jobs.threads_per_worker, table=None, cfg=None)  # type: ignore[arg-type]
            return remote.remote(task, table_ref, config, progress)

        def tick() -> None:
            if on_progress is not None:
                on_progress(int(ray.get(progress.total.remote())))

        run_bounded(ray, tasks, submit, workers=workers, on_result=on_result, on_tick=tick)


def _get(ray: Any, ref: Any) -> Any:
    """``ray.get`` that re-raises a task's own error (one clear line, not Ray's traceback text)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as err:
        cause = getattr(err, "cause", None)
        if isinstance(cause, BaseException):
            raise cause from None
        raise VidrestoreError(f"a Ray task failed: {str(err).splitlines()[0]}") from err
