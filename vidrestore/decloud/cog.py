"""Cloud-Optimized GeoTIFF outputs (``--cog``) and a validator for them.

The outputs are written block by block as ordinary tiled GeoTIFFs; with ``decloud.output.cog`` each image
output is then rewritten by GDAL's COG driver (through rasterio) before it is moved into place:
internal 512 px tiles, overviews down to one tile, the IFDs of the full image and its overviews at
the head of the file, then the tile data smallest overview first, so a GIS client reading over HTTP
gets the header and a coarse view in a few ranged reads. Profile (CRS, transform, dtype, nodata),
band descriptions, tags and compression of the input are kept.

:func:`validate_cog` checks a file the way GDAL's COG validation script does (tiling, overviews
where the image is larger than a tile, IFDs before data, overview data before full-resolution data),
by reading the TIFF structure itself.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vidrestore.io import safety

COG_BLOCK = 512


def _compression(ds: Any) -> str:
    comp = ds.compression.name.upper() if ds.compression is not None else "NONE"
    return {"NONE": "NONE", "DEFLATE": "DEFLATE", "LZW": "LZW", "ZSTD": "ZSTD", "PACKBITS": "NONE",
            "JPEG": "JPEG", "WEBP": "WEBP", "LERC": "LERC"}.get(comp, "DEFLATE")


def to_cog(src: Path, dst: Path, *, resampling: str = "average") -> None:
    """Rewrite GeoTIFF ``src`` as a COG at ``dst`` (same pixels, profile and metadata)."""
    import rasterio
    from rasterio.shutil import copy as rio_copy

    with rasterio.open(src) as ds:
        nearest = ds.dtypes[0] in ("uint8", "int8") and ds.count == 1 or ds.colorinterp[0].name == "palette"
        opts = dict(BLOCKSIZE=COG_BLOCK, COMPRESS=_compression(ds), OVERVIEWS="AUTO",
                    RESAMPLING="NEAREST" if nearest else resampling.upper(), BIGTIFF="IF_SAFER",
                    NUM_THREADS="1")
        if ds.compression is not None and ds.compression.name.upper() in ("DEFLATE", "LZW", "ZSTD"):
            opts["PREDICTOR"] = "YES" if ds.dtypes[0].startswith("float") else "STANDARD"
        rio_copy(ds, str(dst), driver="COG", **opts)


def make_cogs(outputs: Any, keys: Iterable[str]) -> None:
    """Turn the partial files of ``outputs`` (an :class:`~vidrestore.decloud.output.OutputSet`) named by
    ``keys`` into COGs in place; they are then committed (renamed) like any other output."""
    for key in keys:
        partial = outputs.close_partial(key)
        tmp = partial.with_name(partial.stem + ".cog" + partial.suffix)  # in this run's temp namespace
        tmp.unlink(missing_ok=True)  # a leftover or planted link there is removed, never written through
        try:
            to_cog(partial, tmp)
            safety.place(tmp, partial, overwrite=True, what="cloud-optimised GeoTIFF")
        finally:
            tmp.unlink(missing_ok=True)
        side = partial.with_name(partial.name + ".aux.xml")
        if side.exists():  # the COG holds the statistics/metadata itself
            side.unlink()


# --------------------------------------------------------------------------- validation

_TAG_TILE_WIDTH, _TAG_TILE_OFFSETS, _TAG_STRIP_OFFSETS, _TAG_SUBFILE = 322, 324, 273, 254


def _ifds(path: Path) -> list[tuple[int, dict[int, list[int]]]]:
    """(offset, {tag: values}) of every IFD of a classic or Big TIFF, in chain order (integer tags only)."""
    with open(path, "rb") as f:
        data = f.read()
    e = "<" if data[:2] == b"II" else ">"
    magic = struct.unpack(e + "H", data[2:4])[0]
    big = magic == 43
    if big:
        off = struct.unpack(e + "Q", data[8:16])[0]
        cnt_fmt, cnt_sz, ent_sz, nxt_fmt = "Q", 8, 20, "Q"
    else:
        off = struct.unpack(e + "I", data[4:8])[0]
        cnt_fmt, cnt_sz, ent_sz, nxt_fmt = "H", 2, 12, "I"
    sizes = {1: ("B", 1), 3: ("H", 2), 4: ("I", 4), 16: ("Q", 8), 13: ("I", 4), 18: ("Q", 8)}
    out = []
    seen = set()
    while off and off not in seen and off < len(data):
        seen.add(off)
        n = struct.unpack(e + cnt_fmt, data[off:off + cnt_sz])[0]
        tags: dict[int, list[int]] = {}
        for i in range(n):
            p = off + cnt_sz + i * ent_sz
            if big:
                tag, typ, count = struct.unpack(e + "HHQ", data[p:p + 12])
                vfield, vlen = p + 12, 8
            else:
                tag, typ, count = struct.unpack(e + "HHI", data[p:p + 8])
                vfield, vlen = p + 8, 4
            if typ not in sizes:
                continue
            fmt, sz = sizes[typ]
            where = vfield if count * sz <= vlen else struct.unpack(e + ("Q" if big else "I"),
                                                                     data[vfield:vfield + vlen])[0]
            tags[tag] = list(struct.unpack(e + fmt * count, data[where:where + count * sz]))
        out.append((off, tags))
        p = off + cnt_sz + n * ent_sz
        off = struct.unpack(e + nxt_fmt, data[p:p + (8 if big else 4)])[0]
    return out


def validate_cog(path: str | Path) -> list[str]:
    """Problems that keep ``path`` from being a valid COG (empty list when it is one)."""
    import rasterio

    path = Path(path)
    errors: list[str] = []
    with rasterio.open(path) as ds:
        if ds.driver != "GTiff":
            return [f"{path.name}: driver {ds.driver}, not a GeoTIFF"]
        bw, bh = ds.block_shapes[0][1], ds.block_shapes[0][0]
        if (bw == ds.width and ds.width > COG_BLOCK) or bh == 1 or (bh != bw and ds.height > bh):
            errors.append(f"{path.name}: not tiled (blocks {bw}x{bh})")
        if max(ds.width, ds.height) > max(bw, bh) and not ds.overviews(1):
            errors.append(f"{path.name}: {ds.width}x{ds.height} larger than a tile but no overviews")
        layout = ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT", "")
        if layout.upper() != "COG":
            errors.append(f"{path.name}: no LAYOUT=COG structure hint")
    ifds = _ifds(path)
    offsets = [o for o, _ in ifds]
    main = [t for _, t in ifds if not (t.get(_TAG_SUBFILE, [0])[0] & 1)]  # full-resolution (and its mask)
    if offsets != sorted(offsets):
        errors.append(f"{path.name}: IFDs are not in increasing file order")
    first_data = min((min(t.get(_TAG_TILE_OFFSETS) or t.get(_TAG_STRIP_OFFSETS) or [1 << 62]) for _, t in ifds),
                     default=0)
    if offsets and max(offsets) > first_data:
        errors.append(f"{path.name}: an IFD lies after tile data (header not at the start)")
    if len(ifds) > 1 and main:
        main_first = min(main[0].get(_TAG_TILE_OFFSETS) or [0])
        ovr_first = [min(t.get(_TAG_TILE_OFFSETS) or [0]) for _, t in ifds if t.get(_TAG_SUBFILE, [0])[0] & 1]
        if ovr_first and main_first < max(ovr_first):
            errors.append(f"{path.name}: full-resolution data precedes overview data")
    if _TAG_TILE_WIDTH not in (ifds[0][1] if ifds else {}):
        errors.append(f"{path.name}: the first IFD is not tiled")
    return errors


__all__ = ["make_cogs", "to_cog", "validate_cog", "COG_BLOCK"]
