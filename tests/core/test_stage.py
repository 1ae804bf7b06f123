"""The stage contract in vidrestore.stage, and the old location that only re-exports it."""

from __future__ import annotations

from fractions import Fraction

import pytest

from tests.test_layers import all_modules, imports_of
from vidrestore.stage import FrameProcessor, Passthrough, frame_ratio, segment_reach, uses_pixels
from vidrestore.types import VideoInfo


def test_declared_reach_ratio_and_pixels_with_their_defaults() -> None:
    class Bare:
        pass

    class Declared:
        warmup_frames, lookahead_frames, uses_pixels, frame_ratio = 2, 1, False, 3

    assert segment_reach(Bare()) is None and uses_pixels(Bare()) and frame_ratio(Bare()) == 1
    assert segment_reach(Declared()) == (2, 1) and not uses_pixels(Declared()) and frame_ratio(Declared()) == 3
    Declared.warmup_frames = -1
    with pytest.raises(ValueError, match="must be >= 0"):
        segment_reach(Declared())


def test_passthrough_keeps_size_timing_and_depth() -> None:
    info = VideoInfo(path="x.mkv", container="matroska", codec="hevc", width=6, height=4, pix_fmt="yuv420p10le",
                     bit_depth=10, avg_rate=None, real_rate=Fraction(25), time_base=Fraction(1, 1000),
                     num_frames=7, num_frames_exact=True, duration=0.28, start_time=0.0, rotation=90)
    stage = Passthrough()
    spec = stage.output_spec(info, (4, 6))
    assert (spec.width, spec.height, spec.time_base, spec.rate, spec.num_frames, spec.bit_depth) == (
        4, 6, Fraction(1, 1000), Fraction(25), 7, 16)
    assert isinstance(stage, FrameProcessor) and segment_reach(stage) == (0, 0) and not uses_pixels(stage)


def test_the_old_location_only_re_exports_and_nothing_inside_imports_it() -> None:
    import vidrestore.pipeline.base as old
    import vidrestore.stage as stage
    import vidrestore.types as types

    assert old.FrameProcessor is stage.FrameProcessor and old.OutputSpec is types.OutputSpec
    assert old.segment_reach is stage.segment_reach and old.Passthrough is stage.Passthrough
    modules = all_modules()
    users = [name for name, path in modules.items() if "vidrestore.pipeline.base" in imports_of(name, path, modules)]
    assert users == []
