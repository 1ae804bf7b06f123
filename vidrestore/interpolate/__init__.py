"""Frame interpolation: new frames between the input frames, from RIFE or from bidirectional optical flow.

* :mod:`~vidrestore.interpolate.timing`: where output frames go (exact pts for ``--factor N`` or
  ``--fps F``, VFR kept, how the output ends).
* :mod:`~vidrestore.interpolate.synthesis`: a frame at any t in (0, 1) (softmax-splatted motion,
  quadratic motion, occlusion-aware backward warping, visibility/time blending, optional refinement).
* :mod:`~vidrestore.interpolate.rife`: the RIFE synthesizer (``interpolate.method: rife``): the
  network of :mod:`~vidrestore.interpolate.ifnet` with mirrored passes, any t, and a fallback to
  blending / the nearest frame decided from the two input frames; weights from
  :mod:`~vidrestore.interpolate.rife_weights` (``vidrestore weights import-rife``).
* :mod:`~vidrestore.interpolate.processor`: the streaming ``vidrestore interpolate`` stage, scene
  cuts, the choice of synthesizer (``auto``: RIFE when its weights resolve), the chain with the GAN
  restorer for ``--scale`` and the film stage before it (``--preset film``).

torch is imported lazily inside functions.
"""

from __future__ import annotations

from vidrestore.interpolate.timing import Retimer, Slot, parse_rate

__all__ = ["Retimer", "Slot", "parse_rate"]
