"""Run configuration: the :class:`Config` assembly of the sections, and its loading, merging,
overrides, dump and the list of presets in ``configs/``.

Each section is a frozen dataclass living beside its stage (``vidrestore/flow/config.py``,
``vidrestore/decloud/config.py`` ...), so a stage's knobs, checks and help sit with its code;
this module only puts them together. Keys equal dataclass field names (nested sections are nested
mappings). ``load_config`` reads a preset or file with ``yaml.safe_load``, maps renamed keys to
their new names (each section module's ``RENAMES``, one deprecation line per old key), applies
``--set section.key=value`` overrides (values parsed with ``yaml.safe_load`` too), rejects unknown
keys with a suggestion and checks ranges once, at load time. The section classes stay importable
from here for the callers written before the split.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import yaml

from vidrestore.decloud.config import DecloudConfig
from vidrestore.errors import ConfigError
from vidrestore.film.config import FilmConfig
from vidrestore.flow.config import FlowConfig
from vidrestore.interpolate.config import InterpolateConfig
from vidrestore.io.config import EncodeConfig, IOConfig
from vidrestore.jobs.config import JobsConfig
from vidrestore.restore.config import DiffusionConfig, RestorerConfig
from vidrestore.sections import apply_renames, deprecation_line, knob, rename_key, suggest
from vidrestore.temporal.config import TemporalConfig

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class Config:
    """A run's whole configuration: one section per stage, each defined beside its stage."""

    preset: str = knob("custom", "name of the preset this came from (informational)")
    io: IOConfig = knob(help="reading frames: decoder, threads, queues", factory=IOConfig)
    flow: FlowConfig = knob(help="optical flow: estimator, cost, scene cuts", factory=FlowConfig)
    temporal: TemporalConfig = knob(help="sliding windows and temporal fusion", factory=TemporalConfig)
    restorer: RestorerConfig = knob(help="the restorer model: which, tiles, precision, device", factory=RestorerConfig)
    encode: EncodeConfig = knob(help="writing the output: encoder, quality, audio and subtitles", factory=EncodeConfig)
    jobs: JobsConfig = knob(help="segmented, resumable and distributed runs", factory=JobsConfig)
    decloud: DecloudConfig = knob(help="satellite time series: clouds and shadows found and filled",
                                  factory=DecloudConfig)
    diffusion: DiffusionConfig = knob(help="the diffusion restorer's sampler, guidance and consistency",
                                      factory=DiffusionConfig)
    interpolate: InterpolateConfig = knob(help="frame-rate conversion", factory=InterpolateConfig)
    film: FilmConfig = knob(help="archival film cleaning: dust, scratches, flicker, grain", factory=FilmConfig)


# --------------------------------------------------------------------------- helpers


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """Check/convert a YAML value against a field's annotated type."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(key, value, arg)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if errors else f"{key}: invalid value {value!r}")
    if _is_dataclass_type(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a mapping of keys, got {value!r}")
        return _build(tp, value, prefix=key + ".")
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return {str(k): ("" if v is None else str(v)) for k, v in value.items()}
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        (inner, *_) = typing.get_args(tp) or (Any,)
        return tuple(_coerce(key, v, inner) for v in value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    return value


def _build(cls: type, data: Mapping[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            raise ConfigError(f"unknown key '{prefix}{key}'{suggest(str(key), names)}")
        kwargs[key] = _coerce(prefix + key, value, hints[key])
    try:
        return cls(**kwargs)
    except TypeError as err:  # pragma: no cover - guarded by the key check above
        raise ConfigError(f"{prefix or 'config'}: {err}") from err


def config_to_dict(cfg: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v):
            out[f.name] = config_to_dict(v)
        elif isinstance(v, tuple):
            out[f.name] = list(v)
        elif isinstance(v, dict):
            out[f.name] = dict(v)
        else:
            out[f.name] = v
    return out


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _deep_merge(dict(out[k]), v)
        else:
            out[k] = v
    return out


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"restorer.scale=2"`` -> (["restorer", "scale"], 2). Values are YAML scalars."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. restorer.scale=2")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set {text!r}: empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as err:
        raise ConfigError(f"--set {text!r}: value is not valid YAML ({err.__class__.__name__})") from err
    return key.split("."), value


# --------------------------------------------------------------------------- presets


def configs_dirs() -> list[Path]:
    """Where presets are looked up: $VIDRESTORE_CONFIGS, then the project's configs/."""
    dirs = []
    env = os.environ.get("VIDRESTORE_CONFIGS")
    if env:
        dirs.append(Path(env))
    dirs.append(Path(__file__).resolve().parent.parent / "configs")
    dirs.append(Path(__file__).resolve().parent / "presets")  # copy inside an installed wheel
    return [d for d in dirs if d.is_dir()]


def list_presets() -> dict[str, tuple[Path, str]]:
    """Preset name -> (file, one-line description from its first comment line)."""
    found: dict[str, tuple[Path, str]] = {}
    for d in configs_dirs():
        for p in sorted(d.glob("*.yaml")):
            if p.stem in found:
                continue
            desc = ""
            for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("#"):
                    desc = line.lstrip("#").strip()
                    break
            found[p.stem] = (p, desc)
    return found


@dataclass(frozen=True)
class KeyRow:
    """One key of a resolved config, as ``vidrestore presets show`` and the web form present it."""

    key: str  # dotted
    value: Any
    default: Any
    help: str


def key_rows(cfg: Any, prefix: str = "") -> list[KeyRow]:
    """Every key of ``cfg`` (nested sections flattened to dotted keys) with its value, default and
    help, in declaration order; ``preset`` (a name, not a setting) is left out."""
    rows: list[KeyRow] = []
    hints = typing.get_type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        if not prefix and f.name == "preset":
            continue
        value = getattr(cfg, f.name)
        if _is_dataclass_type(hints[f.name]):
            rows += key_rows(value, prefix + f.name + ".")
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        rows.append(KeyRow(prefix + f.name, value, default, str(f.metadata.get("help", ""))))
    return rows


def text_line_of(path: Path, offset: int) -> int:
    """The 1-based line holding byte ``offset`` of ``path`` (for messages about undecodable bytes)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(offset).count(b"\n") + 1
    except OSError:
        return 0


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read config ({err.strerror or err})") from err
    except UnicodeDecodeError as err:
        line = text_line_of(path, err.start)
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset {err.start}, "
                          f"line {line}); save the config as UTF-8") from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})".replace("\n", " ")) from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    return data


def renames() -> dict[str, str]:
    """Old dotted key -> new dotted key, collected from the ``RENAMES`` table of every module that
    defines a section of :class:`Config` (nested sections included), so a section module declares
    its renames beside its fields and nothing else needs editing."""
    table: dict[str, str] = {}
    for module in _section_modules(Config):
        for old, new in getattr(module, "RENAMES", {}).items():
            if table.get(old, new) != new:
                raise ConfigError(f"config key {old} is renamed twice ({table[old]}, {new})")
            table[old] = new
    return table


def _section_modules(cls: type, seen: set[type] | None = None) -> list[Any]:
    seen = set() if seen is None else seen
    if cls in seen:
        return []
    seen.add(cls)
    modules = [sys.modules[cls.__module__]]
    for tp in typing.get_type_hints(cls).values():
        if _is_dataclass_type(tp):
            modules += [m for m in _section_modules(tp, seen) if m not in modules]
    return modules


#: Old keys already reported by this process: one deprecation line per old key per run.
_REPORTED: set[str] = set()


#: Old keys met by the loads under way: reported once the load succeeds (a refused config prints its error alone).
_MET: list[list[str]] = []


def _report_old_keys(old_keys: Iterable[str], table: Mapping[str, str]) -> None:
    """Log one line per old key, once per process (a run loads its config more than once)."""
    if _MET:
        _MET[-1].extend(old_keys)
        return
    for old in old_keys:
        if old not in _REPORTED:
            _REPORTED.add(old)
            log.warning(deprecation_line(old, table[old]))


def _renamed(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """One source (a file or a mapping) with its old keys moved to the new ones."""
    table = renames()
    if not table:
        return dict(data)
    out, old_keys = apply_renames(data, table, where=where)
    _report_old_keys(old_keys, table)
    return out


def _apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> None:
    """Set each ``--set KEY=VALUE`` in ``data`` (later ones win), old key names mapped to new ones.

    The ``--set`` list is one source: naming one key both ways in it is refused.
    """
    table = renames()
    new_form: dict[str, str] = {}
    old_form: dict[str, str] = {}
    for text in overrides:
        keys, value = parse_override(text)
        dotted, old = rename_key(".".join(keys), value, table)
        (old_form if old else new_form)[dotted] = old or dotted
        if old:
            _report_old_keys([old], table)
        keys = dotted.split(".")
        node = data
        for k in keys[:-1]:
            child = node.get(k)
            if not isinstance(child, dict):
                child = {}
                node[k] = child
            node = child
        node[keys[-1]] = value
    for dotted, old in old_form.items():
        if dotted in new_form:
            raise ConfigError(f"--set: both {old} (old name) and {dotted} are given; keep only {dotted}")


def load_config(
    preset: str | None = None,
    path: str | os.PathLike[str] | None = None,
    overrides: Iterable[str] = (),
    base: Mapping[str, Any] | None = None,
) -> Config:
    """Build a :class:`Config` from a preset name and/or YAML file, then ``--set`` overrides.

    A file may name a parent with ``base: PRESET`` to inherit from it. Old key names (see
    :func:`renames`) are accepted from every source with one deprecation line each.
    """
    met: list[str] = []
    _MET.append(met)
    try:
        cfg = _load(preset, path, overrides, base)
    except ConfigError as err:
        _as_given(err, met)
        raise
    finally:
        _MET.pop()
    _report_old_keys(met, renames())
    return cfg


def _as_given(err: ConfigError, old_keys: Iterable[str]) -> None:
    """Make ``err`` name the key as the user wrote it: a bad value given under an old name is refused under
    that name."""
    table = renames()
    message = str(err)
    for old in old_keys:
        if message.startswith(table[old] + ":"):
            err.args = (old + message[len(table[old]):], *err.args[1:])
            return


def _load(preset: str | None, path: str | os.PathLike[str] | None, overrides: Iterable[str],
          base: Mapping[str, Any] | None) -> Config:
    data: dict[str, Any] = _renamed(base or {}, where="config")
    name = "custom"
    if preset is not None:
        presets = list_presets()
        if preset not in presets:
            raise ConfigError(f"unknown preset {preset!r}{suggest(preset, presets)}; see 'vidrestore presets'")
        data = _deep_merge(data, _load_with_base(presets[preset][0], seen=()))
        name = preset
    if path is not None:
        data = _deep_merge(data, _load_with_base(Path(path), seen=()))
        name = data.get("preset", Path(path).stem)
    _apply_overrides(data, overrides)
    data["preset"] = str(data.get("preset", name))
    return _build(Config, data)


def _load_with_base(path: Path, seen: tuple[str, ...]) -> dict[str, Any]:
    data = _renamed(_read_yaml(path), where=str(path))
    parent = data.pop("base", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: base: expected the name of one preset (e.g. base: film), "
                          f"got {type(parent).__name__} {parent!r}")
    if parent in seen:
        raise ConfigError(f"{path}: preset inheritance loops through {parent!r}")
    presets = list_presets()
    if parent not in presets:
        raise ConfigError(f"{path}: base preset {parent!r} not found{suggest(str(parent), presets)}")
    return _deep_merge(_load_with_base(presets[parent][0], seen + (str(parent),)), data)


def dump_config(cfg: Config, path: str | os.PathLike[str], *, overwrite: bool | None = None,
                inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Write the resolved config as YAML (loadable with ``--config``), atomically and never through a
    link or onto an input; an existing file is replaced only with ``overwrite`` (default: the run's
    ``--overwrite``)."""
    from vidrestore.io import safety

    text = "# resolved vidrestore config; reproduce with: vidrestore ... --config THIS_FILE\n"
    text += yaml.safe_dump(config_to_dict(cfg), sort_keys=False)
    allowed = safety.RUN.overwrite if overwrite is None else overwrite
    safety.atomic_write(path, text, overwrite=allowed or safety.is_vidrestore_sidecar(path), inputs=inputs,
                        what="config sidecar")
