"""plan_windows / sliding_windows: every frame covered, each emitted once, no repeats, stream == plan."""

from __future__ import annotations

import pytest

from vidrestore.temporal.windows import plan_windows, sliding_windows

CASES = [(n, w, o) for n in (0, 1, 2, 3, 5, 7, 10, 16, 25, 26, 33) for w in (1, 2, 3, 4, 8, 16) for o in range(0, w)]


@pytest.mark.parametrize(("n", "window", "overlap"), CASES)
def test_plan_covers_every_frame_once_without_repeats(n: int, window: int, overlap: int) -> None:
    plan = plan_windows(n, window=window, overlap=overlap)
    emitted: list[int] = []
    for i, w in enumerate(plan):
        assert w.index == i
        assert 0 <= w.start <= w.emit_start <= w.stop <= n
        assert w.size == min(window, n)  # never padded, never shorter than it can be
        assert len(set(w.frames)) == w.size  # no repeats inside a window
        if i > 0:
            prev = plan[i - 1]
            assert w.start > prev.start  # always advances
            assert w.emit_start == prev.stop  # new frames follow on from the previous window
            assert w.stop - w.size <= prev.stop - overlap or w.stop == n  # shares >= overlap frames
            assert prev.stop - w.start >= overlap  # the overlap is there (the last window may share more)
        emitted.extend(w.new_frames)
    assert emitted == list(range(n))
    if plan:
        assert plan[-1].stop == n


def test_last_window_is_placed_on_the_end_not_padded() -> None:
    # The FreeNoise example: 25 frames, windows of 16 with stride 4 -> the last window is (9, 25).
    plan = plan_windows(25, window=16, overlap=12)
    assert [(w.start, w.stop) for w in plan] == [(0, 16), (4, 20), (8, 24), (9, 25)]
    assert plan[-1].emit_start == 24 and plan[-1].carried == 15


@pytest.mark.parametrize(("n", "window", "overlap"), [c for c in CASES if c[0] in (0, 3, 10, 25, 33)])
def test_stream_gives_the_same_windows_and_items(n: int, window: int, overlap: int) -> None:
    frames = [f"f{i}" for i in range(n)]
    batches = list(sliding_windows(iter(frames), window=window, overlap=overlap))
    assert [b.window for b in batches] == plan_windows(n, window=window, overlap=overlap)
    for b in batches:
        assert b.items == tuple(frames[b.window.start:b.window.stop])
        assert b.new_items == tuple(frames[b.window.emit_start:b.window.stop])


def test_stream_holds_at_most_one_window() -> None:
    held: list[int] = []

    def gen():
        for i in range(40):
            held.append(i)
            yield i

    seen = 0
    for b in sliding_windows(gen(), window=5, overlap=2):
        # the generator has been pulled exactly to the window's end: nothing read ahead
        assert len(held) == b.window.stop
        seen += len(b.new_items)
    assert seen == 40


@pytest.mark.parametrize(("window", "overlap"), [(0, 0), (3, 3), (3, -1)])
def test_bad_arguments_are_refused(window: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="window|overlap"):
        plan_windows(10, window=window, overlap=overlap)
