"""Output paths: what kind of output a path means, the safety checks, and atomic placement.

Every output is written under a temporary name beside the final one and renamed into place
only when complete, so no half-written file ever carries the final name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vidrestore.errors import MediaError, OutputError
from vidrestore.io import safety

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
    overwrite: bool = False
    inputs: tuple[str, ...] = ()


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


def prepare_output(output: str | os.PathLike[str], *, inputs: tuple[str | os.PathLike[str], ...] = (),
                   overwrite: bool = False, lock: bool = True, sidecar: bool = True) -> OutputTarget:
    """Check OUTPUT (and its ``.vidrestore.yaml`` sidecar), lock it, clear stale temporaries of dead
    runs, and return where to write it first. Nothing but the lock file is created yet.

    The rules (only a regular file or an earlier vidrestore folder is replaced, never an input,
    never through a link, never a device) live in :mod:`vidrestore.io.safety`.
    """
    final = Path(output)
    kind, container = classify_output(final)
    safety.check_target(final, overwrite=overwrite, inputs=inputs, folder=kind == "images")
    if sidecar:
        side = safety.sibling(final, ".vidrestore.yaml")
        safety.check_target(side, overwrite=overwrite or safety.is_vidrestore_sidecar(side), inputs=inputs,
                            what="config sidecar")
    if lock:
        safety.OutputLock(final).acquire()
        safety.clean_stale_temps(final)
    temp = safety.temp_path(final, suffix=final.suffix if kind == "video" else "")
    return OutputTarget(final=final, temp=temp, kind=kind, container=container, overwrite=overwrite,
                        inputs=tuple(str(i) for i in inputs))


def create_temp(target: OutputTarget, *, create: bool = True) -> None:
    """Claim the temporary name, so that an interrupt removes it: a new folder (with the marker) for
    an image sequence, a new empty file (``O_EXCL | O_NOFOLLOW``: never a planted link) for a video.
    ``create=False`` only registers it, for a program that refuses to open an existing file (ffmpeg)."""
    safety._register_temp(target.temp)
    if not create:
        return
    if target.kind == "images":
        safety.make_folder(target.temp, marker=False)
        return
    try:
        os.close(safety.open_new(target.temp))
    except OSError as err:
        safety._forget_temp(target.temp)
        if safety.is_no_space(err):
            raise safety.space_error(err, target.final) from err
        raise OutputError(f"{target.final}: cannot create output ({err.strerror or err})") from err


def commit_output(target: OutputTarget) -> None:
    """Move the finished temporary output into place (replacing an old one when allowed)."""
    try:
        safety.place(target.temp, target.final, overwrite=target.overwrite, inputs=target.inputs,
                     folder=target.kind == "images")
    except BaseException:
        discard_output(target)
        raise
    safety._forget_temp(target.temp)
    release_output(target)


def discard_output(target: OutputTarget) -> None:
    """Remove the partial output (after an error or an interrupt)."""
    temp = target.temp
    try:
        if temp.is_dir() and not temp.is_symlink():
            safety.remove_output_folder(temp)
        elif temp.exists() or temp.is_symlink():
            temp.unlink()
    except OSError:
        pass
    safety._forget_temp(temp)
    release_output(target)


def release_output(target: OutputTarget) -> None:
    """Drop the lock on OUTPUT (the run is over, placed or not)."""
    for lk in list(safety._LOCKS):
        if lk.final == target.final:
            lk.release()


def finalize_output(target: OutputTarget, frames_written: int) -> None:
    """Move a finished output into place; an output without frames is removed and refused."""
    if frames_written == 0:
        discard_output(target)
        raise MediaError(target.final, "no frame was written; output not created")
    commit_output(target)
