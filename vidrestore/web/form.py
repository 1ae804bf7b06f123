"""The settings form, generated from the config dataclasses.

The form is not written by hand: :func:`schema` walks the ``Config`` dataclass recursively, so a
section moved beside its stage, a nested section (``film.dust.*``) or a new key appears in the page
without touching it. Each field gives its dotted key, kind (bool, int, float, str, list, map), the
default of the dataclass, the value the chosen preset resolves to, whether it may be null, its
choices when its help lists them (``auto | dis | raft-small``), and its help text: the field's
``metadata["help"]`` (the convention of :mod:`vidrestore.sections`), else the comment written
after the field in its source.

Values come back from the page as the text a user would type after ``--set key=``, so they are
parsed and checked by the same loader, with the same one-line messages, as the CLI's.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import io
import re
import tokenize
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Union

_CHOICES = re.compile(r"^\s*([A-Za-z0-9_.+-]+(?:\s*\|\s*[A-Za-z0-9_.+-]+)+)")
_KEY_IN_MESSAGE = re.compile(r"^(?:--set '?)?([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)+)[:'= ]", re.IGNORECASE)
_UNKNOWN_KEY = re.compile(r"unknown key '([^']+)'")


def schema(cfg: Any) -> list[dict[str, Any]]:
    """The fields of config instance ``cfg`` (every section, recursively) as JSON-ready entries."""
    out: list[dict[str, Any]] = []
    _walk(type(cfg), cfg, "", out)
    return out


def _walk(cls: type, value: Any, prefix: str, out: list[dict[str, Any]]) -> None:
    hints = typing.get_type_hints(cls)
    comments = source_comments(cls)
    for f in dataclasses.fields(cls):
        key = prefix + f.name
        tp = hints.get(f.name, Any)
        current = getattr(value, f.name)
        if dataclasses.is_dataclass(current) and not isinstance(current, type):
            out.append({"key": key, "kind": "section", "help": _help(f, comments, type(current))})
            _walk(type(current), current, key + ".", out)
            continue
        if not prefix:  # top-level scalars (the preset's name) are not settings
            continue
        kind, nullable = kind_of(tp)
        text = _help(f, comments, None)
        out.append({
            "key": key, "kind": kind, "nullable": nullable, "help": text,
            "default": to_json(_default_of(f)), "value": to_json(current),
            "text": as_text(current), "choices": choices_in(text, current),
        })


def _help(f: dataclasses.Field, comments: Mapping[str, str], section: type | None) -> str:
    text = str(f.metadata.get("help", "")) if f.metadata else ""
    if not text:
        text = comments.get(f.name, "")
    if not text and section is not None and section.__doc__ and not section.__doc__.startswith(section.__name__ + "("):
        text = inspect.cleandoc(section.__doc__).split("\n\n", 1)[0].replace("\n", " ")
    return text


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


@functools.cache
def source_comments(cls: type) -> dict[str, str]:
    """``field name -> the comment after it`` in ``cls``'s source (continuation comment lines that
    start deeper than the field joined on), for sections that carry no ``metadata["help"]``."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    names = {f.name for f in dataclasses.fields(cls)}
    found: dict[str, str] = {}
    last: str | None = None
    field_line = re.compile(r"^\s{4}(\w+)\s*:")
    lines = source.splitlines()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type != tokenize.COMMENT:
            continue
        line = lines[tok.start[0] - 1]
        m = field_line.match(line)
        text = tok.string.lstrip("#").strip()
        if m and m.group(1) in names:
            last = m.group(1)
            found[last] = text
        elif last and line[: tok.start[1]].strip() == "" and tok.string.startswith("#  "):
            found[last] = f"{found[last]} {text}".strip()
        else:
            last = None
    return found


def kind_of(tp: Any) -> tuple[str, bool]:
    """A field's form kind and whether null is allowed."""
    origin = typing.get_origin(tp)
    nullable = False
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(tp))
        tp = args[0] if len(args) == 1 else Any
        origin = typing.get_origin(tp)
    if tp is bool:
        return "bool", nullable
    if tp is int:
        return "int", nullable
    if tp is float:
        return "float", nullable
    if tp is str:
        return "str", nullable
    if origin in (list, tuple):
        return "list", nullable
    if origin is dict or tp is dict:
        return "map", nullable
    return "str", nullable


def choices_in(text: str, current: Any) -> list[str]:
    """``"auto | dis | raft-small"`` at the start of a help text -> its choices (or [])."""
    m = _CHOICES.match(text or "")
    if not m or not isinstance(current, str):
        return []
    options = [c.strip() for c in m.group(1).split("|")]
    return options if current in options else []


def to_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def as_text(value: Any) -> str:
    """The text that, typed after ``--set key=``, gives ``value`` back (YAML flow style)."""
    import yaml

    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        plain = yaml.safe_load(value) == value if value.strip() == value and value else False
        return value if plain and "#" not in value and ": " not in value else _quoted(value)
    return yaml.safe_dump(to_json(value), default_flow_style=True, width=10**9).strip()


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def overrides_from(changes: Mapping[str, str] | Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """Form changes ``{key: typed text}`` -> ``--set`` overrides, in a stable order."""
    items = changes.items() if isinstance(changes, Mapping) else changes
    return tuple(f"{k}={v}" for k, v in sorted(items))


def key_of_message(message: str) -> str | None:
    """The dotted key a config message is about (``film.radius: must be ...`` -> ``film.radius``)."""
    m = _UNKNOWN_KEY.search(message)
    if m:
        return m.group(1)
    m = _KEY_IN_MESSAGE.match(message)
    return m.group(1) if m else None
