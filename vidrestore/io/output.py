"""Output paths: what kind of output a path means, the safety checks, and atomic placement.

Every output is written under a temporary name beside the final one and renamed into place
only when complete, so no half-written file ever carries the final name.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from vidrestore.errors import OutputError

CONTAINERS = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mkv": "matroska",
    ".mov": "mov",
    ".webm": "webm",
    ".nut": "nut",
    ".avi": "avi",
}


@dataclass(frozen=True)
class OutputTarget:
    final: Path
    temp: Path
    kind: str  # "video" | "images"
    container: str | None  # FFmpeg muxer name for video outputs


def classify_output(path: str | os.PathLike[str]) -> tuple[str, str | None]:
    """``("video", muxer)`` for a known video extension, ``("images", None)`` for a folder."""
    p = Path(path)
    ext = p.suffix.lower()
    if ext in CONTAINERS:
        return "video", CONTAINERS[ext]
    if ext == "" or p.is_dir():
        return "images", None
    raise OutputError(f"{p}: unknown output type {ext!r}; use a video file ({', '.join(sorted(CONTAINERS))}) "
                      "or a folder for an image sequence")


def _same_path(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return a.samefile(b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def prepare_output(output: str | os.PathLike[str], *, inputs: tuple[str | os.PathLike[str], ...] = (),
                   overwrite: bool = False) -> OutputTarget:
    """Check OUTPUT and return where to write it first. Nothing is created yet."""
    final = Path(output)
    kind, container = classify_output(final)
    for inp in inputs:
        ip = Path(inp)
        if _same_path(final, ip):
            raise OutputError(f"{final}: output is the input; choose another output path (the input is never modified)")
        if ip.is_dir() and kind == "images" and final.resolve().is_relative_to(ip.resolve()):
            raise OutputError(f"{final}: output folder is inside the input folder {ip}")
    if final.exists() or final.is_symlink():
        if not overwrite:
            raise OutputError(f"{final}: already exists (use --overwrite to replace it)")
        if kind == "images" and final.is_file():
            raise OutputError(f"{final}: is a file, expected a folder for an image sequence")
    parent = final.parent if str(final.parent) else Path(".")
    if not parent.exists():
        raise OutputError(f"{final}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{final}: folder {parent} is not writable")
    temp = parent / f".{final.name}.vidrestore-tmp-{os.getpid()}{final.suffix if kind == 'video' else ''}"
    return OutputTarget(final=final, temp=temp, kind=kind, container=container)


def commit_output(target: OutputTarget) -> None:
    """Move the finished temporary output into place (replacing an old one when allowed)."""
    final, temp = target.final, target.temp
    if target.kind == "video":
        os.replace(temp, final)
        return
    if final.exists():
        old = final.with_name(f".{final.name}.vidrestore-old-{os.getpid()}")
        os.replace(final, old)
        os.replace(temp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(temp, final)


def discard_output(target: OutputTarget) -> None:
    """Remove the partial output (after an error or an interrupt)."""
    temp = target.temp
    try:
        if temp.is_dir():
            shutil.rmtree(temp, ignore_errors=True)
        elif temp.exists():
            temp.unlink()
    except OSError:
        pass
