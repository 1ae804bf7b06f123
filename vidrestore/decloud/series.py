"""Input discovery: which rasters make up the time series, their dates, bands and mask files.

Three layouts are understood:

``files``
    one multi-band raster per date (a folder, a list file, or several paths); the date comes from
    the file name or its tags.
``bands``
    one single-band raster per band and date, grouped by ``decloud.input.pattern``, a template with
    ``{date}`` and ``{band}`` (``*`` matches anything), e.g. ``"S2A_{date}_{band}.tif"``.
``stack``
    one raster holding all dates, date-major (the bands of date 1, then of date 2, ...); dates come
    from the band descriptions/tags or a dataset tag ``DATES`` ("2020-01-01,2020-01-11,...").

Every date must share the first date's CRS, transform, size, dtype and band count: an odd file
is refused naming it, or, with ``decloud.input.reproject``, warped onto the first date's grid.
Dates are sorted in time; the series keeps each file's own name for the outputs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from vidrestore.decloud.config import DecloudConfig
from vidrestore.decloud.dates import date_from_tags, format_regex, parse_date_text
from vidrestore.errors import ConfigError, MediaError

logger = logging.getLogger(__name__)

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img", ".jp2", ".nc")
AUX_SUFFIXES = ("_source", "_quality")
#: provider QA/cloud masks found beside the bands (name suffix -> mask type): Landsat C2, CBERS, S2 L2A, Fmask
PROVIDER_MASKS = {"_qa_pixel": "qa_pixel", "_cmask": "cmask", "_scl": "scl", "_fmask": "fmask"}
#: a band token at the end of a per-band file's stem (Landsat ``_SR_B4``, CBERS ``_BAND13``, S2 ``_B8A``)
BAND_TOKEN = re.compile(r"_(?:(?:sr|st|toa)_)?(?:b\d{1,2}a?|band\d{1,2})$", re.IGNORECASE)


@dataclass(frozen=True)
class Grid:
    """Pixel grid of a raster: CRS (WKT, or None), affine transform (6 numbers, rasterio order), size."""

    crs_wkt: str | None
    transform: tuple[float, float, float, float, float, float]
    width: int
    height: int

    def mismatch(self, other: Grid) -> str | None:
        """A phrase naming how ``other`` differs from this grid, or None when they are the same."""
        if (self.crs_wkt or None) != (other.crs_wkt or None):
            if not _same_crs(self.crs_wkt, other.crs_wkt):
                return f"CRS {_crs_name(other.crs_wkt)} differs from the series' {_crs_name(self.crs_wkt)}"
        if (self.width, self.height) != (other.width, other.height):
            return f"size {other.width}x{other.height} differs from the series' {self.width}x{self.height}"
        px = max(abs(self.transform[0]), abs(self.transform[4]), 1e-12)
        if any(abs(a - b) > 1e-6 * px for a, b in zip(self.transform, other.transform)):
            return (f"transform {_fmt_transform(other.transform)} differs from the series' "
                    f"{_fmt_transform(self.transform)}")
        return None


@dataclass(frozen=True)
class BandRef:
    path: Path
    band: int  # 1-based band number in ``path``


@dataclass(frozen=True)
class MaskRef:
    path: Path
    band: int = 1


@dataclass(frozen=True)
class DateEntry:
    """One acquisition: where its bands are, its optional mask file, and where its aux outputs go."""

    date: datetime
    bands: tuple[BandRef, ...]
    mask: MaskRef | None
    aux_stem: str  # outputs <aux_stem><mask_suffix>.tif, <aux_stem>_source.tif, <aux_stem>_quality.tif
    aux_band: int  # band of this date in the aux files (1 except for stacks)
    reproject: bool = False  # read through a warp onto the series grid
    name: str = ""  # short display name (file or group name)


@dataclass(frozen=True)
class Series:
    layout: str  # files | bands | stack
    dates: tuple[DateEntry, ...]
    band_names: tuple[str, ...]
    grid: Grid
    dtype: str
    nodata: tuple[float | None, ...]  # per band
    files: tuple[Path, ...]  # distinct image files, in date order
    aux_count: int  # bands per aux file: 1, or the number of dates for a stack
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_bands(self) -> int:
        return len(self.band_names)


# --------------------------------------------------------------------------- public


def discover_series(inputs: Sequence[str | Path], cfg: DecloudConfig) -> Series:
    """Find the dates, bands and masks of the time series named by ``inputs`` (paths, folders, list files)."""
    import rasterio  # noqa: F401  (fail early with the real import error if the geo extra is missing)

    paths, from_folder = _expand_inputs(inputs, cfg)
    stac_names: tuple[str, ...] | None = None
    if paths and all(p.suffix.lower() == ".json" for p in paths):
        entries, stac_names = _from_stac_items(paths)
        layout = "files" if all(len({b.path for b in e.bands}) == 1 for e in entries) else "bands"
    elif any(p.suffix.lower() == ".json" for p in paths):
        odd = next(p for p in paths if p.suffix.lower() == ".json")
        raise MediaError(odd, "STAC Item JSON files and rasters cannot be mixed in one series")
    elif cfg.input.pattern:
        entries = _group_by_pattern(paths, cfg, strict=not from_folder)
        layout = "bands"
    elif len(paths) == 1:
        entries = _split_stack(paths[0], cfg)
        layout = "stack"
    else:
        entries = [_single_date(p, cfg) for p in paths]
        layout = "files"
    if len(entries) < 2:
        where = paths[0] if paths else inputs[0]
        raise MediaError(where, f"a time series needs at least 2 dates, found {len(entries)}")
    entries.sort(key=lambda e: (e.date, e.name))
    series = _validate(entries, layout, cfg, band_names=stac_names)
    if cfg.masks:
        series = _attach_masks(series, cfg)
    else:
        series = _attach_provider_masks(series)
    logger.info("series: %d dates (%s .. %s), %d band(s) %s, %s layout, %dx%d px",
                len(series.dates), series.dates[0].date.date(), series.dates[-1].date.date(),
                series.num_bands, series.dtype, layout, series.grid.width, series.grid.height)
    return series


def grid_of(ds: Any) -> Grid:
    """The :class:`Grid` of an open rasterio dataset."""
    crs = ds.crs.to_wkt() if ds.crs else None
    t = ds.transform
    return Grid(crs, (t.a, t.b, t.c, t.d, t.e, t.f), int(ds.width), int(ds.height))


def parse_band_map(text: str) -> dict[str, str]:
    """``"blue=1,green=2,red=3,nir=B08"`` -> {"blue": "1", ...} (the CLI's ``--bands``)."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise ConfigError(f"--bands {text!r}: expected ROLE=BAND pairs like blue=1,green=2,red=3,nir=4")
        role, band = (s.strip() for s in part.split("=", 1))
        if not role or not band:
            raise ConfigError(f"--bands {text!r}: empty role or band in {part!r}")
        out[role.lower()] = band
    return out


def resolve_band_roles(series: Series, mapping: dict[str, str]) -> dict[str, int]:
    """Role -> 0-based band index from a user mapping (1-based numbers or band names), or a guess from names.

    Without a mapping, roles are taken from band names/descriptions that say them ("blue", "B02", ...),
    and a 3-band 8-bit series is taken to be red, green, blue (the usual RGB order).
    """
    names = [n.lower() for n in series.band_names]
    roles: dict[str, int] = {}
    for role, band in mapping.items():
        band_s = str(band).strip()
        if band_s.isdigit():
            idx = int(band_s) - 1
            if not 0 <= idx < series.num_bands:
                raise ConfigError(f"--bands {role}={band_s}: the series has bands 1..{series.num_bands}")
        elif band_s.lower() in names:
            idx = names.index(band_s.lower())
        else:
            raise ConfigError(f"--bands {role}={band_s}: no band of that number or name "
                              f"(bands: {', '.join(series.band_names)})")
        roles[role] = idx
    if roles:
        return roles
    known = {"blue": ("blue", "b02", "b2", "b1_blue"), "green": ("green", "b03", "b3"),
             "red": ("red", "b04", "b4"), "nir": ("nir", "b08", "b8", "b8a"),
             "swir1": ("swir1", "swir16", "b11"), "swir2": ("swir2", "swir22", "b12")}
    for role, aliases in known.items():
        for i, n in enumerate(names):
            if n in aliases:
                roles[role] = i
                break
    # a full Sentinel-2 L1C band set also gives s2cloudless's roles (b01 ... b12, b8a; "B1" and "B01" alike)
    s2 = {}
    for i, n in enumerate(names):
        m = re.fullmatch(r"b0?(\d{1,2}a?)", n)
        if m:
            key = "b8a" if m[1] == "8a" else f"b{int(m[1].rstrip('a')):02d}"
            if key in ("b01", "b02", "b04", "b05", "b08", "b8a", "b09", "b10", "b11", "b12"):
                s2.setdefault(key, i)
    if len(s2) == 10:
        roles.update(s2)
    if not roles and series.num_bands == 3:
        roles = {"red": 0, "green": 1, "blue": 2}
        logger.info("no --bands given: taking the 3 bands as red, green, blue")
    return roles


# --------------------------------------------------------------------------- discovery


def _expand_inputs(inputs: Sequence[str | Path], cfg: DecloudConfig) -> tuple[list[Path], bool]:
    paths: list[Path] = []
    from_folder = False
    if not inputs:
        raise ConfigError("decloud: no input given")
    for item in inputs:
        p = Path(item)
        if not p.exists():
            raise MediaError(p, "no such file or folder")
        if p.is_dir():
            from_folder = True
            found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in RASTER_SUFFIXES
                           and not _looks_auxiliary(q, cfg))
            if not found:
                raise MediaError(p, f"no rasters ({', '.join(RASTER_SUFFIXES)}) in this folder")
            paths.extend(found)
        elif p.suffix.lower() == ".json":
            paths.append(p)  # a STAC Item
        elif p.suffix.lower() in (".txt", ".lst", ".list"):
            for line in p.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    q = Path(line) if Path(line).is_absolute() else p.parent / line
                    if not q.is_file():
                        raise MediaError(p, f"lists {line!r}, which does not exist")
                    paths.append(q)
        else:
            paths.append(p)
    seen: set[Path] = set()
    unique = []
    for p in paths:
        r = p.resolve()
        if r not in seen:
            seen.add(r)
            unique.append(p)
    return unique, from_folder


def _looks_auxiliary(path: Path, cfg: DecloudConfig) -> bool:
    """Files a folder scan must skip: our own outputs and the user's mask files."""
    stem = path.stem
    if stem.endswith(cfg.output.mask_suffix) or any(stem.endswith(s) for s in AUX_SUFFIXES):
        return True
    if stem.startswith("composite_") or path.name.startswith("."):
        return True
    if any(stem.lower().endswith(suffix) for suffix in PROVIDER_MASKS):
        return True
    if cfg.masks and ("{stem}" in cfg.masks or "{date}" in cfg.masks):
        rx = _template_regex(Path(cfg.masks).name, {"stem": ".+", "date": ".+?"})
        if re.fullmatch(rx, path.name):
            return True
    return False


def _template_regex(template: str, groups: dict[str, str]) -> str:
    """Regex of a file-name template: ``{name}`` -> a named group, ``*`` -> anything, the rest literal."""
    out = []
    for tok in re.split(r"(\{[a-z]+\}|\*)", template):
        if tok == "*":
            out.append(".*?")
        elif tok.startswith("{") and tok.endswith("}"):
            key = tok[1:-1]
            if key not in groups:
                raise ConfigError(f"template {template!r}: unknown placeholder {tok} (use {', '.join(groups)})")
            out.append(f"(?P<{key}>{groups[key]})")
        else:
            out.append(re.escape(tok))
    return "".join(out)


def _open_meta(path: Path) -> dict[str, Any]:
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        with rasterio.open(path) as ds:
            return {
                "grid": grid_of(ds),
                "count": ds.count,
                "dtypes": tuple(ds.dtypes),
                "nodata": tuple(ds.nodatavals),
                "descriptions": tuple(ds.descriptions),
                "tags": ds.tags(),
                "band_tags": [ds.tags(i + 1) for i in range(ds.count)],
            }
    except RasterioIOError as err:
        raise MediaError(path, f"not a readable raster ({' '.join(str(err).split())})") from err


def _date_of(path: Path, meta: dict[str, Any] | None, cfg: DecloudConfig) -> datetime:
    date = None
    if cfg.input.dates_from in ("auto", "name"):
        date = parse_date_text(path.stem, cfg.input.date_format)
    if date is None and cfg.input.dates_from in ("auto", "tags"):
        meta = meta or _open_meta(path)
        date = date_from_tags(meta["tags"], cfg.input.date_format)
        if date is None and meta["band_tags"]:
            date = date_from_tags(meta["band_tags"][0], cfg.input.date_format)
    if date is None:
        where = {"auto": "its name or tags", "name": "its name", "tags": "its tags"}[cfg.input.dates_from]
        raise MediaError(path, f"no acquisition date in {where} (name files like scene_20200131.tif, "
                               "or set decloud.input.date_format, e.g. --set decloud.input.date_format=%Y%j)")
    return date


def _single_date(path: Path, cfg: DecloudConfig) -> DateEntry:
    meta = _open_meta(path)
    date = _date_of(path, meta, cfg)
    bands = tuple(BandRef(path, i + 1) for i in range(meta["count"]))
    return DateEntry(date=date, bands=bands, mask=None, aux_stem=path.stem, aux_band=1, name=path.name)


def _group_by_pattern(paths: list[Path], cfg: DecloudConfig, *, strict: bool) -> list[DateEntry]:
    pattern = cfg.input.pattern or ""
    if "{date}" not in pattern or "{band}" not in pattern:
        raise ConfigError(f"decloud.input.pattern {pattern!r}: needs both {{date}} and {{band}}, "
                          "e.g. S2_{date}_{band}.tif")
    date_rx = format_regex(cfg.input.date_format) if cfg.input.date_format else r"[0-9][0-9T:_.-]*[0-9]"
    rx = re.compile(_template_regex(pattern, {"date": date_rx, "band": r"[A-Za-z0-9]+?"}))
    groups: dict[str, dict[str, Path]] = {}
    stems: dict[str, str] = {}
    for p in paths:
        m = rx.fullmatch(p.name)
        if m is None:
            if strict:
                raise MediaError(p, f"name does not match decloud.input.pattern {cfg.input.pattern!r}")
            logger.debug("skipping %s: does not match the pattern", p)
            continue
        token, band = m["date"], m["band"]
        if band in groups.setdefault(token, {}):
            raise MediaError(p, f"band {band} of date {token} is given twice "
                                f"(also {groups[token][band].name})")
        groups[token][band] = p
        if token not in stems:
            s, e = m.span("band")
            stems[token] = _strip_separators(Path(p.name[:s] + p.name[e:]).stem)
    if not groups:
        raise MediaError(paths[0].parent, f"no file matches decloud.input.pattern {cfg.input.pattern!r}")
    all_bands = sorted({b for g in groups.values() for b in g}, key=_natural_key)
    order = list(cfg.input.band_order) or all_bands
    entries = []
    for token, bands in groups.items():
        missing = [b for b in order if b not in bands]
        if missing:
            any_file = next(iter(bands.values()))
            raise MediaError(any_file.parent / any_file.name,
                             f"date {token} lacks band(s) {', '.join(missing)} that other dates have")
        date = parse_date_text(token, cfg.input.date_format) if cfg.input.dates_from != "tags" else None
        if date is None:
            date = date_from_tags(_open_meta(bands[order[0]])["tags"], cfg.input.date_format)
        if date is None:
            raise MediaError(bands[order[0]], f"{token!r} is not a date (set decloud.input.date_format, e.g. %Y%j)")
        refs = tuple(BandRef(bands[b], 1) for b in order)
        entries.append(DateEntry(date=date, bands=refs, mask=None, aux_stem=stems[token], aux_band=1,
                                 name=stems[token]))
    return entries


def _strip_separators(stem: str) -> str:
    stem = re.sub(r"([_.-])[_.-]+", r"\1", stem)
    return stem.strip("_.-") or "date"


def _natural_key(text: str) -> list[Any]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", text)]


def _split_stack(path: Path, cfg: DecloudConfig) -> list[DateEntry]:
    meta = _open_meta(path)
    count = meta["count"]
    per_band: list[datetime | None] = []
    for i in range(count):
        d = None
        desc = meta["descriptions"][i]
        if desc:
            d = parse_date_text(desc, cfg.input.date_format)
        if d is None:
            d = date_from_tags(meta["band_tags"][i], cfg.input.date_format)
        per_band.append(d)
    dates: list[datetime]
    if all(d is not None for d in per_band):
        dates = []
        for d in per_band:
            if not dates or d != dates[-1]:
                dates.append(d)  # type: ignore[arg-type]
        if len(set(dates)) != len(dates):
            raise MediaError(path, "band dates are not grouped date-major (bands of one date must be adjacent)")
    else:
        listed = _dates_tag(meta["tags"], cfg)
        if listed is None:
            raise MediaError(path, "one raster given but no dates found for its bands: put dates in the band "
                                   "descriptions or a dataset tag DATES=2020-01-01,2020-01-11,..., or give one "
                                   "file per date")
        dates = listed
    nb = cfg.input.bands_per_date or (count // len(dates) if dates and count % len(dates) == 0 else 0)
    if nb <= 0 or nb * len(dates) != count:
        raise MediaError(path, f"{count} bands do not split into {len(dates)} dates "
                               f"(decloud.input.bands_per_date={cfg.input.bands_per_date})")
    if cfg.input.bands_per_date and all(d is not None for d in per_band):
        for t in range(len(dates)):
            if len({per_band[t * nb + b] for b in range(nb)}) != 1:
                raise MediaError(path, f"bands {t * nb + 1}..{t * nb + nb} do not share one date "
                                       f"(decloud.input.bands_per_date={nb})")
    entries = []
    for t, d in enumerate(dates):
        refs = tuple(BandRef(path, t * nb + b + 1) for b in range(nb))
        entries.append(DateEntry(date=d, bands=refs, mask=None, aux_stem=path.stem, aux_band=t + 1,
                                 name=f"{path.name}#{t + 1}"))
    return entries


def _dates_tag(tags: dict[str, str], cfg: DecloudConfig) -> list[datetime] | None:
    for key, value in tags.items():
        if key.upper() in ("DATES", "TIMESTAMPS", "ACQUISITION_DATES", "TIMES"):
            parts = [s for s in re.split(r"[,;\s]+", value.strip("[]")) if s]
            parsed = [parse_date_text(s.strip("'\""), cfg.input.date_format) for s in parts]
            if parts and all(p is not None for p in parsed):
                return parsed  # type: ignore[return-value]
    return None


# --------------------------------------------------------------------------- validation


def _from_stac_items(paths: list[Path]) -> tuple[list[DateEntry], tuple[str, ...]]:
    """Dates from local STAC Item JSON files (see :mod:`vidrestore.decloud.stac`); band names of the first."""
    from vidrestore.decloud.stac import read_item

    entries = []
    names: tuple[str, ...] = ()
    for p in paths:
        item = read_item(p)
        names = names or item.band_names
        bands = tuple(BandRef(f, b) for f, b in item.bands)
        stem = bands[0].path.stem if len({b.path for b in bands}) == 1 else item.id
        entries.append(DateEntry(date=item.datetime, bands=bands, mask=MaskRef(item.mask) if item.mask else None,
                                 aux_stem=stem, aux_band=1, name=item.id))
    return entries, names


def _validate(entries: list[DateEntry], layout: str, cfg: DecloudConfig,
              band_names: tuple[str, ...] | None = None) -> Series:
    metas: dict[Path, dict[str, Any]] = {}

    def meta(p: Path) -> dict[str, Any]:
        if p not in metas:
            metas[p] = _open_meta(p)
        return metas[p]

    first = entries[0].bands[0].path
    ref = meta(first)
    grid = ref["grid"]
    nb = len(entries[0].bands)
    dtype = ref["dtypes"][entries[0].bands[0].band - 1]
    out: list[DateEntry] = []
    for e in entries:
        if len(e.bands) != nb:
            raise MediaError(e.bands[0].path, f"has {len(e.bands)} band(s), the series has {nb} ({first.name})")
        odd = False
        for b in e.bands:
            m = meta(b.path)
            if m["dtypes"][b.band - 1] != dtype:
                raise MediaError(b.path, f"dtype {m['dtypes'][b.band - 1]} differs from the series' {dtype} "
                                         f"({first.name}); convert it first")
            problem = grid.mismatch(m["grid"])
            if problem is not None:
                if not cfg.input.reproject:
                    raise MediaError(b.path, f"{problem} (first date {first.name}); pass --reproject to warp "
                                             "it onto the first date's grid")
                odd = True
        if odd:
            logger.warning("%s: on another grid; warped onto %s's grid (its outputs use that grid)", e.name,
                           first.name)
            e = DateEntry(date=e.date, bands=e.bands, mask=e.mask, aux_stem=e.aux_stem, aux_band=e.aux_band,
                          reproject=True, name=e.name)
        out.append(e)
    files: list[Path] = []
    for e in out:
        for b in e.bands:
            if b.path not in files:
                files.append(b.path)
    names = [p.name for p in files]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise MediaError(files[names.index(sorted(dupes)[0])],
                         "two inputs share this file name; outputs are named like inputs, so rename one")
    stems = [e.aux_stem for e in out]
    if layout != "stack" and len(set(stems)) != len(stems):
        raise MediaError(out[0].bands[0].path, "two dates map to the same output name")
    if band_names:
        band_names = tuple(band_names)
    elif layout == "stack":
        band_names = tuple(f"band{b + 1}" for b in range(nb))
    elif layout == "bands":
        m = re.compile(_template_regex(cfg.input.pattern or "", {
            "date": format_regex(cfg.input.date_format) if cfg.input.date_format else r"[0-9][0-9T:_.-]*[0-9]",
            "band": r"[A-Za-z0-9]+?"}))
        band_names = tuple(m.fullmatch(b.path.name)["band"] for b in out[0].bands)  # type: ignore[index]
    else:
        descs = ref["descriptions"]
        band_names = tuple(descs[i] or str(i + 1) for i in range(nb))
    nodata = tuple(meta(b.path)["nodata"][b.band - 1] for b in out[0].bands)
    return Series(layout=layout, dates=tuple(out), band_names=band_names, grid=grid, dtype=dtype,
                  nodata=nodata, files=tuple(files), aux_count=len(out) if layout == "stack" else 1)


# --------------------------------------------------------------------------- masks


def _attach_masks(series: Series, cfg: DecloudConfig) -> Series:
    spec = cfg.masks or ""
    out = []
    if "{stem}" in spec or "{date}" in spec:
        for e in series.dates:
            out.append(_with_mask(e, _mask_by_template(e, spec, series, cfg)))
    else:
        folder = Path(spec)
        if not folder.is_dir():
            raise MediaError(folder, "decloud.masks must be a folder of mask files or a template "
                                     "with {stem} or {date}, e.g. {stem}_SCL.tif")
        found = [q for q in sorted(folder.iterdir()) if q.is_file() and q.suffix.lower() in RASTER_SUFFIXES]
        by_date: list[tuple[datetime, Path]] = []
        for q in found:
            d = parse_date_text(q.stem, cfg.input.date_format)
            if d is not None:
                by_date.append((d, q))
        for e in series.dates:
            out.append(_with_mask(e, _match_date(e.date, by_date)))
    missing = [e.name for e in out if e.mask is None]
    if missing and len(missing) == len(out):
        raise MediaError(spec, "no mask file found for any date")
    if missing:
        logger.warning("%d date(s) have no mask file (%s%s); they are %s", len(missing), ", ".join(missing[:3]),
                       " ..." if len(missing) > 3 else "",
                       "left unmasked" if cfg.detect.mode == "never" else "detected from their bands")
    return Series(layout=series.layout, dates=tuple(out), band_names=series.band_names, grid=series.grid,
                  dtype=series.dtype, nodata=series.nodata, files=series.files, aux_count=series.aux_count,
                  meta=series.meta)


def provider_mask_for(path: Path) -> Path | None:
    """A provider QA/cloud mask beside the band file ``path``, found by name, or None.

    The product's stem is the band file's stem without its band token (``..._SR_B4`` -> ``...``); the
    mask is ``<product>_QA_PIXEL``, ``_CMASK``, ``_SCL`` or ``_Fmask`` with any raster suffix and case.
    """
    stems = {path.stem.lower(), BAND_TOKEN.sub("", path.stem).lower()}
    wanted = {s + suffix for s in stems for suffix in PROVIDER_MASKS}
    try:
        siblings = sorted(path.parent.iterdir())
    except OSError:
        return None
    for q in siblings:
        if q.is_file() and q.suffix.lower() in RASTER_SUFFIXES and q.stem.lower() in wanted and q != path:
            return q
    return None


def _attach_provider_masks(series: Series) -> Series:
    """Every date whose first band file has a provider mask beside it (see :func:`provider_mask_for`) gets it."""
    if series.layout == "stack":
        return series
    out = []
    for e in series.dates:
        found = e.mask.path if e.mask is not None else provider_mask_for(e.bands[0].path)
        if found is not None and e.mask is None:
            logger.info("%s: provider mask %s found beside the bands", e.name, found.name)
        out.append(_with_mask(e, MaskRef(found) if found is not None else None))
    if all(e.mask is None for e in out):
        return series
    return Series(layout=series.layout, dates=tuple(out), band_names=series.band_names, grid=series.grid,
                  dtype=series.dtype, nodata=series.nodata, files=series.files, aux_count=series.aux_count,
                  meta=series.meta)


def _with_mask(e: DateEntry, mask: MaskRef | None) -> DateEntry:
    return DateEntry(date=e.date, bands=e.bands, mask=mask, aux_stem=e.aux_stem, aux_band=e.aux_band,
                     reproject=e.reproject, name=e.name)


def _mask_by_template(e: DateEntry, spec: str, series: Series, cfg: DecloudConfig) -> MaskRef | None:
    base = e.bands[0].path.parent
    tmpl = Path(spec)
    folder = tmpl.parent if tmpl.is_absolute() else base / tmpl.parent
    name = tmpl.name.replace("{stem}", e.aux_stem if series.layout != "files" else e.bands[0].path.stem)
    band = e.aux_band if series.layout == "stack" else 1
    if "{date}" not in name:
        p = folder / name
        return MaskRef(p, band) if p.is_file() else None
    rx = re.compile(_template_regex(name, {"date": r".+?"}))
    candidates: list[tuple[datetime, Path]] = []
    if folder.is_dir():
        for q in sorted(folder.iterdir()):
            m = rx.fullmatch(q.name)
            if m:
                d = parse_date_text(m["date"], cfg.input.date_format)
                if d is not None:
                    candidates.append((d, q))
    found = _match_date(e.date, candidates)
    return MaskRef(found.path, band) if found else None


def _match_date(date: datetime, candidates: list[tuple[datetime, Path]]) -> MaskRef | None:
    exact = [p for d, p in candidates if d == date]
    if exact:
        return MaskRef(exact[0])
    same_day = [p for d, p in candidates if d.date() == date.date()]
    return MaskRef(same_day[0]) if len(same_day) == 1 else None


# --------------------------------------------------------------------------- formatting


def _same_crs(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    try:
        from rasterio.crs import CRS

        return CRS.from_wkt(a) == CRS.from_wkt(b)
    except Exception:  # noqa: BLE001 - an unparsable CRS simply differs
        return False


def _crs_name(wkt: str | None) -> str:
    if wkt is None:
        return "(none)"
    try:
        from rasterio.crs import CRS

        crs = CRS.from_wkt(wkt)
        epsg = crs.to_epsg()
        return f"EPSG:{epsg}" if epsg else (crs.to_string()[:60] or "(custom)")
    except Exception:  # noqa: BLE001
        return wkt[:60]


def _fmt_transform(t: tuple[float, ...]) -> str:
    return f"(px {t[0]:g} x {t[4]:g}, origin {t[2]:.6g}, {t[5]:.6g})"
