"""LPIPS: offline-only weight resolution with clear reasons, and the network's mechanics checked
against an independent computation with random weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vidrestore.errors import ChecksumMismatchError, WeightsNotFoundError  # noqa: E402
from vidrestore.metrics.lpips import ALEX_CHANNELS, LPIPSAlex, load_lpips, lpips_distance  # noqa: E402
from vidrestore.metrics.lpips_weights import LPIPS_BACKBONE, LPIPS_LINEAR, lpips_status  # noqa: E402


@pytest.fixture(scope="module")
def torchvision_alexnet():  # type: ignore[no-untyped-def]
    from torchvision.models import alexnet

    torch.manual_seed(0)
    return alexnet(weights=None).eval()


@pytest.fixture(scope="module")
def random_checkpoints(tmp_path_factory: pytest.TempPathFactory, torchvision_alexnet) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """torchvision-format AlexNet ``features.*`` and LPIPS-format heads, random weights (seeded).
    (The classifier is left out to keep the file small; LPIPS never uses it.)"""
    d = tmp_path_factory.mktemp("lpips-random")
    backbone = d / "alexnet-random.pth"
    torch.save({k: v for k, v in torchvision_alexnet.state_dict().items() if k.startswith("features.")}, backbone)
    heads = d / "heads-random.pth"
    torch.save({f"lin{k}.model.1.weight": torch.rand(1, c, 1, 1) for k, c in enumerate(ALEX_CHANNELS)}, heads)
    return backbone, heads


def test_missing_weights_give_a_reason_naming_the_fetch_command() -> None:
    ok, reason = lpips_status()
    assert not ok
    assert "vidrestore weights fetch lpips_alex_backbone" in reason
    assert LPIPS_BACKBONE.filename in reason
    with pytest.raises(WeightsNotFoundError, match="lpips_alex_backbone"):
        load_lpips()


def test_wrong_file_under_the_registered_name_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         random_checkpoints: tuple[Path, Path]) -> None:
    backbone, heads = random_checkpoints
    (tmp_path / LPIPS_BACKBONE.filename).write_bytes(backbone.read_bytes())
    (tmp_path / LPIPS_LINEAR.filename).write_bytes(heads.read_bytes())
    monkeypatch.setenv("VIDRESTORE_WEIGHTS", str(tmp_path))
    ok, reason = lpips_status()
    assert not ok and "sha256 mismatch" in reason and LPIPS_BACKBONE.sha256 in reason
    with pytest.raises(ChecksumMismatchError):
        load_lpips()


def _reference_lpips(net: torch.nn.Module, heads: Path, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """LPIPS written out independently: torchvision's AlexNet with hooks on its five ReLUs."""
    relus = [m for m in net.features if isinstance(m, torch.nn.ReLU)]
    assert len(relus) == 5
    w = torch.load(heads, weights_only=True)

    def feats(x: torch.Tensor) -> list[torch.Tensor]:
        out: list[torch.Tensor] = []
        hooks = [r.register_forward_hook(lambda _m, _i, o: out.append(o.clone())) for r in relus]
        shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
        scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
        net.features((x * 2 - 1 - shift) / scale)
        for h in hooks:
            h.remove()
        return out

    total = torch.zeros(a.shape[0])
    for k, (fa, fb) in enumerate(zip(feats(a), feats(b))):
        na = fa / (fa.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        nb = fb / (fb.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        total += ((na - nb) ** 2 * w[f"lin{k}.model.1.weight"]).sum(1).mean(dim=(1, 2))
    return total


def test_network_matches_an_independent_computation(random_checkpoints: tuple[Path, Path],
                                                    torchvision_alexnet) -> None:  # type: ignore[no-untyped-def]
    backbone, heads = random_checkpoints
    net = load_lpips(backbone=backbone, heads=heads)
    torch.manual_seed(1)
    a = torch.rand(2, 3, 64, 80)
    b = (a + 0.1 * torch.randn_like(a)).clamp(0, 1)
    with torch.no_grad():
        got = net(a, b)
        ref = _reference_lpips(torchvision_alexnet, heads, a, b)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-7)
    assert float(got.min()) > 0


def test_distance_properties(random_checkpoints: tuple[Path, Path]) -> None:
    backbone, heads = random_checkpoints
    net = load_lpips(backbone=backbone, heads=heads)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    d = []
    for sigma in (0, 4, 16, 48):
        noisy = np.clip(img.astype(float) + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)
        d.append(lpips_distance(net, img, noisy))
    assert d[0] == 0.0
    assert d[1] < d[2] < d[3]
    other = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert lpips_distance(net, img, other) == pytest.approx(lpips_distance(net, other, img), rel=1e-5)


def test_bad_checkpoints_and_inputs(tmp_path: Path, random_checkpoints: tuple[Path, Path]) -> None:
    from vidrestore.errors import ShapeError, VidrestoreError

    backbone, heads = random_checkpoints
    bad = tmp_path / "heads.pth"
    torch.save({"lin0.model.1.weight": torch.rand(1, 64, 1, 1)}, bad)
    with pytest.raises(VidrestoreError, match="lin1.model.1.weight"):
        load_lpips(backbone=backbone, heads=bad)
    with pytest.raises(VidrestoreError, match="torchvision alexnet"):
        load_lpips(backbone=heads, heads=heads)
    net = LPIPSAlex()
    with pytest.raises(ShapeError, match=">= 32"):
        net(torch.rand(1, 3, 16, 64), torch.rand(1, 3, 16, 64))


def _lpips_package():  # type: ignore[no-untyped-def]
    """The reference implementation (``pip install lpips``), or a skip naming it."""
    import warnings

    lpips = pytest.importorskip("lpips", reason="the lpips package (the reference implementation) is not installed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchvision's notice about lpips' old 'pretrained' argument
        return lpips.LPIPS(net="alex", version="0.1", pnet_rand=True, verbose=False).eval()


def _load_backbone_into_package(ref, features: dict[str, torch.Tensor]) -> None:  # type: ignore[no-untyped-def]
    """torchvision's ``features.N.*`` into the lpips package's ``net.sliceK.N.*`` (same layers, split in five)."""
    own = ref.net.state_dict()
    mapped = {}
    for key in own:
        _, index, param = key.split(".")  # sliceK.N.weight
        mapped[key] = features[f"features.{index}.{param}"]
    ref.net.load_state_dict(mapped)


def _real_pair() -> tuple[np.ndarray, np.ndarray]:
    import cv2

    from tests.conftest import shared_file

    files = sorted(shared_file("basicvsrpp_reds_demo/demo_000").glob("*.png"))
    return tuple(cv2.imread(str(f))[..., ::-1].copy() for f in (files[0], files[3]))  # type: ignore[return-value]


def test_matches_the_lpips_package_with_its_published_heads(tmp_path: Path, torchvision_alexnet) -> None:  # type: ignore[no-untyped-def]
    """vidrestore's LPIPS against the reference implementation: the published v0.1 heads the lpips
    package ships (sha256-checked by our loader), one AlexNet backbone (random: its ImageNet weights
    cannot be had offline) loaded into both, real frames; the distances must agree."""
    from vidrestore.metrics.lpips_weights import _packaged_heads

    ref = _lpips_package()
    heads = _packaged_heads()
    assert heads is not None
    features = {k: v for k, v in torchvision_alexnet.state_dict().items() if k.startswith("features.")}
    backbone = tmp_path / "alexnet-random.pth"
    torch.save(features, backbone)
    _load_backbone_into_package(ref, features)
    ours = load_lpips(backbone=backbone, heads=heads)
    a, b = _real_pair()
    ta = torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255
    tb = torch.from_numpy(b).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        want = float(ref(ta, tb, normalize=True).flatten()[0])
    got = lpips_distance(ours, a, b)
    assert got == pytest.approx(want, rel=1e-4, abs=1e-6)
    assert got > 0


def _weights_folder() -> Path | None:
    """VIDRESTORE_TEST_DATA/weights (or ../shared/weights) when it holds the LPIPS backbone."""
    from tests.conftest import SHARED

    if SHARED is None:
        return None
    folder = SHARED / "weights"
    return folder if (folder / LPIPS_BACKBONE.filename).is_file() else None


def test_real_weights_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the published AlexNet in the test data's weights/ folder, the resolver finds it (the
    offline fixture hides the user's caches, so the folder is handed over as VIDRESTORE_WEIGHTS)
    and real frames give the reference implementation's distance."""
    folder = _weights_folder()
    if folder is None:
        pytest.skip(f"LPIPS backbone {LPIPS_BACKBONE.filename} not in the test data's weights/ folder "
                    "(run 'vidrestore weights fetch lpips_alex_backbone' and copy it there)")
    monkeypatch.setenv("VIDRESTORE_WEIGHTS", str(folder))
    ok, reason = lpips_status()
    assert ok, reason
    net = load_lpips()
    a, b = _real_pair()
    got = lpips_distance(net, a, b)
    assert 0.0 < got < 0.6
    try:
        ref = _lpips_package()
    except pytest.skip.Exception:
        return
    from vidrestore.weights import load_state_dict

    _load_backbone_into_package(ref, {k: v for k, v in load_state_dict(folder / LPIPS_BACKBONE.filename).items()
                                      if k.startswith("features.")})
    ta = torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255
    tb = torch.from_numpy(b).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        assert got == pytest.approx(float(ref(ta, tb, normalize=True).flatten()[0]), rel=1e-4)


def test_eval_reports_lpips_per_frame(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      random_checkpoints: tuple[Path, Path]) -> None:
    """The eval path with LPIPS weights in place (random ones, swapped in for the resolver)."""
    import vidrestore.metrics.lpips as lp
    from tests.metrics.clips import real_frame, write_folder
    from vidrestore.metrics.evaluate import EvalOptions, evaluate

    monkeypatch.setattr(lp, "resolve_lpips_weights", lambda backbone=None, heads=None: random_checkpoints)
    ref_frames = [real_frame() for _ in range(3)]
    rng = np.random.default_rng(0)
    out_frames = [ref_frames[0], *(np.clip(f + rng.normal(0, 8 * i, f.shape), 0, 255).astype(np.uint8)
                                   for i, f in enumerate(ref_frames[1:], start=1))]
    ref = write_folder(tmp_path / "ref", ref_frames)
    out = write_folder(tmp_path / "out", out_frames)
    report = evaluate(ref, out, EvalOptions(metrics=("psnr", "lpips"), lpips_explicit=True))
    values = report.values("lpips")
    assert report.series == ("psnr", "lpips")
    assert values[0] == 0.0 and 0 < values[1] < values[2]


def test_eval_cli_weights_folder_is_searched(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             random_checkpoints: tuple[Path, Path]) -> None:
    from tests.metrics.clips import real_frame, write_folder
    from vidrestore.cli import main

    backbone, heads = random_checkpoints
    wdir = tmp_path / "w"
    wdir.mkdir()
    (wdir / LPIPS_BACKBONE.filename).write_bytes(backbone.read_bytes())
    ref = write_folder(tmp_path / "ref", [real_frame()] * 2)
    rc = main(["eval", str(ref), str(ref), "--metrics", "lpips", "--weights", str(wdir)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "sha256 mismatch" in err and str(wdir) in err and len(err.strip().splitlines()) == 1
