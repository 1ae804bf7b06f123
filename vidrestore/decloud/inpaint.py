"""Spatial inpainting of pixels that no date sees clear.

``telea`` / ``navier-stokes`` use OpenCV's classical inpainting band by band (float32), on the
bounding box of the hole plus a margin. ``diffusion`` hands the hole to a restorer's masked mode,
which the run is given (dependency injection: decloud never imports a restorer): the assembler in
layer 6 (:func:`vidrestore.pipeline.stages.decloud_inpainter`) asks the restorer registry for the family that can
inpaint (the diffusion restorer, with ``restorer.model_path``); bands are fed three at a time,
stretched to [0, 1].
Conventions: ``values`` is ``(B, H, W)`` float32 with NaN where unknown; ``hole`` is bool ``(H, W)``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from vidrestore.errors import ConfigError

if TYPE_CHECKING:
    from vidrestore.restore.registry import MaskedInpainter

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


DIFFUSION_MARGIN = 16  # px of known context around the hole handed to the model
DIFFUSION_MULTIPLE = 8  # crops are padded to a multiple of this (latent models downsample by 8)


def inpaint_diffusion(values: np.ndarray, hole: np.ndarray, *, inpainter: MaskedInpainter | None) -> np.ndarray:
    """Values for ``hole`` from a restorer's masked mode, ``inpainter`` (given by the caller that
    assembles the run: the restorer registry's family that can inpaint, see the module docstring).

    The hole's bounding box plus :data:`DIFFUSION_MARGIN` is cropped (padded by edge replication to a
    multiple of 8), each group of three bands is stretched to [0, 1] between its 1st and 99th
    percentiles, inpainted, and mapped back. Known pixels are not changed by the model (DDNM
    projection) and are not returned.
    """
    if inpainter is None:
        raise ConfigError("decloud.fill.inpaint=diffusion: no restorer that can inpaint is installed")
    try:
        inpainter.check()
    except ConfigError as err:
        raise ConfigError(f"decloud.fill.inpaint=diffusion {err}") from err
    import torch

    b, h, w = values.shape
    out = np.full(values.shape, np.nan, np.float32)
    known = np.isfinite(values).all(axis=0) & ~hole
    if not known.any() or not hole.any():
        return out
    rows = np.flatnonzero(hole.any(axis=1))
    cols = np.flatnonzero(hole.any(axis=0))
    m = DIFFUSION_MARGIN
    rs = slice(max(rows[0] - m, 0), min(rows[-1] + m + 1, h))
    cs = slice(max(cols[0] - m, 0), min(cols[-1] + m + 1, w))
    sub = values[:, rs, cs]
    sub_known = known[rs, cs]
    sub_hole = hole[rs, cs]
    ch, cw = sub_hole.shape
    ph, pw = (-ch) % DIFFUSION_MULTIPLE, (-cw) % DIFFUSION_MULTIPLE
    unknown = np.pad(~sub_known, ((0, ph), (0, pw)), mode="edge")
    lo = np.array([np.percentile(sub[k][sub_known], 1) for k in range(b)], np.float32)
    hi = np.array([np.percentile(sub[k][sub_known], 99) for k in range(b)], np.float32)
    span = np.maximum(hi - lo, 1e-6)
    for start in range(0, b, 3):
        idx = [min(start + j, b - 1) for j in range(3)]
        fill = np.array([np.median(sub[k][sub_known]) for k in idx], np.float32)[:, None, None]
        rgb = np.where(sub_known[None], sub[idx], fill)
        rgb = np.clip((rgb - lo[idx, None, None]) / span[idx, None, None], 0.0, 1.0)
        rgb = np.pad(rgb, ((0, 0), (0, ph), (0, pw)), mode="edge")
        frames = torch.from_numpy(np.ascontiguousarray(rgb[None], np.float32))
        masks = torch.from_numpy(unknown[None, None].astype(np.float32))
        result = inpainter(frames, masks)
        arr = result.detach().float().cpu().numpy()[0][:, :ch, :cw]
        for j, k in enumerate(idx):
            band = out[k, rs, cs]
            band[sub_hole] = arr[j][sub_hole] * span[k] + lo[k]
    return out
