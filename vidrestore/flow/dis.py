"""Classical optical flow from OpenCV: DIS (the offline default, no weights) and Farneback.

DIS (Kroeger et al. 2016, "Fast Optical Flow using Dense Inverse Search") runs coarse-to-fine
inverse-search patch matching with variational refinement. Presets trade speed for accuracy:
``ultrafast`` (no variational refinement), ``fast`` and ``medium``. OpenCV computes
``flow`` with ``I0(x) ~= I1(x + flow(x))``, so ``calc(frame_t, frame_s)`` is ``flow_t_to_s``.

Both work on 8-bit luma (BT.601 weights), one pair at a time on the CPU; the batch is looped.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from vidrestore.flow.base import check_pair, downscaled_size

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

DIS_PRESETS = ("ultrafast", "fast", "medium")


def to_gray_u8(frames: torch.Tensor) -> list[np.ndarray]:
    """``(N, 3, H, W)`` float in [0, 1] -> list of contiguous uint8 luma arrays ``(H, W)`` (BT.601 weights)."""
    import torch

    # numpy on the contiguous planes: no layout change, and no torch thread-pool round trips.
    planes = frames.detach().to("cpu", torch.float32).numpy()
    out = []
    for r, g, b in planes:
        luma = r * np.float32(0.299 * 255) + g * np.float32(0.587 * 255) + b * np.float32(0.114 * 255)
        out.append(np.clip(np.rint(luma), 0, 255).astype(np.uint8))
    return out


class _OpenCVFlow:
    """Shared batching, downscaling and tensor conversion for OpenCV estimators."""

    name = "opencv"

    def __init__(self, *, downscale: float = 1.0) -> None:
        if downscale < 1.0:
            raise ValueError(f"downscale must be >= 1, got {downscale}")
        self.downscale = float(downscale)

    def _calc(self, gray_t: np.ndarray, gray_s: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def estimate(self, frame_t: torch.Tensor, frame_s: torch.Tensor) -> torch.Tensor:
        """``flow_t_to_s`` ``(N, 2, H, W)`` float32 pixels on ``frame_t``'s device."""
        import torch
        import torch.nn.functional as F

        from vidrestore.flow.warp import resize_flow

        check_pair(frame_t, frame_s)
        h, w = int(frame_t.shape[-2]), int(frame_t.shape[-1])
        if self.downscale > 1.0:
            size = downscaled_size(h, w, self.downscale)
            frame_t = F.interpolate(frame_t.float(), size=size, mode="bilinear", align_corners=False, antialias=True)
            frame_s = F.interpolate(frame_s.float(), size=size, mode="bilinear", align_corners=False, antialias=True)
        import cv2

        flows = [np.stack(cv2.split(self._calc(a, b))) for a, b in zip(to_gray_u8(frame_t), to_gray_u8(frame_s))]
        out = torch.from_numpy(np.stack(flows))
        if out.shape[-2:] != (h, w):
            out = resize_flow(out, (h, w))
        return out.to(frame_t.device)


#: OpenCV's DIS needs pictures of at least this many pixels a side; smaller ones are padded.
DIS_MIN_SIZE = 12


class DISFlow(_OpenCVFlow):
    """OpenCV DIS optical flow. ``preset`` is ``ultrafast``, ``fast`` or ``medium``.

    ``finest_scale`` (None: the preset's own, 2 for ultrafast/fast, 1 for medium) is the pyramid
    level where patch search stops: 0 searches at full resolution (sharper motion boundaries, about
    twice the time of medium). The variational refinement still runs at every level.
    """

    def __init__(self, *, preset: str = "medium", downscale: float = 1.0, finest_scale: int | None = None) -> None:
        import cv2

        super().__init__(downscale=downscale)
        if preset not in DIS_PRESETS:
            raise ValueError(f"DIS preset must be one of {DIS_PRESETS}, got {preset!r}")
        if finest_scale is not None and not 0 <= finest_scale <= 4:
            raise ValueError(f"DIS finest_scale must be in [0, 4] or None, got {finest_scale!r}")
        self.preset = preset
        self.finest_scale = finest_scale
        self.name = f"dis-{preset}" + (f"-fs{finest_scale}" if finest_scale is not None else "")
        code = {
            "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
            "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
        }[preset]
        self._dis: Any = cv2.DISOpticalFlow_create(code)
        if finest_scale is not None:
            self._dis.setFinestScale(finest_scale)

    def _calc(self, gray_t: np.ndarray, gray_s: np.ndarray) -> np.ndarray:
        h, w = gray_t.shape[:2]
        if h >= DIS_MIN_SIZE and w >= DIS_MIN_SIZE:
            return self._dis.calc(gray_t, gray_s, None)
        # OpenCV's DIS refuses pictures under 12 px: estimate on edge-replicated copies of at least
        # that size and keep the flow of the real pixels (their motion is all the border repeats)
        import cv2

        dh, dw = max(DIS_MIN_SIZE - h, 0), max(DIS_MIN_SIZE - w, 0)
        pad = (0, dh, 0, dw)
        big_t = cv2.copyMakeBorder(gray_t, *pad, cv2.BORDER_REPLICATE)
        big_s = cv2.copyMakeBorder(gray_s, *pad, cv2.BORDER_REPLICATE)
        return np.ascontiguousarray(self._dis.calc(big_t, big_s, None)[:h, :w])

    def __repr__(self) -> str:
        return f"DISFlow(preset={self.preset!r}, downscale={self.downscale}, finest_scale={self.finest_scale!r})"


class FarnebackFlow(_OpenCVFlow):
    """OpenCV Farneback polynomial-expansion flow: optional, slower and much less accurate than DIS medium.

    Defaults (4 levels, 31 px Gaussian window, 5 iterations, poly_n 5 / sigma 1.1) are the settings
    that tracked real film best among those tried; even so it is far less accurate than DIS medium,
    so it is an option, never the default (DIS's own errors: docs/BENCHMARKS.md, "Optical flow").
    """

    name = "farneback"

    def __init__(self, *, levels: int = 4, winsize: int = 31, iterations: int = 5,
                 poly_n: int = 5, poly_sigma: float = 1.1, downscale: float = 1.0) -> None:
        super().__init__(downscale=downscale)
        self.levels = levels
        self.winsize = winsize
        self.iterations = iterations
        self.poly_n = poly_n
        self.poly_sigma = poly_sigma

    def _calc(self, gray_t: np.ndarray, gray_s: np.ndarray) -> np.ndarray:
        import cv2

        return cv2.calcOpticalFlowFarneback(gray_t, gray_s, None, 0.5, self.levels, self.winsize,
                                            self.iterations, self.poly_n, self.poly_sigma,
                                            cv2.OPTFLOW_FARNEBACK_GAUSSIAN)

    def __repr__(self) -> str:
        return f"FarnebackFlow(levels={self.levels}, winsize={self.winsize}, downscale={self.downscale})"
