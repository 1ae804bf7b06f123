"""The decloud run: plan on an overview, then process the scene block by block.

1. **Discover** the series (:mod:`.series`) and map band roles.
2. **Plan** on a decimated overview of every date (bounded memory; :mod:`.plan`): mask files
   and/or detection, radiometric normalisation gains, shadow directions, per-pair regressions;
   **align** each date to the clearest one on full-resolution chips (:mod:`.align`).
3. **Blocks**: for each ``block_size`` window (plus a halo for shifts, shadow search, buffers and
   regression windows) read every date, co-register it onto the reference grid, detect or decode
   masks there, then for each date fill its cloudy pixels from the other dates resampled onto *its*
   grid (:mod:`.fill`), inpaint the rest (:mod:`.inpaint`) and write the window into its outputs.
   Clear pixels are copied bit for bit from the input.
4. **Finish**: move outputs into place atomically, then write the report and the quick-look strip.

Memory is bounded by the block: about ``dates x bands x (block + 2 halo)^2 x 4 bytes x 5``; the block
side shrinks automatically for long series so that this stays under ``BLOCK_BUDGET`` bytes.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vidrestore.decloud.align import Shift, shift_image, shift_mask
from vidrestore.decloud.dates import date_key, date_label, days_between
from vidrestore.decloud.detect import DetectParams
from vidrestore.decloud.fill import FillParams, Source, temporal_fill
from vidrestore.decloud.inpaint import inpaint_classical, inpaint_diffusion
from vidrestore.decloud.masks import CLEAR, CLOUD, NODATA, SHADOW
from vidrestore.decloud.output import OutputSet, check_out_dir, output_name
from vidrestore.decloud.plan import Plan, classes_for, make_plan
from vidrestore.decloud.raster import SeriesReader, Window, iter_blocks
from vidrestore.decloud.series import Series, discover_series, resolve_band_roles

if TYPE_CHECKING:
    from vidrestore.decloud.config import DecloudConfig
    from vidrestore.restore.registry import MaskedInpainter

logger = logging.getLogger(__name__)

BLOCK_BUDGET = 640 * 2**20  # bytes for the per-block working set

# quality flags (<stem>_quality.tif)
Q_CLEAR = 0  # own clear observation, copied
Q_BOTH = 1  # filled from clear dates before and after
Q_ONE = 2  # filled from clear dates on one side in time
Q_INPAINT = 3  # filled by spatial inpainting
Q_UNFILLED = 4  # cloud/shadow that nothing could fill (original values kept)
Q_NODATA = 255

QUALITY_LEGEND = "0=clear,1=filled from dates before and after,2=filled from one side in time," \
                 "3=spatially inpainted,4=cloudy and not filled,255=no data"
MASK_LEGEND = "0=clear,1=cloud,2=cloud shadow,255=no data"


@dataclass
class DateStats:
    """Per-date counts (pixels) and alignment, for the report."""

    name: str
    date: str
    shift: Shift = field(default_factory=Shift)
    mask_source: str = "detected"
    valid: int = 0
    cloud: int = 0
    shadow: int = 0
    filled_both: int = 0
    filled_one: int = 0
    inpainted: int = 0
    unfilled: int = 0
    pixels: int = 0  # all pixels of the date (valid or not)
    changed_file: int = 0  # output pixels replaced because the mask file masked them
    changed_detected: int = 0  # ... because the detector did (and no mask file)
    changed_both: int = 0  # ... both did
    masked_file: int = 0  # masked pixels by origin (what a dry run would replace)
    masked_detected: int = 0
    masked_both: int = 0

    @property
    def cover(self) -> float:
        return (self.cloud + self.shadow) / self.valid if self.valid else 0.0

    @property
    def status(self) -> str:
        """empty (no valid pixel: all no data or NaN), clear (nothing masked), or cloudy."""
        if self.valid == 0:
            return "empty"
        return "clear" if self.cloud + self.shadow == 0 else "cloudy"

    @property
    def changed(self) -> int:
        return self.changed_file + self.changed_detected + self.changed_both


@dataclass
class DecloudResult:
    outputs: list[Path]
    stats: list[DateStats]
    seconds: float
    megapixel_dates_per_s: float
    reference: str
    report: Path | None = None
    quicklook: Path | None = None
    composite: Path | None = None
    detector: str = "spectral"
    detector_why: str = ""
    scale: float = 1.0



#: ``block_runner(plan, reader, dc, inpainter, outputs, stats, progress)``: what writes every block into
#: ``outputs`` (default :func:`_process_blocks`; the resumable tiled job of :mod:`vidrestore.jobs.tiles`
#: passes its own).
BlockRunner = Callable[..., None]


def run_decloud(inputs: Sequence[str | Path], out_dir: str | Path, *, dc: DecloudConfig,
                inpainter: MaskedInpainter | None = None, overwrite: bool = False,
                progress: Callable[[int, int], None] | None = None,
                block_runner: BlockRunner | None = None) -> DecloudResult:
    """Decloud the time series named by ``inputs`` into ``out_dir`` (see the module docstring).

    ``inpainter`` fills what no date sees clear when ``decloud.fill.inpaint: diffusion``; the caller
    that assembles the run from the whole config (:func:`vidrestore.pipeline.stages.run_decloud`) gets it from
    the restorer registry, so this package never imports a restorer.
    """
    import rasterio

    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    check_out_dir(out_dir)
    series = discover_series(inputs, dc)
    roles = resolve_band_roles(series, dc.bands)
    detector = pick_detector(dc, roles)
    scale = reflectance_scale(dc, series.dtype, detector=detector[0])
    out_dir = Path(out_dir)
    with rasterio.Env(GDAL_CACHEMAX=dc.gdal_cache_mb), \
            SeriesReader(series, resampling=dc.input.resampling, mask_kind=dc.mask_type,
                         mask_kwargs=mask_kwargs(dc)) as reader:
        plan = make_plan(series, reader, dc, roles, scale, detector)
        stats = [DateStats(name=e.name, date=date_label(e.date), shift=plan.shifts[i],
                           mask_source=_mask_source(e.mask is not None, plan.use_detection[i]))
                 for i, e in enumerate(series.dates)]
        outputs = _declare_outputs(series, plan, dc, out_dir, overwrite)
        _check_side_outputs(out_dir, dc, overwrite, series)
        with outputs:
            outputs.open()
            (block_runner or _process_blocks)(plan, reader, dc, inpainter, outputs, stats, progress)
            if dc.output.cog:
                from vidrestore.decloud.cog import make_cogs

                make_cogs(outputs, keys=[k for k in outputs.keys() if k.startswith("img:")])
            finals = outputs.commit()
    seconds = time.perf_counter() - t0
    mpd = series.grid.width * series.grid.height * len(series.dates) / 1e6 / max(seconds, 1e-9)
    composite = out_dir / f"composite_{dc.output.composite}.tif" if dc.output.composite != "none" else None
    result = DecloudResult(outputs=finals, stats=stats, seconds=seconds, megapixel_dates_per_s=mpd,
                           reference=series.dates[plan.ref].name, composite=composite, detector=plan.detector,
                           detector_why=plan.detector_why, scale=plan.scale)
    from vidrestore.decloud.report import write_quicklook, write_report

    if dc.output.stac:
        from vidrestore.decloud.stac import write_items

        result.outputs.extend(write_items(out_dir, series, stats, dc, overwrite=overwrite))
    if dc.output.report:
        result.report = write_report(out_dir, series, stats, result, dc)
        result.outputs.extend([result.report, result.report.with_suffix(".txt")])
    if dc.output.quicklook and not dc.dry_run:
        result.quicklook = write_quicklook(out_dir, series, plan.roles, dc, overwrite=True)
        result.outputs.append(result.quicklook)
    logger.info("decloud: %d dates, %dx%d px, %.1f s (%.2f megapixel-dates/s); %d outputs in %s",
                len(series.dates), series.grid.width, series.grid.height, seconds, mpd, len(result.outputs), out_dir)
    return result


def _check_side_outputs(out_dir: Path, dc: DecloudConfig, overwrite: bool, series: Series | None = None) -> None:
    """Refuse to replace an earlier run's report, quick-look or STAC Items without ``overwrite``
    (checked before anything is written)."""
    from vidrestore.decloud.report import QUICKLOOK_NAME, REPORT_NAME
    from vidrestore.errors import OutputError

    names = ([REPORT_NAME, Path(REPORT_NAME).with_suffix(".txt").name] if dc.output.report else []) + \
        ([QUICKLOOK_NAME] if dc.output.quicklook and not dc.dry_run else [])
    if dc.output.stac and series is not None:
        from vidrestore.decloud.stac import item_paths

        names += [p.name for p in item_paths(out_dir, series)]
    for name in names:
        if (out_dir / name).exists() and not overwrite:
            raise OutputError(f"{out_dir / name}: exists (pass --overwrite to replace it)")


def mask_kwargs(dc: DecloudConfig) -> dict[str, Any]:
    """How mask files are decoded (:func:`~vidrestore.decloud.masks.make_mask_spec` keywords)."""
    return dict(cloud_values=dc.cloud_values, shadow_values=dc.shadow_values, invalid_values=dc.invalid_values,
                probability_threshold=dc.probability_threshold, qa_confidence=dc.qa_confidence)


def pick_detector(dc: DecloudConfig, roles: dict[str, int]) -> tuple[str, str]:
    """(detector, why) for the run; a learned detector that cannot run is a ConfigError naming the fix."""
    from vidrestore.decloud.learned import DetectorUnavailable, choose_detector
    from vidrestore.errors import ConfigError

    if dc.detect.mode == "never":
        return "spectral", "decloud.detect.mode=never: no detection"
    try:
        name, why = choose_detector(dc.detect.detector, roles)
    except DetectorUnavailable as err:
        raise ConfigError(str(err)) from err
    if dc.detect.detector == "auto":
        logger.info("decloud.detect.detector=auto -> %s (%s)", name, why)
    return name, why


def reflectance_scale(dc: DecloudConfig, dtype: str, *, detector: str = "spectral") -> float | None:
    """Pixel value that means reflectance 1 (``decloud.input.reflectance_scale``, else 255 / 10000 / 1 by dtype).

    None for csmask on integer data without a set scale: the plan learns it from the band statistics
    (a model trained on reflectance must see reflectance; integer units differ between providers).
    """
    if dc.input.reflectance_scale > 0:
        return float(dc.input.reflectance_scale)
    if detector == "csmask" and np.dtype(dtype).kind in "iu":
        return None
    d = np.dtype(dtype)
    if d.kind == "f":
        return 1.0
    if d == np.uint8 or d == np.int8:
        return 255.0
    return 10000.0


def _mask_source(has_file: bool, detected: bool) -> str:
    if has_file and detected:
        return "file+detected"
    if has_file:
        return "file"
    return "detected" if detected else "none"


# --------------------------------------------------------------------------- outputs


def _img_key(path: Path) -> str:
    return f"img:{path}"


def _declare_outputs(series: Series, plan: Plan, dc: DecloudConfig, out_dir: Path, overwrite: bool) -> OutputSet:
    protected = tuple(series.files) + tuple(e.mask.path for e in series.dates if e.mask is not None)
    outs = OutputSet(out_dir, overwrite=overwrite, protected=protected)
    reprojected = {b.path for e in series.dates if e.reproject for b in e.bands}
    for p in series.files if not dc.dry_run else ():
        outs.add_like(_img_key(p), output_name(p), p, grid=series.grid if p in reprojected else None)
    seen: set[str] = set()
    for i, e in enumerate(series.dates):
        if e.aux_stem in seen:
            continue
        seen.add(e.aux_stem)
        count = series.aux_count
        descs = tuple(date_label(d.date) for d in series.dates) if count > 1 else (date_label(e.date),)
        date_tags = {"DECLOUD_DATE": date_label(e.date)} if count == 1 else {}
        outs.add_new(f"mask:{e.aux_stem}", f"{e.aux_stem}{dc.output.mask_suffix}.tif", grid=series.grid, count=count,
                     dtype="uint8", nodata=NODATA, descriptions=descs,
                     tags={"DECLOUD_CLASSES": MASK_LEGEND, **date_tags})
        if dc.output.write_source and not dc.dry_run:
            outs.add_new(f"source:{e.aux_stem}", f"{e.aux_stem}_source.tif", grid=series.grid, count=count,
                         dtype="int32", nodata=-1, descriptions=descs,
                         tags={"DECLOUD_SOURCE": "acquisition date (YYYYMMDD) a filled pixel was taken from "
                                                 "(the nearest of the dates used); 0 = not filled in time",
                               **date_tags})
        if dc.output.write_quality and not dc.dry_run:
            outs.add_new(f"quality:{e.aux_stem}", f"{e.aux_stem}_quality.tif", grid=series.grid, count=count,
                         dtype="uint8", nodata=Q_NODATA, descriptions=descs,
                         tags={"DECLOUD_QUALITY": QUALITY_LEGEND, **date_tags})
    if dc.output.composite != "none" and not dc.dry_run:
        ref = series.dates[plan.ref]
        nodata = series.nodata[0]
        if nodata is None and np.dtype(series.dtype).kind == "f":
            nodata = float("nan")  # holes no date sees stay NaN, and GIS tools read them as no data
        outs.add_new("composite", f"composite_{dc.output.composite}.tif", grid=series.grid, count=series.num_bands,
                     dtype=series.dtype, nodata=nodata, like=ref.bands[0].path,
                     descriptions=tuple(series.band_names),
                     tags={"DECLOUD_COMPOSITE": dc.output.composite, "DECLOUD_REFERENCE_DATE": date_label(ref.date),
                           "DECLOUD_DATES": ",".join(date_label(e.date) for e in series.dates)})
    return outs


# --------------------------------------------------------------------------- blocks


def _halo(plan: Plan, dc: DecloudConfig) -> tuple[int, int]:
    """(total halo, fill halo) in px."""
    shift_h = int(math.ceil(max((s.magnitude for s in plan.shifts), default=0.0))) + 2
    detect_h = dc.buffer + (dc.detect.shadow_search if any(plan.use_detection) else 0)
    fill_h = max(dc.fill.regression_radius if dc.fill.regression == "local" else 0, 24 if dc.fill.inpaint != "none" else 0)
    return shift_h + detect_h + fill_h, fill_h


def _block_size(plan: Plan, dc: DecloudConfig, halo: int) -> int:
    per_px = len(plan.series.dates) * plan.series.num_bands * 4 * 5
    side = int(math.sqrt(BLOCK_BUDGET / per_px)) - 2 * halo
    size = max(64, min(dc.block_size, side))
    if size < dc.block_size:
        logger.info("block size %d -> %d px to bound memory (%d dates x %d bands)", dc.block_size, size,
                    len(plan.series.dates), plan.series.num_bands)
    return size


def block_grid(plan: Plan, dc: DecloudConfig) -> tuple[list[Window], int, int]:
    """The blocks of a run (row-major) with (total halo, fill halo): every block is computed alone."""
    halo, fill_h = _halo(plan, dc)
    return iter_blocks(plan.series.grid, _block_size(plan, dc, halo)), halo, fill_h


def process_block(plan: Plan, reader: SeriesReader, dc: DecloudConfig, inpainter: MaskedInpainter | None, outputs: Any,
                  stats: list[DateStats], win: Window, halo: int, fill_h: int) -> None:
    """One block into ``outputs`` (anything with :meth:`OutputSet.write`), its counts added to ``stats``."""
    _process_block(plan, reader, dc, inpainter, outputs, stats, win, halo, fill_h)


def _process_blocks(plan: Plan, reader: SeriesReader, dc: DecloudConfig, inpainter: MaskedInpainter | None, outputs: OutputSet,
                    stats: list[DateStats], progress: Callable[[int, int], None] | None) -> None:
    halo, fill_h = _halo(plan, dc)
    blocks = iter_blocks(plan.series.grid, _block_size(plan, dc, halo))
    for done, win in enumerate(blocks, 1):
        _process_block(plan, reader, dc, inpainter, outputs, stats, win, halo, fill_h)
        if progress is not None:
            progress(done, len(blocks))


def _process_block(plan: Plan, reader: SeriesReader, dc: DecloudConfig, inpainter: MaskedInpainter | None, outputs: OutputSet,
                   stats: list[DateStats], win: Window, halo: int, fill_h: int) -> None:
    series = plan.series
    ext = win.grow(halo)
    raws: list[np.ndarray] = []
    refl: list[np.ndarray] = []
    file_cls: list[np.ndarray | None] = []
    for entry in series.dates:
        raw, data = reader.read(entry, ext)
        data /= np.float32(plan.scale)
        raws.append(raw)
        refl.append(data)
        file_cls.append(reader.read_mask(entry, ext))
    # co-register onto the reference grid, then classify there
    aligned = np.stack([r if s.is_zero else shift_image(r, s.dx, s.dy, interpolation=dc.input.resampling)
                        for r, s in zip(refl, plan.shifts)])
    fc_aligned = [None if f is None else (f if s.is_zero else shift_mask(f, s.dx, s.dy, fill=NODATA))
                  for f, s in zip(file_cls, plan.shifts)]
    params = DetectParams.from_config(dc, detector=plan.detector)
    classes_ref, origin_ref = classes_for(aligned, fc_aligned, plan.use_detection, plan.roles, params, plan.gains,
                                          dc.buffer, plan.azimuths or None, with_origin=True, at=(ext.row, ext.col))
    inner = (slice(halo, halo + win.height), slice(halo, halo + win.width))
    fr = (slice(halo - fill_h, halo + win.height + fill_h), slice(halo - fill_h, halo + win.width + fill_h))
    inner_in_fr = (slice(fill_h, fill_h + win.height), slice(fill_h, fill_h + win.width))
    frames: dict[tuple[int, int], np.ndarray] = {}

    def classes_in_frame(t: int) -> np.ndarray:
        """Classes of every date on date t's pixel grid (nearest shift of the reference-grid classes)."""
        s = plan.shifts[t]
        key = (int(round(-s.dx)), int(round(-s.dy)))
        if key not in frames:
            frames[key] = classes_ref if key == (0, 0) else shift_mask(classes_ref, -s.dx, -s.dy, fill=NODATA)
        return frames[key]

    def origin_in_frame(t: int) -> np.ndarray:
        s = plan.shifts[t]
        key = (int(round(-s.dx)), int(round(-s.dy)))
        return origin_ref[t] if key == (0, 0) else shift_mask(origin_ref[t][None], -s.dx, -s.dy, fill=0)[0]

    for t, entry in enumerate(series.dates):
        cls = classes_in_frame(t)
        own = cls[t]
        own_valid = np.isfinite(refl[t]).all(axis=0)
        own = np.where(own_valid, own, NODATA).astype(np.uint8)
        lost = own_valid & (own == NODATA)
        if lost.any():  # valid pixels whose class the shift onto the reference grid lost (data edges)
            own = _extend_classes(own, lost)
        origin = origin_in_frame(t)[inner]
        masked_in = np.isin(own[inner], (CLOUD, SHADOW))
        st = stats[t]
        _count_origin(st, "masked", origin, masked_in)
        if dc.dry_run:
            _count_classes(st, own[inner])
            outputs.write(f"mask:{entry.aux_stem}", own[inner][None], row=win.row, col=win.col, bands=[entry.aux_band])
            continue
        need_fr = np.isin(own[fr], (CLOUD, SHADOW))
        out_raw = raws[t][(slice(None), *inner)].copy()
        quality = np.where(own[inner] == NODATA, Q_NODATA, Q_CLEAR).astype(np.uint8)
        source = np.where(own[inner] == NODATA, -1, 0).astype(np.int32)
        if need_fr[inner_in_fr].any():
            values, q_fr, src_fr = _fill_date(plan, dc, inpainter, t, refl, cls, own, need_fr, fr)
            need_in = need_fr[inner_in_fr]
            v_in = values[(slice(None), *inner_in_fr)]
            q_in = q_fr[inner_in_fr]
            filled = need_in & (q_in != Q_UNFILLED)
            out_raw[:, filled] = _to_file_values(v_in[:, filled] * plan.scale, series)
            quality[need_in] = q_in[need_in]
            source[need_in] = src_fr[inner_in_fr][need_in]
        _write_date(outputs, series, dc, t, win, out_raw, own[inner], source, quality)
        _count_classes(st, own[inner])
        changed = (quality == Q_BOTH) | (quality == Q_ONE) | (quality == Q_INPAINT)
        _count_origin(st, "changed", origin, changed)
        st.filled_both += int((quality == Q_BOTH).sum())
        st.filled_one += int((quality == Q_ONE).sum())
        st.inpainted += int((quality == Q_INPAINT).sum())
        st.unfilled += int((quality == Q_UNFILLED).sum())
    if dc.output.composite != "none" and not dc.dry_run:
        comp = _composite(aligned, classes_ref, dc, plan, inner, halo)
        outputs.write("composite", _to_file_values(comp * plan.scale, series, keep_nan=True), row=win.row,
                      col=win.col)
    del aligned, refl, raws


EDGE_CLASS_REACH = 4  # px: valid pixels this close to a classified one take its class


def _extend_classes(own: np.ndarray, lost: np.ndarray) -> np.ndarray:
    """``own`` with the ``lost`` pixels given the class of the nearest classified pixel (within
    :data:`EDGE_CLASS_REACH`): co-registration blurs a date's data edge by the shift, and a cloud
    there must not pass as no data and be kept."""
    import cv2

    known = own != NODATA
    if not known.any():
        return own
    dist, labels = cv2.distanceTransformWithLabels((~known).astype(np.uint8), cv2.DIST_L2, 5,
                                                   labelType=cv2.DIST_LABEL_PIXEL)
    values = own[known]  # raster order, as the labels number the known pixels
    out = own.copy()
    take = lost & (dist <= EDGE_CLASS_REACH)
    out[take] = values[labels[take] - 1]
    return out


def _count_classes(st: DateStats, own: np.ndarray) -> None:
    st.pixels += int(own.size)
    st.valid += int((own != NODATA).sum())
    st.cloud += int((own == CLOUD).sum())
    st.shadow += int((own == SHADOW).sum())


def _count_origin(st: DateStats, what: str, origin: np.ndarray, sel: np.ndarray) -> None:
    """Add the pixels of ``sel`` to ``st.<what>_file/_detected/_both`` by where their mask came from."""
    from vidrestore.decloud.plan import ORIGIN_BOTH, ORIGIN_DETECTED, ORIGIN_FILE

    for name, code in (("file", ORIGIN_FILE), ("detected", ORIGIN_DETECTED), ("both", ORIGIN_BOTH)):
        key = f"{what}_{name}"
        setattr(st, key, getattr(st, key) + int((sel & (origin == code)).sum()))


def _fill_date(plan: Plan, dc: DecloudConfig, inpainter: MaskedInpainter | None, t: int, refl: list[np.ndarray], cls: np.ndarray,
               own: np.ndarray, need: np.ndarray, fr: tuple[slice, slice]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values (B, h, w), quality flags and source-date keys for date ``t`` over the fill region ``fr``."""
    series = plan.series
    st = plan.shifts[t]
    target = refl[t][(slice(None), *fr)]
    target_clear = own[fr] == CLEAR
    sources: list[Source] = []
    for u, entry in enumerate(series.dates):
        if u == t:
            continue
        su = plan.shifts[u]

        def values(rs: slice, cs: slice, u: int = u, su: Shift = su) -> np.ndarray:
            """Date u on date t's grid over rows ``rs`` x cols ``cs`` of the fill region (shifting only that)."""
            dx, dy = su.dx - st.dx, su.dy - st.dy
            r0, r1 = fr[0].start + rs.start, fr[0].start + rs.stop
            c0, c1 = fr[1].start + cs.start, fr[1].start + cs.stop
            if abs(dx) < 1e-3 and abs(dy) < 1e-3:
                return refl[u][:, r0:r1, c0:c1]
            m = int(math.ceil(max(abs(dx), abs(dy)))) + 3
            h, w = refl[u].shape[1:]
            a0, a1, b0, b1 = max(r0 - m, 0), min(r1 + m, h), max(c0 - m, 0), min(c1 + m, w)
            moved = shift_image(refl[u][:, a0:a1, b0:b1], dx, dy, interpolation=dc.input.resampling)
            return moved[:, r0 - a0:r1 - a0, c0 - b0:c1 - b0]

        sources.append(Source(index=u, days=days_between(series.dates[t].date, entry.date),
                              clear=lambda rs, cs, u=u: cls[u][fr][rs, cs] == CLEAR, values=values,
                              fit=lambda u=u: plan.fit(t, u)))
    params = FillParams.from_section(dc.fill)
    res = temporal_fill(target, target_clear, need, sources, params)
    quality = np.full(need.shape, Q_CLEAR, np.uint8)
    quality[need & (res.sides == 2)] = Q_BOTH
    quality[need & (res.sides == 1)] = Q_ONE
    src = np.zeros(need.shape, np.int32)
    keys = np.array([date_key(e.date) for e in series.dates], np.int32)
    has = need & (res.source >= 0)
    src[has] = keys[res.source[has]]
    values = res.values
    rest = need & (res.sides == 0)
    if rest.any():
        known = np.where(target_clear[None], target, np.nan)
        known = np.where(np.isfinite(values), values, known)
        if dc.fill.inpaint in ("telea", "navier-stokes"):
            patch = inpaint_classical(known, rest, method=dc.fill.inpaint, radius=dc.fill.inpaint_radius)
        elif dc.fill.inpaint == "diffusion":
            patch = inpaint_diffusion(known, rest, inpainter=inpainter)
        else:
            patch = np.full(values.shape, np.nan, np.float32)
        ok = rest & np.isfinite(patch).all(axis=0)
        values = np.where(ok[None], patch, values)
        quality[ok] = Q_INPAINT
        quality[rest & ~ok] = Q_UNFILLED
    return values, quality, src


def _to_file_values(v: np.ndarray, series: Series, *, keep_nan: bool = False) -> np.ndarray:
    """Float values (file units) -> the series dtype: rounded, clipped, never all-bands equal to nodata.

    ``v`` is (B, N) or (B, H, W). With ``keep_nan``, NaN pixels become nodata (or 0 without one).
    """
    dtype = np.dtype(series.dtype)
    nan = ~np.isfinite(v).all(axis=0)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        out = np.clip(np.rint(np.nan_to_num(v)), info.min, info.max).astype(dtype)
    else:
        out = v.astype(dtype)
    nodata = series.nodata
    if all(nd is not None and not np.isnan(nd) for nd in nodata):
        nd = np.array(nodata, dtype=np.float64).reshape((-1,) + (1,) * (v.ndim - 1)).astype(dtype)
        clash = (out == nd).all(axis=0) & ~nan
        if clash.any():
            # a filled pixel must not read as no data: move the first band one step off nodata
            step = 1 if dtype.kind in "iu" and nd.flat[0] < np.iinfo(dtype).max else -1
            band0 = out[0]
            band0[clash] = (nd.flat[0] + (step if dtype.kind in "iu" else 1e-6)).astype(dtype)
    if keep_nan and nan.any():
        # float outputs keep NaN as their no data; integer ones take the nodata value (or 0 without one)
        fill = [nd if nd is not None else (np.nan if dtype.kind == "f" else 0) for nd in nodata]
        for k in range(out.shape[0]):
            out[k][nan] = np.asarray(fill[k]).astype(dtype)
    return out


def _write_date(outputs: OutputSet, series: Series, dc: DecloudConfig, t: int, win: Window, img: np.ndarray,
                cls: np.ndarray, source: np.ndarray, quality: np.ndarray) -> None:
    entry = series.dates[t]
    by_file: dict[Path, tuple[list[int], list[int]]] = {}
    for k, ref in enumerate(entry.bands):
        rows, idx = by_file.setdefault(ref.path, ([], []))
        rows.append(k)
        idx.append(ref.band)
    for path, (rows, idx) in by_file.items():
        outputs.write(_img_key(path), img[rows], row=win.row, col=win.col, bands=idx)
    band = [entry.aux_band]
    outputs.write(f"mask:{entry.aux_stem}", cls[None], row=win.row, col=win.col, bands=band)
    if dc.output.write_source:
        outputs.write(f"source:{entry.aux_stem}", source[None], row=win.row, col=win.col, bands=band)
    if dc.output.write_quality:
        outputs.write(f"quality:{entry.aux_stem}", quality[None], row=win.row, col=win.col, bands=band)


def _composite(aligned: np.ndarray, classes: np.ndarray, dc: DecloudConfig, plan: Plan,
               inner: tuple[slice, slice], halo: int) -> np.ndarray:
    """One cloud-free image (B, h, w) on the reference grid from the co-registered dates.

    ``median``: per-pixel median of the clear observations. ``best``: the clear observation whose
    distance to any cloud/shadow is largest (capped at 2 x shadow_search), dates with less cloud
    preferred on ties. Pixels no date sees clear are inpainted (or left no data).
    """
    import warnings

    import cv2

    clear = classes == CLEAR
    if dc.output.composite == "median":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            comp = np.nanmedian(np.where(clear[:, None], aligned, np.nan), axis=0)
    else:
        cap = float(max(2 * dc.detect.shadow_search, 10))
        cover = np.array([1.0 - (plan.ov_classes[i] == CLEAR).mean() for i in range(len(classes))], np.float32)
        score = np.full(classes.shape, -np.inf, np.float32)
        for i in range(len(classes)):
            if not clear[i].any():
                continue
            dist = cv2.distanceTransform(clear[i].astype(np.uint8), cv2.DIST_L2, 3)
            s = np.minimum(dist, cap) / cap - 0.5 * cover[i]
            score[i] = np.where(clear[i] & np.isfinite(aligned[i]).all(axis=0), s, -np.inf)
        best = np.argmax(score, axis=0)
        any_clear = np.isfinite(score).any(axis=0)
        comp = np.take_along_axis(aligned, best[None, None].repeat(aligned.shape[1], axis=1), axis=0)[0]
        comp[:, ~any_clear] = np.nan
    hole = ~np.isfinite(comp).all(axis=0) & np.isfinite(aligned).all(axis=1).any(axis=0)
    if hole.any() and dc.fill.inpaint in ("telea", "navier-stokes"):
        patch = inpaint_classical(comp.astype(np.float32), hole, method=dc.fill.inpaint, radius=dc.fill.inpaint_radius)
        comp = np.where(np.isfinite(patch), patch, comp)
    return comp[(slice(None), *inner)].astype(np.float32)


__all__ = ["DateStats", "DecloudResult", "run_decloud", "reflectance_scale", "QUALITY_LEGEND", "MASK_LEGEND",
           "Q_CLEAR", "Q_BOTH", "Q_ONE", "Q_INPAINT", "Q_UNFILLED", "Q_NODATA"]
