"""Flow as colour: the Middlebury colour wheel (Baker et al., ICCV 2007), torchvision's ``flow_to_image`` convention.

Hue gives the direction and saturation the magnitude (white = no motion); the wheel has 55 hues in
six ramps (red-yellow 15, yellow-green 6, green-cyan 4, cyan-blue 11, blue-magenta 13,
magenta-red 6). With ``max_flow=None`` each image is normalised by its own largest vector exactly
as torchvision does per image; a fixed ``max_flow`` (pixels) keeps colours comparable from frame to
frame in a video, saturating longer vectors.

:class:`FlowVisualizer` is the :class:`~vidrestore.stage.FrameProcessor` behind
``vidrestore flow INPUT -o OUT.mp4``: every input frame t is replaced by the picture of its flow
to the next frame, with t's timestamp.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from vidrestore.flow.base import FlowEstimator, check_flow

if TYPE_CHECKING:
    import torch

    from vidrestore.types import Frame, OutputSpec, VideoInfo

log = logging.getLogger(__name__)

_RAMPS = (15, 6, 4, 11, 13, 6)  # RY, YG, GC, CB, BM, MR


def colour_wheel() -> np.ndarray:
    """The 55 x 3 Middlebury wheel, float values in 0..255 (integers)."""
    rows = []
    for ramp, n in enumerate(_RAMPS):
        up = np.floor(255.0 * np.arange(n) / n)
        down = 255.0 - up
        full = np.full(n, 255.0)
        zero = np.zeros(n)
        # (R, G, B) of each ramp: one channel full, one rising or falling, one off.
        rgb = [
            (full, up, zero),  # red -> yellow
            (down, full, zero),  # yellow -> green
            (zero, full, up),  # green -> cyan
            (zero, down, full),  # cyan -> blue
            (up, zero, full),  # blue -> magenta
            (full, zero, down),  # magenta -> red
        ][ramp]
        rows.append(np.stack(rgb, axis=1))
    return np.concatenate(rows).astype(np.float32)


def flow_to_rgb(flow: torch.Tensor, *, max_flow: float | None = None) -> torch.Tensor:
    """``(N, 2, H, W)`` flow -> ``(N, 3, H, W)`` uint8 colour images.

    ``max_flow=None``: each image scaled by its own largest vector (torchvision's ``flow_to_image``
    on one image). Otherwise vectors are divided by ``max_flow`` pixels and clipped to length 1.
    """
    import torch

    check_flow(flow)
    flow = flow.float()
    norm_px = flow.pow(2).sum(dim=1).sqrt()  # (N, H, W)
    if max_flow is None:
        scale = norm_px.flatten(1).amax(dim=1).view(-1, 1, 1, 1) + torch.finfo(torch.float32).eps
        unit = flow / scale
        norm = norm_px / scale[:, 0]
    else:
        if max_flow <= 0:
            raise ValueError(f"max_flow must be > 0 px, got {max_flow}")
        unit = flow / max_flow
        norm = (norm_px / max_flow).clamp(max=1.0)
    wheel = torch.from_numpy(colour_wheel()).to(flow.device) / 255.0
    ncols = wheel.shape[0]
    angle = torch.atan2(-unit[:, 1], -unit[:, 0]) / torch.pi  # in [-1, 1]
    pos = (angle + 1) / 2 * (ncols - 1)
    k0 = pos.floor().long()
    k1 = k0 + 1
    k1[k1 == ncols] = 0
    frac = (pos - k0)[:, None]  # (N, 1, H, W)
    c0 = wheel[k0].permute(0, 3, 1, 2)  # (N, 3, H, W)
    c1 = wheel[k1].permute(0, 3, 1, 2)
    col = (1 - frac) * c0 + frac * c1
    col = 1 - norm[:, None] * (1 - col)  # desaturate towards white for small motion
    return torch.floor(255 * col).clamp(0, 255).to(torch.uint8)


class FlowVisualizer:
    """Replace each frame by the colour picture of its forward flow (last frame of a shot: reversed backward flow).

    Frames keep their index and pts, so the output has exactly the input's frames and timing.
    Pairs across a scene cut are not estimated; the frame before a cut (and the last frame) shows
    the negated flow to its previous frame, or white (no motion) for a one-frame shot.
    """

    def __init__(self, *, estimator: FlowEstimator, max_flow: float | None = None, scene_cut: bool = True,
                 scene_cut_threshold: float = 0.2, device: str = "cpu") -> None:
        from vidrestore.flow.cache import FlowCache
        from vidrestore.flow.scenecut import SceneCutDetector

        self.estimator = estimator
        self.max_flow = max_flow
        self.device = device
        detector = SceneCutDetector(threshold=scene_cut_threshold) if scene_cut else None
        self.cache = FlowCache(estimator, scene_cuts=detector)
        self.max_seen = 0.0

    def output_spec(self, info: VideoInfo, frame_size: tuple[int, int]) -> OutputSpec:
        from vidrestore.types import OutputSpec

        return OutputSpec(width=frame_size[0], height=frame_size[1], time_base=info.time_base,
                          rate=info.avg_rate or info.real_rate, num_frames=info.num_frames, bit_depth=8)

    def _picture(self, index: int, has_next: bool) -> np.ndarray:
        import torch

        cache = self.cache
        if has_next and cache.same_shot(index, index + 1):
            flow = cache.forward(index)[None]
        elif index - 1 in cache and cache.same_shot(index - 1, index):
            flow = -cache.backward(index - 1)[None]
        else:
            f = cache.frame(index)
            flow = torch.zeros(1, 2, f.shape[-2], f.shape[-1])
        self.max_seen = max(self.max_seen, float(flow.pow(2).sum(dim=1).sqrt().max()))
        rgb = flow_to_rgb(flow, max_flow=self.max_flow)[0]
        return np.ascontiguousarray(rgb.permute(1, 2, 0).cpu().numpy())

    def process(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        from vidrestore.tensors import to_tensor

        pending: Frame | None = None
        for frame in frames:
            self.cache.add(frame.index, to_tensor(frame.rgb, device=self.device)[0])
            if pending is not None:
                yield pending.with_rgb(self._picture(pending.index, has_next=True))
                self.cache.evict(pending.index - 1)  # keep one frame back for the reversed flow
            pending = frame
        if pending is not None:
            yield pending.with_rgb(self._picture(pending.index, has_next=False))

    def stats(self) -> dict[str, Any]:
        out = self.cache.stats()
        out["max_flow_px"] = round(self.max_seen, 3)
        return out
