"""The streaming interpolation stage fed with Frame objects: placement, copies, scene cuts, bit depth."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from tests.interpolate.synth import psnr, shifted, texture, to_u8
from vidrestore.config import load_config
from vidrestore.pipeline.stages import build_interpolator
from vidrestore.types import Frame, VideoInfo


def info_for(frames: list[np.ndarray], rate: Fraction, time_base: Fraction) -> VideoInfo:
    h, w = frames[0].shape[:2]
    deep = frames[0].dtype == np.uint16
    return VideoInfo(path="<test>", container="none", codec="none", width=w, height=h,
                     pix_fmt="rgb48le" if deep else "rgb24", bit_depth=16 if deep else 8, avg_rate=rate,
                     real_rate=rate, time_base=time_base, num_frames=len(frames), num_frames_exact=True,
                     duration=float(len(frames) / rate), start_time=0.0, rotation=0)


def run(frames: list[np.ndarray], *overrides: str, rate: Fraction = Fraction(24),
        time_base: Fraction = Fraction(1, 24), pts: list[int] | None = None):
    cfg = load_config(preset="interpolate", overrides=overrides)
    proc = build_interpolator(cfg)
    h, w = frames[0].shape[:2]
    spec = proc.output_spec(info_for(frames, rate, time_base), (w, h))
    stamps = pts or [int(Fraction(i) / rate / time_base) for i in range(len(frames))]
    src = [Frame(index=i, pts=p, time_base=time_base, rgb=f) for i, (f, p) in enumerate(zip(frames, stamps))]
    return proc, spec, list(proc.process(iter(src)))


def moving(n: int, *, dx: float = 3.0, dy: float = 1.0, seed: int = 0, tint=(1.0, 1.0, 1.0),
           size: tuple[int, int] = (64, 96)) -> tuple[list[np.ndarray], np.ndarray]:
    img = texture(*size, seed=seed, tint=tint)
    return [to_u8(shifted(img, dx * i, dy * i)) for i in range(n)], img


def test_factor_three_keeps_inputs_and_fills_between() -> None:
    frames, img = moving(8)
    proc, spec, out = run(frames, "interpolate.factor=3")
    assert len(out) == 24 == spec.num_frames == proc.expected_frames(8)
    assert spec.time_base == Fraction(1, 72) and spec.rate == 72
    assert [f.pts for f in out] == list(range(24))
    assert [f.index for f in out] == list(range(24))
    for k in range(8):
        assert out[3 * k].rgb is frames[k]  # the input pixels, untouched
    crop = (slice(8, -8), slice(12, -12))
    for k in range(7):
        for j in (1, 2):
            s = k + j / 3
            gt = to_u8(shifted(img, 3.0 * s, 1.0 * s))
            assert psnr(out[3 * k + j].rgb[crop], gt[crop], 255) > 30.0
    assert all(np.array_equal(f.rgb, frames[7]) for f in out[22:])  # the held tail
    stats = proc.stats()
    assert (stats["copied"], stats["synthesized"], stats["held"]) == (8, 14, 2)
    assert stats["flow_flows_per_frame"] <= 2.0  # each pair's flow estimated once per direction


def test_target_rate_24_to_60() -> None:
    frames, _ = moving(12)
    proc, spec, out = run(frames, "interpolate.fps=60")
    assert len(out) == 30  # 12 frames at 24 fps = 0.5 s = 30 frames at 60 fps
    times = [f.pts * f.time_base for f in out]
    assert {b - a for a, b in zip(times, times[1:])} == {Fraction(1, 60)}
    assert all(out[5 * k // 2].rgb is frames[k] for k in range(0, 12, 2))  # every other input lands on the grid


def two_scenes(n_a: int, n_b: int) -> list[np.ndarray]:
    a, _ = moving(n_a, dx=2.0, seed=1, tint=(1.0, 0.35, 0.3))
    b, _ = moving(n_b, dx=-2.0, dy=1.5, seed=2, tint=(0.3, 0.45, 1.0))
    return a + b


def redness(rgb: np.ndarray) -> float:
    """Share of red in the mean colour: ~0.6 for scene A, ~0.2 for scene B, in between for a mix."""
    m = rgb.reshape(-1, 3).astype(np.float64).mean(0)
    return float(m[0] / m.sum())


def test_no_frame_mixes_two_scenes_at_a_cut() -> None:
    frames = two_scenes(6, 6)
    proc, _, out = run(frames, "interpolate.factor=4")
    assert proc.cache.cuts == [6]
    assert proc.stats()["repeated_at_cuts"] == 3
    # output 20..23 lie between input 5 (last of A) and 6 (first of B): nearest frame repeated, bit-exact
    assert [f.rgb is frames[5] for f in out[20:22]] == [True, True]
    assert [f.rgb is frames[6] for f in out[22:25]] == [True, True, True]
    red_a, red_b = redness(frames[0]), redness(frames[-1])
    for f in out:
        r = redness(f.rgb)
        assert min(abs(r - red_a), abs(r - red_b)) < 0.02, f"output frame {f.index} mixes the scenes ({r:.3f})"


def test_without_cut_detection_the_cut_is_blended() -> None:
    """Control for the test above: with scene_cut off the same clip does produce mixed frames."""
    frames = two_scenes(6, 6)
    _, _, out = run(frames, "interpolate.factor=4", "flow.scene_cut=false")
    red_a, red_b = redness(frames[0]), redness(frames[-1])
    mixed = [f.index for f in out if min(abs(redness(f.rgb) - red_a), abs(redness(f.rgb) - red_b)) > 0.05]
    assert mixed and set(mixed) <= {21, 22, 23}


def test_sixteen_bit_frames_stay_sixteen_bit() -> None:
    img = texture(48, 64, seed=3)
    frames = [np.clip(np.rint(shifted(img, 2.0 * i, 0.0) * 65535), 0, 65535).astype(np.uint16) for i in range(4)]
    _, spec, out = run(frames, "interpolate.factor=2")
    assert spec.bit_depth == 16
    assert all(f.rgb.dtype == np.uint16 for f in out)
    assert all(out[2 * k].rgb is frames[k] for k in range(4))
    assert len({int(v) for v in np.unique(out[3].rgb[..., 0] % 256)}) > 200  # low bits are real, not x257 of 8-bit


def test_vfr_pts_kept_and_midpoints_exact() -> None:
    frames, _ = moving(6)
    pts = [0, 40, 70, 150, 160, 240]
    _, spec, out = run(frames, "interpolate.factor=2", time_base=Fraction(1, 1000), pts=pts, rate=Fraction(25))
    assert spec.time_base == Fraction(1, 2000)
    assert [out[2 * k].pts for k in range(6)] == [2 * p for p in pts]
    assert [out[2 * k + 1].pts for k in range(5)] == [a + b for a, b in zip(pts, pts[1:])]
    assert out[-1].pts == 2 * 240 + 80  # held for the last step (80 ms), half of it at the output rate


def test_frame_size_change_is_refused() -> None:
    from vidrestore.errors import ShapeError

    frames, _ = moving(3)
    frames.append(frames[-1][:-2])
    with pytest.raises(ShapeError):
        run(frames, "interpolate.factor=2")


def test_cheaper_order_follows_the_costs() -> None:
    from vidrestore.interpolate.processor import cheaper_order

    # restorer 10x the cost of an interpolation pair: run it on fewer frames (upscale first) at x2 (4x area)
    assert cheaper_order(ratio=2, area_scale=4, gan_cost=10.0, interp_cost=1.0) == "upscale-first"
    # cheap restorer, big upscale: interpolate at the small size first
    assert cheaper_order(ratio=2, area_scale=16, gan_cost=1.0, interp_cost=1.0) == "interpolate-first"
    # more frames per input make running the restorer on every output frame dearer
    assert cheaper_order(ratio=5, area_scale=16, gan_cost=4.0, interp_cost=1.0) == "upscale-first"


def test_measured_order_picks_by_timing() -> None:
    """``measure_costs`` times the real interpolator and the given restorer on a test pair."""
    import time as _time
    from types import SimpleNamespace

    from vidrestore.interpolate.processor import cheaper_order, measure_costs

    proc = build_interpolator(load_config(preset="interpolate"))

    def fake_gan(seconds: float) -> SimpleNamespace:
        def restore(x: torch.Tensor) -> torch.Tensor:
            _time.sleep(seconds)
            return x

        return SimpleNamespace(restorer=SimpleNamespace(restore=restore))

    fast_gan, interp_cost = measure_costs(fake_gan(0.0), proc, ratio=2.0)
    # upscale-first wins when the restorer costs more than 3 interpolation pairs (ratio 2, area x4):
    # 0.5 s is ~4x that on an idle machine; under load the pair slows down, so never less than 8 pairs
    delay = max(0.5, 8.0 * interp_cost * 192**2)
    slow_gan, _ = measure_costs(fake_gan(delay), proc, ratio=2.0)
    assert slow_gan > delay / 192**2 * 0.9 and fast_gan < slow_gan / 10
    assert interp_cost > 0
    assert cheaper_order(ratio=2, area_scale=4, gan_cost=slow_gan, interp_cost=interp_cost) == "upscale-first"
    assert cheaper_order(ratio=2, area_scale=4, gan_cost=fast_gan, interp_cost=interp_cost) == "interpolate-first"
