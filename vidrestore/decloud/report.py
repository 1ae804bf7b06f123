"""The run report (JSON + text table) and the PNG quick-look strip of a decloud run.

The quick-look has one row per date: the input, its cloud/shadow mask over a dimmed input (cloud
yellow, shadow blue, no data black) and the output. Colour bands are the mapped red/green/blue
roles (else the first three bands, or one band in grey), stretched between the 2nd and 98th
percentiles of all inputs so dates compare. Thumbnails are read decimated, never the full scene.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidrestore.decloud.config import DecloudConfig
from vidrestore.decloud.dates import date_label
from vidrestore.decloud.masks import CLOUD, NODATA, SHADOW
from vidrestore.decloud.output import output_name
from vidrestore.decloud.series import Series

REPORT_NAME = "decloud_report.json"
QUICKLOOK_NAME = "decloud_quicklook.png"


def _atomic_text(path: Path, text: str) -> None:
    from vidrestore.io import safety

    safety.atomic_write(path, text, overwrite=True, inputs=safety.RUN.roots, what="decloud report")


def _settings(dc: DecloudConfig) -> dict[str, object]:
    """The knobs that decide what changed, under the report's flat names (kept when the config
    keys moved into sections, so readers of earlier reports keep working)."""
    return {"detect": dc.detect.mode, "detector": dc.detect.detector, "mask_type": dc.mask_type, "buffer": dc.buffer,
            "align": dc.align.enabled, "regression": dc.fill.regression, "regression_radius": dc.fill.regression_radius,
            "sources_per_side": dc.fill.sources_per_side, "max_days": dc.fill.max_days, "inpaint": dc.fill.inpaint,
            "composite": dc.output.composite}


def write_report(out_dir: Path, series: Series, stats: list[Any], result: Any, dc: DecloudConfig) -> Path:
    """``decloud_report.json`` and ``decloud_report.txt``; returns the JSON path."""
    rows = []
    for s in stats:
        rows.append({
            "name": s.name, "date": s.date, "mask": s.mask_source, "status": s.status,
            "shift_px": [round(s.shift.dx, 3), round(s.shift.dy, 3)], "shift_peak": round(s.shift.response, 3),
            "valid_px": s.valid, "cloud_px": s.cloud, "shadow_px": s.shadow,
            "cloud_cover": round(s.cover, 4),
            "filled_both_sides_px": s.filled_both, "filled_one_side_px": s.filled_one,
            "inpainted_px": s.inpainted, "unfilled_px": s.unfilled,
            # what the output changed, and why (which mask named the pixel); every other pixel is the input's
            "changed_px": s.changed, "changed_pct": round(100.0 * s.changed / s.valid, 4) if s.valid else 0.0,
            "changed_by": {"mask file": s.changed_file, "detector": s.changed_detected, "both": s.changed_both},
            "masked_by": {"mask file": s.masked_file, "detector": s.masked_detected, "both": s.masked_both},
            "why": _why(s),
        })
    doc = {
        "dates": len(series.dates), "layout": series.layout, "bands": list(series.band_names),
        "dtype": series.dtype, "size": [series.grid.width, series.grid.height],
        "reference_date": result.reference, "seconds": round(result.seconds, 2),
        "megapixel_dates_per_second": round(result.megapixel_dates_per_s, 3),
        "dry_run": dc.dry_run,
        "detector": getattr(result, "detector", "spectral"), "detector_why": getattr(result, "detector_why", ""),
        "reflectance_scale": getattr(result, "scale", None),
        "settings": _settings(dc),
        "per_date": rows,
        "totals": {k: int(sum(r[k] for r in rows)) for k in (
            "valid_px", "cloud_px", "shadow_px", "filled_both_sides_px", "filled_one_side_px", "inpainted_px",
            "unfilled_px", "changed_px")},
        "empty_dates": [r["name"] for r in rows if r["status"] == "empty"],
    }
    path = out_dir / REPORT_NAME
    _atomic_text(path, json.dumps(doc, indent=2) + "\n")
    _atomic_text(path.with_suffix(".txt"), _text_table(doc))
    return path


def _why(s: Any) -> str:
    """One phrase per date: why its pixels were (or, in a dry run, would be) replaced."""
    if s.status == "empty":
        return "empty: no valid pixel (all no data or NaN); nothing to fill from it"
    if s.status == "clear":
        return "clear: nothing masked, every pixel kept"
    parts = [f"{n} px masked by {w}" for n, w in ((s.masked_file, "the mask file"), (s.masked_detected, "the detector"),
                                                   (s.masked_both, "both")) if n]
    return "; ".join(parts) or "masked"


def _text_table(doc: dict[str, Any]) -> str:
    lines = [f"decloud: {doc['dates']} dates, {doc['size'][0]}x{doc['size'][1]} px, {len(doc['bands'])} band(s) "
             f"{doc['dtype']}, reference {doc['reference_date']}, {doc['seconds']} s",
             f"detector: {doc['detector']} ({doc['detector_why']})" + ("; DRY RUN: nothing but masks and this "
                                                                        "report written" if doc["dry_run"] else ""),
             "",
             f"{'date':<20} {'status':<7} {'mask':<13} {'cloud%':>7} {'shadow%':>8} {'changed%':>9} {'time2':>8} "
             f"{'time1':>8} {'inpaint':>8} {'unfilled':>8} {'shift dx,dy':>14}  why"]
    for r in doc["per_date"]:
        v = max(r["valid_px"], 1)
        lines.append(f"{r['date']:<20} {r['status']:<7} {r['mask']:<13} {100 * r['cloud_px'] / v:7.2f} "
                     f"{100 * r['shadow_px'] / v:8.2f} {r['changed_pct']:9.3f} "
                     f"{r['filled_both_sides_px']:8d} {r['filled_one_side_px']:8d} {r['inpainted_px']:8d} "
                     f"{r['unfilled_px']:8d} {r['shift_px'][0]:+7.2f},{r['shift_px'][1]:+6.2f}  {r['why']}")
    t = doc["totals"]
    lines += ["", f"filled in time from both sides: {t['filled_both_sides_px']} px, from one side: "
                  f"{t['filled_one_side_px']} px, inpainted: {t['inpainted_px']} px, left cloudy: {t['unfilled_px']} px",
              "time2/time1 = pixels filled from clear dates on both sides / one side in time"]
    return "\n".join(lines) + "\n"


def _thumb_shape(series: Series, size: int) -> tuple[int, int]:
    g = series.grid
    s = min(1.0, size / max(g.width, g.height))
    return max(int(round(g.height * s)), 1), max(int(round(g.width * s)), 1)


def _display_bands(series: Series, roles: dict[str, int]) -> list[int]:
    if all(r in roles for r in ("red", "green", "blue")):
        return [roles["red"], roles["green"], roles["blue"]]
    if series.num_bands >= 3:
        return [0, 1, 2]
    return [0]


def _read_thumb(paths_bands: list[tuple[Path, int]], shape: tuple[int, int]) -> np.ndarray:
    import rasterio
    from rasterio.enums import Resampling

    planes = []
    for path, band in paths_bands:
        with rasterio.open(path) as ds:
            arr = ds.read(band, out_shape=shape, resampling=Resampling.average, masked=True)
            planes.append(np.ma.filled(arr.astype(np.float32), np.nan))
    return np.stack(planes)


@dataclass(frozen=True)
class DateView:
    """One date as the quick-look and the web preview show it: RGB thumbnails (uint8, one stretch for
    every date of the series), the output's when there is one, and the mask classes at that size."""

    label: str
    before: np.ndarray
    after: np.ndarray | None
    mask: np.ndarray


def date_views(out_dir: Path, series: Series, roles: dict[str, int], dc: DecloudConfig, *, size: int,
               with_after: bool = True) -> list[DateView]:
    """Every date's :class:`DateView`, at most ``size`` px on the long side, read from the inputs, the
    outputs in ``out_dir`` (``with_after``) and the masks written there (a dry run writes masks only)."""
    import rasterio
    from rasterio.enums import Resampling

    shape = _thumb_shape(series, size)
    bands = _display_bands(series, roles)
    befores, afters, masks = [], [], []
    for e in series.dates:
        refs = [e.bands[k] for k in bands]
        befores.append(_read_thumb([(r.path, r.band) for r in refs], shape))
        if with_after:
            afters.append(_read_thumb([(out_dir / output_name(r.path), r.band) for r in refs], shape))
        with rasterio.open(out_dir / f"{e.aux_stem}{dc.output.mask_suffix}.tif") as ds:
            masks.append(ds.read(e.aux_band, out_shape=shape, resampling=Resampling.mode))
    stack = np.stack(befores)
    lo = np.array([np.nanpercentile(stack[:, k], 2) if np.isfinite(stack[:, k]).any() else 0.0
                   for k in range(stack.shape[1])])
    hi = np.array([np.nanpercentile(stack[:, k], 98) if np.isfinite(stack[:, k]).any() else 1.0
                   for k in range(stack.shape[1])])

    def to_rgb(x: np.ndarray) -> np.ndarray:
        y = (x - lo[:, None, None]) / np.maximum(hi - lo, 1e-9)[:, None, None]
        y = np.clip(np.nan_to_num(y, nan=0.0), 0, 1)
        if y.shape[0] == 1:
            y = np.repeat(y, 3, axis=0)
        return (y.transpose(1, 2, 0) * 255).astype(np.uint8)

    return [DateView(date_label(e.date), to_rgb(b), to_rgb(afters[i]) if with_after else None, m)
            for i, (e, b, m) in enumerate(zip(series.dates, befores, masks))]


def write_quicklook(out_dir: Path, series: Series, roles: dict[str, int], dc: DecloudConfig, *,
                    overwrite: bool = True) -> Path:
    """``decloud_quicklook.png``: before / mask / after per date (see module docstring)."""
    import cv2

    views = date_views(out_dir, series, roles, dc, size=dc.output.quicklook_size)
    shape = views[0].before.shape[:2]
    h, w = shape
    gap, label_w, head = 4, 150, 22
    rows = []
    font = cv2.FONT_HERSHEY_SIMPLEX
    header = np.full((head, label_w + 3 * (w + gap), 3), 255, np.uint8)
    for j, title in enumerate(("before", "mask", "after")):
        cv2.putText(header, title, (label_w + j * (w + gap) + 4, 16), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    rows.append(header)
    for v in views:
        m = v.mask
        overlay = (v.before * 0.45).astype(np.uint8)
        overlay[m == CLOUD] = (255, 230, 0)
        overlay[m == SHADOW] = (40, 90, 255)
        overlay[m == NODATA] = (0, 0, 0)
        row = np.full((h + gap, label_w + 3 * (w + gap), 3), 255, np.uint8)
        row[:h, label_w:label_w + w] = v.before
        row[:h, label_w + w + gap:label_w + 2 * w + gap] = overlay
        assert v.after is not None
        row[:h, label_w + 2 * (w + gap):label_w + 3 * w + 2 * gap] = v.after
        cv2.putText(row, v.label[:19], (4, min(h // 2 + 5, h - 2) if h > 12 else h), font, 0.42,
                    (0, 0, 0), 1, cv2.LINE_AA)
        rows.append(row)
    img = np.concatenate(rows, axis=0)
    path = out_dir / QUICKLOOK_NAME
    if path.exists() and not overwrite:
        raise FileExistsError(path)
    from vidrestore.io import safety

    with safety.temp_target(path, overwrite=overwrite, what="quicklook", suffix=".png") as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
            raise OSError(f"{tmp}: PNG write failed")
    return path
