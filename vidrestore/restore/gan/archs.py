"""Real-ESRGAN family architectures, built through realesrgan/basicsr's own classes.

Two architectures cover every official checkpoint:

* ``SRVGGNetCompact`` (realesrgan): a flat stack of 3x3 convs with PReLU at input resolution, a
  pixel shuffle, and the nearest-upsampled input added back (realesr-animevideov3,
  realesr-general-x4v3 and its wdn variant).
* ``RRDBNet`` (basicsr): residual-in-residual dense blocks (RealESRGAN_x4plus, x2plus, anime_6B).
  Its ``scale`` 2 (and 1) variant pixel-unshuffles the input first, so inputs must be divisible by
  2 (by 4 for scale 1): :func:`input_multiple` says by how much.

Each architecture is one :func:`register_arch` entry (its class loader, the constructor argument
holding its scale, the input multiples, a state-dict recogniser); everything here asks the entry,
so a new architecture is one decorated loader and one recogniser, with no name tests elsewhere.

basicsr 1.4.2 imports ``torchvision.transforms.functional_tensor``, which torchvision removed in
0.17. :func:`install_functional_tensor_alias` registers a small module under that name (exposing
``rgb_to_grayscale`` from ``torchvision.transforms.functional``) before basicsr is first imported.
torch, torchvision and basicsr are imported only when an architecture is built.

Start-up: importing the ``realesrgan`` package runs its ``__init__``, which imports all of basicsr
(datasets, degradations, models, scipy, torchvision): seconds of start-up, more than the model takes
on a short clip. ``SRVGGNetCompact`` needs none of that, so :func:`_light_srvgg` executes
realesrgan's own ``archs/srvgg_arch.py`` (the installed file, unchanged) as a private module, with
basicsr's registry decorator provided for the duration of that one import. If anything about the
installed package differs from what it expects, the normal import is used instead.
"""

from __future__ import annotations

import math
import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vidrestore.errors import VidrestoreError

if TYPE_CHECKING:
    import torch

_ALIAS = "torchvision.transforms.functional_tensor"


def install_functional_tensor_alias() -> None:
    """Make ``import torchvision.transforms.functional_tensor`` work on torchvision >= 0.17.

    Does nothing when the module exists (older torchvision) or the alias is already in place.
    """
    if _ALIAS in sys.modules:
        return
    import importlib.util

    try:
        found = importlib.util.find_spec(_ALIAS) is not None
    except ModuleNotFoundError:
        found = False
    if found:
        return
    from torchvision.transforms import functional as tvf

    alias = types.ModuleType(_ALIAS)
    alias.__doc__ = "vidrestore alias: the parts of the removed torchvision module that basicsr uses."
    alias.rgb_to_grayscale = tvf.rgb_to_grayscale  # type: ignore[attr-defined]
    sys.modules[_ALIAS] = alias


_LIGHT_SRVGG = "vidrestore.restore._realesrgan_srvgg_arch"


class _RegistryShim(types.ModuleType):
    """Stands in for ``basicsr.utils.registry`` while realesrgan's arch file is executed."""

    class _Registry:
        @staticmethod
        def register(obj: Any = None) -> Any:
            return obj if obj is not None else (lambda cls: cls)

    ARCH_REGISTRY = _Registry()


def _light_srvgg() -> type | None:
    """realesrgan's ``SRVGGNetCompact`` class without importing the realesrgan/basicsr packages.

    Returns None (use the normal import) when realesrgan is not installed, when basicsr is already
    imported (then the normal import costs nothing), or when the file does not define the class.
    """
    import importlib.util

    if _LIGHT_SRVGG in sys.modules:
        return getattr(sys.modules[_LIGHT_SRVGG], "SRVGGNetCompact", None)
    if "realesrgan.archs.srvgg_arch" in sys.modules or "basicsr.utils.registry" in sys.modules:
        return None
    try:
        pkg = importlib.util.find_spec("realesrgan")
    except (ImportError, ValueError):
        return None
    if pkg is None or not pkg.submodule_search_locations:
        return None
    from pathlib import Path

    path = Path(next(iter(pkg.submodule_search_locations))) / "archs" / "srvgg_arch.py"
    spec = importlib.util.spec_from_file_location(_LIGHT_SRVGG, path)
    if spec is None or spec.loader is None or not path.is_file():
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules["basicsr.utils.registry"] = _RegistryShim("basicsr.utils.registry")
    try:
        spec.loader.exec_module(module)
    except Exception:  # noqa: BLE001 - an unexpected file: fall back to the package import
        return None
    finally:
        del sys.modules["basicsr.utils.registry"]
    cls = getattr(module, "SRVGGNetCompact", None)
    if cls is not None:
        sys.modules[_LIGHT_SRVGG] = module
    return cls


@dataclass(frozen=True)
class Arch:
    """One network architecture: how to get its class, and what callers need to know about it.

    ``load`` returns the ``nn.Module`` class (imports happen only then). ``scale_key`` names the
    constructor argument holding the network's own upscaling factor. ``input_multiples`` maps that
    factor to the multiple input sizes must have (pixel-unshuffling variants). ``recognise`` reads
    a state dict: constructor arguments when the keys are this architecture's, None when they are
    not (and raises when they are, but inconsistent).
    """

    name: str
    load: Callable[[], type]
    scale_key: str
    recognise: Callable[[Mapping[str, torch.Tensor]], dict[str, Any] | None]
    input_multiples: Mapping[int, int] = field(default_factory=dict)

    def native_scale(self, kwargs: Mapping[str, Any]) -> int:
        return int(kwargs.get(self.scale_key, 4))


_ARCHS: dict[str, Arch] = {}


def register_arch(name: str, *, scale_key: str, recognise: Callable[[Mapping[str, Any]], dict[str, Any] | None],
                  input_multiples: Mapping[int, int] | None = None) -> Callable[[Callable[[], type]], Callable[[], type]]:
    """Decorator for the function returning an architecture's class: registers it under ``name`` (once)."""

    def add(load: Callable[[], type]) -> Callable[[], type]:
        if name in _ARCHS:
            raise ValueError(f"architecture {name!r} is already registered")
        _ARCHS[name] = Arch(name, load, scale_key, recognise, dict(input_multiples or {}))
        return load

    return add


def get_arch(arch: str) -> Arch:
    found = _ARCHS.get(arch)
    if found is None:
        raise VidrestoreError(f"unknown architecture {arch!r}; known: {', '.join(_ARCHS)}")
    return found


def _needs_realesrgan(arch: str, err: ImportError) -> VidrestoreError:
    return VidrestoreError(
        f"architecture {arch} needs the realesrgan and basicsr packages ({err}); "
        "install them with: pip install --no-build-isolation basicsr==1.4.2 && pip install realesrgan==0.3.0"
    )


def _srvgg_kwargs(state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any] | None:
    keys = set(state_dict)
    conv_idx = sorted(int(k.split(".")[1]) for k in keys if k.startswith("body.") and k.endswith(".weight")
                      and state_dict[k].ndim == 4)
    if not conv_idx or "body.0.weight" not in keys:
        return None
    first = state_dict["body.0.weight"]
    last = state_dict[f"body.{conv_idx[-1]}.weight"]
    num_feat = int(first.shape[0])
    num_conv = len(conv_idx) - 2
    has_prelu = "body.1.weight" in keys and state_dict["body.1.weight"].ndim == 1
    out = int(last.shape[0])
    upscale = int(round(math.sqrt(out / 3)))
    if upscale * upscale * 3 != out or num_conv < 0:
        raise VidrestoreError(f"SRVGGNetCompact checkpoint: last conv gives {out} channels; expected 3 * scale^2")
    return {"num_in_ch": int(first.shape[1]), "num_out_ch": 3, "num_feat": num_feat, "num_conv": num_conv,
            "upscale": upscale, "act_type": "prelu" if has_prelu else "leakyrelu"}


@register_arch("SRVGGNetCompact", scale_key="upscale", recognise=_srvgg_kwargs)
def _srvgg_class() -> type:
    light = _light_srvgg()
    if light is not None:
        return light
    install_functional_tensor_alias()
    try:
        from realesrgan.archs.srvgg_arch import SRVGGNetCompact
    except ImportError as err:
        raise _needs_realesrgan("SRVGGNetCompact", err) from err
    return SRVGGNetCompact


def _rrdb_kwargs(state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any] | None:
    keys = set(state_dict)
    if "conv_first.weight" not in keys or not any(k.startswith("body.0.rdb1.") for k in keys):
        return None
    first = state_dict["conv_first.weight"]
    num_feat = int(first.shape[0])
    in_ch = int(first.shape[1])
    scale = {3: 4, 12: 2, 48: 1}.get(in_ch)
    if scale is None:
        raise VidrestoreError(f"RRDBNet checkpoint: conv_first takes {in_ch} channels; expected 3, 12 or 48")
    blocks = {int(k.split(".")[1]) for k in keys if k.startswith("body.") and ".rdb1." in k}
    grow = int(state_dict["body.0.rdb1.conv1.weight"].shape[0])
    out_ch = int(state_dict["conv_last.weight"].shape[0])
    return {"num_in_ch": 3, "num_out_ch": out_ch, "scale": scale, "num_feat": num_feat, "num_block": len(blocks),
            "num_grow_ch": grow}


@register_arch("RRDBNet", scale_key="scale", recognise=_rrdb_kwargs, input_multiples={1: 4, 2: 2})
def _rrdb_class() -> type:
    install_functional_tensor_alias()
    try:
        from basicsr.archs.rrdbnet_arch import RRDBNet
    except ImportError as err:
        raise _needs_realesrgan("RRDBNet", err) from err
    return RRDBNet


ARCHS = tuple(_ARCHS)


def build_arch(arch: str, kwargs: Mapping[str, Any]) -> torch.nn.Module:
    """Instantiate ``arch`` with ``kwargs`` (the checkpoint's constructor arguments), in eval mode."""
    cls = get_arch(arch).load()
    try:
        net = cls(**dict(kwargs))
    except TypeError as err:
        raise VidrestoreError(f"{arch}: bad architecture arguments {dict(kwargs)} ({err})") from err
    return net.eval()


def native_scale(arch: str, kwargs: Mapping[str, Any]) -> int:
    """The upscaling factor the network itself applies."""
    return get_arch(arch).native_scale(kwargs)


def input_multiple(arch: str, kwargs: Mapping[str, Any]) -> int:
    """Input height and width must be multiples of this (RRDBNet x2/x1 pixel-unshuffle their input)."""
    spec = get_arch(arch)
    return spec.input_multiples.get(spec.native_scale(kwargs), 1)


def infer_arch(state_dict: Mapping[str, torch.Tensor]) -> tuple[str, dict[str, Any]]:
    """Recognise a Real-ESRGAN state dict: ``(arch, constructor kwargs)``, asking every registered architecture.

    Used for a user's ``restorer.weights`` file whose name is not in the registry. Raises
    :class:`VidrestoreError` when the keys fit none of them.
    """
    for arch in _ARCHS.values():
        kwargs = arch.recognise(state_dict)
        if kwargs is not None:
            return arch.name, kwargs
    sample = ", ".join(sorted(state_dict)[:4])
    raise VidrestoreError(f"not a Real-ESRGAN state dict (SRVGGNetCompact or RRDBNet); keys start with {sample}")


def load_into(net: torch.nn.Module, state_dict: Mapping[str, torch.Tensor], *, source: str) -> None:
    """``load_state_dict(strict=True)`` with a one-line error naming ``source`` on mismatch."""
    try:
        net.load_state_dict(dict(state_dict), strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        detail = " ".join(first[:3])[:300]
        raise VidrestoreError(f"{source}: weights do not fit the architecture ({detail})") from err
