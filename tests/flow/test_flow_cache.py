"""Flow cache across sliding windows: once per pair and direction, composition, scene cuts, eviction."""

from __future__ import annotations

import pytest
import torch

from tests.flow.synth import smooth_field
from vidrestore.config import FlowConfig
from vidrestore.flow import DISFlow, backward_warp, compose_flows
from vidrestore.flow.cache import FlowCache, cache_from_config
from vidrestore.temporal.windows import plan_windows


class CountingEstimator:
    """Wraps an estimator and records every (t, s) content pair it is asked for."""

    def __init__(self, inner: DISFlow) -> None:
        self.inner = inner
        self.name = inner.name
        self.pairs = 0
        self.calls = 0

    def estimate(self, frame_t: torch.Tensor, frame_s: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        self.pairs += frame_t.shape[0]
        return self.inner.estimate(frame_t, frame_s)


def translating_frames(n: int, step: tuple[float, float], h: int = 96, w: int = 128) -> list[torch.Tensor]:
    """Frame i shows a smooth texture translated by i * step (frame i at x looks like frame 0 at x - i * step)."""
    gen = torch.Generator().manual_seed(0)
    base = torch.nn.functional.interpolate(torch.rand(1, 3, 24, 32, generator=gen), size=(h + 64, w + 64),
                                           mode="bicubic", align_corners=False).clamp(0, 1)
    out = []
    for i in range(n):
        shift = torch.tensor([-step[0] * i, -step[1] * i]).view(1, 2, 1, 1).expand(1, 2, h + 64, w + 64)
        out.append(backward_warp(base, shift)[0, :, 32:32 + h, 32:32 + w])
    return out


def test_sliding_windows_compute_each_pair_once_per_direction() -> None:
    n = 37
    frames = translating_frames(n, (1.0, 0.5))
    est = CountingEstimator(DISFlow(preset="ultrafast"))
    cache = FlowCache(est, batch_size=4)
    windows = plan_windows(n, window=5, overlap=2)
    added = 0
    for win in windows:
        while added < win.stop:
            cache.add(added, frames[added])
            added += 1
        wf = cache.window_flows(win.start, win.stop)
        assert wf.forward.shape == (win.size - 1, 2, 96, 128) and bool(wf.connected.all())
        cache.evict(win.start)  # the next window starts at or after this one's start
    stats = cache.stats()
    assert stats["flows_forward"] == n - 1 and stats["flows_backward"] == n - 1
    assert est.pairs == 2 * (n - 1)  # nothing re-estimated although windows overlap by 2 frames
    assert stats["flows_per_frame"] == pytest.approx(2 * (n - 1) / n, abs=1e-3)
    assert stats["flows_per_frame"] <= 2.0
    assert est.calls < est.pairs  # batched


def test_composed_flow_matches_the_known_translation() -> None:
    frames = translating_frames(6, (1.5, -0.75))
    cache = FlowCache(DISFlow(preset="medium"))
    for i, f in enumerate(frames):
        cache.add(10 + i, f)  # indices need not start at 0
    f03 = cache.flow(10, 13)  # frame 10 at x is at x + 3 * step in frame 13
    b30 = cache.flow(15, 12)
    inner = (slice(None), slice(None), slice(12, -12), slice(12, -12))
    assert torch.allclose(f03[inner].mean(dim=(2, 3)), torch.tensor([[4.5, -2.25]]), atol=0.15)
    assert torch.allclose(b30[inner].mean(dim=(2, 3)), torch.tensor([[-4.5, 2.25]]), atol=0.15)
    assert float((f03[inner] - torch.tensor([4.5, -2.25]).view(1, 2, 1, 1)).norm(dim=1).mean()) < 0.3
    # Composition is the definition, applied to the cached consecutive flows.
    chain = compose_flows(cache.forward(10)[None], cache.forward(11)[None], cache.forward(12)[None])
    assert torch.allclose(f03, chain)
    assert torch.equal(cache.flow(12, 12), torch.zeros(1, 2, 96, 128))
    flows, ok = cache.flows_to(12, range(10, 16))
    assert flows.shape == (6, 2, 96, 128) and ok == [True] * 6
    assert cache.stats()["flows_per_frame"] <= 2.0


def test_scene_cut_stops_alignment(sintel_frames: list[torch.Tensor], film_frame: torch.Tensor) -> None:
    """Two shots: no flow is estimated across the cut and asking for one raises."""
    import torch.nn.functional as F

    shot_a = [f[0, :, :, :] for f in sintel_frames[:4]]
    size = shot_a[0].shape[-2:]
    gen = torch.Generator().manual_seed(0)
    film = F.interpolate(film_frame, size=size, mode="bilinear", align_corners=False)
    shot_b = [backward_warp(film, smooth_field(size[0], size[1], 2.0, gen))[0] for _ in range(3)]
    est = CountingEstimator(DISFlow(preset="ultrafast"))
    cache = cache_from_config(FlowConfig(scene_cut=True), est)
    starts = [cache.add(i, f) for i, f in enumerate(shot_a + shot_b)]
    assert starts == [False, False, False, False, True, False, False]
    assert cache.cuts == [4]
    assert cache.same_shot(0, 3) and not cache.same_shot(3, 4) and cache.shot_start(6) == 4
    wf = cache.window_flows(1, 7)
    assert wf.connected.tolist() == [True, True, False, True, True]
    assert float(wf.forward[2].abs().max()) == 0.0
    assert est.pairs == 2 * 4  # pairs (1,2), (2,3), (4,5), (5,6), both directions; (3,4) never estimated
    with pytest.raises(ValueError, match="scene cut"):
        cache.flow(2, 5)
    flows, ok = cache.flows_to(5, range(2, 7))
    assert ok == [False, False, True, True, True]
    assert float(flows[:2].abs().max()) == 0.0
    assert cache.stats()["scene_cuts"] == [4]


def test_cache_rejects_misuse() -> None:
    cache = FlowCache(DISFlow(preset="ultrafast"))
    cache.add(0, torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="consecutive"):
        cache.add(2, torch.rand(3, 32, 32))
    with pytest.raises(Exception, match="size"):
        cache.add(1, torch.rand(3, 16, 32))
    cache.add(1, torch.rand(1, 3, 32, 32))
    cache.evict(1)
    with pytest.raises(KeyError, match="evicted"):
        cache.window_flows(0, 2)
    assert 1 in cache and 0 not in cache


def test_align_to_reference_with_confidence() -> None:
    """Neighbours warped onto the reference match it; latents at 1/4 scale align too; other shots get weight 0."""
    frames = translating_frames(5, (2.0, 1.0))
    cache = FlowCache(DISFlow(preset="medium"), occlusion_threshold=1.0)
    for i, f in enumerate(frames):
        cache.add(i, f)
    ref = 2
    aligned, conf = cache.align_to(ref, [0, 1, 3, 4])
    assert aligned.shape == (4, 3, 96, 128) and conf.shape == (4, 1, 96, 128)
    inner = (slice(None), slice(None), slice(10, -10), slice(10, -10))
    before = (torch.stack([frames[i] for i in (0, 1, 3, 4)]) - frames[ref]).abs()[inner].mean().item()
    after = (aligned - frames[ref]).abs()[inner].mean().item()
    assert after < 0.15 * before, (after, before)
    assert float(conf[inner].mean()) > 0.9  # interior is visible in every neighbour
    # Reference pixel x is at x - (4, 2) in frame 0: its first columns and rows are outside frame 0, weight 0.
    assert float(conf[0, 0, :, :3].max()) == 0.0 and float(conf[0, 0, :1, :].max()) == 0.0
    # Feature maps at a quarter of the size align with the same flows.
    feats = torch.nn.functional.avg_pool2d(torch.stack([frames[i] for i in (0, 4)]), 4)
    warped, c4 = cache.align_to(ref, [0, 4], sources=feats)
    target = torch.nn.functional.avg_pool2d(frames[ref][None], 4)
    assert warped.shape == (2, 3, 24, 32) and c4.shape == (2, 1, 24, 32)
    err = (warped - target).abs()[..., 3:-3, 3:-3].mean().item()
    assert err < 0.2 * (feats - target).abs()[..., 3:-3, 3:-3].mean().item()
    assert torch.equal(cache.confidence(ref, ref), torch.ones(1, 1, 96, 128))
