"""RIFE synthesizer: new frames from the RIFE HD v3 network, at any t, never worse than blending.

How a frame at time t between frames 0 and 1 is made (:class:`RifeSynthesizer`):

1. **Photometric match** (flashes, flicker): when the two frames' mean brightness differs by more
   than ``flash_level``, the network sees both frames with matched per-channel mean and spread; the
   flows it finds are then applied to the original frames, so the new frame's brightness goes
   smoothly from one to the other instead of the network mistaking light for motion.
2. **Network** (:mod:`~vidrestore.interpolate.ifnet`, once per pair): flows from the middle frame
   to both frames and the fusion mask. Frames are zero-padded to a multiple of 32 (as the model was
   run upstream); frames larger than ``max_side`` run at ``scale`` 0.5 (the authors' setting for 4K).
   ``tta`` adds a pass on the mirrored frames and averages flows and mask (test-time augmentation;
   time reversal adds nothing: every stage already averages both time directions).
3. **Any t**: the model predicts the middle. For t != 1/2 the middle's flows are moved to where
   their points are at time t along the pair's motion ``V = flow_to_1 - flow_to_0`` (one fixed-point
   step: the field at x is read at ``x - (t - 1/2) V(x)``), scaled to ``2 t`` and ``2 (1 - t)`` of
   their length, and the mask is weighted by time distance (``(1 - t) m`` against ``t (1 - m)``), so
   t = 1/2 is exactly the network's frame and t -> 0 goes to frame 0.
4. **Never worse than blending** (``fallback``), decided from the two input frames alone:

   * per region: ``e_warp``, how much the two warped candidates still differ, against ``e_still``,
     how much the two frames differ where they are (both box-filtered over ``region`` px). Where
     warping made the frames *less* alike than no motion at all, the flow is wrong there: the
     output fades to the linear blend (full blend at ``e_warp >= fallback_ratio * e_still``);
   * per frame: when the frames differ by more than ``cut_level`` on average (after the photometric
     match) both as they are and as the network aligned them, they show different things (a cut
     the detector missed, a splice, a burnt frame): the nearest frame is repeated instead, as at a
     detected cut (blending would double-expose two shots).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vidrestore.tensors import check_same_shape, check_shape

if TYPE_CHECKING:
    import torch

    from vidrestore.interpolate.config import InterpolateConfig
    from vidrestore.interpolate.ifnet import IFNet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RifeParams:
    """Knobs of :class:`RifeSynthesizer` (see the module docstring for what each does)."""

    tta: int = 2  # passes whose flows and mask are averaged: 1 (none), 2 (+ mirrored), 4 (+ upside down, both)
    scale: float = 0.0  # network scale: 1 (as trained), 2 (finer, small frames), 0.5 (large); 0 = 1, or 0.5 above max_side
    fallback: bool = True  # per-region blend / per-frame nearest fallback
    fallback_ratio: float = 1.5  # e_warp / e_still at which a region is fully blended
    region: int = 16  # px: box size of the fallback's error measures
    cut_level: float = 0.12  # mean |frame0 - frame1|, aligned or not (0..1), above which the pair is a cut
    flash_level: float = 0.06  # mean brightness difference (0..1) above which the frames are matched first
    max_side: int = 2200  # larger frames run the network at scale 0.5
    precision: str = "auto"  # auto (fp16 on CUDA, fp32 on CPU) | fp32 | bf16 | fp16
    channels_last: bool = False

    def __post_init__(self) -> None:
        if self.fallback_ratio <= 1.0:
            raise ValueError(f"RifeParams.fallback_ratio must be > 1, got {self.fallback_ratio}")
        if self.region < 1 or self.max_side < 64:
            raise ValueError("RifeParams: region must be >= 1 and max_side >= 64")
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise ValueError(f"RifeParams.precision must be auto, fp32, bf16 or fp16, got {self.precision!r}")

    @classmethod
    def from_section(cls, icfg: InterpolateConfig) -> RifeParams:
        """The one place RIFE reads the config (``interpolate.rife_*``); the other fields are the
        method's own constants, not knobs."""
        return cls(tta=icfg.rife_tta, fallback=icfg.rife_fallback, precision=icfg.rife_precision, scale=icfg.rife_scale)


@dataclass(frozen=True)
class RifeState:
    """What every t between one pair shares (computed once by :meth:`RifeSynthesizer.prepare`)."""

    frame0: torch.Tensor  # (1, 3, H, W) float32 RGB
    frame1: torch.Tensor
    flow: torch.Tensor  # (1, 4, H, W): middle -> frame 0 (dx, dy), middle -> frame 1
    mask: torch.Tensor  # (1, 1, H, W) fusion logit (sigmoid = weight of frame 0 at t = 1/2)
    confidence: torch.Tensor | None  # (1, 1, H, W) in [0, 1]: 1 = trust the network, 0 = blend
    nearest: bool = False  # the pair looks like a cut: repeat the nearest frame

    @property
    def blended_share(self) -> float:
        return 0.0 if self.confidence is None else float(1.0 - self.confidence.mean())


_TTA_FLIPS: tuple[tuple[int, ...], ...] = ((), (3,), (2,), (2, 3))


def _dtype(precision: str, device: torch.device) -> torch.dtype:
    import torch

    if precision == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def _box(x: torch.Tensor, size: int) -> torch.Tensor:
    """Mean over a ``size`` x ``size`` box, same size out (edges averaged over what is inside)."""
    import torch.nn.functional as F

    if size <= 1:
        return x
    pad = size // 2
    return F.avg_pool2d(x, size, stride=1, padding=pad, count_include_pad=False)[..., :x.shape[-2], :x.shape[-1]]


def match_photometry(frame0: torch.Tensor, frame1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both frames with per-channel mean and standard deviation set to the pair's average (flash handling)."""
    m0, m1 = frame0.mean(dim=(2, 3), keepdim=True), frame1.mean(dim=(2, 3), keepdim=True)
    s0 = frame0.std(dim=(2, 3), keepdim=True).clamp(min=1e-3)
    s1 = frame1.std(dim=(2, 3), keepdim=True).clamp(min=1e-3)
    m, s = (m0 + m1) * 0.5, (s0 + s1) * 0.5
    return ((frame0 - m0) / s0 * s + m).clamp(0, 1), ((frame1 - m1) / s1 * s + m).clamp(0, 1)


class RifeSynthesizer:
    """Makes frames at any t in (0, 1) with the RIFE network (see the module docstring).

    Same contract as :class:`~vidrestore.interpolate.synthesis.FrameSynthesizer` except that
    :meth:`prepare` needs no optical flow (``uses_flow = False``): the network finds its own.
    """

    uses_flow = False
    name = "rife"

    def __init__(self, net: IFNet, *, params: RifeParams | None = None, device: str = "cpu") -> None:
        import torch

        self.params = params or RifeParams()
        self.device = torch.device(device)
        self.dtype = _dtype(self.params.precision, self.device)
        self.net = net.to(self.device)
        if self.params.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self.counts = {"pairs": 0, "nearest": 0, "flash_matched": 0}

    # ----------------------------------------------------------------- network

    def _run(self, img0: torch.Tensor, img1: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Network flows and mask for RGB frames (1, 3, H, W), padded as upstream, cropped back."""
        import torch
        import torch.nn.functional as F

        from vidrestore.interpolate.ifnet import ALIGN, SCALES

        h, w = img0.shape[-2:]
        align = max(ALIGN, int(ALIGN / scale))
        ph, pw = -(-h // align) * align, -(-w // align) * align
        pad = (0, pw - w, 0, ph - h)
        # the released model was trained on BGR frames (OpenCV order)
        x0 = F.pad(img0[:, [2, 1, 0]], pad).to(self.device)
        x1 = F.pad(img1[:, [2, 1, 0]], pad).to(self.device)
        if self.params.channels_last:
            x0, x1 = x0.contiguous(memory_format=torch.channels_last), x1.contiguous(memory_format=torch.channels_last)
        scales = [s / scale for s in SCALES]
        low = self.dtype != torch.float32
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=self.dtype, enabled=low):
            flow, mask = self.net(x0, x1, scales)
        return flow.float()[..., :h, :w].cpu(), mask.float()[..., :h, :w].cpu()

    def _flows(self, img0: torch.Tensor, img1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Flows and mask, averaged over the ``tta`` mirrored passes (each mapped back first)."""
        import torch

        scale = self.params.scale
        if scale == 0.0:
            scale = 1.0 if max(img0.shape[-2:]) <= self.params.max_side else 0.5
        flows, masks = [], []
        for dims in _TTA_FLIPS[:self.params.tta]:
            flow, mask = self._run(img0.flip(dims), img1.flip(dims), scale)
            if dims:
                sign = torch.ones(1, 4, 1, 1)
                for d in dims:  # a mirrored axis reverses that component of the flows
                    sign[:, [0, 2] if d == 3 else [1, 3]] *= -1.0
                flow, mask = flow.flip(dims) * sign, mask.flip(dims)
            flows.append(flow)
            masks.append(mask)
        return torch.stack(flows).mean(0), torch.stack(masks).mean(0)

    # ----------------------------------------------------------------- per pair

    def prepare(self, frame0: torch.Tensor, frame1: torch.Tensor, *_: Any, **__: Any) -> RifeState:
        """Per-pair work: the network's flows and mask, and the fallback's confidence."""
        check_shape(frame0, (1, 3, "H", "W"), "frame0")
        check_same_shape(frame1, frame0, "frame1", "frame0")
        f0, f1 = frame0.float(), frame1.float()
        self.counts["pairs"] += 1
        n0, n1 = f0, f1
        if float((f0.mean() - f1.mean()).abs()) > self.params.flash_level:
            n0, n1 = match_photometry(f0, f1)
            self.counts["flash_matched"] += 1
        flow, mask = self._flows(n0, n1)
        if not self.params.fallback:
            return RifeState(f0, f1, flow, mask, None)
        confidence, nearest = self._confidence(n0, n1, flow)
        self.counts["nearest"] += int(nearest)
        return RifeState(f0, f1, flow, mask, confidence, nearest)

    def _confidence(self, n0: torch.Tensor, n1: torch.Tensor, flow: torch.Tensor) -> tuple[torch.Tensor, bool]:
        """Per-region trust in the network and whether the pair is a cut (see item 4 of the module docstring)."""
        from vidrestore.interpolate.ifnet import warp

        p = self.params
        w0, w1 = warp(n0, flow[:, :2]), warp(n1, flow[:, 2:])
        diff_warp = (w0 - w1).abs().mean(dim=1, keepdim=True)
        diff_still = (n0 - n1).abs().mean(dim=1, keepdim=True)
        if min(float(diff_warp.mean()), float(diff_still.mean())) > p.cut_level:
            return diff_warp.new_zeros(diff_warp.shape), True
        e_warp = _box(diff_warp, p.region)
        e_still = _box(diff_still, p.region)
        ratio = e_warp / (e_still + 2e-3)
        return ((p.fallback_ratio - ratio) / (p.fallback_ratio - 1.0)).clamp(0.0, 1.0), False

    # ----------------------------------------------------------------- per t

    def fields_at(self, state: RifeState, t: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(flow_t_to_0, flow_t_to_1, weight of frame 0)`` at time t (item 3 of the module docstring)."""
        import torch

        from vidrestore.interpolate.ifnet import warp

        flow, mask = state.flow, state.mask
        if t != 0.5:
            motion = flow[:, 2:] - flow[:, :2]
            moved = warp(torch.cat((flow, mask), 1), motion * (0.5 - t))
            flow, mask = moved[:, :4], moved[:, 4:]
        m = torch.sigmoid(mask)
        a0, a1 = m * (1.0 - t), (1.0 - m) * t
        return flow[:, :2] * (2.0 * t), flow[:, 2:] * (2.0 * (1.0 - t)), a0 / (a0 + a1).clamp(min=1e-6)

    def synthesize(self, state: RifeState, t: float, *, mix: tuple[torch.Tensor, float] | None = None,
                   ) -> torch.Tensor:
        """The frame at time ``t`` in (0, 1): ``(1, 3, H, W)`` float32 RGB, clipped to [0, 1].

        ``mix = (other, share)``: the network's frame weighted by ``share`` against ``other`` (another
        synthesizer's frame at the same t, :mod:`~vidrestore.interpolate.ensemble`), before the fallback.
        """
        from vidrestore.interpolate.ifnet import warp

        if not 0.0 < t < 1.0:
            raise ValueError(f"synthesize: t must be in (0, 1), got {t}")
        if state.nearest:
            return (state.frame0 if t < 0.5 else state.frame1).clone()
        to0, to1, weight0 = self.fields_at(state, t)
        out = warp(state.frame0, to0) * weight0 + warp(state.frame1, to1) * (1.0 - weight0)
        if mix is not None and mix[1] < 1.0:
            other, share = mix
            check_same_shape(other, out, "mix frame", "RIFE frame")
            out = out * share + other.float() * (1.0 - share)
        if state.confidence is not None:
            blend = state.frame0 * (1.0 - t) + state.frame1 * t
            out = blend + (out - blend) * state.confidence
        return out.clamp_(0.0, 1.0)


def build_rife_synthesizer(weights: str | None = None, *, params: RifeParams | None = None,
                           device: str = "cpu") -> RifeSynthesizer:
    """A synthesizer with the resolved RIFE checkpoint (:func:`~vidrestore.interpolate.rife_weights.resolve_rife`)."""
    from vidrestore.interpolate.ifnet import build_ifnet
    from vidrestore.interpolate.rife_weights import load_rife_state, resolve_rife

    path = resolve_rife(weights)
    return RifeSynthesizer(build_ifnet(load_rife_state(path)), params=params, device=device)
