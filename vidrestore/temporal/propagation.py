"""Flow-guided temporal conditioning of per-frame restorations (a sliding window, one frame at a time).

Per-frame restorers (GANs above all) invent detail independently in every frame, so static texture
shimmers. This module fuses each restored frame with its restored neighbours, aligned by optical
flow computed on the *inputs*:

    y_t = (g_t + sum_k w_k * warp(g_k, flow_t_to_k)) / (1 + sum_k w_k)

* ``g_k`` is the per-frame restoration of input frame ``k``; ``k`` runs over ``t - past .. t + future``
  (without ``t``). ``flow_t_to_k`` is estimated between consecutive *input* frames (each pair
  once per direction) and chained for farther neighbours, then scaled to the output resolution.
* ``w_k = strength ** |k - t| * confidence * photo``: ``confidence`` is the forward-backward
  consistency of the (chained) flow in [0, 1], 0 outside the frame (:func:`fb_confidence`);
  ``photo = 2 ** -(e / error_scale) ** 2`` follows the warp error ``e`` of the inputs (mean absolute
  colour difference after warping, box-filtered 3x3), so where the inputs do not line up (occlusion,
  a scene cut, a wrong flow) the neighbour is dropped and the current frame's own restoration is kept.
  Static and well-tracked regions average several independent restorations: their flicker goes.
* Two per-pair measures make the gate follow misalignment rather than what every pixel of the pair
  shares (:func:`pair_statistics`, over the pixels the flow matched). The pair's **residual level**
  ``n`` (median ``e``: grain, sensor noise, sub-pixel interpolation) widens the gate,
  ``error_scale + noise_gate * n``, so an error at the level of the pair's well-matched pixels is not
  taken for misalignment. With ``flicker_offset`` a global brightness **offset** per channel (film
  flicker, an exposure change, a flash) is taken out of ``e`` and added to the warped neighbour, so the
  neighbour's detail is fused while the current frame keeps its own brightness. Off by default:
  without it a frame that differs from its neighbours in brightness alone is left as it is (the gate
  closes), which stays closer to the frame's own content; with it more of the neighbours' detail is
  fused across a brightness change, so shimmer drops further at some cost in fidelity to the frame
  (the trade is the user's: film flicker is damage, a camera's exposure change is content). A level
  far above ``noise_cap`` means the pair does not line up at all (a cut, a flash): the widening fades
  out. What the fusion does to warping error and PSNR with the defaults: docs/BENCHMARKS.md, "GAN
  restorer (issue 4)", the temporal fusion rows.

The fused frame depends on the inputs ``t - past .. t + future`` only (a finite window: no
recursion). Processing any segment ``[start, stop)`` from input frame ``start - past`` (the
warm-up) to ``stop + future`` therefore reproduces the frames of an uninterrupted run exactly:
:func:`segment_input_range` gives the range and :func:`restore_segment` runs it. That is what resume
and distribution rely on.

Shapes: input frames ``(1, 3, h, w)`` float in [0, 1]; restorations ``(1, 3, H, W)``; flows
``(1, 2, h, w)`` pixels at the input resolution (resized to ``(H, W)`` when warping).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vidrestore.sections import check

if TYPE_CHECKING:
    import torch

    from vidrestore.flow.base import FlowEstimator
    from vidrestore.flow.config import FlowConfig
    from vidrestore.temporal.config import TemporalConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PropagationParams:
    """How far and how strongly neighbours are fused (see the module docstring)."""

    past: int = 2
    future: int = 2
    strength: float = 0.6
    error_scale: float = 0.05
    occlusion_threshold: float = 1.0
    noise_gate: float = 4.0  # error_scale grows by noise_gate x the pair's residual level (0 = off)
    noise_cap: float = 0.03  # residual level (0..1 units) at which that growth has faded to half
    flicker_offset: bool = False  # a per-channel brightness offset of the pair: out of e, into the blend

    def __post_init__(self) -> None:
        check("temporal.window", self.past >= 0 and self.future >= 0,
              f"reach must be >= 0, got past={self.past}, future={self.future}")
        check("temporal.strength", 0.0 <= self.strength <= 1.0, f"must be in [0, 1], got {self.strength}")
        check("temporal.error_scale", self.error_scale > 0, f"must be > 0, got {self.error_scale}")
        check("temporal.noise_gate", self.noise_gate >= 0, f"must be >= 0, got {self.noise_gate}")
        check("temporal.noise_cap", self.noise_cap > 0, f"must be > 0, got {self.noise_cap}")

    @classmethod
    def from_window(cls, window: int, *, strength: float, error_scale: float = 0.05,
                    occlusion_threshold: float = 1.0, noise_gate: float = 4.0, noise_cap: float = 0.03,
                    flicker_offset: bool = False) -> PropagationParams:
        """A centred window of ``window`` frames: ``past = (window - 1) // 2``, ``future`` the rest."""
        check("temporal.window", window >= 1, f"must be >= 1, got {window}")
        past = (window - 1) // 2
        return cls(past=past, future=window - 1 - past, strength=strength, error_scale=error_scale,
                   occlusion_threshold=occlusion_threshold, noise_gate=noise_gate, noise_cap=noise_cap,
                   flicker_offset=flicker_offset)

    @classmethod
    def from_section(cls, temporal: TemporalConfig, flow: FlowConfig) -> PropagationParams:
        """The one place GAN temporal fusion reads the config: ``temporal.*`` and the
        ``flow.occlusion_threshold`` its masks use."""
        return cls.from_window(temporal.window, strength=temporal.strength, error_scale=temporal.error_scale,
                               occlusion_threshold=flow.occlusion_threshold, noise_gate=temporal.noise_gate,
                               noise_cap=temporal.noise_cap, flicker_offset=temporal.flicker_offset)

    @property
    def warmup(self) -> int:
        """Input frames needed before a segment's first frame to reproduce it exactly."""
        return self.past


def segment_input_range(start: int, stop: int, params: PropagationParams,
                        total: int | None = None) -> tuple[int, int]:
    """Input frames ``[a, b)`` to feed so that outputs ``[start, stop)`` equal an uninterrupted run."""
    if not 0 <= start <= stop:
        raise ValueError(f"bad segment [{start}, {stop})")
    a = max(0, start - params.past)
    b = stop + params.future
    if total is not None:
        b = min(b, total)
    return a, b


@dataclass
class _Slot:
    index: int
    frame: torch.Tensor  # input (1, 3, h, w)
    restored: torch.Tensor  # g (1, 3, H, W)
    payload: Any  # whatever the caller attached (e.g. the source Frame)


class TemporalPropagator:
    """Streams ``(index, input, restored, payload)`` in, fused ``(index, output, payload)`` out, in order.

    ``flow`` estimates flows between input frames. Flows of consecutive pairs are computed once per
    direction and kept while a window needs them (:attr:`flows_computed` counts estimator calls in
    pairs). Indices must be consecutive; the first one may be any frame of the video.
    """

    def __init__(self, *, flow: FlowEstimator, params: PropagationParams) -> None:
        self.flow = flow
        self.params = params
        self.flows_computed = 0
        self.frames_fused = 0
        self.mean_neighbour_weight = 0.0
        self._weight_sum = 0.0

    # ----------------------------------------------------------------- streaming

    def run(self, items: Iterable[tuple[int, torch.Tensor, torch.Tensor, Any]]) -> Iterator[tuple[int, torch.Tensor, Any]]:
        p = self.params
        slots: deque[_Slot] = deque()
        # flows[(a, b)] = flow_a_to_b for consecutive a, b; fb confidence computed on demand
        flows: dict[tuple[int, int], torch.Tensor] = {}
        pending = 0  # position in ``slots`` of the next frame to emit
        for index, frame, restored, payload in items:
            if slots and index != slots[-1].index + 1:
                raise ValueError(f"TemporalPropagator: frame {index} follows {slots[-1].index}; indices must be consecutive")
            slot = _Slot(index, frame, restored, payload)
            if slots:
                self._pair_flows(slots[-1], slot, flows)
            slots.append(slot)
            while pending < len(slots) and slots[pending].index + p.future <= slots[-1].index:
                yield self._emit(slots, pending, flows)
                pending += 1
                pending -= self._trim(slots, flows, pending)
        while pending < len(slots):
            yield self._emit(slots, pending, flows)
            pending += 1

    def _trim(self, slots: deque[_Slot], flows: dict[tuple[int, int], torch.Tensor], pending: int) -> int:
        """Drop slots no later frame needs; returns how many were dropped from the front."""
        dropped = 0
        while pending - dropped > self.params.past and slots:
            old = slots.popleft()
            flows.pop((old.index, old.index + 1), None)
            flows.pop((old.index + 1, old.index), None)
            dropped += 1
        return dropped

    def _pair_flows(self, a: _Slot, b: _Slot, flows: dict[tuple[int, int], torch.Tensor]) -> None:
        import torch

        from vidrestore.flow.base import estimate_both

        with torch.inference_mode():
            ab, ba = estimate_both(self.flow, b.frame.float(), a.frame.float())
        # estimate_both(t, s) gives (flow_t_to_s, flow_s_to_t): here t = b, s = a. Flows and the
        # weights computed from them live where the restorations are (the GPU, when there is one).
        device = b.restored.device
        flows[(b.index, a.index)] = ab.float().to(device)
        flows[(a.index, b.index)] = ba.float().to(device)
        self.flows_computed += 1

    # ----------------------------------------------------------------- fusion

    def _chain(self, t: int, k: int, flows: dict[tuple[int, int], torch.Tensor]) -> torch.Tensor:
        """flow_t_to_k by chaining consecutive flows t -> t±1 -> ... -> k."""
        from vidrestore.flow.warp import compose_flows

        step = 1 if k > t else -1
        chain = [flows[(i, i + step)] for i in range(t, k, step)]
        return chain[0] if len(chain) == 1 else compose_flows(*chain)

    def neighbour_weights(self, t_frame: torch.Tensor, k_frames: torch.Tensor, flows_tk: torch.Tensor,
                          flows_kt: torch.Tensor, distances: torch.Tensor) -> torch.Tensor:
        """Blend weights ``(K, 1, h, w)`` of K neighbours of frame t, at the input resolution.

        ``t_frame`` is ``(1, 3, h, w)``; ``k_frames``, ``flows_tk``/``flows_kt`` and ``distances`` hold
        the K neighbours (frames, flows t->k and k->t, ``|k - t|``) along the batch dimension.
        """
        return self.weights_and_offsets(t_frame, k_frames, flows_tk, flows_kt, distances)[0]

    def weights_and_offsets(self, t_frame: torch.Tensor, k_frames: torch.Tensor, flows_tk: torch.Tensor,
                            flows_kt: torch.Tensor, distances: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`neighbour_weights` and the ``(K, 3, 1, 1)`` brightness offsets t minus warped k (0 unless
        ``flicker_offset``), which the blend adds to the warped neighbours."""
        import torch.nn.functional as F

        from vidrestore.flow.warp import backward_warp

        p = self.params
        conf = fb_confidence(flows_tk, flows_kt, threshold=p.occlusion_threshold)
        diff = t_frame - backward_warp(k_frames, flows_tk)
        scale: float | torch.Tensor = p.error_scale
        offset = diff.new_zeros(diff.shape[0], diff.shape[1], 1, 1)
        if p.flicker_offset or p.noise_gate > 0:
            offset, level = pair_statistics(diff, conf, flicker_offset=p.flicker_offset)
            diff = diff - offset
            scale = scale + p.noise_gate * level * (-(math.log(2.0)) * (level / p.noise_cap) ** 2).exp()
        err = diff.abs().mean(dim=1, keepdim=True)
        err = F.avg_pool2d(err, 3, stride=1, padding=1, count_include_pad=False)
        photo = (-(math.log(2.0)) * (err / scale) ** 2).exp()
        strength = (p.strength ** distances.float()).view(-1, 1, 1, 1)
        return strength * conf * photo, offset

    def _emit(self, slots: deque[_Slot], pos: int, flows: dict[tuple[int, int], torch.Tensor]
              ) -> tuple[int, torch.Tensor, Any]:
        """Fuse frame ``slots[pos]`` with its neighbours: all K of them warped in one batched call."""
        import torch
        import torch.nn.functional as F

        from vidrestore.flow.warp import backward_warp

        p = self.params
        cur = slots[pos]
        total_w = 0.0
        with torch.inference_mode():
            acc = cur.restored.float()
            dev = acc.device
            first, last = slots[0].index, slots[-1].index
            lo, hi = max(first, cur.index - p.past), min(last, cur.index + p.future)
            ks = [k for k in range(lo, hi + 1) if k != cur.index] if p.strength > 0 else []
            if ks:
                nbs = [slots[pos + (k - cur.index)] for k in ks]
                f_tk = torch.cat([self._chain(cur.index, k, flows) for k in ks]).to(dev)
                f_kt = torch.cat([self._chain(k, cur.index, flows) for k in ks]).to(dev)
                k_frames = torch.cat([nb.frame for nb in nbs]).to(dev, torch.float32)
                dist = torch.tensor([abs(k - cur.index) for k in ks], device=dev)
                w, offset = self.weights_and_offsets(cur.frame.to(dev, torch.float32), k_frames, f_tk, f_kt, dist)
                w_hr = F.interpolate(w, size=acc.shape[-2:], mode="bilinear", align_corners=False)
                warped = backward_warp(torch.cat([nb.restored for nb in nbs]).float(), f_tk) + offset
                num = acc + (w_hr * warped).sum(dim=0, keepdim=True)
                acc = (num / (1.0 + w_hr.sum(dim=0, keepdim=True))).clamp_(0.0, 1.0)
                total_w = float(w.mean(dim=(1, 2, 3)).sum())
            else:
                acc = acc.clone().clamp_(0.0, 1.0)
        self.frames_fused += 1
        self._weight_sum += total_w
        self.mean_neighbour_weight = self._weight_sum / self.frames_fused
        return cur.index, acc, cur.payload

    def stats(self) -> dict[str, Any]:
        return {
            "temporal_window": f"-{self.params.past}..+{self.params.future}",
            "flow": getattr(self.flow, "name", type(self.flow).__name__),
            "flow_pairs_computed": self.flows_computed,
            "frames_fused": self.frames_fused,
            "mean_neighbour_weight": round(self.mean_neighbour_weight, 4),
        }


def fb_confidence(flow_t_to_s: torch.Tensor, flow_s_to_t: torch.Tensor, *, threshold: float = 1.0,
                  relative: float | None = None) -> torch.Tensor:
    """Forward-backward confidence ``(N, 1, H, W)`` in [0, 1]; 0 where the match leaves frame s.

    The formula of :func:`vidrestore.flow.flow_confidence` (``2 ** -(err / tol) ** 2`` with
    ``tol = threshold + relative * (|f| + |b(warped)|)``) without its range-map term, with the vector
    lengths taken by ``hypot`` (``Tensor.norm(dim=1)`` is an order of magnitude slower on the CPU).
    Disocclusions the range map would catch are caught here by the photometric term instead.
    """
    import torch

    from vidrestore.flow.occlusion import DEFAULT_RELATIVE
    from vidrestore.flow.warp import backward_warp, valid_mask

    rel = DEFAULT_RELATIVE if relative is None else relative
    back = backward_warp(flow_s_to_t, flow_t_to_s)
    loop = flow_t_to_s + back
    err = torch.hypot(loop[:, 0:1], loop[:, 1:2])
    mag = torch.hypot(flow_t_to_s[:, 0:1], flow_t_to_s[:, 1:2]) + torch.hypot(back[:, 0:1], back[:, 1:2])
    conf = (-(math.log(2.0)) * (err / (threshold + rel * mag)) ** 2).exp()
    return conf * valid_mask(flow_t_to_s).to(conf.dtype)


def pair_statistics(diff: torch.Tensor, confidence: torch.Tensor, *, flicker_offset: bool = True, min_share: float = 0.25,
                    max_samples: int = 16384) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pair brightness offset ``(K, 3, 1, 1)`` and residual level ``(K, 1, 1, 1)`` of aligned differences.

    ``diff`` is ``(K, 3, h, w)``, frame t minus neighbour k warped to t; ``confidence`` ``(K, 1, h, w)``.
    Over the pixels with confidence > 0.5 (the flow's matches), the offset is the median difference per
    channel (zero with ``flicker_offset=False``) and the level the median of the mean absolute difference left
    once the offset is out: what the pair's well-matched pixels differ by anyway. Medians, so moving
    objects and occlusions the check missed do not count. A pair with fewer than ``min_share`` of
    its pixels matched gets offset and level 0 (nothing trustworthy to measure). The medians are taken
    on a regular grid of at most about ``max_samples`` pixels (a median over all of them costs as much
    as the rest of the fusion).
    """
    import torch

    k, c, h, w = diff.shape
    step = max(1, round(math.sqrt(h * w / max_samples)))
    diff, confidence = diff[..., ::step, ::step], confidence[..., ::step, ::step]
    good = (confidence > 0.5).flatten(1)  # (K, h*w)
    ok = good.float().mean(dim=1) >= min_share
    flat = diff.flatten(2)  # (K, 3, h*w)
    if flicker_offset:
        masked = flat.masked_fill(~good[:, None], float("nan"))
        offset = masked.nanmedian(dim=2).values.nan_to_num(0.0)
    else:
        offset = diff.new_zeros(k, c)
    offset = torch.where(ok[:, None], offset, 0.0)
    resid = (flat - offset[..., None]).abs().mean(dim=1).masked_fill(~good, float("nan"))
    level = torch.where(ok, resid.nanmedian(dim=1).values.nan_to_num(0.0), 0.0)
    return offset.view(k, c, 1, 1), level.view(k, 1, 1, 1)


def restore_segment(frames: Iterable[tuple[int, torch.Tensor]], restore: Callable[[torch.Tensor], torch.Tensor], *,
                    flow: FlowEstimator, params: PropagationParams, start: int, stop: int | None = None
                    ) -> list[tuple[int, torch.Tensor]]:
    """Fused outputs ``[start, stop)`` from input frames that begin ``params.warmup`` frames before ``start``.

    ``frames`` yields ``(index, (1, 3, h, w) input)`` in order, starting at
    ``segment_input_range(start, stop, params)[0]`` (or later, only when that is frame 0) and running
    ``params.future`` frames past ``stop`` where the video has them. The result equals frames
    ``[start, stop)`` of an uninterrupted run over the whole video.
    """
    prop = TemporalPropagator(flow=flow, params=params)

    def items() -> Iterator[tuple[int, torch.Tensor, torch.Tensor, None]]:
        first = True
        for index, x in frames:
            if first and index > max(0, start - params.past):
                raise ValueError(f"restore_segment: frames start at {index}, but the segment starting at {start} "
                                 f"needs a warm-up from frame {max(0, start - params.past)}")
            first = False
            yield index, x, restore(x), None

    out = []
    for index, y, _ in prop.run(items()):
        if index >= start and (stop is None or index < stop):
            out.append((index, y))
    return out
