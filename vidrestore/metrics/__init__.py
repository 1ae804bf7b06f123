"""Quality metrics for restored video.

* :mod:`~vidrestore.metrics.fidelity`: PSNR and SSIM with BasicSR's conventions (RGB or BT.601 Y,
  ``crop_border``), numpy only.
* :mod:`~vidrestore.metrics.temporal`: warping error and flicker index, with motion from the
  reference via :mod:`vidrestore.flow` (torch).
* :mod:`~vidrestore.metrics.lpips`: LPIPS-alex v0.1 when its weights resolve offline
  (:func:`~vidrestore.metrics.lpips_weights.lpips_status` says why not).
* :mod:`~vidrestore.metrics.evaluate`: pairs two clips frame by frame (``vidrestore eval``);
  :mod:`~vidrestore.metrics.plot` draws its curves; :mod:`~vidrestore.metrics.compare` makes the
  side-by-side / wipe frames and sheets of ``vidrestore compare``.

Only the numpy metrics are imported here; torch-based modules are imported when used.
"""

from vidrestore.metrics.fidelity import psnr, rgb_to_y, ssim

__all__ = ["psnr", "rgb_to_y", "ssim"]
