"""GanRestorer: parity with Real-ESRGAN, tiling, OOM recovery, scales, batching, precision, 16-bit frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.restore.gan_data import animevideo_weights, real_crops
from vidrestore.config import RestorerConfig
from vidrestore.errors import ConfigError
from vidrestore.restore.gan.archs import build_arch, install_functional_tensor_alias
from vidrestore.restore.gan.restorer import GanRestorer, choose_precision, cpu_has_native_bf16
from vidrestore.restore.gan.tiles import OutOfMemoryError, Span, TiledRunner, _ramps, plan_axis


def psnr(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray, peak: float = 1.0) -> float:
    a64 = torch.as_tensor(np.asarray(a, dtype=np.float64) if isinstance(a, np.ndarray) else a.double())
    b64 = torch.as_tensor(np.asarray(b, dtype=np.float64) if isinstance(b, np.ndarray) else b.double())
    mse = float(((a64 - b64) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(peak * peak / mse)


@pytest.fixture(scope="module")
def real(shared_dir: Path) -> GanRestorer:
    path = animevideo_weights(shared_dir)
    return GanRestorer.from_config(RestorerConfig(name="realesr-animevideov3", weights=str(path), scale=4,
                                                  precision="fp32"))


def _fresh(real: GanRestorer, **kw) -> GanRestorer:
    args = {"native_scale": 4, "precision": "fp32"} | kw
    return GanRestorer(net=real.net, **args)


def test_parity_with_realesrganer_enhance(real: GanRestorer, shared_dir: Path) -> None:
    install_functional_tensor_alias()
    from realesrgan import RealESRGANer

    x = real_crops(shared_dir, 2, size=64)
    frames = [(f.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8) for f in x]
    ours = real.restore_rgb(frames)
    net = build_arch("SRVGGNetCompact", {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_conv": 16,
                                         "upscale": 4, "act_type": "prelu"})
    weights = str(animevideo_weights(shared_dir))
    # the settings of Real-ESRGAN's video script on the CPU: --fp32, no tiles, pre_pad 0
    ref = RealESRGANer(scale=4, model_path=weights, model=net, tile=0, tile_pad=10, pre_pad=0, half=False,
                       device=torch.device("cpu"))
    for rgb, mine in zip(frames, ours, strict=True):
        theirs, _ = ref.enhance(np.ascontiguousarray(rgb[:, :, ::-1]), outscale=4)
        assert mine.shape == theirs.shape == (256, 256, 3)
        assert psnr(mine, theirs[:, :, ::-1], 255.0) >= 40.0
        assert np.abs(mine.astype(int) - theirs[:, :, ::-1]).max() <= 1  # rounding of equal floats only


def test_tiled_equals_untiled_without_seams(real: GanRestorer, shared_dir: Path) -> None:
    x = real_crops(shared_dir, 1, size=72)
    whole = real.restore(x)
    tiled = _fresh(real, tile=44, tile_overlap=16)
    out = tiled.restore(x)
    assert tiled.model_calls == 4  # 2 x 2 tiles of 44 px over 72 px, sharing 16
    assert psnr(out, whole) >= 45.0
    # no seam: the error next to the tile cuts is of the order of the error elsewhere
    err = (out - whole).abs().mean(dim=(0, 1))
    spans = plan_axis(72, 44, 16)
    cuts = sorted({4 * s.start for s in spans[1:]} | {4 * s.stop for s in spans[:-1]})
    col = err.mean(dim=0)
    assert float(col.max()) < 4e-3
    assert all(float(col[c - 2:c + 2].mean()) < 2e-3 for c in cuts)


def test_feather_weights_are_a_partition_of_unity() -> None:
    for length, tile, overlap, scale in ((100, 36, 12, 2), (97, 40, 16, 4), (41, 40, 16, 1), (300, 64, 16, 3)):
        spans = plan_axis(length, tile, overlap)
        assert spans[0].start == 0 and spans[-1].stop == length
        assert all(s.size == tile for s in spans)
        assert all(a.stop - b.start >= overlap for a, b in zip(spans, spans[1:]))
        total = torch.zeros(length * scale)
        for i, (s, w) in enumerate(zip(spans, _ramps(spans, scale))):
            assert float(w[0]) == (0.0 if i > 0 else 1.0) and float(w[-1]) == (0.0 if i < len(spans) - 1 else 1.0)
            total[s.start * scale:s.stop * scale] += w
        assert torch.allclose(total, torch.ones_like(total), atol=1e-6), (length, tile, overlap)
    assert plan_axis(50, 0, 8) == plan_axis(50, 64, 8) == [Span(0, 50)]


def _upsample2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest") * 0.5 + 0.25


def test_oom_halves_the_tile_and_every_frame_is_produced() -> None:
    calls = []

    def flaky(x: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(x.shape))
        if x.shape[0] > 1 or x.shape[-1] * x.shape[-2] > 40 * 40:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return _upsample2(x)

    x = torch.rand(3, 3, 100, 90)
    runner = TiledRunner(flaky, scale=2, tile=0, overlap=8, batch=3, min_tile=16)
    out = runner(x)
    assert out.shape == (3, 3, 200, 180)
    assert torch.allclose(out, _upsample2(x), atol=1e-6)  # every frame, exactly
    assert runner.batch == 1 and runner.tile == 25 and runner.oom_retries == 3  # batch 3->1, tile whole->50->25
    ok = sum(1 for c in calls if c[0] == 1 and c[-1] * c[-2] <= 1600)
    assert ok == 3 * len(plan_axis(100, 25, 8)) * len(plan_axis(90, 25, 8))
    # the reduced sizes stick: the next call starts with them
    n = len(calls)
    runner(x[:1])
    assert all(c[-1] * c[-2] <= 1600 for c in calls[n:])


def test_oom_at_the_smallest_tile_raises_instead_of_dropping_a_frame() -> None:
    def never(x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 123 bytes")

    with pytest.raises(OutOfMemoryError, match="out of memory even with"):
        TiledRunner(never, scale=2, tile=64)(torch.rand(1, 3, 64, 64))
    other = TiledRunner(lambda x: (_ for _ in ()).throw(RuntimeError("shape mismatch")), scale=2)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        other(torch.rand(1, 3, 8, 8))


def test_any_output_scale(real: GanRestorer, shared_dir: Path) -> None:
    x = real_crops(shared_dir, 1, size=32)
    x4 = real.restore(x)
    for scale, size in ((2.0, 64), (3.0, 96), (1.5, 48), (1.0, 32), (4.0, 128), (5.0, 160)):
        r = _fresh(real, scale=scale)
        y = r.restore(x)
        assert tuple(y.shape) == (1, 3, size, size) and r.output_size(32, 32) == (size, size)
        assert 0.0 <= float(y.min()) and float(y.max()) <= 1.0
        if scale < 4:  # the x4 result, resized
            ref = F.interpolate(x4, size=(size, size), mode="bicubic", align_corners=False, antialias=True)
            assert psnr(y, ref.clamp(0, 1)) > 60
    assert _fresh(real, scale=2.0).output_size(45, 81) == (90, 162)
    assert _fresh(real, scale=1.5).output_size(45, 81) == (68, 122)


def test_batches_equal_single_frames(real: GanRestorer, shared_dir: Path) -> None:
    x = real_crops(shared_dir, 3, size=32)
    batched = _fresh(real, batch=3)
    out = batched.restore(x)
    assert batched.model_calls == 1
    single = torch.cat([real.restore(x[i:i + 1]) for i in range(3)])
    assert torch.allclose(out, single, atol=1e-5)


def test_cpu_fast_path_agrees_with_plain_fp32(real: GanRestorer, shared_dir: Path) -> None:
    x = real_crops(shared_dir, 1, size=48)
    fast = real.restore(x)  # channels_last, inference_mode
    plain = _fresh(real, channels_last=False)
    assert psnr(plain.restore(x), fast) >= 60.0
    bf16 = _fresh(real, precision="bf16")
    assert bf16.precision == "bf16"
    assert psnr(bf16.restore(x), fast) >= 45.0


def test_precision_choices() -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert choose_precision("auto", cpu, high_bit_depth=False) == ("bf16" if cpu_has_native_bf16() else "fp32")
    assert choose_precision("auto", cpu, high_bit_depth=True) == "fp32"
    assert choose_precision("auto", cuda, high_bit_depth=False) == "fp16"
    assert choose_precision("auto", cuda, high_bit_depth=True) == "fp32"
    assert choose_precision("bf16", cpu, high_bit_depth=True) == "bf16"
    with pytest.raises(ConfigError, match="fp16 runs on a GPU only"):
        choose_precision("fp16", cpu, high_bit_depth=False)


def test_sixteen_bit_frames_keep_sixteen_bit_precision(real: GanRestorer, shared_dir: Path) -> None:
    x = real_crops(shared_dir, 1, size=32)
    rng = np.random.default_rng(0)
    rgb16 = (x[0].permute(1, 2, 0).numpy() * 65535 + rng.uniform(-200, 200, (32, 32, 3))).clip(0, 65535)
    rgb16 = rgb16.round().astype(np.uint16)
    r = GanRestorer(net=real.net, native_scale=4, precision="auto", high_bit_depth=True)
    assert r.precision == "fp32"
    (out,) = r.restore_rgb([rgb16])
    assert out.dtype == np.uint16 and out.shape == (128, 128, 3)
    exact = r.restore(torch.from_numpy(rgb16.astype(np.float32) / 65535).permute(2, 0, 1)[None])
    exact16 = (exact[0].permute(1, 2, 0).numpy() * 65535).round()
    assert np.abs(out.astype(np.float64) - exact16).max() <= 1.0
    inside = (out > 0) & (out < 65535)
    assert np.mean(out[inside] % 257 != 0) > 0.9  # not 8-bit values scaled up
    # the 8-bit path loses what the 16-bit one keeps
    (out8,) = r.restore_rgb([(rgb16 // 257).astype(np.uint8)])
    assert np.abs(out8.astype(np.float64) * 257 - out).mean() > 20


def test_rrdbnet_x2_takes_odd_sizes_by_padding() -> None:
    torch.manual_seed(0)
    net = build_arch("RRDBNet", {"num_in_ch": 3, "num_out_ch": 3, "scale": 2, "num_feat": 8, "num_block": 1,
                                 "num_grow_ch": 4})
    r = GanRestorer(net=net, native_scale=2, input_multiple=2, precision="fp32")
    x = torch.rand(1, 3, 33, 35)
    y = r.restore(x)
    assert y.shape == (1, 3, 66, 70)
    padded = F.pad(x, (0, 1, 0, 1), mode="reflect")
    with torch.no_grad():
        ref = net(padded)[:, :, :66, :70].clamp(0, 1)
    assert torch.allclose(y, ref, atol=1e-5)
