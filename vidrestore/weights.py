"""Model weights: declared, located offline, verified, never fetched silently.

Each checkpoint is a :class:`WeightSpec` registered once (``register_weights``). ``resolve_weights``
looks for it, in order: an explicit path, ``$VIDRESTORE_WEIGHTS`` (a folder), the torch hub cache
where torchvision keeps its checkpoints, and vidrestore's cache folder
(``$VIDRESTORE_CACHE`` or ``~/.cache/vidrestore/weights``). The full sha256 is checked when the spec
has one. Downloads happen only in ``vidrestore weights fetch NAME``
(:mod:`vidrestore.io.checkpoints`, which writes checkpoints and their provenance records through the
file-safety module); ``VIDRESTORE_OFFLINE=1`` forbids them altogether.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidrestore.errors import ChecksumMismatchError, VidrestoreError, WeightsNotFoundError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeightSpec:
    """One checkpoint: where it comes from, what it is, how to check it."""

    name: str  # registry key, e.g. "raft_small"
    filename: str  # file name looked up in every location
    sha256: str | None  # full hex digest; None only for files we create ourselves
    url: str | None = None
    arch: str = ""  # architecture key the loader understands
    arch_kwargs: Mapping[str, Any] = field(default_factory=dict)
    license: str = ""
    description: str = ""
    aliases: tuple[str, ...] = ()  # other file names the same checkpoint is found under
    fetch_hint: str | None = None  # the command that produces the file, when it is not a download
    size: int | None = None  # bytes, when known: a renamed copy of the file is still recognised and checked


_REGISTRY: dict[str, WeightSpec] = {}
_LOADERS: list[Callable[[], None]] = []


def register_weights(spec: WeightSpec) -> WeightSpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"weights {spec.name!r} are already registered")
    _REGISTRY[spec.name] = spec
    return spec


def register_lazy(loader: Callable[[], None]) -> None:
    """Register a function that registers specs when the registry is first read."""
    _LOADERS.append(loader)


def _ensure_loaded() -> None:
    while _LOADERS:
        _LOADERS.pop(0)()


def all_weights() -> dict[str, WeightSpec]:
    _ensure_loaded()
    _import_known_modules()
    return dict(_REGISTRY)


def get_spec(name: str) -> WeightSpec:
    specs = all_weights()
    if name not in specs:
        import difflib

        close = difflib.get_close_matches(name, list(specs), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise WeightsNotFoundError(f"unknown weights {name!r}{hint}; see 'vidrestore weights list'")
    return specs[name]


# Modules that register weight specs when imported (kept light: no torch at import time).
KNOWN_SPEC_MODULES: tuple[str, ...] = (
    "vidrestore.flow.raft_weights",
    "vidrestore.restore.families",  # every restorer family registers its checkpoints
    "vidrestore.metrics.lpips_weights",
    "vidrestore.interpolate.rife_weights",
)


def _import_known_modules() -> None:
    import importlib

    for mod in KNOWN_SPEC_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as err:
            if err.name != mod:
                raise


# --------------------------------------------------------------------------- locations


def cache_dir() -> Path:
    env = os.environ.get("VIDRESTORE_CACHE")
    if env:
        return Path(env).expanduser() / "weights"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "vidrestore" / "weights"


def torch_hub_checkpoints() -> Path:
    env = os.environ.get("TORCH_HOME")
    base = Path(env).expanduser() if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "torch"
    return Path(base) / "hub" / "checkpoints"


def search_dirs() -> list[Path]:
    dirs: list[Path] = []
    env = os.environ.get("VIDRESTORE_WEIGHTS")
    if env:
        dirs.extend(Path(p).expanduser() for p in env.split(os.pathsep) if p)
    dirs.append(torch_hub_checkpoints())
    dirs.append(cache_dir())
    return dirs


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def verify_file(path: Path, spec: WeightSpec) -> None:
    if spec.sha256 is None:
        return
    actual = sha256_file(path)
    if actual != spec.sha256:
        raise ChecksumMismatchError(path, spec.sha256, actual)


def _claims(path: Path, spec: WeightSpec) -> bool:
    """Whether ``path`` presents itself as ``spec``'s file: one of its names, or its exact size."""
    if path.name in (spec.filename, *spec.aliases):
        return True
    return spec.size is not None and path.stat().st_size == spec.size


def fetch_command(spec: WeightSpec) -> str:
    return spec.fetch_hint or f"vidrestore weights fetch {spec.name}"


def resolve_weights(
    spec_or_name: WeightSpec | str,
    explicit: str | os.PathLike[str] | None = None,
    *,
    verify: bool = True,
) -> Path:
    """Return the path of a verified checkpoint, or raise :class:`WeightsNotFoundError`.

    Never downloads: :func:`vidrestore.io.checkpoints.download_weights` does, for ``weights fetch``.
    """
    spec = get_spec(spec_or_name) if isinstance(spec_or_name, str) else spec_or_name
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise WeightsNotFoundError(f"{path}: weights file not found")
        # An explicit file is the user's choice: it is checked when it claims to be the registered file
        # (its name, or its exact size); any other file is used as given, and its digest is logged so that
        # the run can be traced to the exact checkpoint.
        if verify and spec.sha256 and _claims(path, spec):
            verify_file(path, spec)
            log.info("weights %s: %s verified (sha256 %s)", spec.name, path, spec.sha256[:16])
        else:
            log.info("weights %s: %s: unverified weights (sha256 %s): not the registered file, used as given",
                     spec.name, path, sha256_file(path))
        return path
    names = (spec.filename, *spec.aliases)
    for d in search_dirs():
        for n in names:
            cand = d / n
            if cand.is_file():
                if verify:
                    verify_file(cand, spec)
                log.debug("weights %s found at %s", spec.name, cand)
                return cand
    where = ", ".join(str(d) for d in search_dirs())
    raise WeightsNotFoundError(
        f"weights {spec.name!r} ({spec.filename}) not found in {where}; "
        f"run '{fetch_command(spec)}' on a machine with network access, "
        "or pass the file with --weights / set VIDRESTORE_WEIGHTS to its folder"
    )


def is_available(spec_or_name: WeightSpec | str) -> bool:
    try:
        resolve_weights(spec_or_name)
        return True
    except (WeightsNotFoundError, ChecksumMismatchError):
        return False


def check_provenance(path: Path) -> dict[str, Any] | None:
    """Check a file we made (a conversion, a copy) against the sha256 in its ``.json`` provenance record.

    Returns the record, or None when there is none (a user-made file). Raises
    :class:`~vidrestore.errors.ChecksumMismatchError` when the digest differs.
    """
    side = path.with_name(path.name + ".json")
    if not side.is_file():
        return None
    try:
        record = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise VidrestoreError(f"{side}: unreadable provenance file ({err})") from err
    expected = record.get("sha256")
    if expected:
        actual = sha256_file(path)
        if actual != expected:
            raise ChecksumMismatchError(path, expected, actual)
    return record


def load_state_dict(path: str | os.PathLike[str], *, keys: Iterable[str] = ("params_ema", "params", "state_dict")) -> dict[str, Any]:
    """Load a checkpoint safely on the CPU: safetensors, or ``torch.load(weights_only=True)``.

    Wrapped checkpoints (``{'params_ema': ...}``, ``{'params': ...}``, ``{'state_dict': ...}``) are
    unwrapped, in that order of preference.
    """
    import torch

    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            sd: Any = load_file(str(path), device="cpu")
        else:
            sd = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling/format error is a bad weights file
        raise VidrestoreError(f"{path}: cannot load weights ({type(err).__name__}: {err})") from err
    if isinstance(sd, Mapping):
        for k in keys:
            if k in sd and isinstance(sd[k], Mapping):
                sd = sd[k]
                break
    if not isinstance(sd, Mapping):
        raise VidrestoreError(f"{path}: expected a state dict, got {type(sd).__name__}")
    return dict(sd)
