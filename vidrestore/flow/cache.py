"""Flow cache for sliding windows: each consecutive pair's flow is computed once per direction.

Windows overlap, so the same neighbour pairs come back window after window. :class:`FlowCache`
holds the frames it has been given (indexed by frame number, added in order) and the flows of
consecutive pairs, ``forward(i) = flow_{i -> i+1}`` and ``backward(i) = flow_{i+1 -> i}``
(in ``flow_t_to_s`` terms: t = i, s = i + 1 for forward). Missing pairs are estimated in batched
estimator calls the first time a window asks for them; flows between frames further apart are
composed from the consecutive ones (:func:`~vidrestore.flow.warp.compose_flows`), never
re-estimated. :meth:`evict` drops what no later window needs.

:meth:`align_to` warps neighbours (frames, or features/latents at any scale) onto a reference frame
and returns per-pixel confidences (forward-backward consistency + range map, ``flow.occlusion_threshold``)
to use as blend weights; :meth:`confidence` gives the confidence alone.

Scene cuts: with a :class:`~vidrestore.flow.scenecut.SceneCutDetector`, each added frame is
checked; a pair that straddles a cut is never estimated, :meth:`same_shot` says whether two frames
can be aligned, and asking for a flow across a cut raises ``ValueError``.

Counters (:meth:`stats`): frames added, forward and backward flows computed, estimator calls, and
``flows_per_frame`` = flows computed / frames added (2 (n - 1) / n for n frames in one shot, both
directions: never above 2).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vidrestore.flow.base import FlowEstimator
from vidrestore.flow.scenecut import SceneCutDetector
from vidrestore.tensors import check_same_shape, check_shape

if TYPE_CHECKING:
    import torch

    from vidrestore.flow.config import FlowConfig

log = logging.getLogger(__name__)

DIRECTIONS = ("forward", "backward", "both")


@dataclass(frozen=True)
class WindowFlows:
    """Consecutive-pair flows of a window ``[start, stop)``.

    ``forward[k]`` is ``flow_{start+k -> start+k+1}``, ``backward[k]`` is ``flow_{start+k+1 -> start+k}``,
    each ``(T - 1, 2, H, W)``. ``connected[k]`` is False where a scene cut separates the pair; those
    flows are zeros and must not be used. A direction that was not asked for is None.
    """

    start: int
    stop: int
    forward: torch.Tensor | None
    backward: torch.Tensor | None
    connected: torch.Tensor  # bool (T - 1,)


class FlowCache:
    """Frames and consecutive-pair flows of a stream, computed once per direction (see module docstring)."""

    def __init__(self, estimator: FlowEstimator, *, scene_cuts: SceneCutDetector | None = None,
                 batch_size: int = 8, occlusion_threshold: float = 1.0) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if occlusion_threshold <= 0:
            raise ValueError(f"occlusion_threshold must be > 0 px, got {occlusion_threshold}")
        self.estimator = estimator
        self.occlusion_threshold = float(occlusion_threshold)
        self.detector = scene_cuts
        self.batch_size = int(batch_size)
        self._frames: dict[int, torch.Tensor] = {}
        self._fwd: dict[int, torch.Tensor] = {}
        self._bwd: dict[int, torch.Tensor] = {}
        self._shot_start: dict[int, int] = {}
        self._last: int | None = None
        self._current_shot = 0
        self.cuts: list[int] = []  # first frame of every shot after the first
        self.frames_added = 0
        self.forward_computed = 0
        self.backward_computed = 0
        self.estimator_calls = 0

    # ------------------------------------------------------------------ frames

    def add(self, index: int, frame: torch.Tensor) -> bool:
        """Add frame ``index`` (``(3, H, W)`` or ``(1, 3, H, W)`` float in [0, 1]); returns True if it starts a shot.

        Frames must come in order, without gaps (``index`` = previous + 1; the first may be any number).
        """
        if frame.ndim == 4 and frame.shape[0] == 1:
            frame = frame[0]
        check_shape(frame, (3, "H", "W"), "frame")
        if self._last is not None and index != self._last + 1:
            raise ValueError(f"FlowCache.add: frames must be consecutive; got {index} after {self._last}")
        ref = next(iter(self._frames.values()), None)
        if ref is not None:
            check_same_shape(frame, ref, "frame", "earlier frames", what="the size of")
        is_cut = False
        if self.detector is not None:
            is_cut = self.detector.push(frame) and self._last is not None
        if is_cut:
            self._current_shot = index
            self.cuts.append(index)
            log.info("scene cut before frame %d: no alignment across it", index)
        elif self._last is None:
            self._current_shot = index
        self._frames[index] = frame
        self._shot_start[index] = self._current_shot
        self._last = index
        self.frames_added += 1
        return is_cut

    def frame(self, index: int) -> torch.Tensor:
        try:
            return self._frames[index]
        except KeyError:
            raise KeyError(f"frame {index} is not in the flow cache (evicted or not added yet)") from None

    def __contains__(self, index: int) -> bool:
        return index in self._frames

    def shot_start(self, index: int) -> int:
        """First frame of the shot ``index`` belongs to."""
        if index not in self._shot_start:
            raise KeyError(f"frame {index} is not in the flow cache")
        return self._shot_start[index]

    def same_shot(self, a: int, b: int) -> bool:
        """True when no scene cut lies between frames ``a`` and ``b``."""
        return self.shot_start(a) == self.shot_start(b)

    # ------------------------------------------------------------------ flows

    def _missing(self, start: int, stop: int, store: dict[int, torch.Tensor]) -> list[int]:
        return [i for i in range(start, stop - 1) if i not in store and self.same_shot(i, i + 1)]

    def _compute(self, pairs: list[tuple[int, str]]) -> None:
        import torch

        for k in range(0, len(pairs), self.batch_size):
            chunk = pairs[k:k + self.batch_size]
            t = torch.stack([self._frames[i] if d == "forward" else self._frames[i + 1] for i, d in chunk])
            s = torch.stack([self._frames[i + 1] if d == "forward" else self._frames[i] for i, d in chunk])
            flows = self.estimator.estimate(t, s)
            self.estimator_calls += 1
            for (i, d), f in zip(chunk, flows):
                if d == "forward":
                    self._fwd[i] = f
                    self.forward_computed += 1
                else:
                    self._bwd[i] = f
                    self.backward_computed += 1

    def ensure(self, start: int, stop: int, direction: str = "both") -> None:
        """Estimate every missing consecutive flow of frames ``[start, stop)`` (batched, cuts skipped)."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        for i in range(start, stop):
            self.frame(i)
        pairs: list[tuple[int, str]] = []
        if direction in ("forward", "both"):
            pairs += [(i, "forward") for i in self._missing(start, stop, self._fwd)]
        if direction in ("backward", "both"):
            pairs += [(i, "backward") for i in self._missing(start, stop, self._bwd)]
        if pairs:
            self._compute(pairs)

    def provide(self, i: int, forward: torch.Tensor, backward: torch.Tensor) -> None:
        """Take ``flow_{i -> i+1}`` and ``flow_{i+1 -> i}`` ``(2, H, W)`` from elsewhere (estimated once, on
        other versions of the same frames) instead of estimating them here."""
        if not self.same_shot(i, i + 1):
            raise ValueError(f"frames {i} and {i + 1} are separated by a scene cut: no flow between them")
        self._fwd[i] = forward
        self._bwd[i] = backward

    def forward(self, i: int) -> torch.Tensor:
        """``flow_{i -> i+1}`` ``(2, H, W)``."""
        return self._pair(i, self._fwd, "forward")

    def backward(self, i: int) -> torch.Tensor:
        """``flow_{i+1 -> i}`` ``(2, H, W)``."""
        return self._pair(i, self._bwd, "backward")

    def _pair(self, i: int, store: dict[int, torch.Tensor], direction: str) -> torch.Tensor:
        if not self.same_shot(i, i + 1):
            raise ValueError(f"frames {i} and {i + 1} are separated by a scene cut: no flow between them")
        if i not in store:
            self.ensure(i, i + 2, direction)
        return store[i]

    def flow(self, t: int, s: int) -> torch.Tensor:
        """``flow_t_to_s`` ``(1, 2, H, W)`` for any two frames of the same shot, composed from consecutive flows."""
        import torch

        from vidrestore.flow.warp import compose_flows

        if not self.same_shot(t, s):
            raise ValueError(f"frames {t} and {s} are in different shots (scene cut): no flow between them")
        if t == s:
            f = self.frame(t)
            return torch.zeros(1, 2, f.shape[-2], f.shape[-1], device=f.device)
        if s > t:
            chain = [self.forward(i)[None] for i in range(t, s)]
        else:
            chain = [self.backward(i - 1)[None] for i in range(t, s, -1)]
        return chain[0] if len(chain) == 1 else compose_flows(*chain)

    def flows_to(self, reference: int, indices: list[int] | range) -> tuple[torch.Tensor, list[bool]]:
        """Flows from each frame of ``indices`` to ``reference`` ``(N, 2, H, W)`` and whether each is usable.

        Frames in another shot get a zero flow and ``False``: do not blend them in.
        """
        import torch

        ref = self.frame(reference)
        zero = torch.zeros(1, 2, ref.shape[-2], ref.shape[-1], device=ref.device)
        flows, ok = [], []
        for i in indices:
            same = self.same_shot(i, reference)
            flows.append(self.flow(i, reference) if same else zero)
            ok.append(same)
        return torch.cat(flows), ok

    def window_flows(self, start: int, stop: int, direction: str = "both") -> WindowFlows:
        """All consecutive-pair flows of the window ``[start, stop)`` (estimated once, then served from the cache)."""
        import torch

        self.ensure(start, stop, direction)
        ref = self.frame(start)
        h, w = ref.shape[-2], ref.shape[-1]
        connected = [self.same_shot(i, i + 1) for i in range(start, stop - 1)]
        zero = torch.zeros(2, h, w, device=ref.device)

        def stack(store: dict[int, torch.Tensor]) -> torch.Tensor:
            items = [store[i] if c else zero for i, c in zip(range(start, stop - 1), connected)]
            return torch.stack(items) if items else torch.zeros(0, 2, h, w, device=ref.device)

        return WindowFlows(
            start=start, stop=stop,
            forward=stack(self._fwd) if direction in ("forward", "both") else None,
            backward=stack(self._bwd) if direction in ("backward", "both") else None,
            connected=torch.tensor(connected, dtype=torch.bool),
        )

    def confidence(self, t: int, s: int) -> torch.Tensor:
        """Per-pixel confidence ``(1, 1, H, W)`` of ``flow(t, s)`` (forward-backward consistency and range map).

        Zeros when t and s are in different shots. See :func:`vidrestore.flow.occlusion.flow_confidence`.
        """
        import torch

        from vidrestore.flow.occlusion import flow_confidence

        if not self.same_shot(t, s):
            f = self.frame(t)
            return torch.zeros(1, 1, f.shape[-2], f.shape[-1], device=f.device)
        if t == s:
            f = self.frame(t)
            return torch.ones(1, 1, f.shape[-2], f.shape[-1], device=f.device)
        return flow_confidence(self.flow(t, s), self.flow(s, t), threshold=self.occlusion_threshold)

    def align_to(self, reference: int, indices: list[int] | range,
                 sources: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Warp frames (or any tensors at any scale) of ``indices`` onto frame ``reference``.

        ``sources`` ``(N, C, h, w)`` holds one tensor per index (features, latents; default: the cached
        frames). Returns ``(aligned (N, C, h, w), confidence (N, 1, h, w))``: each source looks like the
        reference where the confidence is high; the confidence is 0 for frames of another shot (returned
        unwarped) and where the match is occluded or outside the frame. Use it as the blend weight.
        """
        import torch

        from vidrestore.flow.warp import backward_warp

        idx = list(indices)
        if sources is None:
            sources = torch.stack([self.frame(i) for i in idx])
        check_shape(sources, (len(idx), "C", "h", "w"), "sources", note="one per index")
        size = (int(sources.shape[-2]), int(sources.shape[-1]))
        aligned, conf = [], []
        for k, i in enumerate(idx):
            src = sources[k:k + 1]
            if not self.same_shot(reference, i):
                aligned.append(src)
                conf.append(torch.zeros(1, 1, *size, device=src.device, dtype=torch.float32))
                continue
            aligned.append(backward_warp(src, self.flow(reference, i)))
            c = self.confidence(reference, i)
            if c.shape[-2:] != size:
                c = torch.nn.functional.interpolate(c, size=size, mode="bilinear", align_corners=False,
                                                    antialias=c.shape[-1] > size[1])
            conf.append(c.clamp(0, 1))
        return torch.cat(aligned), torch.cat(conf)

    def evict(self, before: int) -> None:
        """Forget frames (and their flows) with index < ``before``."""
        for store in (self._frames, self._fwd, self._bwd, self._shot_start):
            for k in [k for k in store if k < before]:
                del store[k]

    # ------------------------------------------------------------------ counters

    @property
    def flows_computed(self) -> int:
        return self.forward_computed + self.backward_computed

    def stats(self) -> dict[str, Any]:
        """Counters for the run summary; ``flows_per_frame`` is what the issue's target bounds (<= 2)."""
        frames = max(self.frames_added, 1)
        return {
            "flow_method": getattr(self.estimator, "name", type(self.estimator).__name__),
            "frames": self.frames_added,
            "flows_forward": self.forward_computed,
            "flows_backward": self.backward_computed,
            "flow_calls": self.estimator_calls,
            "flows_per_frame": round(self.flows_computed / frames, 4),
            "scene_cuts": list(self.cuts),
        }


def cache_from_config(cfg: FlowConfig, estimator: FlowEstimator, *, batch_size: int = 8) -> FlowCache:
    """A :class:`FlowCache` with scene-cut detection as ``cfg.scene_cut`` / ``cfg.scene_cut_threshold`` say."""
    detector = SceneCutDetector(threshold=cfg.scene_cut_threshold) if cfg.scene_cut else None
    return FlowCache(estimator, scene_cuts=detector, batch_size=batch_size,
                     occlusion_threshold=cfg.occlusion_threshold)
