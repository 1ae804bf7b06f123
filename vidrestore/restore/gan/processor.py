"""The ``vidrestore restore`` stage for Real-ESRGAN models: batches in, temporally fused frames out.

Every input frame gives exactly one output frame with the same ``index``, ``pts``, ``time_base`` and
``duration``; frames come out in order. uint16 input (sources deeper than 8 bits) gives uint16
output. With ``temporal.enabled`` each restored frame is fused with its flow-aligned restored
neighbours (:mod:`vidrestore.temporal.propagation`): the stage then holds ``future`` frames of
look-ahead and emits them at the end.

Segments: every ``process()`` call starts clean and each output depends only on the input frames
``t - warmup_frames .. t + lookahead_frames``, so a segment fed with that context reproduces the
uninterrupted run (bit-exact on the CPU in fp32, where a frame's result does not depend on the
batch it was computed in; on a GPU in fp16 batch composition can change the last bit, so use
``restorer.batch: 1`` there when segments must match bit for bit).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from vidrestore.types import Frame, OutputSpec, VideoInfo

if TYPE_CHECKING:
    import torch

    from vidrestore.flow.base import FlowEstimator
    from vidrestore.restore.gan.restorer import GanRestorer
    from vidrestore.restore.registry import RestorerSections
    from vidrestore.temporal.propagation import PropagationParams

log = logging.getLogger(__name__)


class GanProcessor:
    """FrameProcessor running a :class:`~vidrestore.restore.gan.GanRestorer`, optionally fused in time."""

    def __init__(self, *, restorer: GanRestorer, batch: int = 1, flow: FlowEstimator | None = None,
                 temporal: PropagationParams | None = None, high_bit_depth: bool = False) -> None:
        if temporal is not None and flow is None:
            raise ValueError("GanProcessor: temporal fusion needs a flow estimator")
        self.restorer = restorer
        # frames per restorer call: at least as many as the restorer runs side by side (winograd path)
        self.batch = max(1, int(batch), int(getattr(restorer, "parallel_frames", 1)))
        self.flow = flow
        self.temporal = temporal
        self.high_bit_depth = high_bit_depth
        self._propagator: Any = None
        self._seconds = 0.0
        self._frames_in = 0
        self._frames_out = 0

    # ----------------------------------------------------------------- contract

    @property
    def warmup_frames(self) -> int:
        """Input frames before a segment needed to reproduce it exactly (the fusion window's past reach)."""
        return self.temporal.past if self.temporal is not None else 0

    @property
    def lookahead_frames(self) -> int:
        """Input frames after a segment its last outputs depend on (the fusion window's future reach)."""
        return self.temporal.future if self.temporal is not None else 0

    def output_spec(self, info: VideoInfo, frame_size: tuple[int, int]) -> OutputSpec:
        w, h = frame_size
        oh, ow = self.restorer.output_size(h, w)
        return OutputSpec(width=ow, height=oh, time_base=info.time_base, rate=info.avg_rate or info.real_rate,
                          num_frames=info.num_frames, bit_depth=16 if info.is_high_bit_depth else 8)

    def process(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        restored = self._restored(frames)
        if self.temporal is None:
            for _, _, y, frame in restored:
                yield self._to_frame(frame, y)
            return
        from vidrestore.temporal.propagation import TemporalPropagator

        if self.flow is None:  # pragma: no cover - refused in __init__
            raise ValueError("GanProcessor: temporal fusion needs a flow estimator")
        self._propagator = TemporalPropagator(flow=self.flow, params=self.temporal)
        for _, y, frame in self._propagator.run(restored):
            yield self._to_frame(frame, y)

    def stats(self) -> dict[str, Any]:
        out = dict(self.restorer.stats())
        out.update(frames_in=self._frames_in, frames_out=self._frames_out,
                   processing_seconds=round(self._seconds, 3))
        if self._propagator is not None:
            out.update(self._propagator.stats())
        return out

    # ----------------------------------------------------------------- internals

    def _restored(self, frames: Iterator[Frame]) -> Iterator[tuple[int, torch.Tensor, torch.Tensor, Frame]]:
        """Yield ``(position, input (1,3,h,w), restored (1,3,H,W), source frame)`` in order, batched inside.

        The network runs one batch ahead in a helper thread: while batch ``k`` is converted, fused
        and handed to the encoder here, batch ``k + 1`` is already being restored. Each frame's
        result is the same either way; only the waiting is gone.
        """
        from concurrent.futures import ThreadPoolExecutor

        position = 0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vidrestore-gan-ahead") as ahead:
            running = None
            for batch in self._batches(frames):
                submitted = (ahead.submit(self._compute, batch), batch, position)
                position += len(batch)
                if running is not None:
                    yield from self._emit(*running)
                running = submitted
            if running is not None:
                yield from self._emit(*running)

    def _batches(self, frames: Iterator[Frame]) -> Iterator[list[Frame]]:
        """Consecutive frames in groups of ``batch`` (a size change starts a new group)."""
        pending: list[Frame] = []
        for frame in frames:
            self._frames_in += 1
            if pending and frame.rgb.shape != pending[0].rgb.shape:
                yield pending
                pending = []
            pending.append(frame)
            if len(pending) >= self.batch:
                yield pending
                pending = []
        if pending:
            yield pending

    def _compute(self, batch: list[Frame]) -> tuple[torch.Tensor, torch.Tensor]:
        from vidrestore.tensors import to_tensor

        t0 = time.perf_counter()
        x = to_tensor([f.rgb for f in batch])
        y = self.restorer.restore(x)
        self._seconds += time.perf_counter() - t0
        return x, y

    @staticmethod
    def _emit(done: Any, batch: list[Frame], position: int) -> Iterator[tuple[int, torch.Tensor, torch.Tensor, Frame]]:
        x, y = done.result()
        for i, frame in enumerate(batch):
            yield position + i, x[i:i + 1], y[i:i + 1], frame

    def _to_frame(self, source: Frame, y: torch.Tensor) -> Frame:
        from vidrestore.tensors import from_tensor

        dtype = np.uint16 if (self.high_bit_depth or source.rgb.dtype == np.uint16) else np.uint8
        (rgb,) = from_tensor(y, dtype=dtype)
        self._frames_out += 1
        return source.with_rgb(rgb)


def build_processor(sections: RestorerSections, info: VideoInfo) -> GanProcessor:
    """The GAN family's builder: the network ``restorer.name`` with temporal fusion when enabled."""
    from vidrestore.restore.gan.restorer import GanRestorer

    restorer = GanRestorer.from_config(sections.restorer, high_bit_depth=info.is_high_bit_depth)
    return frame_processor(restorer, sections, info)


def frame_processor(restorer: Any, sections: RestorerSections, info: VideoInfo) -> GanProcessor:
    """A :class:`GanProcessor` around a frame restorer, fused in time when ``temporal.enabled``.

    ``restorer`` is a :class:`~vidrestore.restore.gan.restorer.GanRestorer` or anything with its
    frame interface (``restore``, ``output_size``, ``stats``, ``device``, ``name``, ``scale``,
    ``precision``): other feed-forward families reuse the batching, look-ahead and fusion here.
    """
    temporal, flow_cfg = sections.temporal, sections.flow
    flow = None
    params = None
    if temporal.enabled:
        from vidrestore.flow import build_flow_estimator
        from vidrestore.temporal.propagation import PropagationParams

        flow = build_flow_estimator(flow_cfg, device=restorer.device)
        params = PropagationParams.from_window(temporal.window, strength=temporal.strength,
                                               error_scale=temporal.error_scale,
                                               occlusion_threshold=flow_cfg.occlusion_threshold,
                                               noise_gate=temporal.noise_gate, noise_cap=temporal.noise_cap,
                                               flicker_offset=temporal.flicker_offset)
    log.info("restorer %s x%g on %s (%s)%s", restorer.name, restorer.scale, restorer.device, restorer.precision,
             f", temporal fusion {params.past}+{params.future} frames with {flow.name}" if params and flow else "")
    return GanProcessor(restorer=restorer, batch=sections.restorer.batch, flow=flow, temporal=params,
                        high_bit_depth=info.is_high_bit_depth)
