"""Deprecated location of the stage contract, kept for one release: import from :mod:`vidrestore.stage`.

Nothing inside vidrestore imports this module; it only re-exports the names code outside the
package may still use.
"""

from __future__ import annotations

from vidrestore.stage import (
    FrameProcessor,
    Passthrough,
    ProcessorStats,
    Segmentable,
    segment_reach,
)
from vidrestore.types import OutputSpec

__all__ = ["FrameProcessor", "OutputSpec", "Passthrough", "ProcessorStats", "Segmentable", "segment_reach"]
