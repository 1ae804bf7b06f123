"""Real-ESRGAN weights: registry entries, resolution, checksums, params_ema/params, the weights CLI."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from vidrestore.cli import main
from vidrestore.errors import ChecksumMismatchError, ConfigError, WeightsNotFoundError
from vidrestore.restore.gan.archs import build_arch, infer_arch
from vidrestore.restore.gan.restorer import GanRestorer, load_gan_weights
from vidrestore.restore.gan.weights import NCNN_MODELS, OFFICIAL, OFFICIAL_BY_NAME
from vidrestore.weights import all_weights, sha256_file

ANIMEVIDEO_SHA = "4e1e09ba96d08bd4b8455e8897c3242a3501e3766f359941ea894122e158a932"


@pytest.fixture()
def animevideo_pth(shared_dir: Path) -> Path:
    p = shared_dir / "weights" / "realesr-animevideov3.pth"
    if not p.is_file():
        pytest.skip(f"{p} missing from the shared data")
    return p


def _tiny_srvgg(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    net = build_arch("SRVGGNetCompact", {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 8, "num_conv": 2,
                                         "upscale": 2, "act_type": "prelu"})
    for p in net.parameters():
        p.data.uniform_(-0.2, 0.2)
    return net


def test_registry_lists_every_official_checkpoint_with_full_provenance() -> None:
    names = {s.name for s in OFFICIAL}
    assert names == {"realesr-animevideov3", "realesr-general-x4v3", "realesr-general-wdn-x4v3",
                     "RealESRGAN_x4plus", "RealESRGAN_x2plus", "RealESRGAN_x4plus_anime_6B"}
    registry = all_weights()
    for spec in OFFICIAL:
        assert registry[spec.name] is spec
        assert spec.filename == spec.name + ".pth"
        assert re.fullmatch(r"[0-9a-f]{64}", spec.sha256 or ""), spec.name
        assert spec.url and spec.url.startswith("https://github.com/xinntao/Real-ESRGAN/releases/download/v0.")
        assert spec.url.endswith("/" + spec.filename)
        assert "BSD-3-Clause" in spec.license
    assert len({s.sha256 for s in OFFICIAL}) == len(OFFICIAL)
    assert OFFICIAL_BY_NAME["realesr-animevideov3"].sha256 == ANIMEVIDEO_SHA
    assert OFFICIAL_BY_NAME["RealESRGAN_x2plus"].arch_kwargs["scale"] == 2
    assert OFFICIAL_BY_NAME["RealESRGAN_x4plus_anime_6B"].arch_kwargs["num_block"] == 6
    assert OFFICIAL_BY_NAME["realesr-general-x4v3"].arch_kwargs["num_conv"] == 32


def test_registry_arch_args_fit_the_released_file_sizes() -> None:
    # byte sizes of the release assets as public manifests pin them next to the same sha256; a float32
    # checkpoint holds 4 bytes per parameter plus a small pickle overhead
    sizes = {"realesr-general-x4v3": 4_885_111, "realesr-general-wdn-x4v3": 4_885_111,
             "RealESRGAN_x4plus": 67_040_989, "RealESRGAN_x2plus": 67_061_725}
    for name, size in sizes.items():
        spec = OFFICIAL_BY_NAME[name]
        net = build_arch(spec.arch, spec.arch_kwargs)
        params = sum(p.numel() for p in net.parameters())
        overhead = size - 4 * params  # pickle records: a few hundred bytes per tensor
        assert 0 < overhead < 512 * len(net.state_dict()), name
    general = OFFICIAL_BY_NAME["realesr-general-x4v3"]
    assert len(build_arch(general.arch, general.arch_kwargs).state_dict()) == 101


def test_shared_checkpoint_resolves_from_env_dir_and_checksum_is_enforced(
        animevideo_pth: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "good"
    good.mkdir()
    shutil.copyfile(animevideo_pth, good / "realesr-animevideov3.pth")
    monkeypatch.setenv("VIDRESTORE_WEIGHTS", str(good))
    loaded = load_gan_weights("realesr-animevideov3")
    assert loaded.sources == (good / "realesr-animevideov3.pth",)
    assert loaded.arch == "SRVGGNetCompact" and len(loaded.state_dict) == 53
    assert main(["weights", "verify", "realesr-animevideov3"]) == 0

    bad = tmp_path / "bad"
    bad.mkdir()
    data = bytearray((good / "realesr-animevideov3.pth").read_bytes())
    data[-100] ^= 0xFF
    (bad / "realesr-animevideov3.pth").write_bytes(bytes(data))
    monkeypatch.setenv("VIDRESTORE_WEIGHTS", str(bad))
    with pytest.raises(ChecksumMismatchError, match=ANIMEVIDEO_SHA):
        load_gan_weights("realesr-animevideov3")
    assert main(["weights", "verify"]) == 2


def test_missing_weights_name_the_fetch_and_import_commands() -> None:
    with pytest.raises(WeightsNotFoundError) as info:
        load_gan_weights("realesr-animevideov3")
    msg = str(info.value)
    assert "vidrestore weights fetch realesr-animevideov3" in msg
    assert "vidrestore weights import-ncnn" in msg
    with pytest.raises(WeightsNotFoundError, match="vidrestore weights fetch RealESRGAN_x2plus"):
        load_gan_weights("RealESRGAN_x2plus")


def test_unknown_model_name_is_a_config_error_with_suggestion() -> None:
    with pytest.raises(ConfigError, match="did you mean 'realesr-animevideov3'"):
        load_gan_weights("realesr-animevideo3")


def test_params_ema_preferred_over_params_and_arch_recognised(tmp_path: Path) -> None:
    ema, raw = _tiny_srvgg(1), _tiny_srvgg(2)
    path = tmp_path / "mine.pth"
    torch.save({"params": raw.state_dict(), "params_ema": ema.state_dict()}, path)
    loaded = load_gan_weights("my-model", path)
    assert loaded.arch == "SRVGGNetCompact"
    assert loaded.arch_kwargs == {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 8, "num_conv": 2, "upscale": 2,
                                  "act_type": "prelu"}
    for k, v in ema.state_dict().items():
        assert torch.equal(loaded.state_dict[k], v)
    x = torch.rand(1, 3, 12, 10)
    r = GanRestorer(net=_load(loaded), native_scale=2, precision="fp32")
    with torch.no_grad():
        ref = ema(x).clamp(0, 1)
    assert torch.allclose(r.restore(x), ref, atol=1e-5)
    torch.save({"params": raw.state_dict()}, path)
    only = load_gan_weights("my-model", path)
    assert torch.equal(only.state_dict["body.0.weight"], raw.state_dict()["body.0.weight"])


def _load(loaded) -> torch.nn.Module:
    from vidrestore.restore.gan.archs import load_into

    net = build_arch(loaded.arch, loaded.arch_kwargs)
    load_into(net, loaded.state_dict, source="test")
    return net


def test_infer_arch_recognises_rrdbnet_x2() -> None:
    net = build_arch("RRDBNet", {"num_in_ch": 3, "num_out_ch": 3, "scale": 2, "num_feat": 8, "num_block": 2,
                                 "num_grow_ch": 4})
    arch, kwargs = infer_arch(net.state_dict())
    assert arch == "RRDBNet"
    assert kwargs == {"num_in_ch": 3, "num_out_ch": 3, "scale": 2, "num_feat": 8, "num_block": 2, "num_grow_ch": 4}


def test_official_name_falls_back_to_the_ncnn_conversion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["weights", "import-ncnn", "--only", "realesr-animevideov3-x4"]) == 0
    out = capsys.readouterr().out
    assert "realesr-animevideov3-x4-ncnn: converted" in out
    loaded = load_gan_weights("realesr-animevideov3")
    assert loaded.sources[0].name == "realesr-animevideov3-x4-ncnn.safetensors"
    assert "converted from ncnn" in loaded.note
    record = json.loads(loaded.sources[0].with_name(loaded.sources[0].name + ".json").read_text())
    assert record["source_bin_sha256"] == NCNN_MODELS[0].bin_sha256
    assert record["sha256"] == sha256_file(loaded.sources[0])
    assert record["ncnn_output_scale"] == 4 and record["official_equivalent"] == "realesr-animevideov3"
    # a second import keeps the file; list shows it found; verify checks it against its record
    assert main(["weights", "import-ncnn", "--only", "realesr-animevideov3-x4"]) == 0
    assert "kept" in capsys.readouterr().out
    assert main(["weights", "list"]) == 0
    listing = capsys.readouterr().out
    assert re.search(r"realesr-animevideov3-x4-ncnn\s+/\S+realesr-animevideov3-x4-ncnn\.safetensors", listing)
    assert re.search(r"RealESRGAN_x4plus\s+missing \(vidrestore weights fetch RealESRGAN_x4plus\)", listing)
    assert main(["weights", "verify"]) == 0
    assert "sha256 ok (against its provenance record)" in capsys.readouterr().out
    # tampering with the converted file is caught
    data = bytearray(loaded.sources[0].read_bytes())
    data[-10] ^= 0x01
    loaded.sources[0].write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatchError):
        load_gan_weights("realesr-animevideov3")


def test_weights_cli_errors_are_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["weights", "fetch", "realesr-general-x4v3"]) == 2  # VIDRESTORE_OFFLINE is set by conftest
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "downloads are disabled" in err[0]
    assert main(["weights", "fetch", "realesrgan-x4plus-ncnn"]) == 2
    assert "vidrestore weights import-ncnn" in capsys.readouterr().err
    assert main(["weights", "fetch", "nope"]) == 2
    assert "unknown weights 'nope'" in capsys.readouterr().err
    assert main(["weights", "import-ncnn", "--only", "nope"]) == 2
    assert "unknown ncnn model" in capsys.readouterr().err
    assert main(["weights", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"realesr-animevideov3", "RealESRGAN_x4plus", "realesrgan-x4plus-ncnn"} <= {r["name"] for r in rows}


def test_denoise_blends_general_with_its_wdn_variant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import vidrestore.restore.gan.restorer as gan

    spec = OFFICIAL_BY_NAME["realesr-general-x4v3"]
    files = {}
    for i, name in enumerate(("realesr-general-x4v3", "realesr-general-wdn-x4v3")):
        torch.manual_seed(i)
        net = build_arch(spec.arch, {**spec.arch_kwargs, "num_conv": 1})
        files[name] = tmp_path / f"{name}.pth"
        torch.save({"params": net.state_dict()}, files[name])
    monkeypatch.setattr(gan, "_resolve_registered", lambda name, explicit: (files[name], ""))
    blended = load_gan_weights("realesr-general-x4v3", denoise=0.3)
    a = torch.load(files["realesr-general-x4v3"], weights_only=True)["params"]
    b = torch.load(files["realesr-general-wdn-x4v3"], weights_only=True)["params"]
    for k in a:
        assert torch.allclose(blended.state_dict[k], 0.3 * a[k] + 0.7 * b[k], atol=1e-6)
    assert blended.sources == (files["realesr-general-x4v3"], files["realesr-general-wdn-x4v3"])
    with pytest.raises(ConfigError, match="applies to realesr-general-x4v3 only"):
        load_gan_weights("realesr-animevideov3", denoise=0.5)
