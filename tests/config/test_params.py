"""Each stage builds its parameters from its own section in one place (``*.from_section`` /
``DetectParams.from_config``); these pin that the result is what the stage built before."""

from __future__ import annotations

import dataclasses

from vidrestore.config import load_config
from vidrestore.decloud.detect import DetectParams
from vidrestore.decloud.fill import FillParams
from vidrestore.interpolate.rife import RifeParams
from vidrestore.interpolate.synthesis import SynthesisParams
from vidrestore.temporal.propagation import PropagationParams


def test_interpolate_params_from_the_section() -> None:
    cfg = load_config(preset="interpolate", overrides=[
        "interpolate.alpha=7", "interpolate.beta=2", "interpolate.agreement_px=5", "interpolate.agreement_rel=0.5",
        "interpolate.warp=bilinear", "interpolate.acceleration=false", "interpolate.rife_tta=1",
        "interpolate.rife_fallback=false", "interpolate.rife_precision=bf16", "interpolate.rife_scale=0.5"])
    assert SynthesisParams.from_section(cfg.interpolate) == SynthesisParams(
        alpha=7.0, beta=2.0, agreement_px=5.0, agreement_rel=0.5, warp_mode="bilinear", use_acceleration=False)
    assert RifeParams.from_section(cfg.interpolate) == RifeParams(tta=1, fallback=False, precision="bf16", scale=0.5)
    assert RifeParams.from_section(load_config(preset="interpolate").interpolate).tta == 4  # the section's default


def test_temporal_params_from_the_section() -> None:
    cfg = load_config(preset="upscale", overrides=["temporal.window=7", "temporal.error_scale=0.1",
                                                   "temporal.noise_gate=2", "temporal.noise_cap=0.05",
                                                   "temporal.flicker_offset=true", "flow.occlusion_threshold=2"])
    t = cfg.temporal
    assert PropagationParams.from_section(t, cfg.flow) == PropagationParams.from_window(
        t.window, strength=t.strength, error_scale=t.error_scale, occlusion_threshold=cfg.flow.occlusion_threshold,
        noise_gate=t.noise_gate, noise_cap=t.noise_cap, flicker_offset=t.flicker_offset)
    assert PropagationParams.from_section(t, cfg.flow) == PropagationParams(
        past=3, future=3, strength=0.8, error_scale=0.1, occlusion_threshold=2.0, noise_gate=2.0, noise_cap=0.05,
        flicker_offset=True)


def test_decloud_params_from_the_section() -> None:
    dc = load_config(preset="decloud", overrides=["decloud.buffer=3", "decloud.detect.shadow_search=20",
                                                  "decloud.detect.sure_area=10", "decloud.probability_threshold=0.6",
                                                  "decloud.fill.regression=local", "decloud.fill.max_days=40"]).decloud
    p = DetectParams.from_config(dc, scale=0.5, detector="csmask")
    assert p == DetectParams(brightness_threshold=0.25, whiteness_threshold=0.7, hot_threshold=0.08,
                             temporal_threshold=0.04, shadow_threshold=0.2, shadow_search=10, min_dates_temporal=3,
                             buffer=2, detector="csmask", product_level="l1c", learned_probability=0.5,
                             probability_threshold=0.6, sure_area=2)
    assert DetectParams.from_config(dc).detector == "spectral"  # auto resolves to spectral without a choice
    assert FillParams.from_section(dc.fill) == dataclasses.replace(
        FillParams(), sources_per_side=1, max_days=40.0, regression="local", regression_radius=10)
