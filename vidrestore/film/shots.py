"""Where the scene-cut memory used to live: it is :mod:`vidrestore.flow.cutmemory` now (beside the detector).

Kept so that code written against the old path (the diffusion restorer, its reach test) still
imports; new code imports from :mod:`vidrestore.flow.cutmemory`.
"""

from __future__ import annotations

from vidrestore.flow.cutmemory import CUT_MEMORY, KnownCuts, WindowedSceneCuts

__all__ = ["CUT_MEMORY", "KnownCuts", "WindowedSceneCuts"]
