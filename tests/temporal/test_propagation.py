"""Flow-guided temporal fusion of per-frame restorations: consistency, fidelity, exact segment reproduction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.restore.gan_data import animevideo_weights, reds_frames
from vidrestore.config import FlowConfig, RestorerConfig
from vidrestore.flow import DISFlow, backward_warp, estimate_both, occlusion_mask
from vidrestore.temporal.propagation import (
    PropagationParams,
    TemporalPropagator,
    pair_statistics,
    restore_segment,
    segment_input_range,
)

PARAMS = PropagationParams.from_window(5, strength=0.8, error_scale=0.05)


def flicker_restorer(x: torch.Tensor) -> torch.Tensor:
    """A stand-in for a GAN: x2 bicubic plus detail noise that changes from frame to frame.

    Deterministic per input (the noise is seeded by the frame's content), like a real restorer.
    """
    seed = int(float(x.double().sum()) * 1e6) % (2**31)
    gen = torch.Generator().manual_seed(seed)
    up = F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
    return (up + 0.04 * torch.randn(up.shape, generator=gen)).clamp(0, 1)


def textured_clip(n: int, *, h: int = 48, w: int = 64, speed: float = 0.0, seed: int = 0) -> torch.Tensor:
    """A smooth random texture, panned by ``speed`` pixels per frame, with a little sensor noise: ``(n, 3, h, w)``."""
    gen = torch.Generator().manual_seed(seed)
    base = F.interpolate(torch.rand(1, 3, h // 4 + 4, w // 4 + 4, generator=gen), size=(h + 16, w + 16 + int(speed * n)),
                         mode="bicubic", align_corners=False).clamp(0, 1)
    frames = []
    for i in range(n):
        flow = torch.zeros(1, 2, h + 16, w + 16)
        flow[:, 0] = speed * i
        frames.append(backward_warp(base[..., : w + 16], flow)[..., 8:8 + h, 8:8 + w])
    clip = torch.cat(frames)
    return q8((clip + 0.004 * torch.randn(clip.shape, generator=gen)).clamp(0, 1))


def fuse(frames: torch.Tensor, restore, params: PropagationParams = PARAMS) -> tuple[list[torch.Tensor], TemporalPropagator]:
    prop = TemporalPropagator(flow=DISFlow(preset="medium"), params=params)
    items = ((i, frames[i:i + 1], restore(frames[i:i + 1]), None) for i in range(frames.shape[0]))
    return [y for _, y, _ in prop.run(items)], prop


def warping_error(outputs: list[torch.Tensor], inputs: torch.Tensor) -> float:
    """Mean squared difference between consecutive outputs after warping with the inputs' flow,
    over pixels the inputs' forward-backward check calls visible (the issue's definition)."""
    flow = DISFlow(preset="medium")
    errs = []
    for t in range(1, len(outputs)):
        f_tp, f_pt = estimate_both(flow, inputs[t:t + 1], inputs[t - 1:t])
        visible = ~occlusion_mask(f_tp, f_pt)
        visible = F.interpolate(visible.float(), size=outputs[t].shape[-2:], mode="nearest") > 0
        diff = ((outputs[t] - backward_warp(outputs[t - 1], f_tp)) ** 2).mean(dim=1, keepdim=True)
        errs.append(float(diff[visible].mean()))
    return float(np.mean(errs))


def judged_warping_error(outputs: list[torch.Tensor], inputs: torch.Tensor,
                         known: list[tuple[float, float]] | None = None) -> float:
    """Warping error judged with motion the fusion does not use (it aligns with DIS): OpenCV Farneback
    on the inputs, forward-backward checked, or the ``known`` motion of a synthetic pan (per frame
    (dx, dy) in input pixels with frame_t(x) = frame_t-1(x + d))."""
    from vidrestore.flow.dis import FarnebackFlow
    from vidrestore.flow.warp import valid_mask

    scale = outputs[0].shape[-1] / inputs.shape[-1]
    errs = []
    for t in range(1, len(outputs)):
        if known is not None:
            f = torch.zeros(1, 2, *outputs[t].shape[-2:])
            f[:, 0], f[:, 1] = known[t][0] * scale, known[t][1] * scale
            visible = valid_mask(f)
        else:
            f, f_back = estimate_both(FarnebackFlow(), inputs[t:t + 1], inputs[t - 1:t])
            visible = F.interpolate((~occlusion_mask(f, f_back)).float(), size=outputs[t].shape[-2:],
                                    mode="nearest") > 0
        diff = ((outputs[t] - backward_warp(outputs[t - 1], f)) ** 2).mean(dim=1, keepdim=True)
        errs.append(float(diff[visible].mean()))
    return float(np.mean(errs))


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1 / ((a.double() - b.double()) ** 2).mean()))


def q8(t: torch.Tensor) -> torch.Tensor:
    return (t * 255).round() / 255


# --------------------------------------------------------------------------- mechanics


def test_segment_with_warmup_reproduces_the_uninterrupted_run() -> None:
    frames = textured_clip(10, speed=1.3)
    full, prop = fuse(frames, flicker_restorer)
    assert len(full) == 10
    assert prop.flows_computed == 9  # each consecutive pair once (both directions in one call)
    start, stop = 4, 7
    a, b = segment_input_range(start, stop, PARAMS, total=10)
    assert (a, b) == (2, 9)
    seg = restore_segment(((i, frames[i:i + 1]) for i in range(a, b)), flicker_restorer,
                          flow=DISFlow(preset="medium"), params=PARAMS, start=start, stop=stop)
    assert [i for i, _ in seg] == list(range(start, stop))
    for i, y in seg:
        assert torch.equal(y, full[i]), i
    # a segment at the very start needs no warm-up; one at the end reads no frames past the video
    head = restore_segment(((i, frames[i:i + 1]) for i in range(0, 5)), flicker_restorer,
                           flow=DISFlow(preset="medium"), params=PARAMS, start=0, stop=3)
    assert all(torch.equal(y, full[i]) for i, y in head)
    tail = restore_segment(((i, frames[i:i + 1]) for i in range(6, 10)), flicker_restorer,
                           flow=DISFlow(preset="medium"), params=PARAMS, start=8)
    assert [i for i, _ in tail] == [8, 9] and all(torch.equal(y, full[i]) for i, y in tail)


def test_a_short_warmup_changes_the_frames_and_is_refused() -> None:
    frames = textured_clip(9, speed=0.7)
    full, _ = fuse(frames, flicker_restorer)
    # without the warm-up, frame 5 loses its past neighbours: not the same frame
    prop = TemporalPropagator(flow=DISFlow(preset="medium"), params=PARAMS)
    cold = {i: y for i, y, _ in prop.run((i, frames[i:i + 1], flicker_restorer(frames[i:i + 1]), None)
                                         for i in range(5, 9))}
    assert not torch.allclose(cold[5], full[5], atol=1e-3)
    with pytest.raises(ValueError, match="needs a warm-up from frame 3"):
        restore_segment(((i, frames[i:i + 1]) for i in range(4, 9)), flicker_restorer,
                        flow=DISFlow(preset="medium"), params=PARAMS, start=5)


def test_indices_must_be_consecutive() -> None:
    frames = textured_clip(3)
    prop = TemporalPropagator(flow=DISFlow(preset="medium"), params=PARAMS)
    items = [(0, frames[0:1], flicker_restorer(frames[0:1]), None), (2, frames[1:2], flicker_restorer(frames[1:2]), None)]
    with pytest.raises(ValueError, match="consecutive"):
        list(prop.run(items))


def test_zero_strength_is_the_per_frame_restoration() -> None:
    frames = textured_clip(5, speed=1.0)
    params = PropagationParams.from_window(5, strength=0.0)
    out, _ = fuse(frames, flicker_restorer, params)
    for i, y in enumerate(out):
        assert torch.allclose(y, flicker_restorer(frames[i:i + 1]), atol=1e-6)


def test_static_texture_stops_flickering_and_motion_stays_aligned() -> None:
    for speed in (0.0, 1.5):
        frames = textured_clip(8, speed=speed, seed=3)
        raw = [flicker_restorer(frames[i:i + 1]) for i in range(8)]
        out, prop = fuse(frames, flicker_restorer)
        before, after = warping_error(raw, frames), warping_error(out, frames)
        assert after < 0.3 * before, (speed, before, after)
        # closer to the clean (noise-free) upscale than any single restoration
        clean = [F.interpolate(frames[i:i + 1], scale_factor=2, mode="bicubic", align_corners=False).clamp(0, 1)
                 for i in range(8)]
        gain = np.mean([psnr(out[i], clean[i]) - psnr(raw[i], clean[i]) for i in range(2, 6)])
        assert gain > 3.0, (speed, gain)
        assert prop.mean_neighbour_weight > 1.5


def test_a_scene_cut_is_not_blended_across() -> None:
    a, b = textured_clip(4, seed=1), textured_clip(4, seed=2)
    frames = torch.cat([a, b])
    out, _ = fuse(frames, flicker_restorer)
    for i in (3, 4):  # the frames on either side of the cut keep their own content
        raw = flicker_restorer(frames[i:i + 1])
        other = flicker_restorer(frames[7 - i:8 - i])
        assert psnr(out[i], raw) > psnr(out[i], other) + 8
        assert psnr(out[i], raw) > 25


# --------------------------------------------------------------------------- noise gate, flicker offset

PLAIN = PropagationParams.from_window(5, strength=0.8, error_scale=0.05, noise_gate=0.0)


def test_pair_statistics_measure_offset_and_residual_level_over_matched_pixels() -> None:
    gen = torch.Generator().manual_seed(0)
    diff = 0.02 * torch.randn(2, 3, 64, 64, generator=gen) + torch.tensor([0.1, -0.05, 0.0]).view(1, 3, 1, 1)
    diff[:, :, :8] += 0.5  # a moving object the flow missed: an eighth of the pixels, confident anyway
    conf = torch.ones(2, 1, 64, 64)
    conf[1, :, 8:] = 0.0  # pair 1: only an eighth of its pixels matched
    offset, level = pair_statistics(diff, conf, flicker_offset=True)
    # pair 0: the medians see through the object; mean |N(0, 0.02)| = 0.016 per channel
    assert torch.allclose(offset[0].flatten(), torch.tensor([0.1, -0.05, 0.0]), atol=0.006), offset[0]
    assert 0.014 < float(level[0]) < 0.019, level[0]
    assert float(offset[1].abs().max()) == 0.0 and float(level[1]) == 0.0  # too few matches: nothing measured
    no_offset, level_raw = pair_statistics(diff, conf, flicker_offset=False)
    assert float(no_offset.abs().max()) == 0.0 and float(level_raw[0]) > 0.045  # the offset counted as residual


def test_noise_gate_opens_on_noisy_input_and_leaves_clean_input_alone() -> None:
    clean = textured_clip(8, speed=0.8, seed=4)
    noisy = q8((clean + 0.04 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(7))).clamp(0, 1))
    for frames, name in ((clean, "clean"), (noisy, "noisy")):
        raw = [flicker_restorer(frames[i:i + 1]) for i in range(8)]
        plain, p_plain = fuse(frames, flicker_restorer, PLAIN)
        gated, p_gated = fuse(frames, flicker_restorer)
        we_plain, we_gated = warping_error(plain, frames), warping_error(gated, frames)
        if name == "clean":  # measured: weight 2.20 -> 2.22, warping error unchanged
            assert abs(p_gated.mean_neighbour_weight / p_plain.mean_neighbour_weight - 1) < 0.03
            assert abs(we_gated / we_plain - 1) < 0.05, (we_plain, we_gated)
        else:  # measured: weight 1.42 -> 1.99, warping error 0.00041 -> 0.00023 (raw 0.0044)
            assert p_gated.mean_neighbour_weight > 1.25 * p_plain.mean_neighbour_weight
            assert we_gated < 0.7 * we_plain < 0.1 * warping_error(raw, frames), (we_plain, we_gated)


def test_a_flash_is_kept_and_fused_only_with_flicker_offset() -> None:
    frames = textured_clip(8, speed=0.8, seed=4)
    frames[3:4] = q8((frames[3:4] + 0.12).clamp(0, 1))  # one frame brighter than its neighbours
    raw3 = flicker_restorer(frames[3:4])
    plain, _ = fuse(frames, flicker_restorer)
    shifted_params = PropagationParams.from_window(5, strength=0.8, flicker_offset=True)
    shifted, prop = fuse(frames, flicker_restorer, shifted_params)
    # default: the gate closes on the flash frame, which stays (nearly) its own restoration
    assert abs(float(plain[3].mean() - raw3.mean())) < 0.01
    # with the offset: the flash keeps its brightness, and neighbours' detail is fused into it
    assert abs(float(shifted[3].mean() - raw3.mean())) < 0.005
    clean = F.interpolate(frames[3:4], scale_factor=2, mode="bicubic", align_corners=False).clamp(0, 1)
    assert psnr(shifted[3], clean) > psnr(plain[3], clean) + 3.0
    # and it stays a finite window: segments still reproduce the uninterrupted run
    seg = restore_segment(((i, frames[i:i + 1]) for i in range(1, 8)), flicker_restorer,
                          flow=DISFlow(preset="medium"), params=shifted_params, start=3, stop=6)
    assert all(torch.equal(y, shifted[i]) for i, y in seg)


# --------------------------------------------------------------------------- real restorations


@pytest.fixture(scope="module")
def gan(shared_dir: Path):
    from vidrestore.restore.gan.restorer import GanRestorer

    path = animevideo_weights(shared_dir)
    return GanRestorer.from_config(RestorerConfig(name="realesr-animevideov3", weights=str(path), scale=4,
                                                  precision="fp32"))


def _downscale(frames: list[np.ndarray], factor: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    gt = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 255
    h, w = gt.shape[-2] // factor * factor, gt.shape[-1] // factor * factor
    gt = gt[..., :h, :w]
    lr = F.interpolate(gt, scale_factor=1 / factor, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)
    return q8(lr), gt


def _check_real(gan, frames: list[np.ndarray], known: list[tuple[float, float]] | None = None) -> tuple[float, float]:
    """(warping error reduction judged by Farneback or the known motion, PSNR drop against ground truth)."""
    lr, gt = _downscale(frames)
    raw = [q8(gan.restore(lr[i:i + 1])) for i in range(lr.shape[0])]
    out, _ = fuse(lr, lambda x: gan.restore(x))
    out = [q8(y) for y in out]
    reduction = 1 - judged_warping_error(out, lr, known) / judged_warping_error(raw, lr, known)
    drop = np.mean([psnr(raw[i], gt[i:i + 1]) for i in range(len(raw))]) - \
        np.mean([psnr(out[i], gt[i:i + 1]) for i in range(len(out))])
    return reduction, drop


def test_real_clip_warping_error_drops_without_losing_fidelity(gan, shared_dir: Path) -> None:
    reduction, drop = _check_real(gan, reds_frames(shared_dir, 7))  # REDS: fast real camera motion
    assert reduction >= 0.30, reduction
    assert drop <= 0.2, drop


def smooth_pan(still: np.ndarray, n: int = 7) -> tuple[list[np.ndarray], list[tuple[float, float]]]:
    """``n`` 256x160 uint8 views of a float RGB still under a smooth, slightly wavy camera pan, and
    the known motion between consecutive views at the x4-downscaled size the fusion is judged at."""
    import cv2

    frames, offsets = [], []
    for i in range(n):
        t = i / (n - 1)
        dx, dy = 40 + 50 * t + 4 * np.sin(2 * np.pi * t), 30 + 18 * t
        offsets.append((dx, dy))
        m = np.float32([[1, 0, -dx], [0, 1, -dy]])
        frames.append(np.clip(cv2.warpAffine(still, m, (256, 160), flags=cv2.INTER_CUBIC), 0, 255).round().astype(np.uint8))
    known = [(0.0, 0.0)] + [((b[0] - a[0]) / 4, (b[1] - a[1]) / 4) for a, b in zip(offsets, offsets[1:])]
    return frames, known


def test_still_image_under_smooth_camera_motion(gan, shared_dir: Path) -> None:
    import cv2

    from tests.conftest import shared_file

    still = cv2.imread(str(shared_file("raft_demo_frames/frame_0016.png")), cv2.IMREAD_COLOR)[:, :, ::-1]
    frames, known = smooth_pan(np.ascontiguousarray(still).astype(np.float32))
    reduction, drop = _check_real(gan, frames, known)  # judged with the exact motion of the pan
    assert reduction >= 0.30, reduction
    assert drop <= 0.2, drop


def test_flow_config_dis_is_what_the_processor_builds() -> None:
    from vidrestore.flow import build_flow_estimator

    est = build_flow_estimator(FlowConfig(method="dis", dis_preset="medium"))
    assert est.name.startswith("dis")
