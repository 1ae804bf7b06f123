"""What the film stage counts and times in a run: the ``stats()`` a run reports (per frame, per step).

The counts say what the stage did to the material (dust regions and pixels, scratch pixels,
re-validated neighbour pixels, noise level); the seconds say where the time went, step by step,
so a slow run names its slow step. Both start from zero with each :meth:`FilmProcessor.process`
call (a segment reports its own).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

#: The steps the stage times (``stage_seconds`` and ``stage_share`` of the stats, in this order).
STAGES = ("flow", "deflicker", "align", "dust", "scratch", "repair", "denoise", "regrain", "convert", "masks")

_COUNTS = ("frames", "dust_pixels", "dust_regions", "dust_frames", "scratch_pixels", "scratch_frames",
           "rejected_large", "neighbour_weight", "noise_sum", "inpainted_frames", "rescued_pixels")


class FilmStats:
    """Counts and seconds of one run of the film stage."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self.counts: dict[str, Any] = {k: 0.0 if k in ("neighbour_weight", "noise_sum") else 0 for k in _COUNTS}

    def timed(self, stage: str, t0: float) -> float:
        """Add the time since ``t0`` to ``stage``; returns now (the next step's ``t0``)."""
        now = time.perf_counter()
        self.seconds[stage] += now - t0
        return now

    def add(self, key: str, value: float) -> None:
        self.counts[key] += value

    def count_masks(self, dust: np.ndarray, scratch: np.ndarray) -> None:
        """One more frame out, with its final dust and scratch masks."""
        c = self.counts
        c["frames"] += 1
        nd, ns = int(dust.sum()), int(scratch.sum())
        c["dust_pixels"] += nd
        c["scratch_pixels"] += ns
        c["dust_frames"] += int(nd > 0)
        c["scratch_frames"] += int(ns > 0)

    def summary(self, *, flow_seconds: float, cache: dict[str, Any], second: dict[str, Any] | None) -> dict[str, Any]:
        """The stats of the run: the flow cache's, then per-frame means and the time per step (``second``: the
        second dust pass's own summary, whose time counts as one step)."""
        c = self.counts
        n = max(c["frames"], 1)
        self.seconds["flow"] = flow_seconds
        seconds = dict(self.seconds)
        if second is not None:
            seconds["second_pass"] = second["film_seconds"]
        total = sum(seconds.values())
        out: dict[str, Any] = dict(cache)
        out.update({
            "film_frames": c["frames"],
            "dust_regions_per_frame": round(c["dust_regions"] / n, 3),
            "dust_pixels_per_frame": round(c["dust_pixels"] / n, 1),
            "frames_with_dust": c["dust_frames"],
            "frames_with_scratches": c["scratch_frames"],
            "scratch_pixels_per_frame": round(c["scratch_pixels"] / n, 1),
            "large_regions_rejected": c["rejected_large"],
            "rescued_pixels_per_frame": round(c["rescued_pixels"] / n, 1),
            "mean_neighbour_weight": round(c["neighbour_weight"] / n, 3),
            "mean_noise_sigma_8bit": round(255.0 * c["noise_sum"] / n, 2),
            "film_seconds": round(total, 3),
            "stage_seconds": {k: round(v, 3) for k, v in seconds.items()},
            "stage_share": {k: round(v / total, 3) if total > 0 else 0.0 for k, v in seconds.items()},
        })
        if second is not None:
            out["second_pass_regions_per_frame"] = second["dust_regions_per_frame"]
        return out
