"""Windowed reading of a :class:`~vidrestore.decloud.series.Series` with rasterio.

Conventions: windows are ``(row0, col0, height, width)`` in pixels of the series grid and may reach
outside the raster; what lies outside reads as NaN (float) and as invalid. Image blocks come back as
``(bands, h, w)`` arrays in the file dtype together with a float32 copy in which invalid pixels are
NaN in every band. A pixel is invalid when every band equals that band's nodata value (GDAL's
dataset-mask rule), when a float band is NaN, or when a warp (``--reproject``) has no source for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidrestore.decloud.masks import NODATA, MaskSpec, decode_mask, guess_mask_type, make_mask_spec
from vidrestore.decloud.series import DateEntry, Grid, Series, grid_of
from vidrestore.errors import MediaError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Window:
    """Pixel window ``rows [row, row + height) x cols [col, col + width)`` of the series grid."""

    row: int
    col: int
    height: int
    width: int

    def grow(self, halo: int) -> Window:
        return Window(self.row - halo, self.col - halo, self.height + 2 * halo, self.width + 2 * halo)

    def clip(self, grid: Grid) -> Window:
        r0, c0 = max(self.row, 0), max(self.col, 0)
        r1 = min(self.row + self.height, grid.height)
        c1 = min(self.col + self.width, grid.width)
        return Window(r0, c0, max(r1 - r0, 0), max(c1 - c0, 0))

    def to_rasterio(self) -> Any:
        from rasterio.windows import Window as RioWindow

        return RioWindow(self.col, self.row, self.width, self.height)


def iter_blocks(grid: Grid, size: int) -> list[Window]:
    """Row-major tiling of the grid by ``size`` x ``size`` windows (the last ones smaller)."""
    return [Window(r, c, min(size, grid.height - r), min(size, grid.width - c))
            for r in range(0, grid.height, size) for c in range(0, grid.width, size)]


def _warp_resampling(name: str) -> Any:
    from rasterio.enums import Resampling

    return {"bilinear": Resampling.bilinear, "cubic": Resampling.cubic, "nearest": Resampling.nearest}[name]


class SeriesReader:
    """Open datasets of a series (images and masks) and read aligned windows of any date.

    Use as a context manager; every dataset is opened once. Dates marked ``reproject`` (and
    mask files on another grid than their date) are read through a ``WarpedVRT`` onto the grid.
    """

    def __init__(self, series: Series, *, mask_spec: MaskSpec | None = None, resampling: str = "bilinear",
                 mask_kind: str = "auto", mask_kwargs: dict[str, Any] | None = None) -> None:
        self.series = series
        self.resampling = resampling
        self._datasets: dict[tuple[Path, bool], Any] = {}
        self._masks: dict[Path, Any] = {}
        self._mask_specs: dict[Path, MaskSpec] = {}
        self._fixed_spec = mask_spec
        self._mask_kind = mask_kind
        self._mask_kwargs = dict(mask_kwargs or {})
        self._to_close: list[Any] = []

    # -- lifetime
    def __enter__(self) -> SeriesReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for ds in reversed(self._to_close):
            try:
                ds.close()
            except Exception:  # noqa: BLE001 - closing must not hide the real error
                logger.debug("closing %s failed", ds)
        self._to_close.clear()
        self._datasets.clear()
        self._masks.clear()

    # -- datasets
    def _open(self, path: Path, warp: bool) -> Any:
        key = (path, warp)
        if key not in self._datasets:
            import rasterio
            from rasterio.errors import RasterioIOError

            try:
                ds = rasterio.open(path)
            except RasterioIOError as err:
                raise MediaError(path, f"cannot open ({' '.join(str(err).split())})") from err
            self._to_close.append(ds)
            if warp:
                ds = self._warped(ds, nearest=False)
            self._datasets[key] = ds
        return self._datasets[key]

    def _warped(self, ds: Any, *, nearest: bool) -> Any:
        from rasterio.crs import CRS
        from rasterio.transform import Affine
        from rasterio.vrt import WarpedVRT

        g = self.series.grid
        vrt = WarpedVRT(ds, crs=CRS.from_wkt(g.crs_wkt) if g.crs_wkt else ds.crs,
                        transform=Affine(*g.transform), width=g.width, height=g.height,
                        resampling=_warp_resampling("nearest" if nearest else self.resampling))
        self._to_close.append(vrt)
        return vrt

    def dataset(self, entry: DateEntry, band: int = 0) -> Any:
        ref = entry.bands[band]
        return self._open(ref.path, entry.reproject)

    # -- images
    def read(self, entry: DateEntry, window: Window) -> tuple[np.ndarray, np.ndarray]:
        """``(raw, data)``: the window in the file dtype and as float32 with NaN where invalid."""
        nb = len(entry.bands)
        dtype = np.dtype(self.series.dtype)
        raw = np.zeros((nb, window.height, window.width), dtype)
        inside = window.clip(self.series.grid)
        valid = np.zeros((window.height, window.width), bool)
        if inside.height and inside.width:
            r0, c0 = inside.row - window.row, inside.col - window.col
            sl = (slice(r0, r0 + inside.height), slice(c0, c0 + inside.width))
            block = self._read_bands(entry, inside)
            raw[(slice(None), *sl)] = block
            valid[sl] = self._valid(entry, block, inside)
        data = raw.astype(np.float32)
        data[:, ~valid] = np.nan
        if dtype.kind == "f":
            nan_any = np.isnan(raw).any(axis=0)
            data[:, nan_any] = np.nan
        return raw, data

    def _read_bands(self, entry: DateEntry, win: Window) -> np.ndarray:
        by_file: dict[Path, list[tuple[int, int]]] = {}
        for i, ref in enumerate(entry.bands):
            by_file.setdefault(ref.path, []).append((i, ref.band))
        out = np.empty((len(entry.bands), win.height, win.width), np.dtype(self.series.dtype))
        for path, pairs in by_file.items():
            ds = self._open(path, entry.reproject)
            try:
                arr = ds.read([b for _, b in pairs], window=win.to_rasterio())
            except Exception as err:  # rasterio raises several types for corrupt blocks
                raise MediaError(path, f"read failed at rows {win.row}..{win.row + win.height} "
                                       f"({' '.join(str(err).split())})") from err
            for k, (i, _) in enumerate(pairs):
                out[i] = arr[k]
        return out

    def _valid(self, entry: DateEntry, block: np.ndarray, win: Window) -> np.ndarray:
        if entry.reproject:
            # the warp knows which pixels had a source; combine the bands' masks like GDAL does
            valid = np.zeros(block.shape[1:], bool)
            for ref in entry.bands:
                ds = self._open(ref.path, True)
                valid |= ds.read_masks(ref.band, window=win.to_rasterio()) > 0
            return valid
        invalid = np.ones(block.shape[1:], bool)
        has_nodata = False
        for i, nd in enumerate(self.series.nodata):
            if nd is None:
                invalid &= False
                continue
            has_nodata = True
            if np.isnan(nd):
                invalid &= np.isnan(block[i])
            else:
                invalid &= block[i] == np.asarray(nd).astype(block.dtype)
        return ~invalid if has_nodata else np.ones(block.shape[1:], bool)

    # -- masks
    def mask_spec(self, path: Path, dtype: str) -> MaskSpec:
        if self._fixed_spec is not None:
            return self._fixed_spec
        if path not in self._mask_specs:
            kind = self._mask_kind if self._mask_kind != "auto" else guess_mask_type(path, dtype)
            self._mask_specs[path] = make_mask_spec(kind, **self._mask_kwargs)
            logger.info("%s: mask read as %s", path.name, self._mask_specs[path].describe())
        return self._mask_specs[path]

    def read_mask(self, entry: DateEntry, window: Window) -> np.ndarray | None:
        """Classes (uint8, CLEAR/CLOUD/SHADOW/NODATA) of the date's mask file over the window, or None."""
        if entry.mask is None:
            return None
        path = entry.mask.path
        if path not in self._masks:
            import rasterio
            from rasterio.errors import RasterioIOError

            try:
                ds = rasterio.open(path)
            except RasterioIOError as err:
                raise MediaError(path, f"cannot open mask ({' '.join(str(err).split())})") from err
            self._to_close.append(ds)
            if entry.mask.band > ds.count:
                raise MediaError(path, f"mask has {ds.count} band(s), date {entry.name} needs band {entry.mask.band}")
            if self.series.grid.mismatch(grid_of(ds)) is not None:
                logger.info("%s: mask on another grid, resampled (nearest) onto the series grid", path.name)
                ds = self._warped(ds, nearest=True)
            self._masks[path] = ds
        ds = self._masks[path]
        spec = self.mask_spec(path, ds.dtypes[entry.mask.band - 1])
        out = np.full((window.height, window.width), NODATA, np.uint8)
        inside = window.clip(self.series.grid)
        if inside.height and inside.width:
            vals = ds.read(entry.mask.band, window=inside.to_rasterio())
            r0, c0 = inside.row - window.row, inside.col - window.col
            out[r0:r0 + inside.height, c0:c0 + inside.width] = decode_mask(
                vals, spec, file_dtype=np.dtype(ds.dtypes[entry.mask.band - 1]))
        return out

    def read_overview(self, entry: DateEntry, shape: tuple[int, int]) -> np.ndarray:
        """The whole date decimated to ``shape`` (h, w) by averaging, float32 with NaN where invalid."""
        from rasterio.enums import Resampling

        nb = len(entry.bands)
        out = np.empty((nb, *shape), np.float32)
        valid = np.zeros(shape, bool)
        by_file: dict[Path, list[tuple[int, int]]] = {}
        for i, ref in enumerate(entry.bands):
            by_file.setdefault(ref.path, []).append((i, ref.band))
        for path, pairs in by_file.items():
            ds = self._open(path, entry.reproject)
            arr = ds.read([b for _, b in pairs], out_shape=(len(pairs), *shape), resampling=Resampling.average,
                          masked=True)
            for k, (i, _) in enumerate(pairs):
                out[i] = np.asarray(arr.data[k], np.float32)
            m = np.ma.getmaskarray(arr)
            valid |= ~m.all(axis=0)
        out[:, ~valid] = np.nan
        return out

    def read_mask_overview(self, entry: DateEntry, shape: tuple[int, int]) -> np.ndarray | None:
        """Mask classes decimated to ``shape`` (nearest), or None without a mask file."""
        if entry.mask is None:
            return None
        from rasterio.enums import Resampling

        self.read_mask(entry, Window(0, 0, 1, 1))  # opens (and warps) the dataset
        ds = self._masks[entry.mask.path]
        spec = self.mask_spec(entry.mask.path, ds.dtypes[entry.mask.band - 1])
        vals = ds.read(entry.mask.band, out_shape=shape, resampling=Resampling.nearest)
        return decode_mask(vals, spec, file_dtype=np.dtype(ds.dtypes[entry.mask.band - 1]))
