"""Writing checkpoints into the weights cache: downloads, installed copies, provenance records.

:mod:`vidrestore.weights` declares, finds and checks checkpoints and writes nothing; the files it
finds are put there by this module, each through :mod:`vidrestore.io.safety` (a temporary name,
checked, then renamed into place), so a cut download or a full disk never leaves a file under a
checkpoint's name, and nothing is written through a planted link.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vidrestore.errors import WeightsNotFoundError
from vidrestore.io import safety
from vidrestore.weights import WeightSpec, cache_dir, fetch_command, verify_file

__all__ = ["download_weights", "install_file", "write_provenance"]


def download_weights(spec: WeightSpec, dest_dir: Path | None = None, *, progress: bool = True) -> Path:
    """Download a checkpoint into the cache, verify it, then move it into place atomically."""
    if os.environ.get("VIDRESTORE_OFFLINE"):
        raise WeightsNotFoundError(f"weights {spec.name!r}: downloads are disabled (VIDRESTORE_OFFLINE is set)")
    if not spec.url:
        raise WeightsNotFoundError(f"weights {spec.name!r} have no download URL; use '{fetch_command(spec)}'")
    dest_dir = dest_dir or cache_dir()
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / spec.filename
    with safety.temp_target(final, overwrite=True, what="weights download") as tmp:
        with open(tmp, "xb") as out:
            try:
                with urllib.request.urlopen(spec.url, timeout=60) as resp:  # noqa: S310 - https URLs from the registry
                    total = int(resp.headers.get("Content-Length") or 0) or None
                    bar = _progress(total, spec.filename) if progress else None
                    while True:
                        block = resp.read(1 << 20)
                        if not block:
                            break
                        out.write(block)
                        if bar is not None:
                            bar.update(len(block))
                    if bar is not None:
                        bar.close()
            except OSError as err:
                raise WeightsNotFoundError(f"weights {spec.name!r}: download from {spec.url} failed ({err})") from err
        verify_file(tmp, spec)
    write_provenance(final, {"name": spec.name, "source": spec.url, "sha256": spec.sha256, "license": spec.license})
    return final


def _progress(total: int | None, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc=desc, leave=False)


def write_provenance(path: Path, info: Mapping[str, Any]) -> None:
    """``PATH.json`` beside a checkpoint: where it came from and what it is."""
    side = path.with_name(path.name + ".json")
    safety.atomic_write(side, json.dumps(dict(info), indent=2, sort_keys=True) + "\n", overwrite=True,
                        what="weights provenance record")


def install_file(src: Path, spec: WeightSpec, dest_dir: Path | None = None) -> Path:
    """Copy a checkpoint into the cache after checking it (used by converters and tests)."""
    verify_file(src, spec)
    dest_dir = dest_dir or cache_dir()
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / spec.filename
    with safety.temp_target(final, overwrite=True, what="weights file") as tmp:
        shutil.copyfile(src, tmp)
    return final
