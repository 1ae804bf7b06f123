"""Progress and cancel of a running job: one meter, any number of listeners.

A job counts its frames (or tiles) on a :class:`Meter`; every listener gets a :class:`Progress`
after each step. The terminal's tqdm bar is one listener (:class:`TqdmBar`), a web page's event
stream or a Python caller's callback another, so the numbers they show are the same. The meter is
also where a job looks at its cancel event: a set event raises :class:`Cancelled` in the job's own
thread, which then leaves exactly as it does on any error (partial output removed; the finished
segments of a segmented job kept, so that resume continues them).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from vidrestore.errors import VidrestoreError


@dataclass(frozen=True)
class Progress:
    """Where a job stands. ``done``/``total`` count output frames (tiles or blocks for decloud);
    ``total`` is None when not known ahead (an interpolation to a frame rate); ``fps`` and
    ``eta_s`` count only the work done in this run (not the segments a resumed job kept)."""

    done: int
    total: int | None
    elapsed_s: float
    fps: float
    eta_s: float | None
    phase: str


Listener = Callable[[Progress], None]


class Cancelled(VidrestoreError):
    """The job was cancelled through its cancel event: nothing partial is left at the output; a
    segmented job keeps its finished segments so that the same job with ``resume`` continues."""


class Meter:
    """Counts a job's work and tells its listeners; raises :class:`Cancelled` once ``cancel`` is set."""

    def __init__(self, total: int | None, *, phase: str, listeners: Sequence[Listener | None] = (),
                 initial: int = 0, cancel: threading.Event | None = None, what: str = "the job") -> None:
        self.total = total
        self.done = initial
        self.phase = phase
        self.listeners = [f for f in listeners if f is not None]
        self.cancel = cancel
        self.what = what
        self._initial = initial
        self._t0 = time.perf_counter()
        self._lock = threading.Lock()

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def begin(self, done: int = 0) -> None:
        """Start counting now from ``done`` units already there (a resumed job's finished segments)."""
        with self._lock:
            self.done = self._initial = done
            self._t0 = time.perf_counter()
        self._emit()
        self.check()

    def check(self) -> None:
        """Raise :class:`Cancelled` if the cancel event is set (called between units of work)."""
        if self.cancelled:
            raise Cancelled(f"{self.what}: cancelled")

    def advance(self, n: int = 1) -> None:
        """``n`` more units done (a worker thread may call it: the count is locked)."""
        with self._lock:
            self.done += n
        self._emit()
        self.check()

    def set_done(self, done: int, total: int | None = None) -> None:
        """The count as a whole (an engine that reports totals, not steps)."""
        with self._lock:
            self.done = done
            if total is not None:
                self.total = total
        self._emit()
        self.check()

    def set_phase(self, phase: str, *, total: int | None = None, restart: bool = False) -> None:
        """A new phase (``segment 3/9``, ``join``); ``restart`` starts the count and the clock again."""
        with self._lock:
            self.phase = phase
            if total is not None:
                self.total = total
            if restart:
                self.done = self._initial = 0
                self._t0 = time.perf_counter()
        self._emit()
        self.check()

    def snapshot(self) -> Progress:
        elapsed = time.perf_counter() - self._t0
        made = self.done - self._initial
        fps = made / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / fps if (self.total is not None and fps > 0) else None
        return Progress(done=self.done, total=self.total, elapsed_s=elapsed, fps=fps,
                        eta_s=max(0.0, eta) if eta is not None else None, phase=self.phase)

    def _emit(self) -> None:
        if not self.listeners:
            return
        p = self.snapshot()
        for listener in self.listeners:
            listener(p)

    def close(self) -> None:
        for listener in self.listeners:
            close = getattr(listener, "close", None)
            if close is not None:
                close()


class TqdmBar:
    """The terminal's progress bar as a meter listener (nothing when ``quiet``). The bar is drawn at
    the first report, starting from the work already there (a resumed job's segments).

    ``redraw`` draws every report (a job that reports seldom, per tile); ``options`` are tqdm's own
    (the job bars' defaults: on stderr, kept at the end, hidden when stderr is not a terminal).
    """

    def __init__(self, desc: str, *, unit: str = "frame", quiet: bool = False, redraw: bool = False,
                 **options: Any) -> None:
        self.bar: Any = None
        self.desc, self.unit, self.quiet, self.redraw = desc, unit, quiet, redraw
        self.options = {"dynamic_ncols": True, "file": sys.stderr, "leave": True, "smoothing": 0.1, "disable": None,
                        **options}

    def __call__(self, p: Progress) -> None:
        if self.quiet:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=p.total, initial=p.done, desc=self.desc, unit=self.unit, **self.options)
            return
        if p.total != self.bar.total and p.total is not None:
            self.bar.total = p.total
        if self.redraw:
            self.bar.n = p.done
            self.bar.refresh()
        elif p.done != self.bar.n:
            self.bar.update(p.done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.quiet = True  # a closed bar is not drawn again
