"""One tile of a decloud run, computed alone: what the resumable tiled job (:mod:`vidrestore.jobs.tiles`)
hands to a process, in any order, on any host.

A tile is one block of the run's block grid (:func:`~vidrestore.decloud.engine.block_grid`): the
engine computes every block alone from the block plus a halo that covers co-registration shifts,
shadow search, mask buffers and regression/inpainting windows, after a plan made once on overviews.
So a tile computed anywhere holds exactly the values one uninterrupted run writes there. This module
needs only decloud's own section and the inpainter the run was given; the manifest, resume and Ray
orchestration around it live in layer 6 (:mod:`vidrestore.jobs.tiles`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vidrestore.decloud.engine import DateStats, mask_kwargs, process_block
from vidrestore.decloud.raster import Window
from vidrestore.io import safety

if TYPE_CHECKING:
    from vidrestore.decloud.config import DecloudConfig
    from vidrestore.restore.registry import MaskedInpainter

COUNTS = ("valid", "cloud", "shadow", "filled_both", "filled_one", "inpainted", "unfilled", "pixels", "changed_file",
          "changed_detected", "changed_both", "masked_file", "masked_detected", "masked_both")


class TileSink:
    """Collects what one tile writes (the :meth:`OutputSet.write` calls) and stores it in one .npz."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, np.ndarray, int, int, list[int] | None]] = []

    def write(self, key: str, array: np.ndarray, *, row: int, col: int, bands: list[int] | None = None) -> None:
        self.writes.append((key, np.array(array, copy=True), row, col, list(bands) if bands else None))

    def save(self, path: Path) -> str:
        """Write atomically (temporary name, fsync, rename); returns the file's sha256."""
        index = [{"key": k, "row": r, "col": c, "bands": b} for k, _, r, c, b in self.writes]
        arrays = {f"a{i:05d}": a for i, (_, a, _, _, _) in enumerate(self.writes)}
        buf = io.BytesIO()
        np.savez(buf, index=np.array(json.dumps(index)), **arrays)
        data = buf.getvalue()
        safety.atomic_write(path, data, overwrite=True, what="tile")
        return hashlib.sha256(data).hexdigest()

    @staticmethod
    def replay(path: Path, outputs: Any) -> None:
        """Write a stored tile into ``outputs``."""
        with np.load(path, allow_pickle=False) as z:
            for i, entry in enumerate(json.loads(str(z["index"]))):
                outputs.write(entry["key"], z[f"a{i:05d}"], row=entry["row"], col=entry["col"], bands=entry["bands"])


@dataclass(frozen=True)
class TileTask:
    """One tile to compute (picklable: travels to Ray workers)."""

    id: int
    window: Window
    halo: int
    fill_h: int
    path: str


@dataclass(frozen=True)
class TileResult:
    id: int
    sha256: str
    bytes: int
    seconds: float
    counts: list[dict[str, int]]  # per date, COUNTS
    host: str
    pid: int
    extra: dict[str, Any] = field(default_factory=dict)


def compute_tile(task: TileTask, *, plan: Any, reader: Any, dc: DecloudConfig,
                 inpainter: MaskedInpainter | None) -> TileResult:
    """Compute one tile into its file (the engine's block code, writing into a :class:`TileSink`)."""
    t0 = time.perf_counter()
    stats = [DateStats(name=e.name, date="") for e in plan.series.dates]
    sink = TileSink()
    process_block(plan, reader, dc, inpainter, sink, stats, task.window, task.halo, task.fill_h)
    path = Path(task.path)
    digest = sink.save(path)
    counts = [{k: int(getattr(s, k)) for k in COUNTS} for s in stats]
    return TileResult(id=task.id, sha256=digest, bytes=path.stat().st_size, seconds=round(time.perf_counter() - t0, 3),
                      counts=counts, host=socket.gethostname(), pid=os.getpid())


def compute_tile_alone(task: TileTask, *, plan: Any, dc: DecloudConfig,
                       inpainter: MaskedInpainter | None) -> TileResult:
    """:func:`compute_tile` in a process of its own: it opens its own readers (open files never travel)."""
    import rasterio

    from vidrestore.decloud.raster import SeriesReader

    with rasterio.Env(GDAL_CACHEMAX=dc.gdal_cache_mb), \
            SeriesReader(plan.series, resampling=dc.input.resampling, mask_kind=dc.mask_type,
                         mask_kwargs=mask_kwargs(dc)) as reader:
        return compute_tile(task, plan=plan, reader=reader, dc=dc, inpainter=inpainter)


def plan_digest(plan: Any, windows: Sequence[Window], halo: int) -> str:
    """sha256 of what the tiles depend on besides the pixels: alignment, gains, classes, grid."""
    h = hashlib.sha256()
    h.update(json.dumps({"shifts": [[float(s.dx), float(s.dy)] for s in plan.shifts], "ref": plan.ref,
                         "use_detection": [bool(u) for u in plan.use_detection], "scale": plan.scale,
                         "azimuths": [None if a is None else float(a) for a in plan.azimuths],
                         "halo": halo, "windows": [[w.row, w.col, w.height, w.width] for w in windows],
                         "detector": getattr(plan, "detector", "spectral")},
                        sort_keys=True).encode())
    for arr in (plan.gains, plan.ov_classes, plan.ov):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()
