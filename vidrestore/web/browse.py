"""Pick: what the roots hold that vidrestore can read, and the ``probe`` facts of one item.

Folders are listed one level at a time (an archive can hold millions of frames, so a folder of
numbered images is shown as one *image sequence*, with its count, never file by file). Kinds:
``video`` (a container FFmpeg reads), ``images`` (a folder of numbered frames), ``geotiff`` (one
raster) and ``geoseries`` (a folder of GeoTIFFs: a decloud input), ``yaml`` (a config file),
``folder``. Probing uses the CLI's own ``probe``; a file it cannot read gives the CLI's one-line
message, shown in the page.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

from vidrestore.web.security import Roots

VIDEO_EXTS = {".mp4", ".m4v", ".mkv", ".mov", ".webm", ".avi", ".nut", ".mxf", ".ts", ".mts", ".m2ts", ".mpg",
              ".mpeg", ".gif", ".ogv", ".wmv", ".flv", ".3gp"}
RASTER_EXTS = {".tif", ".tiff"}
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".dpx", ".tif", ".tiff", ".exr", ".bmp"}
_DATE = re.compile(r"(19|20)\d{2}[-_]?[01]\d[-_]?[0-3]\d|(19|20)\d{2}[0-3]\d{2}")
MAX_ENTRIES = 2000


def list_roots(roots: Roots) -> list[dict[str, Any]]:
    return [{"name": r.name, "ref": r.name, "kind": "folder"} for r in roots.roots]


def list_folder(roots: Roots, ref: str) -> list[dict[str, Any]]:
    """The entries of folder ``ref`` that matter to vidrestore, folders first."""
    folder = roots.resolve(ref, must_exist=True)
    if not folder.is_dir():
        raise NotADirectoryError(ref)
    out: list[dict[str, Any]] = []
    with os.scandir(folder) as it:
        entries = sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name.lower())
    for e in entries[:MAX_ENTRIES]:
        child = f"{ref.rstrip('/')}/{e.name}"
        try:
            roots.resolve(child)  # a link leading out of the root is not listed
        except Exception:  # noqa: BLE001
            continue
        kind = _kind(Path(e.path), e.is_dir())
        if kind is not None:
            out.append({"name": e.name, "ref": child, "kind": kind, **_summary(Path(e.path), kind)})
    out.sort(key=lambda d: (d["kind"] not in ("folder", "images", "geoseries"), d["name"].lower()))
    return out


def _kind(path: Path, is_dir: bool) -> str | None:
    if is_dir:
        return _folder_kind(path)
    ext = path.suffix.lower()
    if ext in VIDEO_EXTS:
        return "video"
    if ext in RASTER_EXTS:
        return "geotiff" if _DATE.search(path.stem) or _is_georeferenced(path) else "image"
    if ext in (".yaml", ".yml"):
        return "yaml"
    if ext in (".txt", ".json") and path.stat().st_size < 1 << 20:
        return "list"
    return None


def _folder_kind(path: Path) -> str:
    try:
        names = [n for n in os.listdir(path) if not n.startswith(".")]
    except OSError:
        return "folder"
    rasters = [n for n in names if Path(n).suffix.lower() in RASTER_EXTS]
    if len(rasters) >= 2 and (any(_DATE.search(n) for n in rasters) or _is_georeferenced(path / rasters[0])):
        return "geoseries"
    images = [n for n in names if Path(n).suffix.lower() in IMAGE_EXTS and re.search(r"\d", n)]
    if images and len(images) >= max(1, len(names) // 2):
        return "images"
    return "folder"


def _summary(path: Path, kind: str) -> dict[str, Any]:
    if kind in ("images", "geoseries"):
        try:
            exts = IMAGE_EXTS if kind == "images" else RASTER_EXTS
            return {"count": sum(1 for n in os.listdir(path) if Path(n).suffix.lower() in exts)}
        except OSError:
            return {}
    if kind in ("video", "geotiff", "image", "yaml", "list"):
        try:
            return {"bytes": path.stat().st_size}
        except OSError:
            return {}
    return {}


def _is_georeferenced(path: Path) -> bool:
    try:
        import rasterio
    except ImportError:
        return False
    try:
        with rasterio.open(path) as ds:
            return ds.crs is not None
    except Exception:  # noqa: BLE001 - not a raster GDAL reads: not a GeoTIFF for this listing
        return False


def probe(roots: Roots, ref: str) -> dict[str, Any]:
    """The facts of one item: ``probe`` of a video or image sequence, raster facts of GeoTIFFs."""
    path = roots.resolve(ref, must_exist=True)
    kind = _kind(path, path.is_dir())
    st = path.stat()
    if kind in ("geotiff", "geoseries"):
        return {"kind": kind, **_raster_facts(path)}
    if kind in ("video", "images", "image"):
        facts = _probe_cached(str(path), st.st_mtime_ns, st.st_size)
        return {"kind": "images" if kind == "image" else kind, **facts}
    return {"kind": kind or "other", "bytes": st.st_size}


@functools.lru_cache(maxsize=256)
def _probe_cached(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    from vidrestore.io.probe import info_to_dict, probe_video

    d = info_to_dict(probe_video(path))
    d.pop("path", None)
    return d


def _raster_facts(path: Path) -> dict[str, Any]:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in RASTER_EXTS) if path.is_dir() else [path]
    facts: dict[str, Any] = {"files": len(files), "dates": sum(1 for p in files if _DATE.search(p.stem))}
    if not files:
        return facts
    try:
        import rasterio
    except ImportError:
        facts["note"] = "install vidrestore[geo] for raster facts"
        return facts
    try:
        with rasterio.open(files[0]) as ds:
            facts.update(first=files[0].name, width=ds.width, height=ds.height, bands=ds.count,
                         dtype=ds.dtypes[0], crs=str(ds.crs) if ds.crs else None, nodata=ds.nodata,
                         descriptions=[d for d in ds.descriptions if d])
    except Exception as err:  # noqa: BLE001 - shown as the file's problem, on one line
        facts["error"] = f"{files[0].name}: cannot read the raster ({' '.join(str(err).split())})"
    return facts
