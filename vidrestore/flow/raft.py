"""RAFT optical flow (Teed & Deng 2020) through ``torchvision.models.optical_flow``.

:class:`RaftFlow` wraps torchvision's ``raft_small`` / ``raft_large`` for the
:class:`~vidrestore.flow.base.FlowEstimator` contract:

* frames ``(N, 3, H, W)`` in [0, 1] are mapped to [-1, 1] (torchvision's ``OpticalFlow`` preset:
  ``(x - 0.5) / 0.5``), padded by edge replication to multiples of 8 on both sides (RAFT works on a
  1/8 grid; frames under 128 px are padded up to 128, the smallest its correlation pyramid takes)
  and the predicted flow is cropped back;
* ``iterations`` recurrent updates (the last prediction is returned);
* ``downscale`` > 1 estimates at ``1/downscale`` resolution and upsamples the flow (values rescaled);
* pairs are batched ``batch_size`` at a time; on CUDA ``precision`` ``fp16``/``bf16`` runs the model
  under autocast (``auto`` = fp16 on CUDA, fp32 on CPU). Flow is always returned as float32.

Weights never download here: they are resolved offline through :mod:`vidrestore.weights`
(``raft_small`` / ``raft_large`` in :mod:`vidrestore.flow.raft_weights`) or given as a file.
"""

from __future__ import annotations

import logging
import math
import os
from typing import TYPE_CHECKING, Any

from vidrestore.device import resolve_device
from vidrestore.errors import VidrestoreError
from vidrestore.flow.base import check_pair, downscaled_size

if TYPE_CHECKING:
    import torch
    from torch import nn

log = logging.getLogger(__name__)

RAFT_SIZES = ("small", "large")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")


def build_raft(size: str) -> nn.Module:
    """An uninitialised-weights torchvision RAFT of ``size`` ``"small"`` or ``"large"`` (never downloads)."""
    from torchvision.models.optical_flow import raft_large, raft_small

    if size == "small":
        return raft_small(weights=None, progress=False)
    if size == "large":
        return raft_large(weights=None, progress=False)
    raise ValueError(f"RAFT size must be one of {RAFT_SIZES}, got {size!r}")


def detect_raft_size(state_dict: dict[str, Any]) -> str:
    """``"large"`` or ``"small"`` from a torchvision RAFT state dict (large has a learned upsampling mask)."""
    if any(k.startswith("mask_predictor.") for k in state_dict):
        return "large"
    if any(k.startswith("feature_encoder.") for k in state_dict):
        return "small"
    raise VidrestoreError("not a torchvision RAFT checkpoint (no 'feature_encoder.*' keys)")


def load_raft(path: str | os.PathLike[str], size: str | None = None) -> tuple[nn.Module, str]:
    """Load a torchvision-format RAFT checkpoint safely (``weights_only``) and strictly.

    Returns ``(model in eval mode on CPU, size)``. ``size`` is detected from the keys when None.
    """
    from vidrestore.weights import load_state_dict

    sd = load_state_dict(path)
    found = detect_raft_size(sd)
    if size is not None and size != found:
        raise VidrestoreError(f"{path}: this is a raft_{found} checkpoint, but raft_{size} was asked for")
    model = build_raft(found)
    result = model.load_state_dict(sd, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise VidrestoreError(
            f"{path}: checkpoint does not match torchvision raft_{found} "
            f"(missing {len(result.missing_keys)} keys e.g. {result.missing_keys[:3]}, "
            f"unexpected {len(result.unexpected_keys)} e.g. {result.unexpected_keys[:3]})"
        )
    return model.eval(), found


def pad_amounts(height: int, width: int, multiple: int = 8, minimum: int = 0) -> tuple[int, int, int, int]:
    """``(left, right, top, bottom)`` padding that makes H and W multiples of ``multiple``, at least ``minimum``."""
    ph = max((-height) % multiple, minimum - height)
    pw = max((-width) % multiple, minimum - width)
    return pw // 2, pw - pw // 2, ph // 2, ph - ph // 2


def min_input_size(model: nn.Module) -> int:
    """Smallest H/W the model accepts: its correlation pyramid halves the 1/8 feature map ``num_levels - 1`` times
    and needs 2 cells left at the coarsest level (torchvision checks this and raises)."""
    levels = int(getattr(getattr(model, "corr_block", None), "num_levels", 4))
    return 8 * 2 * 2 ** (levels - 1)


def normalize(frames: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> [-1, 1], as torchvision's ``OpticalFlow`` preset does."""
    return ((frames.float() - 0.5) / 0.5).contiguous()


class RaftFlow:
    """torchvision RAFT as a :class:`~vidrestore.flow.base.FlowEstimator`.

    Build from a loaded model (``RaftFlow(model=...)``) or a checkpoint (:meth:`from_weights`).
    """

    def __init__(self, *, model: nn.Module, size: str = "small", iterations: int = 12,
                 downscale: float = 1.0, device: str | torch.device = "cpu", precision: str = "auto",
                 batch_size: int = 4) -> None:
        if size not in RAFT_SIZES:
            raise ValueError(f"RAFT size must be one of {RAFT_SIZES}, got {size!r}")
        if iterations < 1:
            raise ValueError(f"RAFT iterations must be >= 1, got {iterations}")
        if downscale < 1.0:
            raise ValueError(f"downscale must be >= 1, got {downscale}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.size = size
        self.name = f"raft-{size}"
        self.iterations = int(iterations)
        self.downscale = float(downscale)
        self.device = resolve_device(device, key="flow device", check=False)
        self.precision = precision
        self.batch_size = int(batch_size)
        self.model = model.to(self.device).eval()
        self.min_size = min_input_size(model)

    @classmethod
    def from_weights(cls, path: str | os.PathLike[str], *, size: str | None = None, **kwargs: Any) -> RaftFlow:
        """Load a checkpoint file (torchvision format) and wrap it."""
        model, found = load_raft(path, size)
        log.info("RAFT %s weights loaded from %s", found, path)
        return cls(model=model, size=found, **kwargs)

    def _autocast_dtype(self) -> torch.dtype | None:
        import torch

        if self.device.type != "cuda":
            if self.precision in ("fp16", "bf16"):
                log.debug("RAFT precision %s ignored on %s (fp32)", self.precision, self.device)
            return None
        return {"auto": torch.float16, "fp16": torch.float16, "bf16": torch.bfloat16, "fp32": None}[self.precision]

    def _run(self, img_t: torch.Tensor, img_s: torch.Tensor) -> torch.Tensor:
        """Model call on normalised, /8-padded inputs; returns the last flow prediction, float32."""
        import torch

        amp = self._autocast_dtype()
        with torch.inference_mode():
            if amp is None:
                preds = self.model(img_t, img_s, num_flow_updates=self.iterations)
            else:
                with torch.autocast(device_type=self.device.type, dtype=amp):
                    preds = self.model(img_t, img_s, num_flow_updates=self.iterations)
        return preds[-1].float()

    def _estimate_batch(self, frame_t: torch.Tensor, frame_s: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        h, w = int(frame_t.shape[-2]), int(frame_t.shape[-1])
        img_t, img_s = normalize(frame_t), normalize(frame_s)
        left, right, top, bottom = pad_amounts(h, w, 8, self.min_size)
        pad = (left, right, top, bottom)
        if any(pad):
            # Edge replication (the RAFT authors' InputPadder); frames smaller than the correlation
            # pyramid allows are padded up to that size the same way.
            img_t = F.pad(img_t, pad, mode="replicate")
            img_s = F.pad(img_s, pad, mode="replicate")
        flow = self._run(img_t, img_s)
        return flow[:, :, top:top + h, left:left + w]

    def estimate(self, frame_t: torch.Tensor, frame_s: torch.Tensor) -> torch.Tensor:
        """``flow_t_to_s`` ``(N, 2, H, W)`` float32 pixels, on the inputs' device."""
        import torch
        import torch.nn.functional as F

        from vidrestore.flow.warp import resize_flow

        check_pair(frame_t, frame_s)
        out_device = frame_t.device
        h, w = int(frame_t.shape[-2]), int(frame_t.shape[-1])
        t = frame_t.to(self.device)
        s = frame_s.to(self.device)
        if self.downscale > 1.0:
            size = downscaled_size(h, w, self.downscale)
            t = F.interpolate(t.float(), size=size, mode="bilinear", align_corners=False, antialias=True)
            s = F.interpolate(s.float(), size=size, mode="bilinear", align_corners=False, antialias=True)
        chunks = []
        n = t.shape[0]
        for i in range(0, n, self.batch_size):
            chunks.append(self._estimate_batch(t[i:i + self.batch_size], s[i:i + self.batch_size]))
        flow = torch.cat(chunks)
        if flow.shape[-2:] != (h, w):
            flow = resize_flow(flow, (h, w))
        return flow.to(out_device)

    def __repr__(self) -> str:
        return (f"RaftFlow(size={self.size!r}, iterations={self.iterations}, downscale={self.downscale}, "
                f"device={str(self.device)!r}, precision={self.precision!r})")


def memory_hint(height: int, width: int) -> float:
    """Rough GiB RAFT's all-pairs correlation volume needs per pair (float32): (HW/64)^2 * 4 B * 1.33."""
    cells = math.ceil(height / 8) * math.ceil(width / 8)
    return cells * cells * 4 * 4 / 3 / 2**30
