"""Optical flow and alignment: estimators, backward warping, occlusion, caching, scene cuts.

Conventions (see :mod:`vidrestore.types`): frames ``(N, 3, H, W)`` float in [0, 1]; flow
``(N, 2, H, W)`` float32 pixels, channel 0 = dx; ``flow_t_to_s`` gives, for each pixel of t,
where it is in s, so ``backward_warp(frame_s, flow_t_to_s)`` looks like t.

Estimators: :class:`DISFlow` (OpenCV, no weights: the offline default), :class:`FarnebackFlow`,
:class:`~vidrestore.flow.raft.RaftFlow` (torchvision RAFT with offline-resolved weights). Build
one from the config with :func:`build_flow_estimator`. For a stream of frames, :class:`FlowCache`
(:func:`cache_from_config`) estimates each consecutive pair once per direction, composes longer
flows and keeps alignment inside a shot (:class:`SceneCutDetector`). Occlusion:
:func:`occlusion_mask`, :func:`flow_confidence`. torch and cv2 are imported lazily.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from vidrestore.errors import WeightsNotFoundError
from vidrestore.flow.base import FlowEstimator, check_flow, check_pair, estimate_both
from vidrestore.flow.cache import FlowCache, WindowFlows, cache_from_config
from vidrestore.flow.dis import DIS_PRESETS, DISFlow, FarnebackFlow
from vidrestore.flow.occlusion import fb_error, flow_confidence, occlusion_mask, photometric_error, range_map
from vidrestore.flow.scenecut import SceneCutDetector, detect_scene_cuts
from vidrestore.flow.visualize import flow_to_rgb
from vidrestore.flow.warp import ALIGN_CORNERS, backward_warp, compose_flows, coords_grid, resize_flow, valid_mask
from vidrestore.sections import choice

if TYPE_CHECKING:
    import torch

    from vidrestore.flow.config import FlowConfig

log = logging.getLogger(__name__)

__all__ = [
    "ALIGN_CORNERS",
    "DIS_PRESETS",
    "DISFlow",
    "FarnebackFlow",
    "FlowCache",
    "FlowEstimator",
    "SceneCutDetector",
    "WindowFlows",
    "backward_warp",
    "build_flow_estimator",
    "cache_from_config",
    "check_flow",
    "check_pair",
    "compose_flows",
    "coords_grid",
    "detect_scene_cuts",
    "estimate_both",
    "fb_error",
    "flow_confidence",
    "flow_to_rgb",
    "occlusion_mask",
    "photometric_error",
    "range_map",
    "resize_flow",
    "valid_mask",
]

METHODS = ("auto", "dis", "raft-small", "raft-large", "farneback")


def _auto_raft_order(device: str | torch.device) -> tuple[str, ...]:
    """RAFT checkpoints ``auto`` tries: the large model first on a GPU, the small one first on the CPU."""
    from vidrestore.device import resolve_device

    if resolve_device(device, key="flow device", check=False).type == "cuda":
        return ("raft_large", "raft_small")
    return ("raft_small", "raft_large")


def _raft(path: str | os.PathLike[str], size: str | None, cfg: FlowConfig,
          device: str | torch.device) -> FlowEstimator:
    from vidrestore.flow.raft import RaftFlow

    return RaftFlow.from_weights(path, size=size, iterations=cfg.iterations, downscale=cfg.downscale,
                                 device=device)


def _dis(cfg: FlowConfig) -> FlowEstimator:
    return DISFlow(preset=cfg.dis_preset, downscale=cfg.downscale, finest_scale=cfg.dis_finest_scale)


def build_flow_estimator(cfg: FlowConfig, *, device: str | torch.device = "cpu",
                         weights: str | os.PathLike[str] | None = None) -> FlowEstimator:
    """The estimator ``cfg.method`` names.

    ``weights`` (or ``cfg.weights``) is an explicit RAFT checkpoint file. ``method: auto`` uses RAFT
    when an explicit file is given or a registered RAFT checkpoint resolves offline (small first on
    CPU, large first on GPU), else DIS with ``cfg.dis_preset``; it logs which. ``raft-small`` /
    ``raft-large`` raise :class:`~vidrestore.errors.WeightsNotFoundError` naming
    ``vidrestore weights fetch raft_small`` (or ``raft_large``) when the weights are missing. A
    checkpoint that is present but corrupt raises :class:`~vidrestore.errors.ChecksumMismatchError`
    in every mode (never a silent fallback).
    """
    from vidrestore.weights import resolve_weights

    method = cfg.method
    explicit = weights if weights is not None else cfg.weights
    choice("flow.method", method, METHODS)
    if method == "dis":
        return _dis(cfg)
    if method == "farneback":
        return FarnebackFlow(downscale=cfg.downscale)
    if method in ("raft-small", "raft-large"):
        from vidrestore.flow.raft_weights import METHOD_TO_SPEC

        spec = METHOD_TO_SPEC[method]
        path = resolve_weights(spec, explicit)
        return _raft(path, method.split("-")[1], cfg, device)
    # auto
    if explicit is not None:
        # An explicit file is checked against a registered digest only when it carries that file's name.
        path = resolve_weights("raft_small", explicit)
        resolve_weights("raft_large", explicit)
        est = _raft(path, None, cfg, device)
        log.info("flow: using %s with weights %s", est.name, path)
        return est
    for spec in _auto_raft_order(device):
        try:
            path = resolve_weights(spec)
        except WeightsNotFoundError:
            continue
        est = _raft(path, spec.split("_")[1], cfg, device)
        log.info("flow: using %s (weights %s)", est.name, path)
        return est
    log.info("flow: no RAFT weights found offline ('vidrestore weights fetch raft_small' gets them); "
             "using DIS %s", cfg.dis_preset)
    return _dis(cfg)
