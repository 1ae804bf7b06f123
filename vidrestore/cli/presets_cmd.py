"""``vidrestore presets``: list the presets in configs/ with one line each;
``vidrestore presets show NAME``: every key of the preset's resolved config, its value, default and help."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("presets", parents=[common], help="list presets, or show one with every key",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", nargs="?", choices=("show",), help="show: print the resolved config of NAME")
    p.add_argument("name", nargs="?", metavar="NAME", help="preset name (see 'vidrestore presets')")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="with show: override one config key first, as a job would (repeatable)")
    p.add_argument("--changed", action="store_true", help="with show: only the keys that differ from the defaults")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidrestore.config import list_presets
    from vidrestore.errors import ConfigError

    if args.action == "show":
        if not args.name:
            raise ConfigError("presets show: name a preset, e.g. vidrestore presets show film")
        return _show(args.name, args.overrides, changed_only=args.changed)
    if args.name or args.overrides or args.changed:
        raise ConfigError("presets: NAME, --set and --changed go with 'show', e.g. vidrestore presets show film")
    presets = list_presets()
    width = max((len(n) for n in presets), default=0)
    for name, (_path, desc) in presets.items():
        print(f"{name:<{width}}  {desc}")
    return 0


def _show(name: str, overrides: list[str], *, changed_only: bool) -> int:
    """Prints ``KEY = VALUE`` per key (``*`` where it differs from the default, with the default),
    then the key's help on the same line."""
    from vidrestore.config import key_rows, list_presets, load_config

    cfg = load_config(preset=name, overrides=overrides)
    path, desc = list_presets()[name]
    print(f"# {name} ({path}): {desc}")
    print("# * = differs from the default (shown in brackets); the preset file states only those")
    rows = [r for r in key_rows(cfg) if not changed_only or r.value != r.default]
    width = max((len(r.key) + len(_text(r.value)) for r in rows), default=0) + 3
    for r in rows:
        mark = "*" if r.value != r.default else " "
        setting = f"{r.key} = {_text(r.value)}"
        default = f" [{_text(r.default)}]" if r.value != r.default else ""
        print(f"{mark} {setting:<{width}}  # {r.help}{default}".rstrip())
    return 0


def _text(value: Any) -> str:
    """A value as YAML would read it back (null, true, quoted empty strings, flow lists and maps)."""
    if value is None or isinstance(value, (bool, tuple, list, dict)) or value == "":
        return json.dumps(list(value) if isinstance(value, tuple) else value)
    return str(value)
