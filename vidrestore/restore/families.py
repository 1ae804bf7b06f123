"""The registry list: every restorer family, one line each (see :mod:`vidrestore.restore.registry`).

Importing this module imports each family's module, which is cheap (no torch) and registers the
family's checkpoints with :mod:`vidrestore.weights`, so that ``vidrestore weights list`` shows them.
"""

from __future__ import annotations

from vidrestore.restore.registry import RestorerFamily, import_ref

FAMILIES: tuple[str, ...] = (
    "vidrestore.restore.registry:PASSTHROUGH",
    "vidrestore.restore.gan:FAMILY",
    "vidrestore.restore.diffusion:FAMILY",
    "vidrestore.restore.realcugan:FAMILY",
)

LOADED: tuple[RestorerFamily, ...] = tuple(import_ref(ref) for ref in FAMILIES)
