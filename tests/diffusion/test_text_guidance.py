"""The full SD x4 upscaler layout (text encoder, tokenizer, low-res scheduler, noise level) through
``--preset diffusion``, with a prompt, a negative prompt and classifier-free guidance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.diffusion.test_cli import PTS_MS, small_vfr_clip  # noqa: F401 - the clip fixture
from tests.io.helpers import packet_hashes, read_frames, run_cli, video_times

pytest.importorskip("transformers", reason="the text encoder of the SD folder layout needs transformers")

PROMPT = "a clean sharp film frame"
NEGATIVE = "blur, noise, dust, scratch"


@pytest.fixture(scope="module")
def sd_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny StableDiffusionUpscalePipeline folder with every component the real one has."""
    from tests.diffusion.text import add_text_encoder
    from vidrestore.restore.diffusion.tiny import make_tiny_model

    return add_text_encoder(make_tiny_model("upscale", tmp_path_factory.mktemp("sd-x4") / "tiny-sd-x4"))


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def test_folder_has_the_real_layout(sd_folder: Path) -> None:
    index = json.loads((sd_folder / "model_index.json").read_text())
    assert index["_class_name"] == "StableDiffusionUpscalePipeline"
    assert index["text_encoder"] == ["transformers", "CLIPTextModel"]
    assert index["tokenizer"] == ["transformers", "CLIPTokenizer"]
    assert index["low_res_scheduler"][1] == "DDPMScheduler" and index["max_noise_level"] == 350
    for sub in ("unet", "vae", "scheduler", "low_res_scheduler", "text_encoder", "tokenizer"):
        assert (sd_folder / sub).is_dir(), sub


def test_prompts_are_encoded_by_the_folders_text_encoder(sd_folder: Path) -> None:
    from vidrestore.restore.diffusion.models import load_model

    a = load_model(sd_folder, device="cpu", precision="fp32", prompt=PROMPT)
    b = load_model(sd_folder, device="cpu", precision="fp32", prompt=NEGATIVE)
    assert a.prompt_embeds.shape == (1, 77, 16)
    assert float((a.prompt_embeds - b.prompt_embeds).abs().max()) > 1e-3
    assert a.negative_embeds is None and a.guidance_scale == 1.0  # no guidance: one UNet call per step


def test_guidance_is_the_negative_branch_plus_scale_times_the_difference(sd_folder: Path) -> None:
    from vidrestore.restore.diffusion.models import load_model

    m = load_model(sd_folder, device="cpu", precision="fp32", prompt=PROMPT, negative_prompt=NEGATIVE,
                   guidance_scale=5.0)
    torch.manual_seed(0)
    x, low = torch.randn(2, 4, 8, 10), torch.rand(2, 3, 8, 10) * 2 - 1
    got = m.predict(x, 500, low_res=low, noise_level=20)
    labels = torch.full((2,), 20, dtype=torch.long)
    t = torch.full((2,), 500, dtype=torch.long)
    with torch.no_grad():
        cond = m.unet(torch.cat([x, low], 1), t, encoder_hidden_states=m.prompt_embeds.expand(2, -1, -1),
                      class_labels=labels).sample
        uncond = m.unet(torch.cat([x, low], 1), t, encoder_hidden_states=m.negative_embeds.expand(2, -1, -1),
                        class_labels=labels).sample
    torch.testing.assert_close(got, uncond + 5.0 * (cond - uncond), rtol=1e-4, atol=1e-5)
    assert float((got - cond).abs().max()) > 1e-3


def _restore(clip: Path, out: Path, folder: Path, *sets: str):  # type: ignore[no-untyped-def]
    args = ["restore", str(clip), "-o", str(out), "--preset", "diffusion", "-q",
            "--set", f"restorer.model_path={folder}", "--set", "restorer.steps=4", "--set", "temporal.window=3",
            "--set", "flow.method=dis", "--set", "diffusion.noise_level=30"]
    for s in sets:
        args += ["--set", s]
    return run_cli(*args)


def test_cli_end_to_end_with_prompt_negative_prompt_and_guidance(sd_folder: Path, small_vfr_clip: Path,  # noqa: F811
                                                                 tmp_path: Path) -> None:
    guided, plain = tmp_path / "guided.mkv", tmp_path / "plain.mkv"
    proc = _restore(small_vfr_clip, guided, sd_folder, f"diffusion.prompt={PROMPT}",
                    f"diffusion.negative_prompt={NEGATIVE}", "diffusion.guidance_scale=4")
    assert proc.returncode == 0, proc.stderr
    proc = _restore(small_vfr_clip, plain, sd_folder, f"diffusion.prompt={PROMPT}")
    assert proc.returncode == 0, proc.stderr
    assert video_times(guided) == pytest.approx(video_times(small_vfr_clip), abs=1e-6)
    assert len(video_times(guided)) == len(PTS_MS)
    assert packet_hashes(guided, "audio") == packet_hashes(small_vfr_clip, "audio")
    a, b = read_frames(guided), read_frames(plain)
    assert a[0].shape == (192, 256, 3)
    diff = max(float(abs(x.astype(int) - y.astype(int)).mean()) for x, y in zip(a, b))
    assert diff > 0.5, diff  # guidance changed the frames


def test_guidance_without_a_text_encoder_is_one_clear_line(tiny_dirs, small_vfr_clip: Path,  # noqa: F811
                                                           tmp_path: Path) -> None:
    out = tmp_path / "x.mkv"
    proc = _restore(small_vfr_clip, out, tiny_dirs["upscale"], "diffusion.guidance_scale=4")
    assert proc.returncode == 2
    lines = [s for s in proc.stderr.strip().splitlines() if s.strip()]
    assert len(lines) == 1 and "diffusion.guidance_scale" in lines[0] and "text encoder" in lines[0], proc.stderr
    assert not out.exists()


def test_guidance_scale_below_one_is_refused() -> None:
    from vidrestore.config import load_config
    from vidrestore.errors import ConfigError

    with pytest.raises(ConfigError, match="diffusion.guidance_scale"):
        load_config(preset="diffusion", overrides=["diffusion.guidance_scale=0.5"])
