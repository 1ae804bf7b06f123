"""The winograd CPU kernel (NNPACK, frames side by side): same results as the direct convolution."""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.restore.gan_data import animevideo_weights, real_crops
from vidrestore.config import RestorerConfig
from vidrestore.errors import ConfigError
from vidrestore.restore.gan.restorer import GanRestorer, choose_cpu_kernel, nnpack_works

pytestmark = pytest.mark.skipif(not nnpack_works(), reason="NNPACK does not run in this PyTorch build")


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a.double() - b.double()) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def _restorer(shared_dir: Path, kernel: str, **kw) -> GanRestorer:
    cfg = RestorerConfig(name="realesr-animevideov3", weights=str(animevideo_weights(shared_dir)), scale=4,
                         precision="fp32", cpu_kernel=kernel, **kw)
    return GanRestorer.from_config(cfg)


@pytest.fixture()
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_winograd_agrees_with_the_direct_convolution_on_real_frames(shared_dir: Path, two_threads) -> None:
    x = real_crops(shared_dir, 3, size=40)
    direct = _restorer(shared_dir, "onednn")
    wino = _restorer(shared_dir, "winograd")
    assert (direct.cpu_kernel, wino.cpu_kernel) == ("onednn", "winograd")
    assert wino.parallel_frames == 2 and wino.runner.batch >= 2
    a, b = direct.restore(x), wino.restore(x)
    assert a.shape == b.shape == (3, 3, 160, 160)
    assert psnr(a, b) >= 90.0  # the same fp32 arithmetic, regrouped (measured about 110 dB)
    assert float((a - b).abs().max()) < 2e-4
    assert wino.model_calls == 2 and wino.frames == 3  # a pair side by side, then the last frame alone


def test_winograd_results_do_not_depend_on_the_batch(shared_dir: Path, two_threads) -> None:
    x = real_crops(shared_dir, 4, size=24)
    wino = _restorer(shared_dir, "winograd", batch=4)
    together = wino.restore(x)
    alone = torch.cat([wino.restore(x[i:i + 1]) for i in range(4)])
    assert torch.equal(together, alone)  # bit-exact: segments cut anywhere reproduce one pass
    assert torch.get_num_threads() == 2  # the caller's thread count is put back
    assert not [t for t in threading.enumerate() if t.name.startswith("vidrestore-gan")]  # none outlives a call


def test_a_size_nnpack_refuses_falls_back_to_the_direct_convolution(shared_dir: Path, two_threads,
                                                                   monkeypatch) -> None:
    x = real_crops(shared_dir, 1, size=24)
    wino = _restorer(shared_dir, "winograd")
    want = wino.restore(x)

    def refuse(*args, **kwargs):
        raise RuntimeError("NNPACK SpatialConvolution_updateOutput failed")

    monkeypatch.setattr(torch, "_nnpack_spatial_convolution", refuse)
    got = wino.restore(x)
    assert psnr(got, want) >= 90.0


def test_kernel_choice() -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    before = torch.get_num_threads()
    try:
        for threads in (2, 1):  # never by thread count: a one-thread Ray worker must match a local run
            torch.set_num_threads(threads)
            assert choose_cpu_kernel("auto", cpu, "fp32") == "winograd"
            assert choose_cpu_kernel("winograd", cpu, "fp32") == "winograd"
    finally:
        torch.set_num_threads(before)
    assert choose_cpu_kernel("auto", cpu, "bf16") == "onednn"
    assert choose_cpu_kernel("auto", cuda, "fp16") == "onednn"
    assert choose_cpu_kernel("onednn", cpu, "fp32") == "onednn"
    with pytest.raises(ConfigError, match="fp32 on the CPU only"):
        choose_cpu_kernel("winograd", cuda, "fp16")
    with pytest.raises(ConfigError, match="restorer.cpu_kernel"):
        RestorerConfig(cpu_kernel="fast")


def test_the_processor_hands_the_restorer_whole_pairs(shared_dir: Path, two_threads) -> None:
    from vidrestore.restore.gan.processor import GanProcessor
    from vidrestore.types import Frame

    wino = _restorer(shared_dir, "winograd")
    proc = GanProcessor(restorer=wino, batch=1)
    assert proc.batch == 2
    crops = real_crops(shared_dir, 5, size=16)
    frames = [Frame(index=i, pts=i, time_base=Fraction(1, 25), rgb=(c.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
              for i, c in enumerate(crops)]
    out = list(proc.process(iter(frames)))
    assert [f.index for f in out] == [0, 1, 2, 3, 4]
    assert wino.model_calls == 3
    assert proc.stats()["cpu_kernel"] == "winograd"
    assert not [t for t in threading.enumerate() if t.name.startswith("vidrestore-gan")]


def test_a_failure_in_a_worker_reaches_the_caller_and_oom_still_halves_the_tile(shared_dir: Path,
                                                                              two_threads) -> None:
    x = real_crops(shared_dir, 2, size=64)
    wino = _restorer(shared_dir, "winograd")
    want = wino.restore(x)
    net = wino.net
    calls = {"n": 0}

    def flaky(frame: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        if frame.shape[-1] > 40:  # whole 64 px frames run out of memory; tiles of 32 px do not
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes")
        return net(frame)

    wino.net = flaky
    wino.runner.tile = 0
    got = wino.restore(x)
    assert wino.runner.oom_retries >= 1 and 0 < wino.runner.tile <= 32
    assert got.shape == want.shape
    assert psnr(got, want) >= 45.0  # feathered tiles, as in the direct path


def test_one_thread_and_two_threads_give_the_same_frames(shared_dir: Path) -> None:
    """A Ray worker with one thread and a local run with two must write the same frames."""
    x = real_crops(shared_dir, 3, size=24)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = _restorer(shared_dir, "auto", batch=3)
        a = one.restore(x)
        torch.set_num_threads(2)
        two = _restorer(shared_dir, "auto", batch=3)
        b = two.restore(x)
        c = one.restore(x)  # the restorer built under one thread, now called with two
    finally:
        torch.set_num_threads(before)
    assert one.cpu_kernel == two.cpu_kernel == "winograd"
    assert torch.equal(a, b) and torch.equal(a, c)
