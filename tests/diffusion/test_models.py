"""Loading diffusers folders: every layout, clear refusals, exact save -> load round trip, offline only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.diffusion.clips import textured
from vidrestore.errors import VidrestoreError
from vidrestore.restore.diffusion.models import inspect_folder, load_model
from vidrestore.restore.diffusion.restorer import DiffusionRestorer, DiffusionSettings


@pytest.mark.parametrize(("layout", "pipeline", "native"), [("upscale", "StableDiffusionUpscalePipeline", 4),
                                                            ("latent", "StableDiffusionImg2ImgPipeline", 1),
                                                            ("pixel", "DDPMPipeline", 1)])
def test_each_layout_loads(tiny_dirs, tiny_model, layout: str, pipeline: str, native: int) -> None:
    info = inspect_folder(tiny_dirs[layout])
    assert (info.layout, info.pipeline_class) == (layout, pipeline)
    m = tiny_model(layout)
    assert m.layout == layout and m.native_scale == native
    x = torch.randn(2, m.latent_channels, 8, 12)
    low = torch.randn(2, 3, 8, 12) if layout == "upscale" else None
    with torch.inference_mode():
        out = m.predict(x, 500, low_res=low, noise_level=20)
    assert out.shape == x.shape and out.dtype == torch.float32 and torch.isfinite(out).all()
    if layout == "upscale":
        assert m.low_res_schedule is not None and m.scaling_factor == pytest.approx(0.08333)
        assert m.schedule.prediction_type == "v_prediction"
    if layout == "pixel":
        assert m.schedule.beta_schedule == "squaredcos_cap_v2" and m.schedule.clip_sample


def test_pixel_folder_is_a_genuine_diffusers_pipeline(tiny_dirs) -> None:
    from diffusers import DDPMPipeline

    pipe = DDPMPipeline.from_pretrained(str(tiny_dirs["pixel"]), local_files_only=True)
    assert type(pipe.unet).__name__ == "UNet2DModel"


@pytest.mark.parametrize("layout", ["upscale", "pixel"])
def test_saved_tiny_pipeline_reloads_and_gives_identical_output(tmp_path: Path, layout: str) -> None:
    from vidrestore.restore.diffusion.tiny import build_tiny_components, model_from_components, save_components

    comps = build_tiny_components(layout, seed=11)
    in_memory = model_from_components(layout, comps)
    save_components(layout, comps, tmp_path / "saved")
    reloaded = load_model(tmp_path / "saved", device="cpu", precision="fp32")
    clip = torch.from_numpy(np.stack([textured(12, 16, seed=s) for s in (0, 1)])).permute(0, 3, 1, 2)
    settings = DiffusionSettings(steps=4, strength=0.6, seed=2, consistency=False)
    a = DiffusionRestorer(model=in_memory, settings=settings).restore(clip)
    b = DiffusionRestorer(model=reloaded, settings=settings).restore(clip)
    assert torch.equal(a, b)


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize(("damage", "expected"), [
    (lambda p: shutil.rmtree(p / "vae"), r"missing vae/ folder"),
    (lambda p: (p / "unet" / "diffusion_pytorch_model.safetensors").unlink(), r"unet/diffusion_pytorch_model.safetensors"),
    (lambda p: (p / "low_res_scheduler" / "scheduler_config.json").unlink(), r"low_res_scheduler/scheduler_config.json"),
    (lambda p: (p / "model_index.json").unlink(), r"model_index.json is missing"),
    (lambda p: (p / "model_index.json").write_text("{not json"), r"cannot read model_index.json"),
])
def test_incomplete_folder_is_refused_naming_what_is_missing(tiny_dirs, tmp_path: Path, damage, expected: str) -> None:
    folder = _copy(tiny_dirs["upscale"], tmp_path / "broken")
    damage(folder)
    with pytest.raises(VidrestoreError, match=expected) as info:
        load_model(folder, device="cpu")
    assert str(folder) in str(info.value) and "\n" not in str(info.value)


def test_every_gap_is_listed_at_once(tiny_dirs, tmp_path: Path) -> None:
    folder = _copy(tiny_dirs["latent"], tmp_path / "two-gaps")
    shutil.rmtree(folder / "vae")
    (folder / "scheduler" / "scheduler_config.json").unlink()
    with pytest.raises(VidrestoreError, match=r"missing vae/ folder; scheduler/scheduler_config.json"):
        inspect_folder(folder)


def test_unknown_or_mismatched_models_are_refused(tiny_dirs, tmp_path: Path) -> None:
    with pytest.raises(VidrestoreError, match="not found"):
        load_model(tmp_path / "nowhere")
    folder = _copy(tiny_dirs["latent"], tmp_path / "odd")
    index = json.loads((folder / "model_index.json").read_text())
    index["_class_name"] = "SomethingElsePipeline"
    index["unet"] = ["diffusers", "UNet3DConditionModel"]
    (folder / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(VidrestoreError, match="unsupported pipeline SomethingElsePipeline"):
        load_model(folder)
    # a latent UNet whose input channels do not fit the VAE (an upscaler UNet in a latent folder)
    folder = _copy(tiny_dirs["latent"], tmp_path / "mixed")
    shutil.rmtree(folder / "unet")
    shutil.copytree(tiny_dirs["upscale"] / "unet", folder / "unet")
    with pytest.raises(VidrestoreError, match="in_channels is 7"):
        load_model(folder, device="cpu")


def test_cosine_schedule_override(tiny_dirs) -> None:
    m = load_model(tiny_dirs["latent"], device="cpu", beta_schedule="cosine")
    assert m.schedule.beta_schedule == "squaredcos_cap_v2"
    assert m.schedule.alphas_cumprod[-1] < 1e-4  # the cosine schedule ends (almost) at pure noise


def test_loading_never_touches_the_network(tiny_dirs, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("network access while loading a local folder")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    load_model(tiny_dirs["pixel"], device="cpu")


def test_prompt_embeddings_file_is_used_and_checked(tiny_dirs, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from vidrestore.restore.diffusion.models import PROMPT_EMBEDS_FILE

    folder = _copy(tiny_dirs["upscale"], tmp_path / "with-embeds")
    emb = torch.randn(1, 5, 16)
    save_file({"prompt_embeds": emb}, str(folder / PROMPT_EMBEDS_FILE))
    m = load_model(folder, device="cpu")
    assert torch.equal(m.prompt_embeds, emb)
    assert torch.equal(load_model(tiny_dirs["upscale"], device="cpu").prompt_embeds, torch.zeros(1, 77, 16))
    save_file({"prompt_embeds": torch.randn(1, 5, 7)}, str(folder / PROMPT_EMBEDS_FILE))
    with pytest.raises(VidrestoreError, match=r"\(1, L, 16\)"):
        load_model(folder, device="cpu")


def test_a_bare_name_is_found_where_weights_live(tiny_dirs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shelf = tmp_path / "weights"
    shutil.copytree(tiny_dirs["pixel"], shelf / "tiny-ddpm")
    with pytest.raises(VidrestoreError, match="never downloads"):
        load_model("tiny-ddpm", device="cpu")
    monkeypatch.setenv("VIDRESTORE_WEIGHTS", str(shelf))
    assert load_model("tiny-ddpm", device="cpu").path == shelf / "tiny-ddpm"


def test_make_tiny_diffusion_tool(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tools.make_tiny_diffusion import main

    assert main(["--out", str(tmp_path / "px"), "--layout", "pixel"]) == 0
    assert inspect_folder(tmp_path / "px").layout == "pixel"
    assert main(["--out", str(tmp_path / "px"), "--layout", "pixel"]) == 2  # never overwrites silently
    assert "exists" in capsys.readouterr().err
    assert main(["--out", str(tmp_path / "px"), "--layout", "pixel", "--overwrite", "--seed", "1"]) == 0
