"""Spatial inpainting of pixels that no date sees clear.

``telea`` / ``navier-stokes`` use OpenCV's classical inpainting band by band (float32), on the
bounding box of the hole plus a margin. ``diffusion`` hands the hole to the diffusion restorer's
masked mode (``vidrestore.restore.diffusion.inpaint``) when it is installed and a model folder is
configured (``restorer.model_path``); bands are fed three at a time, stretched to [0, 1].
Conventions: ``values`` is ``(B, H, W)`` float32 with NaN where unknown; ``hole`` is bool ``(H, W)``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from vidrestore.errors import ConfigError

logger = logging.getLogger(__name__)


def inpaint_classical(values: np.ndarray, hole: np.ndarray, *, method: str = "telea", radius: int = 5,
                      margin: int = 24) -> np.ndarray:
    """Values for the ``hole`` pixels (NaN elsewhere and where nothing known is in reach)."""
    import cv2

    out = np.full(values.shape, np.nan, np.float32)
    if not hole.any():
        return out
    rows = np.flatnonzero(hole.any(axis=1))
    cols = np.flatnonzero(hole.any(axis=0))
    h, w = hole.shape
    rs = slice(max(rows[0] - margin, 0), min(rows[-1] + margin + 1, h))
    cs = slice(max(cols[0] - margin, 0), min(cols[-1] + margin + 1, w))
    flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
    sub_hole = hole[rs, cs]
    for k in range(values.shape[0]):
        band = values[k, rs, cs]
        unknown = sub_hole | ~np.isfinite(band)
        known = ~unknown
        if not known.any():
            continue
        # OpenCV's Telea gives garbage on float32 input: inpaint a 16-bit quantisation of the band
        lo, hi = float(band[known].min()), float(band[known].max())
        span = max(hi - lo, 1e-12)
        q = np.where(known, (band - lo) / span * 65535.0, 0.0)
        q16 = np.clip(np.rint(q), 0, 65535).astype(np.uint16)
        filled = cv2.inpaint(q16, unknown.astype(np.uint8), max(radius, 1), flag).astype(np.float32)
        out[k, rs, cs] = np.where(sub_hole, filled / 65535.0 * span + lo, np.nan)
    # inpainting cannot reach a hole whose whole neighbourhood is unknown: report it as unfilled
    reach = _reachable(hole[rs, cs], np.isfinite(values[:, rs, cs]).all(axis=0) & ~hole[rs, cs])
    out[:, rs, cs][:, ~reach] = np.nan
    return out


def _reachable(hole: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Hole pixels connected (8-neighbour, through the hole) to at least one known pixel."""
    import cv2

    if not known.any():
        return np.zeros(hole.shape, bool)
    n, labels = cv2.connectedComponents((hole | known).astype(np.uint8), connectivity=8)
    touched = np.unique(labels[known])
    return np.isin(labels, touched) & hole


def inpaint_diffusion(values: np.ndarray, hole: np.ndarray, *, restorer_cfg: Any) -> np.ndarray:
    """Values for ``hole`` from the diffusion restorer's masked mode (see module docstring)."""
    try:
        from vidrestore.restore import diffusion as diffusion_mod
    except ImportError as err:  # pragma: no cover - the package always ships diffusion
        raise ConfigError(f"decloud.inpaint=diffusion: the diffusion restorer cannot be imported ({err})") from err
    fn = getattr(diffusion_mod, "inpaint", None)
    if fn is None:
        raise ConfigError("decloud.inpaint=diffusion: this build's diffusion restorer has no masked inpainting "
                          "(vidrestore.restore.diffusion.inpaint); use decloud.inpaint=telea")
    if not getattr(restorer_cfg, "model_path", None):
        raise ConfigError("decloud.inpaint=diffusion needs a diffusion model folder: --set restorer.model_path=DIR")
    import torch

    b, h, w = values.shape
    out = np.full(values.shape, np.nan, np.float32)
    known = np.isfinite(values).all(axis=0) & ~hole
    if not known.any() or not hole.any():
        return out
    lo = np.array([np.nanpercentile(values[k][known], 1) for k in range(b)], np.float32)
    hi = np.array([np.nanpercentile(values[k][known], 99) for k in range(b)], np.float32)
    span = np.maximum(hi - lo, 1e-6)
    for start in range(0, b, 3):
        idx = [min(start + j, b - 1) for j in range(3)]
        rgb = (np.nan_to_num(values[idx], nan=0.0) - lo[idx, None, None]) / span[idx, None, None]
        frames = torch.from_numpy(np.clip(rgb, 0.0, 1.0)[None].astype(np.float32))
        masks = torch.from_numpy((hole | ~np.isfinite(values).all(axis=0))[None, None].astype(np.float32))
        result = fn(frames, masks, model_path=restorer_cfg.model_path, steps=restorer_cfg.steps,
                    seed=restorer_cfg.seed, device=restorer_cfg.device)
        arr = result.detach().cpu().numpy()[0] if hasattr(result, "detach") else np.asarray(result)[0]
        for j, k in enumerate(idx):
            out[k][hole] = arr[j][hole] * span[k] + lo[k]
    return out
