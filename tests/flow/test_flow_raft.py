"""RAFT wrapper mechanics with random weights, and checkpoint handling through the weights resolver."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from vidrestore.config import FlowConfig
from vidrestore.errors import ChecksumMismatchError, VidrestoreError, WeightsNotFoundError
from vidrestore.flow import FlowEstimator, build_flow_estimator
from vidrestore.flow.raft import RaftFlow, build_raft, detect_raft_size, load_raft, pad_amounts
from vidrestore.flow.raft_weights import RAFT_LARGE, RAFT_SMALL
from vidrestore.weights import get_spec, resolve_weights


@pytest.fixture(scope="module")
def small_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_raft("small").eval()


@pytest.fixture(scope="module")
def small_ckpt(tmp_path_factory: pytest.TempPathFactory, small_model: torch.nn.Module) -> tuple[Path, str]:
    """A torchvision-format checkpoint (plain state dict, torch.save) from random weights, and its sha256."""
    path = tmp_path_factory.mktemp("ckpt") / RAFT_SMALL.filename
    torch.save(small_model.state_dict(), path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _frames(n: int, h: int, w: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    base = F.interpolate(torch.rand(n, 3, h // 4 + 1, w // 4 + 1, generator=gen), size=(h, w), mode="bilinear")
    return base, torch.roll(base, shifts=(1, 2), dims=(2, 3))


def test_pad_amounts() -> None:
    assert pad_amounts(64, 64) == (0, 0, 0, 0)
    assert pad_amounts(43, 61) == (1, 2, 2, 3)  # W 61 -> 64, H 43 -> 48
    assert pad_amounts(436, 1024) == (0, 0, 2, 2)
    assert pad_amounts(43, 200, 8, 128) == (0, 0, 42, 43)  # small frames padded up to 128


def test_tiny_frames_are_padded_up_to_the_pyramid_minimum(small_model: torch.nn.Module) -> None:
    t, s = _frames(1, 24, 30)
    flow = RaftFlow(model=small_model, iterations=1).estimate(t, s)
    assert flow.shape == (1, 2, 24, 30) and bool(torch.isfinite(flow).all())


def test_wrapper_equals_torchvision_on_padded_input(small_model: torch.nn.Module) -> None:
    """Issue 3: the wrapper == torchvision raft called directly on the padded, normalised input, cropped."""
    h, w = 131, 141
    t, s = _frames(2, h, w)
    est = RaftFlow(model=small_model, size="small", iterations=3)
    ours = est.estimate(t, s)
    assert ours.shape == (2, 2, h, w) and ours.dtype == torch.float32
    left, right, top, bottom = 1, 2, 2, 3  # 131x141 -> 136x144
    pt = F.pad(t * 2 - 1, (left, right, top, bottom), mode="replicate")
    ps = F.pad(s * 2 - 1, (left, right, top, bottom), mode="replicate")
    with torch.no_grad():
        ref = small_model(pt, ps, num_flow_updates=3)[-1][:, :, top:top + h, left:left + w]
    assert torch.allclose(ours, ref, atol=1e-5), float((ours - ref).abs().max())
    # Batching in chunks gives the same result as one call.
    chunked = RaftFlow(model=small_model, size="small", iterations=3, batch_size=1).estimate(t, s)
    assert torch.allclose(chunked, ours, atol=1e-4)  # float summation order only
    assert isinstance(est, FlowEstimator) and est.name == "raft-small"


def test_iterations_and_downscale_change_the_call(small_model: torch.nn.Module) -> None:
    t, s = _frames(1, 128, 192, seed=1)
    one = RaftFlow(model=small_model, iterations=1).estimate(t, s)
    four = RaftFlow(model=small_model, iterations=4).estimate(t, s)
    assert not torch.allclose(one, four)
    down = RaftFlow(model=small_model, iterations=2, downscale=2.0)
    flow = down.estimate(t, s)
    assert flow.shape == (1, 2, 128, 192)
    # The downscaled estimate is the half-size estimate, upsampled with values doubled.
    half = RaftFlow(model=small_model, iterations=2).estimate(
        F.interpolate(t, size=(64, 96), mode="bilinear", align_corners=False, antialias=True),
        F.interpolate(s, size=(64, 96), mode="bilinear", align_corners=False, antialias=True))
    up = F.interpolate(half, size=(128, 192), mode="bilinear", align_corners=False) * 2.0
    assert torch.allclose(flow, up, atol=1e-4)


def test_registry_holds_the_official_checkpoints() -> None:
    for spec, size in ((RAFT_SMALL, "small"), (RAFT_LARGE, "large")):
        assert get_spec(spec.name) is spec
        assert spec.arch == f"raft_{size}"
        assert spec.url == f"https://download.pytorch.org/models/{spec.filename}"
        assert len(spec.sha256) == 64 and int(spec.sha256, 16) >= 0
        # torchvision's file name carries the first 8 hex digits of the sha256.
        assert spec.filename.rsplit("-", 1)[1].split(".")[0] == spec.sha256[:8]
        assert "BSD-3-Clause" in spec.license


def test_checkpoint_loads_through_the_resolver_with_sha256(small_ckpt: tuple[Path, str],
                                                           small_model: torch.nn.Module,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 3: a torchvision-format checkpoint of random weights resolves (sha256 checked) and loads."""
    path, digest = small_ckpt
    spec = replace(RAFT_SMALL, name="raft_small_test", sha256=digest)
    monkeypatch.setenv("VIDRESTORE_WEIGHTS", str(path.parent))
    found = resolve_weights(spec)
    assert found == path
    model, size = load_raft(found)
    assert size == "small"
    for k, v in small_model.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    # Corrupt one byte: the same resolver refuses it with a checksum error naming both digests.
    bad_dir = path.parent.parent / "corrupt"
    bad_dir.mkdir(exist_ok=True)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bad_dir / spec.filename).write_bytes(bytes(data))
    monkeypatch.setenv("VIDRESTORE_WEIGHTS", str(bad_dir))
    with pytest.raises(ChecksumMismatchError) as info:
        resolve_weights(spec)
    assert info.value.expected == digest and info.value.actual != digest


def test_registered_name_is_verified_against_the_official_digest(small_ckpt: tuple[Path, str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A file carrying the official name but other bytes (our random weights) is refused, in every mode."""
    path, _ = small_ckpt
    monkeypatch.setenv("VIDRESTORE_WEIGHTS", str(path.parent))
    with pytest.raises(ChecksumMismatchError, match=RAFT_SMALL.sha256):
        build_flow_estimator(FlowConfig(method="raft-small"))
    with pytest.raises(ChecksumMismatchError):
        build_flow_estimator(FlowConfig(method="auto"))


def test_missing_weights_name_the_fetch_command() -> None:
    with pytest.raises(WeightsNotFoundError, match="vidrestore weights fetch raft_small"):
        build_flow_estimator(FlowConfig(method="raft-small"))
    with pytest.raises(WeightsNotFoundError, match="vidrestore weights fetch raft_large"):
        build_flow_estimator(FlowConfig(method="raft-large"))


def test_explicit_weights_file_builds_raft(small_ckpt: tuple[Path, str], tmp_path: Path,
                                           small_model: torch.nn.Module) -> None:
    path, _ = small_ckpt
    renamed = tmp_path / "my_raft.pth"  # not the registered name: the user's own file, loaded as is
    renamed.write_bytes(path.read_bytes())
    est = build_flow_estimator(FlowConfig(method="auto", iterations=2), weights=renamed)
    assert isinstance(est, RaftFlow) and est.size == "small" and est.iterations == 2
    est2 = build_flow_estimator(FlowConfig(method="raft-small", weights=str(renamed)))
    t, s = _frames(1, 128, 136)
    assert torch.allclose(est.estimate(t, s), RaftFlow(model=small_model, iterations=2).estimate(t, s), atol=1e-5)
    assert isinstance(est2, RaftFlow)
    with pytest.raises(VidrestoreError, match="raft_small checkpoint"):
        load_raft(renamed, "large")


def test_not_a_raft_checkpoint_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pth"
    torch.save({"conv.weight": torch.zeros(1)}, bad)
    with pytest.raises(VidrestoreError, match="not a torchvision RAFT checkpoint"):
        load_raft(bad)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(VidrestoreError, match="cannot load weights"):
        load_raft(junk)
    assert detect_raft_size({"mask_predictor.convrelu.0.weight": 0, "feature_encoder.x": 0}) == "large"


def test_torch_hub_cache_is_searched(small_ckpt: tuple[Path, str], tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint torchvision downloaded once (TORCH_HOME/hub/checkpoints) is found offline."""
    path, digest = small_ckpt
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / RAFT_SMALL.filename).write_bytes(path.read_bytes())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    spec = replace(RAFT_SMALL, name="raft_small_hub_test", sha256=digest)
    assert resolve_weights(spec) == hub / RAFT_SMALL.filename


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_half_precision_on_gpu_tracks_fp32(small_model: torch.nn.Module) -> None:
    t, s = _frames(2, 136, 200, seed=3)
    import copy

    model = copy.deepcopy(small_model)  # RaftFlow moves the module it is given to its device
    ref = RaftFlow(model=model, iterations=4, device="cuda", precision="fp32").estimate(t, s)
    for precision in ("fp16", "bf16"):
        out = RaftFlow(model=model, iterations=4, device="cuda", precision=precision).estimate(t, s)
        assert out.dtype == torch.float32 and out.device == t.device
        rel = float((out - ref).abs().mean() / ref.abs().mean().clamp(min=1e-6))
        assert rel < 0.05, (precision, rel)
