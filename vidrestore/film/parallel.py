"""Running the first pass of the film stage ahead, in a thread of its own (``film.parallel``).

The second dust pass reads the first pass's output: in one thread, one waits while the other works.
Here the first pass runs in a thread and hands its frames over through a short queue, so the two
passes share both cores (OpenCV, NumPy and torch release the GIL in their loops). Each pass still
does exactly what it does alone, on the same frames in the same order, so the output is the same
bit for bit; the queue bounds how far the first pass runs ahead.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def run_ahead(produce: Callable[[], Iterator[T]], *, threads: int, depth: int = 4) -> Iterator[T]:
    """The items of ``produce()``, made in a thread (with ``threads`` torch threads) up to ``depth`` ahead.

    The thread starts on the first request (so whatever the consumer resets before asking comes
    first); an exception in it is raised here; closing this iterator stops the thread and waits for it.
    """
    import torch

    handoff: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        torch.set_num_threads(threads)
        try:
            for item in produce():
                if not put(item):
                    return
            put(done)
        except BaseException as err:  # noqa: BLE001 - handed to the consumer, raised there
            put(err)

    worker = threading.Thread(target=work, name="film-first-pass", daemon=True)
    worker.start()
    try:
        while True:
            item = handoff.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        if worker.is_alive():
            worker.join()
