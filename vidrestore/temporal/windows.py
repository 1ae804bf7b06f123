"""Sliding windows over a sequence of frames: every frame covered, neighbours shared, no repeats.

A window is a half-open range ``[start, stop)`` of frame indices. Consecutive windows share
``overlap`` frames (the warm-up / carried context) and advance by ``stride = window - overlap``.
The last window is placed so that it *ends* on the last frame (``start = n - window``): it may
therefore share more than ``overlap`` frames with its predecessor, but it never pads with
repeated frames, unlike segmenters that duplicate the final frame to fill a window.

Each window also says which of its frames are *new* (``emit_start .. stop``): the frames no
earlier window produced. Emitting only those gives every frame exactly once, in order.

Two entry points that agree with each other:

* :func:`plan_windows` when the frame count is known;
* :func:`sliding_windows` for a stream of unknown length (it keeps at most ``window`` items).

Example::

    >>> [(w.start, w.stop, w.emit_start) for w in plan_windows(10, window=4, overlap=1)]
    [(0, 4, 0), (3, 7, 4), (6, 10, 7)]
    >>> [(w.start, w.stop, w.emit_start) for w in plan_windows(9, window=4, overlap=1)]
    [(0, 4, 0), (3, 7, 4), (5, 9, 7)]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Window:
    """One window ``[start, stop)``; frames ``[emit_start, stop)`` are new in it."""

    index: int
    start: int
    stop: int
    emit_start: int

    @property
    def size(self) -> int:
        return self.stop - self.start

    @property
    def carried(self) -> int:
        """How many leading frames were already produced by the previous window."""
        return self.emit_start - self.start

    @property
    def frames(self) -> range:
        return range(self.start, self.stop)

    @property
    def new_frames(self) -> range:
        return range(self.emit_start, self.stop)


@dataclass(frozen=True)
class WindowBatch(Generic[T]):
    """A window together with its items (``items[i]`` is frame ``window.start + i``)."""

    window: Window
    items: tuple[T, ...]

    @property
    def new_items(self) -> tuple[T, ...]:
        return self.items[self.window.carried:]


def _check_args(window: int, overlap: int) -> None:
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must satisfy 0 <= overlap < window ({window}), got {overlap}")


def plan_windows(num_frames: int, *, window: int, overlap: int) -> list[Window]:
    """Windows covering ``num_frames`` frames (see the module docstring for the rules).

    ``num_frames <= window`` gives a single window of ``num_frames`` frames; 0 frames give no
    window. Windows have ``min(window, num_frames)`` frames each.
    """
    _check_args(window, overlap)
    if num_frames < 0:
        raise ValueError(f"num_frames must be >= 0, got {num_frames}")
    if num_frames == 0:
        return []
    if num_frames <= window:
        return [Window(0, 0, num_frames, 0)]
    stride = window - overlap
    out: list[Window] = []
    start = 0
    emitted = 0
    while True:
        start = min(start, num_frames - window)
        stop = start + window
        out.append(Window(len(out), start, stop, emitted))
        emitted = stop
        if stop >= num_frames:
            return out
        start += stride


def sliding_windows(items: Iterable[T], *, window: int, overlap: int) -> Iterator[WindowBatch[T]]:
    """Stream version of :func:`plan_windows`: yields the same windows with their items.

    Holds at most ``window`` items. Since the stream length is unknown until it ends, a full
    window is yielded as soon as it fills; when the stream ends inside the next window, that
    last window is placed to end on the last item, exactly as :func:`plan_windows` places it.
    """
    _check_args(window, overlap)
    stride = window - overlap
    recent: deque[T] = deque(maxlen=window)  # the last ``window`` items seen
    start = 0  # first frame of the next full window
    emitted = 0  # frames already produced by yielded windows
    count = 0
    index = 0
    for item in items:
        recent.append(item)
        count += 1
        if count - start == window:
            yield WindowBatch(Window(index, start, count, emitted), tuple(recent))
            index += 1
            emitted = count
            start += stride
    if count > emitted:
        last_start = max(0, count - window)
        kept = tuple(recent)[len(recent) - (count - last_start):]
        yield WindowBatch(Window(index, last_start, count, emitted), kept)


def window_items(items: Sequence[T], win: Window) -> tuple[T, ...]:
    """The items of ``win`` taken from a full sequence (``items[win.start:win.stop]``)."""
    return tuple(items[win.start:win.stop])
