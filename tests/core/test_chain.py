"""Chain: spec, frames, reach, uses_pixels and stats of stages composed one after the other."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from vidrestore.pipeline.chain import Chain, next_input
from vidrestore.stage import Passthrough, frame_ratio, same_frames_spec, segment_reach, uses_pixels
from vidrestore.types import Frame, OutputSpec, VideoInfo


def _info(n: int = 6) -> VideoInfo:
    return VideoInfo(path="x.mp4", container="mp4", codec="h264", width=8, height=6, pix_fmt="yuv420p", bit_depth=8,
                     avg_rate=Fraction(24), real_rate=Fraction(24), time_base=Fraction(1, 24), num_frames=n,
                     num_frames_exact=True, duration=n / 24, start_time=0.0, rotation=0)


def _frames(n: int) -> list[Frame]:
    return [Frame(index=i, pts=i, time_base=Fraction(1, 24), rgb=np.full((6, 8, 3), i, np.uint8)) for i in range(n)]


class AddOne:
    """Adds 1 to every pixel; reach as given."""

    def __init__(self, warmup: int | None = 0, lookahead: int | None = 0) -> None:
        self.warmup_frames, self.lookahead_frames = warmup, lookahead
        self.seen = 0

    def output_spec(self, info: VideoInfo, frame_size: tuple[int, int]) -> OutputSpec:
        return same_frames_spec(info, frame_size)

    def process(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        for f in frames:
            self.seen += 1
            yield f.with_rgb(f.rgb + 1)

    def stats(self) -> dict[str, Any]:
        return {"frames": self.seen, "add_seen": self.seen}


class Double:
    """Each frame twice, at twice the rate, twice the size (an interpolator and an upscaler in one)."""

    frame_ratio = Fraction(2)
    warmup_frames, lookahead_frames = 1, 2

    def output_spec(self, info: VideoInfo, frame_size: tuple[int, int]) -> OutputSpec:
        return OutputSpec(width=2 * frame_size[0], height=2 * frame_size[1], time_base=info.time_base / 2,
                          rate=2 * (info.avg_rate or info.real_rate), num_frames=2 * info.num_frames, bit_depth=8)

    def process(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        for f in frames:
            big = f.rgb.repeat(2, 0).repeat(2, 1)
            for k in range(2):
                yield Frame(index=2 * f.index + k, pts=2 * f.pts + k, time_base=f.time_base / 2, rgb=big)

    def stats(self) -> dict[str, Any]:
        return {"frames": "doubled"}


def test_frames_go_through_every_stage_in_order() -> None:
    chain = Chain([("a", AddOne()), ("", Double()), ("b", AddOne())])
    out = list(chain.process(iter(_frames(3))))
    assert [f.index for f in out] == list(range(6)) and [f.pts for f in out] == list(range(6))
    assert [int(f.rgb[0, 0, 0]) for f in out] == [2, 2, 3, 3, 4, 4] and out[0].rgb.shape == (12, 16, 3)


def test_each_stage_is_asked_its_spec_with_what_the_stage_before_emits() -> None:
    info = _info(6)
    spec = Chain([("a", AddOne()), ("", Double()), ("b", AddOne())]).output_spec(info, (8, 6))
    assert spec == OutputSpec(width=16, height=12, time_base=Fraction(1, 48), rate=Fraction(48), num_frames=12)
    same, size = next_input(info, (8, 6), same_frames_spec(info, (8, 6)))
    assert same is info and size == (8, 6)  # a one-to-one stage hands the very same info on


def test_reach_adds_up_in_input_frames_and_divides_by_the_ratio_before_it() -> None:
    assert Chain([("a", AddOne(2, 1)), ("b", AddOne(3, 4))]).reach() == (5, 5)
    # after a x2 stage, 3 frames of its output are covered by ceil(3 / 2) = 2 input frames
    assert Chain([("", Double()), ("b", AddOne(3, 1))]).reach() == (1 + 2, 2 + 1)
    assert Chain([("a", AddOne(3, 1)), ("", Double())]).reach() == (3 + 1, 1 + 2)
    assert Chain([("", Double()), ("b", AddOne(0, 0))]).reach() == (1, 2)
    assert Chain([("", Double()), ("b", Double())]).frame_ratio == 4


def test_reach_is_none_when_a_stage_has_none_or_follows_a_stage_without_a_fixed_ratio() -> None:
    assert Chain([("a", AddOne(2, 1)), ("b", AddOne(None, None))]).reach() is None
    to_rate = Double()
    to_rate.frame_ratio = None  # type: ignore[assignment]  # a target frame rate
    assert segment_reach(Chain([("", to_rate), ("b", AddOne(1, 0))])) is None
    assert segment_reach(Chain([("", to_rate), ("b", AddOne(0, 0))])) == (1, 2)
    assert segment_reach(Chain([("b", AddOne(1, 0)), ("", to_rate)])) == (2, 2)
    assert frame_ratio(Chain([("b", AddOne()), ("", to_rate)])) is None


def test_uses_pixels_when_any_stage_does() -> None:
    assert not uses_pixels(Chain([("a", Passthrough()), ("b", Passthrough())]))
    assert uses_pixels(Chain([("a", Passthrough()), ("b", AddOne())]))


def test_stats_are_merged_under_the_stage_names() -> None:
    a, b = AddOne(), AddOne()
    chain = Chain([("", Double()), ("add", a), ("restorer", b)])
    list(chain.process(iter(_frames(2))))
    assert chain.stats() == {"frames": "doubled", "add_frames": 4, "add_seen": 4, "restorer_frames": 4,
                             "restorer_add_seen": 4}
    assert chain.stage("add") is a
    with pytest.raises(KeyError):
        chain.stage("film")


def test_names_must_be_distinct_and_stages_before_the_last_are_told_they_are_followed() -> None:
    with pytest.raises(ValueError, match="distinct"):
        Chain([("a", AddOne()), ("a", AddOne())])
    with pytest.raises(ValueError, match="at least one"):
        Chain([])
    first, last = AddOne(), AddOne()
    first.followed = last.followed = False  # type: ignore[attr-defined]
    Chain([("a", first), ("b", last)])
    assert first.followed and not last.followed  # type: ignore[attr-defined]


def test_job_context_reaches_every_stage_that_takes_one() -> None:
    got: list[Any] = []
    taker = AddOne()
    taker.use_job_context = got.append  # type: ignore[attr-defined]
    Chain([("a", AddOne()), ("b", taker)]).use_job_context({"origin": "0"})
    assert got == [{"origin": "0"}]
