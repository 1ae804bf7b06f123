"""Co-registration, temporal filling and detection on arrays with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from vidrestore.decloud.align import estimate_shift, refine_shift, shift_image, shift_mask
from vidrestore.decloud.detect import DetectParams, detect_stack, nanmedian0, robust_line
from vidrestore.decloud.fill import FillParams, Source, match_band, temporal_fill
from vidrestore.decloud.inpaint import inpaint_classical
from vidrestore.decloud.masks import CLEAR, CLOUD, NODATA, SHADOW

from .synth import f1_score


def _texture(h: int, w: int, seed: int = 0, lo: float = 0.05, span: float = 0.4) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    img = np.zeros((h, w), np.float32)
    for s in (1.5, 4.0, 12.0):
        img += cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), s) * s
    return (img - img.min()) / (img.max() - img.min()) * span + lo


def test_shift_image_conventions() -> None:
    img = np.arange(30, dtype=np.float32).reshape(5, 6)
    out = shift_image(img, 1, 2)  # out[y, x] = img[y + 2, x + 1]
    assert out[0, 0] == img[2, 1] and out[2, 4] == img[4, 5]
    assert np.isnan(out[3:, :]).all() and np.isnan(out[:, 5]).all()
    assert np.array_equal(shift_image(img, 0, 0), img)
    half = shift_image(img, 0.5, 0)
    assert half[1, 1] == pytest.approx((img[1, 1] + img[1, 2]) / 2, abs=0.05)  # linear ramp: exact up to cubic
    m = np.zeros((5, 6), np.uint8)
    m[2, 3] = 1
    assert shift_mask(m, -1.4, 0.6, fill=255)[1, 4] == 1  # rounds to (-1, +1)
    assert shift_mask(m, 3, 0, fill=255)[0, 5] == 255


@pytest.mark.parametrize("dx, dy", [(2.5, -1.25), (-3.3, 4.7), (0.4, 0.2)])
def test_shift_is_measured_to_a_tenth_of_a_pixel_under_clouds(dx: float, dy: float) -> None:
    ref = _texture(256, 256)
    mov = shift_image(ref, -dx, -dy, interpolation="cubic")  # mov(x + (dx, dy)) = ref(x)
    bad = np.zeros(ref.shape, bool)
    bad[40:120, 60:200] = True  # a cloud on the moving date...
    mov = np.where(bad, 0.9, mov).astype(np.float32)
    est = estimate_shift(ref, mov, ref_bad=np.isnan(ref), mov_bad=bad | np.isnan(mov))
    assert abs(est.dx - dx) < 0.25 and abs(est.dy - dy) < 0.25
    fine = refine_shift(ref, mov, est, ref_bad=np.isnan(ref), mov_bad=bad | np.isnan(mov))
    assert abs(fine.dx - dx) < 0.05 and abs(fine.dy - dy) < 0.05, fine


def test_robust_line_ignores_outliers_and_median_ignores_nan() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, 5000)
    y = 0.8 * x + 0.1 + rng.normal(0, 0.005, x.size)
    y[:500] += 0.6  # 10 % clouds
    a, b = robust_line(x, y)
    assert a == pytest.approx(0.8, abs=0.01) and b == pytest.approx(0.1, abs=0.01)
    stack = np.array([[1.0, np.nan], [3.0, np.nan], [2.0, 5.0], [np.nan, np.nan]], np.float32)[:, :, None]
    assert nanmedian0(stack)[:, 0].tolist() == [2.0, 5.0]


def _source(index: int, days: float, values: np.ndarray, clear: np.ndarray, fit: np.ndarray | None) -> Source:
    return Source(index=index, days=days, clear=lambda rs, cs: clear[rs, cs], values=lambda rs, cs: values[:, rs, cs],
                  fit=lambda: fit)


def test_temporal_fill_interpolates_in_time_after_radiometric_matching() -> None:
    h, w = 40, 50
    truth = _texture(h, w)[None]  # one band
    before = (truth - 0.02) / 0.8  # the same land seen with another gain/offset 10 days earlier
    after = (truth + 0.01) / 1.25  # and 30 days later
    need = np.zeros((h, w), bool)
    need[10:20, 10:30] = True
    clear_all = np.ones((h, w), bool)
    fits = {1: np.array([[0.8, 0.02]]), 2: np.array([[1.25, -0.01]])}
    srcs = [_source(1, -10.0, before, clear_all, fits[1]), _source(2, 30.0, after, clear_all, fits[2])]
    target = np.where(need, np.nan, truth).astype(np.float32)
    res = temporal_fill(target, ~need, need, srcs, FillParams(regression="global"))
    assert np.abs(res.values[:, need] - truth[:, need]).max() < 1e-5
    assert (res.sides[need] == 2).all() and (res.source[need] == 1).all()  # nearest in time wins the label
    # without matching the gain/offset the error is large: the regression is what makes it exact
    raw = temporal_fill(target, ~need, need, srcs, FillParams(regression="none"))
    assert np.abs(raw.values[:, need] - truth[:, need]).mean() > 0.01
    # the 30-day source alone (the 10-day one cloudy there) still fills, from one side
    half = need.copy()
    half[:, 20:] = False
    srcs[0] = _source(1, -10.0, before, ~half, fits[1])
    res = temporal_fill(target, ~need, need, srcs, FillParams(regression="global"))
    assert (res.sides[half] == 1).all() and (res.source[half] == 2).all()
    assert np.abs(res.values[:, half] - truth[:, half]).max() < 1e-5
    # max_days drops the far source: those pixels stay unfilled
    res = temporal_fill(target, ~need, need, srcs, FillParams(regression="global", max_days=20))
    assert np.isnan(res.values[:, half]).all() and (res.sides[half] == 0).all()


def test_local_regression_follows_a_field_that_changed_alone() -> None:
    h, w = 60, 60
    src = _texture(h, w, seed=3)
    tgt = src * 0.9 + 0.02
    tgt[:, 30:] += 0.05  # the right half changed (a field greened) between the dates
    both = np.ones((h, w), bool)
    both[20:40, 20:40] = False  # cloud on the target
    glob = match_band(src, tgt, both, 0.9, 0.045, radius=8, prior=20.0, local=False)
    loc = match_band(src, tgt, both, 0.9, 0.045, radius=8, prior=20.0, local=True)
    hole = ~both
    assert np.abs(loc - tgt)[hole].mean() < 0.6 * np.abs(glob - tgt)[hole].mean()


def test_inpaint_reaches_only_holes_with_known_neighbours() -> None:
    y, x = np.mgrid[0:60, 0:80]
    img = (0.2 + 0.003 * x + 0.002 * y).astype(np.float32)[None]
    hole = np.zeros((60, 80), bool)
    hole[20:35, 30:45] = True
    vals = np.where(hole, np.nan, img).astype(np.float32)
    out = inpaint_classical(vals, hole)
    assert np.abs(out[0][hole] - img[0][hole]).max() < 0.02 and np.isnan(out[0][~hole]).all()
    assert np.isnan(inpaint_classical(np.full_like(vals, np.nan), hole)).all()


def test_detection_finds_transient_clouds_and_shadows_not_static_bright_land() -> None:
    import cv2

    rng = np.random.default_rng(0)
    t, h, w = 6, 80, 90
    # vegetation/soil reflectances: visible 0.02-0.2, NIR 0.15-0.45
    land = np.stack([_texture(h, w, seed=k, lo=0.02, span=0.18) for k in range(3)] +
                    [_texture(h, w, seed=3, lo=0.15, span=0.3)])  # blue, green, red, nir
    land[:, 5:20, 5:25] = np.array([0.6, 0.62, 0.65, 0.7])[:, None, None]  # a bright roof on every date
    roles = {"blue": 0, "green": 1, "red": 2, "nir": 3}
    stack = np.repeat(land[None], t, axis=0).astype(np.float32)
    stack += rng.normal(0, 0.003, stack.shape).astype(np.float32)
    truth_c = np.zeros((t, h, w), bool)
    truth_s = np.zeros((t, h, w), bool)
    for i in (1, 3, 4):
        cy, cx = 25 + 8 * i, 30 + 5 * i
        disc = np.zeros((h, w), np.uint8)
        cv2.circle(disc, (cx, cy), 9, 1, -1)
        c = disc.astype(bool)
        s = np.roll(c, (12, 14), axis=(0, 1)) & ~c
        stack[i][:, s] *= 0.5
        stack[i][:, c] = 0.85
        truth_c[i], truth_s[i] = c, s
    stack[2, :, 70:, :] = np.nan  # no data strip on one date
    out = detect_stack(stack, roles, DetectParams(buffer=0))
    valid = np.isfinite(stack).all(axis=1)
    assert (out[~valid] == NODATA).all()
    assert f1_score((out == CLOUD)[valid], truth_c[valid]) > 0.95
    assert f1_score((out == SHADOW)[valid], truth_s[valid]) > 0.9
    assert (out[:, 5:20, 5:25] == CLEAR).all()  # bright but there on every date: not a cloud
    assert (out[0] == CLEAR).all()
