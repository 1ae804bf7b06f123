"""Output GeoTIFFs of a decloud run, written window by window and moved into place atomically.

Every output is first written as ``OUTDIR/.<name>.partial.tif``; :meth:`OutputSet.commit` renames
all of them at the end, :meth:`OutputSet.abort` removes them. Image outputs copy their input's
profile (CRS, transform, dtype, nodata, band count, block layout, compression), band descriptions,
colour interpretation, scales/offsets, units and tags (dataset and band) unchanged.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidrestore.decloud.series import Grid
from vidrestore.errors import OutputError
from vidrestore.io import safety

logger = logging.getLogger(__name__)

AUX_PROFILE = {"driver": "GTiff", "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate"}


@dataclass
class _Target:
    final: Path
    partial: Path
    profile: dict[str, Any]
    copy_from: Path | None = None  # input whose descriptions/tags/colour interpretation are copied
    tags: dict[str, str] = field(default_factory=dict)
    band_descriptions: tuple[str | None, ...] = ()
    band_tags: list[dict[str, str]] = field(default_factory=list)
    dataset: Any = None


def output_name(path: Path) -> str:
    """The output file name for input ``path``: the same name (GeoTIFF extension kept or given)."""
    return path.name if path.suffix.lower() in (".tif", ".tiff") else path.stem + ".tif"


def check_out_dir(out_dir: Path) -> None:
    """Refuse an output folder that is a symbolic link (checked first, before any analysis speaks)."""
    if Path(out_dir).is_symlink():
        raise OutputError(f"{out_dir}: is a symbolic link; vidrestore never writes through a link "
                          "(give the real folder)")


class OutputSet:
    """A group of GeoTIFFs written together; use as a context manager (aborts on an exception)."""

    def __init__(self, out_dir: Path, *, overwrite: bool, protected: tuple[Path, ...] = ()) -> None:
        self.out_dir = Path(out_dir)
        self.overwrite = overwrite
        self._protected = {p.resolve() for p in protected}
        self._targets: dict[str, _Target] = {}
        self._committed = False

    # -- declaration
    def _check_final(self, final: Path) -> None:
        check_out_dir(self.out_dir)
        if final.resolve() in self._protected:
            raise OutputError(f"{final}: output would overwrite an input; choose another -o folder")
        if final.exists() and not self.overwrite:
            raise OutputError(f"{final}: exists (pass --overwrite to replace it)")
        if self.out_dir.is_dir():
            safety.check_target(final, overwrite=self.overwrite, inputs=tuple(self._protected))
        if final.name in self._targets:
            raise OutputError(f"{final}: two outputs of this run would share this name")

    def add_like(self, key: str, name: str, source: Path, *, grid: Grid | None = None) -> None:
        """An output that copies ``source``'s profile and metadata (``grid`` replaces its georeferencing)."""
        import rasterio

        final = self.out_dir / name
        self._check_final(final)
        with rasterio.open(source) as src:
            profile = dict(src.profile)
            profile["driver"] = "GTiff"
            if grid is not None:
                profile.update(_grid_profile(grid))
        self._targets[key] = _Target(final, self._partial(final), profile, copy_from=source)

    def add_new(self, key: str, name: str, *, grid: Grid, count: int, dtype: str, nodata: float | None,
                tags: dict[str, str] | None = None, descriptions: tuple[str | None, ...] = (),
                like: Path | None = None, band_tags: list[dict[str, str]] | None = None) -> None:
        """An auxiliary output (mask, source date, quality, composite) on ``grid``."""
        final = self.out_dir / name
        self._check_final(final)
        if like is not None:
            import rasterio

            with rasterio.open(like) as src:
                profile = dict(src.profile)
            profile.update(driver="GTiff", count=count, dtype=dtype, nodata=nodata, **_grid_profile(grid))
        else:
            profile = dict(AUX_PROFILE, count=count, dtype=dtype, nodata=nodata, **_grid_profile(grid))
            if grid.width < 256 or grid.height < 256:
                profile.update(tiled=False)
                profile.pop("blockxsize")
                profile.pop("blockysize")
        self._targets[key] = _Target(final, self._partial(final), profile, tags=dict(tags or {}),
                                     band_descriptions=descriptions, band_tags=list(band_tags or []))

    def _partial(self, final: Path) -> Path:
        return safety.temp_path(final, suffix=final.suffix or ".tif")

    @property
    def finals(self) -> list[Path]:
        return [t.final for t in self._targets.values()]

    def has(self, key: str) -> bool:
        return key in self._targets

    def keys(self) -> list[str]:
        return list(self._targets)

    def close_partial(self, key: str) -> Path:
        """Close output ``key``'s partial file (writing is over) and return its path, e.g. to rewrite it as a COG."""
        t = self._targets[key]
        if t.dataset is not None:
            t.dataset.close()
            t.dataset = None
        return t.partial

    # -- writing
    def open(self) -> None:
        import rasterio

        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._lock = safety.OutputLock(self.out_dir / ".decloud").acquire()  # one run per output folder
        for t in self._targets.values():
            safety.clean_stale_temps(t.final)
            os.close(safety.open_new(t.partial))  # claims the name: never a planted link
            safety._register_temp(t.partial)
            t.dataset = rasterio.open(t.partial, "w", **t.profile)
            _copy_metadata(t)

    def write(self, key: str, array: np.ndarray, *, row: int, col: int, bands: list[int] | None = None) -> None:
        """Write ``array`` ((n, h, w) or (h, w)) at pixel ``(row, col)`` into ``bands`` (1-based, default all)."""
        from rasterio.windows import Window

        t = self._targets[key]
        arr = array if array.ndim == 3 else array[None]
        h, w = arr.shape[-2:]
        idx = bands or list(range(1, arr.shape[0] + 1))
        t.dataset.write(arr.astype(t.profile["dtype"], copy=False), indexes=idx, window=Window(col, row, w, h))

    def commit(self) -> list[Path]:
        """Close every output and move it into place; returns the final paths."""
        for t in self._targets.values():
            if t.dataset is not None:
                t.dataset.close()
                t.dataset = None
        for t in self._targets.values():
            safety.place(t.partial, t.final, overwrite=self.overwrite, inputs=tuple(self._protected))
            safety._forget_temp(t.partial)
            side = t.partial.with_name(t.partial.name + ".aux.xml")
            if side.exists():
                safety.place(side, t.final.with_name(t.final.name + ".aux.xml"), overwrite=True,
                             inputs=tuple(self._protected), what="GeoTIFF sidecar")
        self._committed = True
        self._release()
        return self.finals

    def _release(self) -> None:
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.release()
            self._lock = None

    def abort(self) -> None:
        """Close and delete every partial output (nothing half-written stays behind)."""
        self._release()
        for t in self._targets.values():
            if t.dataset is not None:
                try:
                    t.dataset.close()
                except Exception:  # noqa: BLE001 - removing the file is what matters
                    pass
                t.dataset = None
            for p in (t.partial, t.partial.with_name(t.partial.name + ".aux.xml")):
                try:
                    p.unlink()
                except FileNotFoundError:
                    pass
            safety._forget_temp(t.partial)

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None or not self._committed:
            self.abort()


def _grid_profile(grid: Grid) -> dict[str, Any]:
    from rasterio.crs import CRS
    from rasterio.transform import Affine

    return {"crs": CRS.from_wkt(grid.crs_wkt) if grid.crs_wkt else None, "transform": Affine(*grid.transform),
            "width": grid.width, "height": grid.height}


def _copy_metadata(t: _Target) -> None:
    dst = t.dataset
    if t.copy_from is None:
        if t.tags:
            dst.update_tags(**t.tags)
        for i, desc in enumerate(t.band_descriptions[: dst.count]):
            if desc:
                dst.set_band_description(i + 1, desc)
        for i, tags in enumerate(t.band_tags[: dst.count]):
            if tags:
                dst.update_tags(i + 1, **tags)
        return
    import rasterio

    with rasterio.open(t.copy_from) as src:
        tags = src.tags()
        if tags:
            dst.update_tags(**tags)
        for ns in src.tag_namespaces():
            if ns in ("IMAGE_STRUCTURE", "DERIVED_SUBDATASETS") or ns.startswith("xml:"):
                continue
            ns_tags = src.tags(ns=ns)
            if ns_tags:
                dst.update_tags(ns=ns, **ns_tags)
        for b in range(1, min(src.count, dst.count) + 1):
            if src.descriptions[b - 1]:
                dst.set_band_description(b, src.descriptions[b - 1])
            btags = src.tags(b)
            if btags:
                dst.update_tags(b, **btags)
            if src.units[b - 1]:
                dst.set_band_unit(b, src.units[b - 1])
        try:
            dst.colorinterp = src.colorinterp
        except Exception:  # noqa: BLE001 - some interpretations cannot be set on every layout
            logger.debug("%s: colour interpretation not copied", t.final.name)
        if any(s != 1.0 for s in src.scales) or any(o != 0.0 for o in src.offsets):
            dst.scales = src.scales
            dst.offsets = src.offsets
        if src.count == 1:
            try:
                dst.write_colormap(1, src.colormap(1))
            except ValueError:
                pass
