"""STAC Items: one per output date (``decloud.output.stac``), and STAC Item JSON files accepted as input.

Output: ``<stem>.stac.json`` beside each output date, a STAC 1.x Item (pystac) whose assets are the
declouded image file(s) (role ``data``), its mask (``data-mask``: 0 clear, 1 cloud, 2 shadow, 255 no
data), quality and source-date rasters (``metadata``), with the date's acquisition time, footprint in
WGS84, projection fields, ``eo:cloud_cover`` as found before filling, and ``decloud:*`` counts of
what was replaced and why. Hrefs are relative, so the folder can be moved or served as it is.

Input: a local STAC Item JSON names one acquisition: its ``data`` assets (one multi-band file, or
one file per band, ordered as ``eo:bands``/asset keys) are the date's bands, its datetime the
date, and an asset with role/key cloud, data-mask, qa_pixel, cmask, scl or fmask its mask file.
Only local hrefs are read (relative to the JSON, or ``file://``); a remote href is refused by name.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from typing import Any

from vidrestore.errors import MediaError
from vidrestore.io import safety

logger = logging.getLogger(__name__)

MASK_KEYS = ("qa_pixel", "cmask", "scl", "fmask", "cloud", "clm", "mask", "data-mask")
STAC_SUFFIX = ".stac.json"
PROJECTION_SCHEMA = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
EO_SCHEMA = "https://stac-extensions.github.io/eo/v1.1.0/schema.json"


# --------------------------------------------------------------------------- output


def _footprint(grid: Any) -> tuple[list[float] | None, dict[str, Any] | None]:
    """(bbox, GeoJSON polygon) in WGS84 of a :class:`~vidrestore.decloud.series.Grid` (None without CRS)."""
    if not grid.crs_wkt:
        return None, None
    from rasterio.crs import CRS
    from rasterio.transform import Affine, array_bounds
    from rasterio.warp import transform_bounds

    west, south, east, north = array_bounds(grid.height, grid.width, Affine(*grid.transform))
    w, s, e, n = transform_bounds(CRS.from_wkt(grid.crs_wkt), "EPSG:4326", west, south, east, north, densify_pts=21)
    poly = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    return [w, s, e, n], poly


def _epsg(grid: Any) -> int | None:
    if not grid.crs_wkt:
        return None
    from rasterio.crs import CRS

    return CRS.from_wkt(grid.crs_wkt).to_epsg()


def item_for_date(out_dir: Path, series: Any, t: int, st: Any, dc: Any) -> Any:
    """The pystac Item of output date ``t`` (assets relative to ``out_dir``)."""
    import pystac

    from vidrestore.decloud.output import output_name

    e = series.dates[t]
    bbox, geom = _footprint(series.grid)
    item_id = item_ids(series)[t]
    dt = e.date if e.date.tzinfo else e.date.replace(tzinfo=timezone.utc)
    props: dict[str, Any] = {
        "decloud:status": st.status, "decloud:valid_px": st.valid, "decloud:cloud_px": st.cloud,
        "decloud:shadow_px": st.shadow, "decloud:changed_px": st.changed,
        "decloud:changed_by": {"mask file": st.changed_file, "detector": st.changed_detected,
                               "both": st.changed_both},
        "decloud:mask_source": st.mask_source,
    }
    if st.valid:
        props["eo:cloud_cover"] = round(100.0 * (st.cloud + st.shadow) / st.valid, 3)
    epsg = _epsg(series.grid)
    props.update({"proj:code": f"EPSG:{epsg}" if epsg else None, "proj:shape": [series.grid.height, series.grid.width],
                  "proj:transform": list(series.grid.transform)})
    if epsg is None and series.grid.crs_wkt:
        props["proj:wkt2"] = series.grid.crs_wkt
    item = pystac.Item(id=item_id, geometry=geom, bbox=bbox, datetime=dt, properties=props,
                       stac_extensions=[PROJECTION_SCHEMA] + ([EO_SCHEMA] if "eo:cloud_cover" in props else []))
    files: list[Path] = []
    for b in e.bands:
        if b.path not in files:
            files.append(b.path)
    if not dc.dry_run:
        for p in files:
            key = "data" if len(files) == 1 else Path(output_name(p)).stem
            item.add_asset(key, pystac.Asset(href=output_name(p), media_type=pystac.MediaType.COG if dc.output.cog
                                             else pystac.MediaType.GEOTIFF, roles=["data"],
                                             title=f"declouded {e.name}"))
    aux = [("mask", f"{e.aux_stem}{dc.output.mask_suffix}.tif", ["data-mask", "metadata"],
            "0 clear, 1 cloud, 2 cloud shadow, 255 no data", True)]
    aux.append(("quality", f"{e.aux_stem}_quality.tif", ["metadata", "quality"],
                "0 clear, 1 filled from both sides in time, 2 one side, 3 inpainted, 4 unfilled, 255 no data",
                dc.output.write_quality and not dc.dry_run))
    aux.append(("source", f"{e.aux_stem}_source.tif", ["metadata", "date"], "acquisition date (YYYYMMDD) "
                "a filled pixel came from", dc.output.write_source and not dc.dry_run))
    for key, name, roles, desc, present in aux:
        if present:
            item.add_asset(key, pystac.Asset(href=name, media_type=pystac.MediaType.GEOTIFF, roles=roles,
                                             description=desc))
    return item


def item_ids(series: Any) -> list[str]:
    """The id (and file stem) of each date's Item: its output's stem, plus the date for a stack."""
    return [e.aux_stem if series.aux_count == 1 else f"{e.aux_stem}_{e.date:%Y%m%dT%H%M%S}" for e in series.dates]


def item_paths(out_dir: Path, series: Any) -> list[Path]:
    return [out_dir / f"{i}{STAC_SUFFIX}" for i in item_ids(series)]


def write_items(out_dir: Path, series: Any, stats: list[Any], dc: Any, *, overwrite: bool) -> list[Path]:
    """Write ``<item id>.stac.json`` for every date (atomically); returns their paths."""
    out: list[Path] = []
    for t, st in enumerate(stats):
        item = item_for_date(out_dir, series, t, st, dc)
        path = out_dir / f"{item.id}{STAC_SUFFIX}"
        safety.atomic_write(path, json.dumps(item.to_dict(include_self_link=False, transform_hrefs=False),
                                             indent=2) + "\n", overwrite=overwrite, what="STAC Item")
        out.append(path)
    return out


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class StacDate:
    """What one input STAC Item names: its id, acquisition time, band files and optional mask file."""

    id: str
    datetime: Any
    bands: tuple[tuple[Path, int], ...]  # (file, 1-based band)
    band_names: tuple[str, ...]
    mask: Path | None


def _local(href: str, base: Path, item_path: Path) -> Path:
    if href.startswith("file://"):
        href = href[len("file://"):]
    if "://" in href:
        raise MediaError(item_path, f"asset href {href!r} is not a local file (only local STAC items are read)")
    p = Path(href)
    p = p if p.is_absolute() else base / p
    if not p.is_file():
        raise MediaError(item_path, f"asset {href!r} does not exist ({p})")
    return p


def read_item(path: Path) -> StacDate:
    """The acquisition a local STAC Item JSON describes (see the module docstring)."""
    import pystac

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        item = pystac.Item.from_dict(doc, migrate=True)
    except (ValueError, KeyError, TypeError) as err:
        raise MediaError(path, f"not a STAC Item JSON ({err})") from err
    dt = item.datetime or (item.common_metadata.start_datetime if item.common_metadata else None)
    if dt is None:
        raise MediaError(path, "STAC Item has no datetime")
    base = path.parent
    data, mask = [], None
    for key, asset in item.assets.items():
        roles = [r.lower() for r in (asset.roles or [])]
        k = key.lower()
        if mask is None and (k in MASK_KEYS or "data-mask" in roles or "cloud" in roles):
            mask = _local(asset.href, base, path)
        elif "data" in roles or (not roles and (asset.media_type or "").startswith("image/tiff")):
            data.append((key, asset))
    if not data:
        raise MediaError(path, "STAC Item has no data asset (an asset with role 'data')")
    bands: list[tuple[Path, int]] = []
    names: list[str] = []
    for key, asset in data:
        p = _local(asset.href, base, path)
        eo = asset.extra_fields.get("eo:bands") or asset.extra_fields.get("bands") or []
        if len(data) == 1:
            import rasterio

            with rasterio.open(p) as ds:
                count, descs = ds.count, ds.descriptions
            for b in range(count):
                bands.append((p, b + 1))
                names.append(str((eo[b].get("common_name") or eo[b].get("name")) if b < len(eo)
                                 else descs[b] or b + 1))
        else:
            bands.append((p, 1))
            names.append(str((eo[0].get("common_name") or eo[0].get("name")) if eo else key))
    naive = dt.astimezone(timezone.utc).replace(tzinfo=None) if dt.tzinfo else dt
    return StacDate(id=item.id, datetime=naive, bands=tuple(bands), band_names=tuple(names), mask=mask)


def is_stac_item(path: Path) -> bool:
    return path.suffix.lower() == ".json" and path.is_file()


__all__ = ["write_items", "item_for_date", "read_item", "StacDate", "is_stac_item", "STAC_SUFFIX"]
