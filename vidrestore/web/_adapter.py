"""Temporary stand-in for ``vidrestore.api`` (issue 21) until it is merged: the same names, built
on the CLI's own functions. Deleted once ``vidrestore.api`` exists (see backend.py)."""

from __future__ import annotations

import shlex
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vidrestore.errors import VidrestoreError

DEFAULT_PRESET = {"restore": "passthrough", "interpolate": "interpolate", "decloud": "decloud"}


@dataclass(frozen=True)
class JobSpec:
    command: str
    input: str | tuple[str, ...]
    output: str
    preset: str | None = None
    config: str | None = None
    overrides: tuple[str, ...] = ()
    overwrite: bool = False
    resume: bool = False
    segmented: bool | None = None
    workdir: str | None = None
    keep_workdir: bool = False
    engine: str = "local"
    address: str | None = None
    workers: int | None = None
    threads_per_worker: int | None = None
    frames: tuple[int, int] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Progress:
    done: int
    total: int | None
    elapsed_s: float
    fps: float
    eta_s: float | None
    phase: str


class Cancelled(VidrestoreError):
    pass


def _argv(spec: JobSpec) -> list[str]:
    inputs = [spec.input] if isinstance(spec.input, str) else list(spec.input)
    argv = [spec.command, *inputs, "-o", spec.output]
    if spec.preset:
        argv += ["--preset", spec.preset]
    if spec.config:
        argv += ["--config", spec.config]
    for o in spec.overrides:
        argv += ["--set", o]
    if spec.segmented:
        argv += ["--set", "jobs.mode=segmented"]
    for flag, on in (("--overwrite", spec.overwrite), ("--resume", spec.resume), ("--keep-workdir", spec.keep_workdir)):
        if on:
            argv.append(flag)
    if spec.workdir:
        argv += ["--workdir", spec.workdir]
    for name, value in spec.options.items():
        if value is True:
            argv.append("--" + name.replace("_", "-"))
        elif value not in (None, False):
            argv += ["--" + name.replace("_", "-"), str(value)]
    return argv


def command_line(spec: JobSpec) -> str:
    return shlex.join(["vidrestore", *_argv(spec)])


def load_config(spec: JobSpec) -> Any:
    from vidrestore.config import load_config as load

    preset = spec.preset if (spec.preset or spec.config) else DEFAULT_PRESET[spec.command]
    return load(preset=preset, path=spec.config, overrides=list(spec.overrides))


def run(spec: JobSpec, *, progress: Callable[[Progress], None] | None = None,
        cancel: threading.Event | None = None) -> Any:
    from vidrestore.cli import main  # temporary: the API replaces this call

    if spec.frames is not None:
        raise VidrestoreError("previews need vidrestore.api (frames=...), not merged yet")
    argv = _argv(spec)
    code = main([argv[0], "-q", *argv[1:]])
    if code:
        raise VidrestoreError(f"vidrestore {spec.command} ended with exit code {code}")
    return {"output": spec.output}
