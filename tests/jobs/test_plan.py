"""Segment planning: every frame owned once, boundaries at scene cuts / keyframes, overlap reads."""

from __future__ import annotations

import pytest

from vidrestore.jobs.plan import (
    AUTO_MAX_FRAMES,
    AUTO_MIN_FRAMES,
    auto_segment_frames,
    make_segments,
    overlap_share,
    plan_boundaries,
)


def _check_cover(starts: list[int], total: int, length: int) -> None:
    assert starts[0] == 0 and starts == sorted(set(starts))
    sizes = [b - a for a, b in zip(starts, starts[1:] + [total])]
    assert sum(sizes) == total
    slack = length // 4
    assert all(s <= length + slack + length // 4 for s in sizes)  # the last may absorb a short tail
    assert all(s >= length - slack for s in sizes[:-1])


@pytest.mark.parametrize("total,length", [(1, 10), (9, 10), (10, 10), (11, 10), (100, 10), (1000, 37), (301, 300)])
def test_frame_boundaries_cover_every_frame_once(total: int, length: int) -> None:
    starts = plan_boundaries(total, length, split="frames")
    _check_cover(starts, total, length)
    segs = make_segments(starts, total, warmup=0, lookahead=0)
    owned = [i for s in segs for i in range(s.start, s.stop)]
    assert owned == list(range(total))
    if total <= length:
        assert starts == [0]


def test_boundaries_snap_to_scene_cuts_then_keyframes() -> None:
    # ideal boundaries at 100, 200, 300; a cut at 93 (within 100 +- 25), none near 200, a keyframe start near 300
    starts = plan_boundaries(400, 100, split="scenes", warmup=3, scene_cuts=[93, 160], keyframes=[0, 50, 207, 290])
    assert starts[1] == 93  # scene cut nearest to 100
    assert starts[2] == 210  # keyframe 207 + warm-up 3: the segment reads from the keyframe on
    assert starts[3] == 293  # keyframe 290 + 3, nearest to 310
    _check_cover(starts, 400, 100)
    # keyframes only: cuts ignored
    assert plan_boundaries(400, 100, split="keyframes", warmup=0, scene_cuts=[93], keyframes=[0, 104, 198, 305])[1:] \
        == [104, 198, 305]
    # frames: ideal multiples
    assert plan_boundaries(400, 100, split="frames", scene_cuts=[93], keyframes=[104]) == [0, 100, 200, 300]


def test_a_short_tail_is_merged_and_read_ranges_are_clipped() -> None:
    starts = plan_boundaries(105, 50, split="frames")
    assert starts == [0, 50]  # a 5-frame tail goes into the last segment
    segs = make_segments([0, 40, 80], 100, warmup=2, lookahead=1)
    assert [(s.read_start, s.read_stop) for s in segs] == [(0, 41), (38, 81), (78, 100)]
    # extra frames read: (2+1) + (2+1) ... = 1 + 3 + 2 = 6 of 100 owned
    assert overlap_share(segs) == pytest.approx(0.06)


def test_auto_length_balances_workers_and_bounds_overlap() -> None:
    assert auto_segment_frames(100) == AUTO_MIN_FRAMES
    assert auto_segment_frames(100_000) == AUTO_MAX_FRAMES
    assert auto_segment_frames(800, workers=2) == 100  # 4 segments per worker
    assert auto_segment_frames(800, workers=2, reach=10) == 160  # >= 16x the overlap: <= ~6% extra work
