"""Load a diffusion model from a local diffusers folder: never a download, clear refusals.

Three folder layouts are understood (the ``_class_name`` of ``model_index.json`` decides):

``upscale``
    ``StableDiffusionUpscalePipeline``: ``unet/`` (UNet2DConditionModel whose input is the latent
    concatenated with the noise-augmented low-resolution image, ``class_labels`` = noise level),
    ``vae/`` (AutoencoderKL), ``scheduler/``, ``low_res_scheduler/``; text encoder optional.
    The latent has the input's size; the output is 4x (the VAE's scale factor).
``latent``
    Plain latent models (``StableDiffusionPipeline``, ``StableDiffusionImg2ImgPipeline``, ...):
    ``unet/`` (UNet2DConditionModel on the latent alone), ``vae/``, ``scheduler/``; text encoder
    optional. Restoration is img2img at the (optionally pre-resized) input size.
``pixel``
    ``DDPMPipeline`` / ``DDIMPipeline``: ``unet/`` (UNet2DModel on RGB in [-1, 1]) and ``scheduler/``.

Every component folder needs its config (``config.json`` / ``scheduler_config.json``) and, for
networks, a weights file (``diffusion_pytorch_model.safetensors`` or ``.bin``). All missing pieces
are listed in one :class:`~vidrestore.errors.VidrestoreError`. Networks are loaded with
``local_files_only=True``; ``.bin`` files go through diffusers' ``weights_only`` loader.

Text conditioning: with ``text_encoder/`` + ``tokenizer/`` and the ``transformers`` package the
prompt (default: empty) is encoded once. Without them a file ``prompt_embeds.safetensors`` in the
folder (key ``prompt_embeds``, shape ``(1, L, D)``) is used, else zeros of ``(1, 77, D)``.
Classifier-free guidance (``guidance_scale`` > 1, as Stable Diffusion's pipelines use it) also
encodes the negative prompt (default empty: the unconditional prompt) and runs the UNet on both
in one batch, ``uncond + scale * (cond - uncond)``; it needs the text encoder.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidrestore.device import resolve_device
from vidrestore.errors import ConfigError, VidrestoreError
from vidrestore.restore.diffusion.schedule import NoiseSchedule

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

LAYOUTS = ("upscale", "latent", "pixel")

_UPSCALE_CLASSES = {"StableDiffusionUpscalePipeline"}
_PIXEL_CLASSES = {"DDPMPipeline", "DDIMPipeline"}
_WEIGHT_FILES = (
    "diffusion_pytorch_model.safetensors",
    "diffusion_pytorch_model.bin",
    "diffusion_pytorch_model.safetensors.index.json",
    "diffusion_pytorch_model.bin.index.json",
)
PROMPT_EMBEDS_FILE = "prompt_embeds.safetensors"


class ModelFolderError(VidrestoreError):
    """A diffusers folder is missing, incomplete or not of a layout we understand."""


# --------------------------------------------------------------------------- folder inspection


@dataclass(frozen=True)
class FolderLayout:
    """What a folder holds: its layout and the component folders found."""

    path: Path
    pipeline_class: str
    layout: str
    components: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        lib, cls = self.components.get(name, (None, None))
        return lib is not None and cls is not None and (self.path / name).is_dir()


def _layout_of(pipeline_class: str, components: dict[str, tuple[str | None, str | None]]) -> str | None:
    if pipeline_class in _UPSCALE_CLASSES:
        return "upscale"
    if pipeline_class in _PIXEL_CLASSES:
        return "pixel"
    unet_cls = (components.get("unet") or (None, None))[1]
    if unet_cls == "UNet2DModel" and "vae" not in components:
        return "pixel"
    if unet_cls == "UNet2DConditionModel" and (components.get("vae") or (None, None))[1] == "AutoencoderKL":
        return "latent"
    return None


def _required(layout: str) -> dict[str, str]:
    """Component -> what it must be, per layout."""
    if layout == "upscale":
        return {"unet": "UNet2DConditionModel", "vae": "AutoencoderKL", "scheduler": "scheduler",
                "low_res_scheduler": "scheduler"}
    if layout == "latent":
        return {"unet": "UNet2DConditionModel", "vae": "AutoencoderKL", "scheduler": "scheduler"}
    return {"unet": "UNet2DModel", "scheduler": "scheduler"}


def resolve_model_folder(path: str | os.PathLike[str]) -> Path:
    """The folder ``path`` names: a path as given, or a bare folder name looked up where weights live.

    A bare name (no path separator, not an existing path) is searched, in order, in
    ``$VIDRESTORE_WEIGHTS``, the torch hub checkpoints folder and vidrestore's cache
    (:func:`vidrestore.weights.search_dirs`), so ``restorer.model_path: stable-diffusion-x4-upscaler``
    finds a copy placed in any of them. Nothing is ever downloaded.
    """
    from vidrestore.weights import search_dirs

    given = Path(path).expanduser()
    if given.exists() or os.sep in str(path) or (os.altsep and os.altsep in str(path)):
        return given
    for d in search_dirs():
        cand = d / str(path)
        if cand.is_dir():
            log.debug("diffusion model %s found at %s", path, cand)
            return cand
    where = ", ".join(str(d) for d in search_dirs())
    raise ModelFolderError(f"{path}: diffusion model folder not found (restorer.model_path), neither as a path nor "
                           f"in {where}; copy the diffusers folder there (vidrestore never downloads it)")


def inspect_folder(path: str | os.PathLike[str]) -> FolderLayout:
    """Check a diffusers folder and return its layout; raise :class:`ModelFolderError` listing every gap."""
    root = resolve_model_folder(path)
    if not root.exists():
        raise ModelFolderError(f"{root}: diffusion model folder not found (restorer.model_path)")
    if not root.is_dir():
        raise ModelFolderError(f"{root}: restorer.model_path must be a diffusers folder, not a file")
    index = root / "model_index.json"
    if not index.is_file():
        raise ModelFolderError(f"{root}: not a diffusers pipeline folder: model_index.json is missing")
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelFolderError(f"{index}: cannot read model_index.json ({err})") from err
    if not isinstance(data, dict):
        raise ModelFolderError(f"{index}: expected a JSON object")
    pipeline_class = str(data.get("_class_name", ""))
    components: dict[str, tuple[str | None, str | None]] = {}
    for key, value in data.items():
        if key.startswith("_") or not isinstance(value, list) or len(value) != 2:
            continue
        components[key] = (value[0], value[1])
    layout = _layout_of(pipeline_class, components)
    if layout is None:
        raise ModelFolderError(
            f"{root}: unsupported pipeline {pipeline_class or '(no _class_name)'}: expected "
            "StableDiffusionUpscalePipeline, a latent UNet2DConditionModel + AutoencoderKL pipeline, "
            "or a UNet2DModel DDPMPipeline")
    missing: list[str] = []
    for name, kind in _required(layout).items():
        sub = root / name
        lib, cls = components.get(name, (None, None))
        if lib is None or cls is None:
            missing.append(f"{name} ({kind}) is not listed in model_index.json")
            continue
        if kind != "scheduler" and cls != kind:
            missing.append(f"{name} is {cls}, expected {kind}")
            continue
        if not sub.is_dir():
            missing.append(f"{name}/ folder")
            continue
        if kind == "scheduler":
            if not (sub / "scheduler_config.json").is_file():
                missing.append(f"{name}/scheduler_config.json")
            continue
        if not (sub / "config.json").is_file():
            missing.append(f"{name}/config.json")
        if not any((sub / w).is_file() for w in _WEIGHT_FILES):
            missing.append(f"{name}/diffusion_pytorch_model.safetensors (weights)")
    if missing:
        raise ModelFolderError(f"{root}: incomplete {pipeline_class} folder: missing " + "; ".join(missing))
    return FolderLayout(path=root, pipeline_class=pipeline_class, layout=layout, components=components)


def read_scheduler_config(folder: Path, name: str = "scheduler") -> dict[str, Any]:
    path = folder / name / "scheduler_config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelFolderError(f"{path}: cannot read scheduler config ({err})") from err
    if not isinstance(data, dict):
        raise ModelFolderError(f"{path}: expected a JSON object")
    return data


# --------------------------------------------------------------------------- the loaded model


@dataclass
class DiffusionModel:
    """A loaded model and everything the sampler loop needs to call it.

    ``vae_factor`` is pixels per latent pixel (1 for pixel models); ``native_scale`` is output
    pixels per input pixel that the model itself gives (4 for the x4 upscaler, else 1).
    """

    layout: str
    path: Path
    unet: Any
    schedule: NoiseSchedule
    device: torch.device
    dtype: torch.dtype
    vae: Any = None
    low_res_schedule: NoiseSchedule | None = None
    prompt_embeds: torch.Tensor | None = None
    max_noise_level: int = 350
    latent_channels: int = 3
    vae_factor: int = 1
    scaling_factor: float = 1.0
    vae_dtype: torch.dtype | None = None
    vae_batch: int = 1  # frames per VAE call
    negative_embeds: torch.Tensor | None = None  # the negative prompt, for classifier-free guidance
    guidance_scale: float = 1.0  # classifier-free guidance; 1 = off

    @property
    def native_scale(self) -> int:
        return self.vae_factor if self.layout == "upscale" else 1

    @property
    def name(self) -> str:
        return f"{self.layout}:{self.path.name}"

    # -------------------------------------------------------------- network calls
    def predict(self, sample: torch.Tensor, timestep: int, *, low_res: torch.Tensor | None = None,
                noise_level: int | None = None) -> torch.Tensor:
        """The UNet's raw output for a batch ``sample`` (float32 in, float32 out)."""
        import torch

        x = sample.to(self.dtype)
        n = x.shape[0]
        t = torch.full((n,), int(timestep), device=self.device, dtype=torch.long)
        if self.layout == "pixel":
            # UNet2DModel cannot upsample to odd sizes: pad to its multiple, crop the output
            mult = 2 ** (len(self.unet.config.block_out_channels) - 1)
            h, w = x.shape[-2:]
            ph, pw = (-h) % mult, (-w) % mult
            if ph or pw:
                mode = "reflect" if ph < h and pw < w else "replicate"
                x = torch.nn.functional.pad(x, (0, pw, 0, ph), mode=mode)
            out = self.unet(x, t).sample[..., :h, :w]
        else:
            emb = self.prompt_embeds.expand(n, -1, -1)
            if self.layout == "upscale":
                if low_res is None or noise_level is None:
                    raise ValueError("the upscale layout needs the low-resolution image and its noise level")
                x = torch.cat([x, low_res.to(self.dtype)], dim=1)
            guided = self.guidance_scale != 1.0 and self.negative_embeds is not None
            if guided:  # one batch: the negative (unconditional) half first, then the prompt
                x, t = torch.cat([x, x]), torch.cat([t, t])
                emb = torch.cat([self.negative_embeds.expand(n, -1, -1), emb])
            kwargs: dict[str, Any] = {"encoder_hidden_states": emb}
            if self.layout == "upscale":
                kwargs["class_labels"] = torch.full((x.shape[0],), int(noise_level), device=self.device,
                                                    dtype=torch.long)
            out = self.unet(x, t, **kwargs).sample
            if guided:
                uncond, cond = out.float().chunk(2)
                return uncond + self.guidance_scale * (cond - uncond)
        return out.float()

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``(N, 3, H, W)`` in [0, 1] -> model-space samples (scaled latents, or [-1, 1] pixels).

        The VAE runs ``vae_batch`` frames at a time: at the output size its activations dominate
        the memory (the x4 upscaler's decoder at 512x512 in float32 is several GiB per frame).
        """
        import torch

        x = images * 2.0 - 1.0
        if self.vae is None:
            return x
        parts = [self.vae.encode(c.to(self.vae_dtype)).latent_dist.mode().float()
                 for c in x.split(self.vae_batch)]
        return torch.cat(parts) * self.scaling_factor

    def decode(self, samples: torch.Tensor) -> torch.Tensor:
        """Model-space samples -> images ``(N, 3, H, W)`` float32, nominally [0, 1] (not clamped)."""
        import torch

        if self.vae is None:
            return samples.float() * 0.5 + 0.5
        parts = [self.vae.decode((c / self.scaling_factor).to(self.vae_dtype)).sample.float()
                 for c in samples.split(self.vae_batch)]
        return torch.cat(parts) * 0.5 + 0.5

    def latent_size(self, height: int, width: int) -> tuple[int, int]:
        """Latent ``(h, w)`` for a VAE input of ``(height, width)`` pixels."""
        f = self.vae_factor
        return height // f, width // f


# --------------------------------------------------------------------------- loading


def resolve_dtype(precision: str, device: torch.device) -> torch.dtype:
    import torch

    if precision == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]


def _load_network(cls: Any, folder: Path, sub: str, dtype: torch.dtype) -> Any:
    try:
        net = cls.from_pretrained(str(folder), subfolder=sub, local_files_only=True, torch_dtype=dtype,
                                  low_cpu_mem_usage=_has_accelerate())
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as err:
        raise ModelFolderError(f"{folder / sub}: cannot load {cls.__name__} ({type(err).__name__}: "
                               f"{str(err).splitlines()[0] if str(err) else ''})") from err
    net.eval().requires_grad_(False)
    return net


def _has_accelerate() -> bool:
    import importlib.util

    return importlib.util.find_spec("accelerate") is not None


def _vae_factor(vae: Any) -> int:
    return 2 ** (len(vae.config.block_out_channels) - 1)


def _text_encoder_ready(layout: FolderLayout) -> bool:
    import importlib.util

    return layout.has("text_encoder") and layout.has("tokenizer") and importlib.util.find_spec("transformers") is not None


def _prompt_embeds(layout: FolderLayout, unet: Any, prompt: str, device: torch.device,
                   dtype: torch.dtype) -> torch.Tensor:
    import torch

    dim = int(unet.config.cross_attention_dim)
    if layout.has("text_encoder") and layout.has("tokenizer"):
        try:
            import transformers
        except ImportError:
            transformers = None
        if transformers is not None:
            transformers.utils.logging.disable_progress_bar()  # no per-load bars on a quiet command line
            tok = transformers.AutoTokenizer.from_pretrained(str(layout.path / "tokenizer"), local_files_only=True)
            enc_cls = getattr(transformers, layout.components["text_encoder"][1] or "", None)
            if enc_cls is None:
                raise ModelFolderError(f"{layout.path}/text_encoder: unknown class "
                                       f"{layout.components['text_encoder'][1]!r}")
            enc = enc_cls.from_pretrained(str(layout.path / "text_encoder"), local_files_only=True).eval()
            ids = tok(prompt, padding="max_length", max_length=tok.model_max_length, truncation=True,
                      return_tensors="pt").input_ids
            with torch.no_grad():
                emb = enc(ids)[0]
            return emb.to(device=device, dtype=dtype)
        log.warning("%s has a text encoder but the transformers package is not installed: "
                    "using %s instead of the encoded prompt", layout.path,
                    PROMPT_EMBEDS_FILE if (layout.path / PROMPT_EMBEDS_FILE).is_file() else "zero embeddings")
    side = layout.path / PROMPT_EMBEDS_FILE
    if side.is_file():
        from safetensors.torch import load_file

        emb = load_file(str(side), device="cpu").get("prompt_embeds")
        if emb is None or emb.ndim != 3 or emb.shape[0] != 1 or emb.shape[2] != dim:
            raise ModelFolderError(f"{side}: expected key 'prompt_embeds' of shape (1, L, {dim})")
        return emb.to(device=device, dtype=dtype)
    return torch.zeros(1, 77, dim, device=device, dtype=dtype)


def load_model(path: str | os.PathLike[str], *, device: str = "auto", precision: str = "auto",
               prompt: str = "", beta_schedule: str | None = None, negative_prompt: str = "",
               guidance_scale: float = 1.0) -> DiffusionModel:
    """Load the folder at ``path`` (see the module docstring) on ``device`` in ``precision``.

    ``beta_schedule`` overrides the scheduler config's training schedule (``cosine`` etc.).
    ``guidance_scale`` > 1 turns on classifier-free guidance away from ``negative_prompt``.
    """
    layout = inspect_folder(path)  # refuse an incomplete folder before importing anything heavy
    if guidance_scale != 1.0 and (layout.layout == "pixel" or not _text_encoder_ready(layout)):
        raise ConfigError(f"diffusion.guidance_scale={guidance_scale:g}: classifier-free guidance needs a text "
                          f"encoder, and {layout.path} has none usable (text_encoder/ + tokenizer/ and the "
                          "transformers package); leave it at 1")
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel, UNet2DModel

    dev = resolve_device(device, key="restorer.device")
    dtype = resolve_dtype(precision, dev)
    folder = layout.path
    schedule = NoiseSchedule.from_config(read_scheduler_config(folder), beta_schedule=beta_schedule)
    if layout.layout == "pixel":
        unet = _load_network(UNet2DModel, folder, "unet", dtype).to(dev)
        channels = int(unet.config.in_channels)
        if channels != 3 or int(unet.config.out_channels) != 3:
            raise ModelFolderError(f"{folder}/unet: a pixel-space model must map 3 channels to 3, "
                                   f"got {channels} -> {unet.config.out_channels}")
        model = DiffusionModel(layout="pixel", path=folder, unet=unet, schedule=schedule, device=dev, dtype=dtype,
                               latent_channels=3)
    else:
        unet = _load_network(UNet2DConditionModel, folder, "unet", dtype).to(dev)
        # The SD VAE overflows in float16 (its config says force_upcast): decode it in float32 then.
        vae_dtype = torch.float32 if dtype == torch.float16 else dtype
        vae = _load_network(AutoencoderKL, folder, "vae", vae_dtype).to(dev)
        latent_channels = int(vae.config.latent_channels)
        expected = latent_channels + (3 if layout.layout == "upscale" else 0)
        if int(unet.config.in_channels) != expected:
            raise ModelFolderError(
                f"{folder}/unet: in_channels is {unet.config.in_channels}, but the {layout.layout} layout with a "
                f"{latent_channels}-channel VAE needs {expected}")
        scaling = float(getattr(vae.config, "scaling_factor", 0.18215) or 0.18215)
        low_res_schedule = None
        max_noise = 350
        if layout.layout == "upscale":
            low_res_schedule = NoiseSchedule.from_config(read_scheduler_config(folder, "low_res_scheduler"))
            index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
            max_noise = int(index.get("max_noise_level", 350))
        model = DiffusionModel(
            layout=layout.layout, path=folder, unet=unet, schedule=schedule, device=dev, dtype=dtype, vae=vae,
            low_res_schedule=low_res_schedule, max_noise_level=max_noise, latent_channels=latent_channels,
            vae_factor=_vae_factor(vae), scaling_factor=scaling, vae_dtype=vae_dtype,
            prompt_embeds=_prompt_embeds(layout, unet, prompt, dev, dtype),
            negative_embeds=(_prompt_embeds(layout, unet, negative_prompt, dev, dtype) if guidance_scale != 1.0
                             else None),
            guidance_scale=float(guidance_scale),
        )
    n_params = sum(p.numel() for p in unet.parameters())
    log.info("diffusion model %s (%s layout): UNet %.1fM parameters on %s in %s", folder, layout.layout,
             n_params / 1e6, dev, str(dtype).replace("torch.", ""))
    if not math.isfinite(float(schedule.alphas_cumprod[-1])):
        raise ModelFolderError(f"{folder}/scheduler: the noise schedule is not finite")
    return model
