"""Set: the page's settings -> a :class:`JobSpec`, with every path checked against the roots.

The page sends ``{command, input, output, preset, config, changes: {key: text}, options: {...}}``.
``changes`` are the form's edited keys with the text typed (what would follow ``--set key=``), so
the loader parses and checks them exactly as for the CLI. ``options`` are the command's own flags by
their CLI ``dest`` name, limited to :data:`OPTIONS`. A path typed into a path-like key
(``film.save_masks``, ``restorer.weights`` ...) may be written as ``ROOT/rel``; whatever its
spelling, the resolved config is checked so that nothing is read or written outside the roots and
the server's state directory (:func:`check_config_paths`).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vidrestore.errors import ConfigError
from vidrestore.web import form
from vidrestore.web.security import Forbidden, Roots, inside

COMMANDS = ("restore", "interpolate", "decloud")
_KEY = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z0-9_]+)+$")
PATH_FIELDS = {"weights", "model_path", "workdir", "save_masks", "rife_weights", "masks"}
PATH_SUFFIXES = ("_path", "_dir", "_weights", "_file", "_folder")
SERVER_KEYS = {"jobs.workdir": "each job has its own work directory in the server's state folder",
               "jobs.keep_workdir": "the server keeps or removes a job's work directory itself"}

#: The command options the page offers (name = the CLI option's dest), with kind and help.
OPTIONS: dict[str, list[dict[str, Any]]] = {
    "restore": [
        {"name": "save_masks", "kind": "bool",
         "help": "film stage: write the dust and scratch masks (previews overlay them; a job writes them "
                 "beside the output as OUTPUT-masks/)"},
    ],
    "interpolate": [
        {"name": "factor", "kind": "int", "help": "output frames per input frame (1..64)"},
        {"name": "fps", "kind": "str", "help": "target frame rate instead: 60, 59.94 or 60000/1001"},
        {"name": "scale", "kind": "float", "help": "also upscale by this with the GAN restorer"},
        {"name": "order", "kind": "str", "choices": ["", "auto", "interpolate-first", "upscale-first"],
         "help": "with scale: which stage runs first"},
        {"name": "method", "kind": "str", "choices": ["", "auto", "rife", "flow"], "help": "how new frames are made"},
        {"name": "refine", "kind": "bool", "help": "refine each new frame with a residual flow (slower)"},
    ],
    "decloud": [
        {"name": "pattern", "kind": "str", "help": "one file per band and date: template with {date} and {band}"},
        {"name": "bands", "kind": "str", "help": "band roles, e.g. blue=1,green=2,red=3,nir=4"},
        {"name": "masks", "kind": "str", "help": "mask files: a folder (ROOT/rel) or a template like {stem}_SCL.tif"},
        {"name": "mask_type", "kind": "str",
         "choices": ["", "auto", "binary", "s2cloudless", "scl", "fmask", "qa_pixel", "cmask", "values"],
         "help": "how mask values read"},
        {"name": "detector", "kind": "str", "choices": ["", "auto", "spectral", "csmask", "s2cloudless"],
         "help": "cloud detector"},
        {"name": "scale", "kind": "float", "help": "pixel value meaning reflectance 1, e.g. 10000"},
        {"name": "cloud_values", "kind": "str", "help": "mask values meaning cloud, e.g. 8,9,10"},
        {"name": "shadow_values", "kind": "str", "help": "mask values meaning cloud shadow, e.g. 3"},
        {"name": "composite", "kind": "str", "choices": ["", "none", "median", "best"],
         "help": "also write one cloud-free image"},
        {"name": "reproject", "kind": "bool", "help": "warp dates on another grid onto the first date's"},
        {"name": "dry_run", "kind": "bool", "help": "write only the masks and the report"},
        {"name": "cog", "kind": "bool", "help": "write Cloud-Optimized GeoTIFFs"},
        {"name": "stac", "kind": "bool", "help": "write a STAC Item per output date"},
    ],
}


class SettingsError(ConfigError):
    """A malformed request from the page (a missing field, an unknown command)."""


def build_spec(body: Mapping[str, Any], roots: Roots, *, workdir: str | None = None, for_schema: bool = False,
               need_input: bool | None = None) -> Any:
    """The page's settings -> JobSpec. ``for_schema``: input and output may be left empty (the form and
    the command preview work before a file is picked); ``need_input`` overrides that for the input."""
    from vidrestore.web.backend import JobSpec

    command = body.get("command") or "restore"
    if command not in COMMANDS:
        raise SettingsError(f"command {command!r}: expected one of {', '.join(COMMANDS)}")
    inputs = _inputs(body.get("input"), roots, command, required=not for_schema if need_input is None else need_input)
    output = str(roots.resolve(body["output"])) if body.get("output") else ""
    if not output and not for_schema:
        raise SettingsError("output: choose where the result goes (a file or folder under a root)")
    if output and not Path(output).parent.is_dir():
        raise SettingsError(f"{body['output']}: its folder does not exist")
    config = str(roots.resolve(body["config"], must_exist=True)) if body.get("config") else None
    preset = body.get("preset") or None
    if preset and config:
        raise SettingsError("preset and config file: choose one (as --preset and --config)")
    overrides = form.overrides_from(_changes(body.get("changes") or {}, roots))
    options = _options(command, body.get("options") or {}, roots, output)
    return JobSpec(command=command, input=inputs, output=output, preset=preset, config=config, overrides=overrides,
                   overwrite=bool(body.get("overwrite")), segmented=True if workdir else None, workdir=workdir,
                   options=options)


def _inputs(value: Any, roots: Roots, command: str, *, required: bool) -> str | tuple[str, ...]:
    refs = [value] if isinstance(value, str) else list(value or [])
    refs = [r for r in refs if r]
    if not refs:
        if required:
            raise SettingsError("input: pick a video, image folder or GeoTIFF series under a root")
        return "" if command != "decloud" else ("",)  # the form and the command preview work before a pick
    paths = [str(roots.resolve(r, must_exist=True)) for r in refs]
    if command == "decloud":
        return tuple(paths)
    if len(paths) > 1:
        raise SettingsError(f"{command} takes one input, got {len(paths)}")
    return paths[0]


def _changes(changes: Mapping[str, Any], roots: Roots) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, text in changes.items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise SettingsError(f"--set {key!r}: expected section.key")
        if key in SERVER_KEYS:
            raise ConfigError(f"{key}: set by the server ({SERVER_KEYS[key]})")
        text = "" if text is None else str(text)
        if is_path_key(key):
            text = _path_text(text, roots)
        out[key] = text
    return out


def is_path_key(key: str) -> bool:
    name = key.rsplit(".", 1)[-1]
    return name in PATH_FIELDS or name.endswith(PATH_SUFFIXES)


def _path_text(text: str, roots: Roots) -> str:
    """A path typed as ``ROOT/rel`` becomes that absolute path (JSON-quoted, a valid YAML string)."""
    import yaml

    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        return text
    if isinstance(value, str) and value.split("/", 1)[0] in {r.name for r in roots.roots}:
        return json.dumps(str(roots.resolve(value)))
    return text


def _options(command: str, given: Mapping[str, Any], roots: Roots, output: str) -> dict[str, Any]:
    known = {o["name"]: o for o in OPTIONS[command]}
    out: dict[str, Any] = {}
    for name, value in given.items():
        if name not in known:
            raise SettingsError(f"{command}: unknown option {name!r} (known: {', '.join(known)})")
        if value in (None, "", False):
            continue
        kind = known[name]["kind"]
        flag = "--" + name.replace("_", "-")
        if kind == "bool":
            out[name] = bool(value)
        elif kind == "int":
            out[name] = _number(flag, value, int)
        elif kind == "float":
            out[name] = _number(flag, value, float)
        else:
            out[name] = str(value)
    if out.get("save_masks"):
        out["save_masks"] = masks_folder(output) if output else "preview"
    if command == "decloud" and "masks" in out and "/" in out["masks"]:
        out["masks"] = str(roots.resolve(out["masks"], must_exist=True))
    return out


def masks_folder(output: str) -> str:
    p = Path(output)
    return str(p.with_name(p.stem + "-masks"))


def _number(flag: str, value: Any, kind: type) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError):
        word = "a whole number like 2 or 4" if kind is int else "a number like 2 or 1.5"
        raise ConfigError(f"argument {flag}: expected {word}, got {value!r}") from None


def check_config_paths(cfg: Any, spec: Any, roots: Roots, state_dir: Path) -> None:
    """Refuse (403) a resolved config that would read or write outside the roots and the state
    directory through a path-like key the page or a config file set (a preset's own values are the
    server's, not the page's, and stay as they are)."""
    from vidrestore.web.backend import load_config

    baseline = load_config(dataclasses.replace(spec, overrides=(), config=None, options={}))
    for key, value in _path_values(cfg, ""):
        if value in (None, "") or value == _value_at(baseline, key):
            continue
        if key.endswith(".masks") and "/" not in value:
            continue  # a name template beside the inputs ({stem}_SCL.tif)
        if not Path(value).is_absolute() or not (roots.contains(value) or inside(value, state_dir)):
            raise Forbidden(f"{key}: {value} is outside the folders this server may use")


def _path_values(obj: Any, prefix: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        key = prefix + f.name
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            out += _path_values(v, key + ".")
        elif is_path_key(key) and isinstance(v, str):
            out.append((key, v))
    return out


def _value_at(cfg: Any, key: str) -> Any:
    node = cfg
    for part in key.split("."):
        node = getattr(node, part, None)
    return node


def input_identity(inputs: str | tuple[str, ...]) -> Any:
    """What a preview's pixels depend on in the input: its path, size and modification time."""
    from vidrestore.jobs.manifest import input_identity as identity

    if isinstance(inputs, str):
        return identity(inputs)
    return [identity(p) for p in inputs]
