"""Helpers for config sections: value checks, field help, and the table of renamed keys.

A config section is a frozen dataclass that lives beside its stage (``vidrestore/flow/config.py``,
``vidrestore/film/config.py`` ...) and checks its own values in ``__post_init__`` with
:func:`check` and :func:`choice`, so a bad value fails once, at load time, with a message that
names the dotted key. This module sits in the core layer: it imports nothing from vidrestore but
the error types, so every stage package may use it.

Field help (one convention, read by ``vidrestore presets show`` and the web settings form):
every field is declared with :func:`knob`, which stores its one-line explanation as
``dataclasses.Field.metadata["help"]``::

    threshold: float = knob(0.2, "histogram distance (0..1) above which a cut may be declared")

Read it back with :func:`help_of` (or ``field.metadata.get("help", "")``). The field's type
annotation and default stay ordinary dataclass facts; a field whose type is itself a section
dataclass is a nested section (``decloud.detect.*``), and its help says what the group is for.
``vidrestore.config.key_rows`` flattens a whole config into (dotted key, value, default, help).

Renames: a section module may declare ``RENAMES: dict[str, str]`` mapping an old dotted key
(``"decloud.pattern"``) to its new dotted key (``"decloud.input.pattern"``). The loader
(``vidrestore.config``) collects the tables of every section module and rewrites each source (a
preset file, a ``--config`` file, the ``--set`` list) with :func:`apply_renames` before merging, so
old presets and sidecars keep loading. An old key may name what is now a nested section (flat
``decloud.detect: auto`` became ``decloud.detect.mode``): a mapping found there is the new form and
is left alone, a plain value is the old key.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from vidrestore.errors import ConfigError

__all__ = ["apply_renames", "check", "check_rate", "choice", "deprecation_line", "help_of", "knob", "rename_key",
           "suggest"]


def check(key: str, ok: bool, message: str) -> None:
    """Raise ``ConfigError("KEY: MESSAGE")`` unless ``ok``."""
    if not ok:
        raise ConfigError(f"{key}: {message}")


def choice(key: str, value: object, choices: Iterable[str]) -> None:
    """Refuse a value outside ``choices``, suggesting the closest one (a typo is the usual cause)."""
    choices = tuple(choices)
    if value not in choices:
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(choices)}{suggest(str(value), choices)}")


def check_rate(key: str, value: str | None, example: str) -> None:
    """Refuse a frame rate that is not a positive number or fraction (None means "not set")."""
    if value is None:
        return
    try:
        ok = Fraction(str(value)) > 0
    except (ValueError, ZeroDivisionError):
        ok = False
    check(key, ok, f"must be a positive rate like {example}, got {value!r}")


def suggest(name: str, candidates: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest candidate, or ``""``."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def knob(default: Any = dataclasses.MISSING, help: str = "", *,
         factory: Any = dataclasses.MISSING, before: Any = dataclasses.MISSING) -> Any:
    """A dataclass field carrying its one-line help as ``metadata["help"]`` (see the module docstring).

    ``factory`` replaces ``default`` for mutable defaults (``knob(help="...", factory=dict)``).
    ``before``: what the releases before this knob did, when its default does something else (a new
    step switched on). A job interrupted before the upgrade resumes only with the knob at that value,
    so its parts stay alike (:func:`vidrestore.jobs.manifest.resume_config_changes`).
    """
    meta: dict[str, Any] = {"help": help}
    if before is not dataclasses.MISSING:
        meta["before"] = before
    if factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def values_before(section: Any, prefix: str = "") -> dict[str, Any]:
    """``{dotted key: value}`` of every knob of ``section`` (a config instance) and its subsections declared
    with ``before``: what it was before it existed."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(section):
        value = getattr(section, f.name)
        if "before" in f.metadata:
            out[prefix + f.name] = f.metadata["before"]
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            out.update(values_before(value, f"{prefix}{f.name}."))
    return out


def help_of(section: type | object, name: str) -> str:
    """The help text of field ``name`` of a section class or instance (``""`` when it has none)."""
    for f in dataclasses.fields(section):  # type: ignore[arg-type]
        if f.name == name:
            return str(f.metadata.get("help", ""))
    raise KeyError(name)


# --------------------------------------------------------------------------- renames

_ABSENT = object()


def _sections_of(renames: Mapping[str, str]) -> set[str]:
    """Every dotted prefix of a new key: the names that are now sections, not values."""
    out: set[str] = set()
    for new in renames.values():
        parts = new.split(".")
        out.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return out


def _get(data: Mapping[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def _pop(data: dict[str, Any], dotted: str) -> None:
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        node = node[part]
    del node[last]


def _put(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {} if not isinstance(child, Mapping) else dict(child)
            node[part] = child
        node = child
    node[last] = value


def _is_old_form(old: str, value: Any, sections: set[str]) -> bool:
    """A value at an old key is the old form unless the key is now a section and the value a mapping."""
    return value is not _ABSENT and not (old in sections and isinstance(value, Mapping))


def _copy_tree(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _copy_tree(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def apply_renames(data: Mapping[str, Any], renames: Mapping[str, str], *,
                  where: str) -> tuple[dict[str, Any], list[str]]:
    """Move every old key of ``data`` (one source: a file or the ``--set`` list) to its new key.

    Returns the rewritten copy and the old keys found, in table order. All old values are taken out
    before any is put back, so an old flat key may become a section (``decloud.detect`` ->
    ``decloud.detect.mode``) while other old keys move into that section. A key given both ways in
    the same source is refused, naming both, since which one was meant cannot be known.
    """
    out = _copy_tree(data)
    sections = _sections_of(renames)
    moved: list[tuple[str, str, Any]] = []
    for old, new in renames.items():
        value = _get(out, old)
        if _is_old_form(old, value, sections):
            moved.append((old, new, value))
            _pop(out, old)
    for old, new, value in moved:
        if _get(out, new) is not _ABSENT:
            raise ConfigError(f"{where}: both {old} (old name) and {new} are given; keep only {new}")
        _put(out, new, value)
    return out, [old for old, _new, _value in moved]


def rename_key(key: str, value: Any, renames: Mapping[str, str]) -> tuple[str, str | None]:
    """The new spelling of one dotted ``--set`` key, and the old key it used (or None).

    ``decloud.bands.blue`` follows its renamed parent ``decloud.bands``; a key under what is now a
    section (``decloud.detect.detector``) is already the new form.
    """
    sections = _sections_of(renames)
    if key in renames and _is_old_form(key, value, sections):
        return renames[key], key
    parts = key.split(".")
    for i in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:i])
        if head in renames and head not in sections:
            return renames[head] + "." + ".".join(parts[i:]), head
    return key, None


def deprecation_line(old: str, new: str) -> str:
    """The one line a run prints for each old key it met."""
    return f"config key '{old}' is deprecated, use '{new}' (the old name still works for now)"
