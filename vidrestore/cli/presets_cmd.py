"""``vidrestore presets``: list the presets in configs/ with one line each."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("presets", parents=[common], help="list presets", description=__doc__)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidrestore.config import list_presets

    presets = list_presets()
    width = max((len(n) for n in presets), default=0)
    for name, (_path, desc) in presets.items():
        print(f"{name:<{width}}  {desc}")
    return 0
