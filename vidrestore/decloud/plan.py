"""Planning a decloud run on a decimated overview of every date, and co-registering the dates.

The overview (at most ``OVERVIEW_MAX_SIDE`` px a side and ``OVERVIEW_BUDGET`` bytes for all dates)
gives: the reference date (the clearest), per-date masks (mask files and/or detection), the
radiometric normalisation gains that detection compares dates with, the direction shadows fall in,
and the per-pair regression lines the filling matches sources with. Shifts are measured on up to
four full-resolution chips: round 1 by phase correlation with only no-data and mask-file clouds
masked, round 2 with the overview's clouds and shadows masked, polished by Lucas-Kanade and kept
only if they make the dates agree better (:mod:`.align`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vidrestore.decloud.align import (
    Shift,
    combine_shifts,
    correlation_at,
    estimate_shift,
    refine_shift,
    shift_image,
    shift_mask,
)
from vidrestore.decloud.config import DecloudConfig
from vidrestore.decloud.detect import (
    DetectParams,
    detect_stack,
    fit_normalisation,
    normalise,
    robust_line,
    shadow_azimuths,
    spectral_candidates,
)
from vidrestore.decloud.masks import CLEAR, CLOUD, NODATA, SHADOW, buffer_classes
from vidrestore.decloud.raster import SeriesReader, Window
from vidrestore.decloud.series import Series

logger = logging.getLogger(__name__)

OVERVIEW_BUDGET = 192 * 2**20  # bytes for the float32 overview of all dates
OVERVIEW_MAX_SIDE = 512
FIT_SAMPLES = 60000  # overview pixels the per-pair radiometric lines are fitted on
MIN_RESPONSE = 0.05  # phase-correlation peak below which a shift is not trusted
MIN_CORR_GAIN = 0.005  # a measured shift must raise the chips' correlation at least this much
MIN_ALIGN_SIDE = 64  # scenes smaller than this are not co-registered (too little texture to measure)


@dataclass
class Plan:
    series: Series
    roles: dict[str, int]
    scale: float
    shifts: list[Shift]
    ref: int
    gains: np.ndarray  # (T, B, 2) normalisation (gain, offset) in reflectance
    ov: np.ndarray  # (T, B, h, w) overview reflectance
    ov_classes: np.ndarray  # (T, h, w)
    use_detection: list[bool]  # per date
    azimuths: list[float | None] = field(default_factory=list)  # per date: where shadows fall from clouds
    detector: str = "spectral"  # the detector the run uses (decloud.detect.detector resolved)
    detector_why: str = ""
    pair_fits: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    sample: tuple[np.ndarray, np.ndarray] | None = None

    def _sample(self) -> tuple[np.ndarray, np.ndarray]:
        """An even subsample (at most FIT_SAMPLES pixels) of the overview: (T, B, N) values, (T, N) clear."""
        if self.sample is None:
            t, b, h, w = self.ov.shape
            step = max(1, int(math.ceil(math.sqrt(h * w / FIT_SAMPLES))))
            vals = self.ov[:, :, ::step, ::step].reshape(t, b, -1)
            clear = (self.ov_classes[:, ::step, ::step] == CLEAR).reshape(t, -1) & np.isfinite(vals).all(axis=1)
            self.sample = (vals, clear)
        return self.sample

    def fit(self, target: int, source: int) -> np.ndarray:
        """(B, 2) gain/offset mapping ``source`` reflectance onto ``target`` (overview, clear in both)."""
        key = (target, source)
        if key not in self.pair_fits:
            vals, clear = self._sample()
            both = clear[target] & clear[source]
            out = np.zeros((vals.shape[1], 2), np.float32)
            for k in range(vals.shape[1]):
                fit = robust_line(vals[source, k][both], vals[target, k][both], min_points=50) \
                    if both.sum() >= 50 else None
                if fit is None or not 0.1 < fit[0] < 10:
                    gt, ot = self.gains[target, k]
                    gs, os_ = self.gains[source, k]
                    fit = (float(gt / gs), float(ot - gt / gs * os_))
                out[k] = fit
            self.pair_fits[key] = out
        return self.pair_fits[key]


def _overview_shape(series: Series) -> tuple[int, int]:
    g = series.grid
    per = len(series.dates) * series.num_bands * 4
    s = min(1.0, math.sqrt(OVERVIEW_BUDGET / (per * g.width * g.height)), OVERVIEW_MAX_SIDE / max(g.width, g.height))
    return max(int(round(g.height * s)), 1), max(int(round(g.width * s)), 1)


# where a masked pixel's class came from (counted per date in the report)
ORIGIN_NONE, ORIGIN_FILE, ORIGIN_DETECTED, ORIGIN_BOTH = 0, 1, 2, 3
ORIGIN_NAMES = {ORIGIN_FILE: "mask file", ORIGIN_DETECTED: "detector", ORIGIN_BOTH: "mask file and detector"}


def sure_only(det: np.ndarray, buffer: int, min_area: int) -> np.ndarray:
    """Detected classes reduced to what detection is sure of: regions of at least ``min_area`` px.

    Used where a provider mask is the authority (``detect: always``): a detected region is added only
    if, without its buffer, it still covers ``min_area`` pixels; specks and fringes are dropped.
    """
    import cv2

    out = det.copy()
    for cls in (CLOUD, SHADOW):
        m = det == cls
        if not m.any():
            continue
        core = m
        if buffer > 0:
            k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * buffer + 1, 2 * buffer + 1))
            core = cv2.erode(m.astype(np.uint8), k).astype(bool)
        n, lab = cv2.connectedComponents(m.astype(np.uint8), connectivity=8)
        core_area = np.bincount(lab[core], minlength=n)  # each detected region's area without its buffer
        keep = (core_area >= max(min_area, 1))[lab]
        out[m & ~keep] = CLEAR
    return out


def _combine_classes(file_cls: np.ndarray | None, det: np.ndarray | None, buffer: int,
                     sure_area: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mask-file classes (buffered) and/or detected classes (already buffered) into one class map.

    Returns (classes, origin): the mask file is the authority, and detection adds to it only the
    regions it is sure of (:func:`sure_only`). ``origin`` says per pixel which source masked it.
    """
    if file_cls is None and det is None:
        raise ValueError("no mask source")
    f = buffer_classes(file_cls, buffer) if file_cls is not None else None
    masked = (CLOUD, SHADOW)
    if f is None:
        return det, np.where(np.isin(det, masked), ORIGIN_DETECTED, ORIGIN_NONE).astype(np.uint8)  # type: ignore
    if det is None:
        return f, np.where(np.isin(f, masked), ORIGIN_FILE, ORIGIN_NONE).astype(np.uint8)
    det = sure_only(det, buffer, sure_area)
    out = f.copy()
    out[(det == SHADOW) & (out == CLEAR)] = SHADOW
    out[(det == CLOUD) & (out != NODATA)] = CLOUD
    out[det == NODATA] = NODATA
    origin = np.where(np.isin(f, masked), ORIGIN_FILE, ORIGIN_NONE).astype(np.uint8)
    origin[np.isin(det, masked) & np.isin(out, masked)] |= ORIGIN_DETECTED
    origin[out == NODATA] = ORIGIN_NONE
    return out, origin


def detect_classes(stack: np.ndarray, roles: dict[str, int], params: DetectParams, gains: np.ndarray,
                   valid: np.ndarray, azimuths: list[float | None] | None = None,
                   origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Detected classes (T, H, W), buffered, by the run's detector (``params.detector``).

    ``stack`` is reflectance (T, B, H, W) as read: the learned detectors see it as their models were
    trained; the spectral/temporal tests see it normalised to a common background (``gains``).
    ``origin`` (row, col) is where the stack's first pixel lies in the image (a block's, in a tiled run).
    """

    norm = normalise(stack, gains)
    spectral = detect_stack(norm, roles, params, valid=valid, azimuths=azimuths)
    if params.detector == "csmask":
        from vidrestore.decloud.learned import detect_csmask

        learned = detect_csmask(stack, roles, valid, level=params.product_level,
                                min_probability=params.learned_probability)
        return _fuse(norm, learned, spectral, roles, params, valid)
    if params.detector == "s2cloudless":
        from vidrestore.decloud.learned import s2cloudless_clouds

        clouds = s2cloudless_clouds(stack, roles, valid, threshold=params.probability_threshold,
                                    block=params.s2cloudless_block, origin=origin)
        learned = detect_stack(norm, roles, params, valid=valid, azimuths=azimuths, clouds=clouds)
        return _fuse(norm, learned, spectral, roles, params, valid, buffered=True)
    return spectral


CONFIRM = 0.5  # a learned cloud/shadow must change the date by this fraction of the temporal thresholds


def _confirmed(norm: np.ndarray, learned: np.ndarray, spectral: np.ndarray, roles: dict[str, int],
               params: DetectParams, valid: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per date, the learned (cloud, shadow) that the series confirms (see :func:`_fuse`)."""
    from vidrestore.decloud.detect import background, visible_indices

    vis = visible_indices(roles, norm.shape[1])
    exclude = ((learned == CLOUD) | (learned == SHADOW) | (spectral == CLOUD) | (spectral == SHADOW)) & valid
    bg, count = background(norm, exclude, min_dates=params.min_dates_temporal, vis=vis)
    temporal = count >= params.min_dates_temporal
    out = []
    with np.errstate(invalid="ignore"):
        s_bg = bg.sum(axis=0)
        for i in range(norm.shape[0]):
            brighter = (norm[i, vis] - bg[vis]).mean(axis=0) > CONFIRM * params.temporal_threshold
            darker = norm[i].sum(axis=0) < (1.0 - CONFIRM * params.shadow_threshold) * s_bg
            cloud = (learned[i] == CLOUD) & np.where(temporal, brighter, True)
            shadow = (learned[i] == SHADOW) & np.where(temporal, darker, True) & ~cloud
            out.append((cloud, shadow))
    return out


def learned_agreement(norm: np.ndarray, learned: np.ndarray, spectral: np.ndarray, roles: dict[str, int],
                      params: DetectParams, valid: np.ndarray) -> float:
    """Share of a learned detector's cloud/shadow pixels that the series confirms (1.0 if it found none)."""
    flagged = int(((learned == CLOUD) | (learned == SHADOW)).sum())
    if flagged == 0:
        return 1.0
    kept = sum(int(c.sum() + s.sum()) for c, s in _confirmed(norm, learned, spectral, roles, params, valid))
    return kept / flagged


def _fuse(norm: np.ndarray, learned: np.ndarray, spectral: np.ndarray, roles: dict[str, int], params: DetectParams,
          valid: np.ndarray, *, buffered: bool = False) -> np.ndarray:
    """A learned detector's classes, confirmed by the series, joined with the spectral/temporal ones.

    A model sees one date; a bright roof or a dark forest can look like cloud or shadow to it. Where
    a pixel has ``min_dates_temporal`` clear dates, a learned cloud is kept only if the date is
    brighter there than the other dates' background (by :data:`CONFIRM` x ``temporal_threshold``)
    and a learned shadow only if it is darker (by :data:`CONFIRM` x ``shadow_threshold``): the
    clear observations of a series are never replaced on a model's word alone. The spectral/
    temporal detections are added, so a model's misses on sensors it was not trained on cost nothing.
    """
    from vidrestore.decloud.masks import buffer_classes as grow

    out = np.empty_like(learned)
    for i, (cloud, shadow) in enumerate(_confirmed(norm, learned, spectral, roles, params, valid)):
        cls = np.zeros(cloud.shape, np.uint8)
        cls[shadow] = SHADOW
        cls[cloud] = CLOUD
        if not buffered:
            cls = grow(cls, params.buffer)
        cls[(spectral[i] == SHADOW) & (cls == CLEAR)] = SHADOW
        cls[spectral[i] == CLOUD] = CLOUD
        cls[~valid[i]] = NODATA
        out[i] = cls
    return out


def classes_for(stack: np.ndarray, file_cls: list[np.ndarray | None], use_det: list[bool], roles: dict[str, int],
                 params: DetectParams, gains: np.ndarray, buffer: int,
                 azimuths: list[float | None] | None = None, *, with_origin: bool = False,
                 at: tuple[int, int] = (0, 0)) -> Any:
    """Classes (T, H, W) of a co-registered reflectance stack from mask files and/or detection.

    With ``with_origin``, (classes, origin): origin per pixel is ORIGIN_FILE / ORIGIN_DETECTED /
    ORIGIN_BOTH where masked (see :func:`_combine_classes`). ``at`` (row, col): where the stack's first
    pixel lies in the image.
    """
    t, _, h, w = stack.shape
    valid = np.isfinite(stack).all(axis=1)
    det = None
    if any(use_det):
        det = detect_classes(stack, roles, params, gains, valid, azimuths, origin=at)
    out = np.empty((t, h, w), np.uint8)
    origin = np.zeros((t, h, w), np.uint8)
    for i in range(t):
        d = det[i] if (det is not None and use_det[i]) else None
        f = file_cls[i]
        if f is None and d is None:
            cls = np.where(valid[i], CLEAR, NODATA).astype(np.uint8)
        else:
            cls, origin[i] = _combine_classes(f, d, buffer, params.sure_area)
        cls[~valid[i]] = NODATA
        out[i] = cls
    return (out, origin) if with_origin else out


def make_plan(series: Series, reader: SeriesReader, dc: DecloudConfig, roles: dict[str, int],
               scale: float | None, detector: tuple[str, str] = ("spectral", "")) -> Plan:
    """Overview masks, shifts, normalisation gains; two rounds of alignment (see :func:`_align`).

    ``scale`` None: the reflectance scale is learned from the overview's band statistics
    (:func:`~vidrestore.decloud.learned.learn_scale`). ``detector`` is (name, why) of the chosen detector.
    """
    n = len(series.dates)
    shape = _overview_shape(series)
    factor = shape[0] / series.grid.height
    logger.info("planning on a %dx%d overview of %d dates", shape[1], shape[0], n)
    raw = np.stack([reader.read_overview(e, shape) for e in series.dates])
    learned_scale = scale is None
    if scale is None:
        from vidrestore.decloud.learned import learn_scale

        scale = learn_scale(raw, roles)
        logger.info("reflectance scale learned from the band statistics: %.4g (pass --scale to set it)", scale)
    ov = raw / np.float32(scale)
    file_cls = [reader.read_mask_overview(e, shape) for e in series.dates]
    use_det = [dc.detect.mode == "always" or (dc.detect.mode == "auto" and file_cls[i] is None) for i in range(n)]
    lacking = [r for r in ("blue", "green", "red") if r not in roles]
    if any(use_det) and lacking:
        # a single index (NDVI) or unnamed bands: a cloud cannot be told from a change of the land
        # (a greening field is "brighter" too), so clear observations would be replaced
        why = (f"no {'/'.join(lacking)} band mapped: clouds cannot be told from land change in these bands, "
               "nothing is detected (map bands with --bands blue=..,green=..,red=.., or give --masks)")
        logger.warning("decloud: %s", why)
        use_det = [False] * n
        detector = ("none", why)
    if any(use_det) and detector[0] != "spectral" and detector[1].startswith("auto"):
        detector = _gate_learned(ov, file_cls, roles, dc, detector, factor)
        if detector[0] == "spectral" and learned_scale:  # the spectral thresholds assume the dtype's scale
            from vidrestore.decloud.engine import reflectance_scale

            scale = reflectance_scale(dc, series.dtype)
            ov = raw / np.float32(scale)
    del raw
    if any(use_det):
        logger.info("detector: %s (%s)", detector[0], detector[1])
    valid = np.isfinite(ov).all(axis=1)
    # first guess of clear pixels: the spectral test and any mask file
    clear0 = valid & ~spectral_candidates(ov, roles, DetectParams.from_config(dc))
    for i, f in enumerate(file_cls):
        if f is not None:
            clear0[i] &= f == CLEAR
    ref = int(np.argmax([clear0[i].sum() for i in range(n)]))
    params_ov = DetectParams.from_config(dc, scale=factor, detector=detector[0])
    buffer_ov = int(round(dc.buffer * factor))
    shifts = [Shift() for _ in range(n)]
    align = dc.align.enabled and min(series.grid.width, series.grid.height) >= MIN_ALIGN_SIDE
    if dc.align.enabled and not align:
        logger.info("scene smaller than %d px: dates are not co-registered", MIN_ALIGN_SIDE)
    if align:
        # round 1: phase correlation with only no-data and mask files excluded (clouds of one date do
        # not correlate with another's land, so they lower the peak but rarely move it)
        shifts = _align(series, reader, dc, roles, scale, ref, shape, classes=None, start=None)
    ov_al, fc_al = _realign(ov, file_cls, shifts, shape, series, dc)
    gains = fit_normalisation(ov_al, clear0 if all(s.is_zero for s in shifts) else
                              np.isfinite(ov_al).all(axis=1) & ~spectral_candidates(ov_al, roles, params_ov))
    classes = classes_for(ov_al, fc_al, use_det, roles, params_ov, gains, buffer_ov)
    if align and any(not s.is_zero for s in shifts):
        # round 2: with the clouds and shadows of the co-registered overview masked, polish every shift
        shifts = _align(series, reader, dc, roles, scale, ref, shape, classes=classes, start=shifts)
        ov_al, fc_al = _realign(ov, file_cls, shifts, shape, series, dc)
        classes = classes_for(ov_al, fc_al, use_det, roles, params_ov, gains, buffer_ov)
    # regressions on misregistered pixels are diluted (slopes pulled towards 0): fit on the co-registered overview
    gains = fit_normalisation(ov_al, classes == CLEAR)
    azimuths: list[float | None] = [dc.detect.shadow_azimuth] * n
    if any(use_det):
        azimuths = shadow_azimuths(normalise(ov_al, gains), classes, roles, params_ov, fixed=dc.detect.shadow_azimuth)
        for e, a in zip(series.dates, azimuths):
            logger.debug("%s: shadows searched %s", e.name, "all around clouds" if a is None else f"towards {a:.0f} deg")
    return Plan(series=series, roles=roles, scale=scale, shifts=shifts, ref=ref, gains=gains, ov=ov_al,
                 ov_classes=classes, use_detection=use_det, azimuths=azimuths, detector=detector[0],
                 detector_why=detector[1])


AUTO_AGREEMENT = 0.5  # auto keeps a learned detector only if the series confirms this share of what it flags


def _gate_learned(ov: np.ndarray, file_cls: list[np.ndarray | None], roles: dict[str, int], dc: DecloudConfig,
                  detector: tuple[str, str], factor: float) -> tuple[str, str]:
    """``auto``'s check that a learned detector is in its domain on this series (else spectral).

    On the (unaligned) overview, the share of the model's cloud/shadow pixels that are transient in
    the series (:func:`learned_agreement`) must reach :data:`AUTO_AGREEMENT`: a model flagging
    static land (another sensor, resolution or radiometry than it was trained on) is not used.
    """
    from vidrestore.decloud.learned import detect_csmask, s2cloudless_clouds

    params = DetectParams.from_config(dc, scale=factor, detector="spectral")
    valid = np.isfinite(ov).all(axis=1)
    clear0 = valid & ~spectral_candidates(ov, roles, params)
    for i, f in enumerate(file_cls):
        if f is not None:
            clear0[i] &= f == CLEAR
    gains = fit_normalisation(ov, clear0)
    norm = normalise(ov, gains)
    spectral = detect_stack(norm, roles, params, valid=valid)
    if detector[0] == "csmask":
        learned = detect_csmask(ov, roles, valid, level=dc.detect.product_level, min_probability=dc.detect.learned_probability)
    else:
        learned = np.where(s2cloudless_clouds(ov, roles, valid, threshold=dc.probability_threshold,
                                              block=params.s2cloudless_block), CLOUD, CLEAR)
    share = learned_agreement(norm, learned, spectral, roles, params, valid)
    if share < AUTO_AGREEMENT:
        why = (f"auto: {detector[0]} flagged pixels of which only {100 * share:.0f} % are transient in this series "
               f"(< {100 * AUTO_AGREEMENT:.0f} %): out of its domain here, spectral tests used instead")
        logger.warning("decloud.detect.detector=%s", why)
        return "spectral", why
    return detector[0], f"{detector[1]}; {100 * share:.0f} % of its detections confirmed by the series"


def _realign(ov: np.ndarray, file_cls: list[np.ndarray | None], shifts: list[Shift], shape: tuple[int, int],
             series: Series, dc: DecloudConfig) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """The overview and its mask-file classes shifted onto the reference grid."""
    if all(s.is_zero for s in shifts):
        return ov, file_cls
    fy, fx = shape[0] / series.grid.height, shape[1] / series.grid.width
    ov_al = np.stack([o if s.is_zero else shift_image(o, s.dx * fx, s.dy * fy, interpolation=dc.input.resampling)
                      for o, s in zip(ov, shifts)])
    fc_al = [None if f is None else shift_mask(f, s.dx * fx, s.dy * fy, fill=NODATA) for f, s in zip(file_cls, shifts)]
    return ov_al, fc_al


def _chip_windows(series: Series, chip: int) -> list[Window]:
    g = series.grid
    ch, cw = min(chip, g.height), min(chip, g.width)
    if g.height < 2 * chip or g.width < 2 * chip:
        return [Window((g.height - ch) // 2, (g.width - cw) // 2, ch, cw)]
    out = []
    for fy in (0.25, 0.75):
        for fx in (0.25, 0.75):
            out.append(Window(int(g.height * fy - ch / 2), int(g.width * fx - cw / 2), ch, cw))
    return out


def _align_band(data: np.ndarray, roles: dict[str, int]) -> np.ndarray:
    for role in ("nir", "red", "green"):
        if role in roles:
            return data[roles[role]]
    if data.shape[0] == 1:
        return data[0]
    return data.mean(axis=0)  # NaN where any band is invalid, like the pixel itself


def _chip_classes(classes: np.ndarray, win: Window, shift: Shift, series: Series) -> np.ndarray:
    """Reference-grid overview classes sampled (nearest) on a full-resolution chip of a date's own grid."""
    import cv2

    oh, ow = classes.shape
    g = series.grid
    rows = np.clip(np.floor((np.arange(win.row, win.row + win.height) - shift.dy) * oh / g.height), 0, oh - 1)
    cols = np.clip(np.floor((np.arange(win.col, win.col + win.width) - shift.dx) * ow / g.width), 0, ow - 1)
    bad = classes[np.ix_(rows.astype(int), cols.astype(int))] != CLEAR
    grow = int(math.ceil(g.height / oh))
    if grow > 1:  # coarse masks: widen by one overview pixel
        bad = cv2.dilate(bad.astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)).astype(bool)
    return bad


def _improves(ref: np.ndarray, mov: np.ndarray, shift: Shift, ref_bad: np.ndarray, mov_bad: np.ndarray) -> bool:
    """Whether ``shift`` raises the correlation of the clear pixels by at least :data:`MIN_CORR_GAIN`."""
    before = correlation_at(ref, mov, Shift(), ref_bad=ref_bad, mov_bad=mov_bad)
    after = correlation_at(ref, mov, shift, ref_bad=ref_bad, mov_bad=mov_bad)
    if not np.isfinite(after):
        return False
    return not np.isfinite(before) or after >= before + MIN_CORR_GAIN


def _align(series: Series, reader: SeriesReader, dc: DecloudConfig, roles: dict[str, int], scale: float,
           ref: int, shape: tuple[int, int], *, classes: np.ndarray | None, start: list[Shift] | None) -> list[Shift]:
    """Shift of every date relative to ``ref``: median over full-resolution chips.

    Without ``classes`` (round 1): phase correlation, masking no-data and mask-file clouds only.
    With ``classes`` (reference-grid overview classes, round 2): clouds/shadows masked, phase
    correlation again, then Lucas-Kanade polishing (:func:`~vidrestore.decloud.align.refine_shift`).
    """
    chips = _chip_windows(series, dc.align.chip)

    def chip_data(i: int, win: Window) -> tuple[np.ndarray, np.ndarray]:
        _, data = reader.read(series.dates[i], win)
        data /= np.float32(scale)
        bad = ~np.isfinite(data).all(axis=0)
        fm = reader.read_mask(series.dates[i], win)
        if fm is not None:
            bad |= fm != CLEAR
        if classes is not None:
            bad |= _chip_classes(classes[i], win, start[i] if start else Shift(), series)
        return _align_band(data, roles), bad

    refs = [chip_data(ref, w) for w in chips]
    shifts: list[Shift] = []
    for i, entry in enumerate(series.dates):
        if i == ref:
            shifts.append(Shift(0.0, 0.0, 1.0))
            continue
        per_chip = []
        for (rimg, rbad), win in zip(refs, chips):
            mimg, mbad = chip_data(i, win)
            if (~mbad).mean() < 0.05 or (~rbad).mean() < 0.05:
                continue
            est = estimate_shift(rimg, mimg, ref_bad=rbad, mov_bad=mbad)
            if classes is not None and est.response >= MIN_RESPONSE:
                est = refine_shift(rimg, mimg, est, ref_bad=rbad, mov_bad=mbad)
            if est.magnitude > dc.align.max_shift:
                logger.debug("%s: chip peak at %.1f px is beyond decloud.align.max_shift; ignored", entry.name, est.magnitude)
                est = Shift(0.0, 0.0, max(est.response, MIN_RESPONSE))
            elif not est.is_zero and not _improves(rimg, mimg, est, rbad, mbad):
                # the peak was noise: shifting does not make the dates agree better, so this chip votes for 0
                est = Shift(0.0, 0.0, max(est.response, MIN_RESPONSE))
            per_chip.append(est)
        s = combine_shifts(per_chip, min_response=MIN_RESPONSE)
        if not per_chip or s.response == 0.0:
            if classes is None:
                logger.info("%s: too few clear pixels or too little texture to measure a shift; taken as aligned",
                            entry.name)
            s = start[i] if start else Shift()
        elif s.magnitude > dc.align.max_shift:
            logger.warning("%s: measured shift %.1f px exceeds decloud.align.max_shift=%g; assumed aligned",
                           entry.name, s.magnitude, dc.align.max_shift)
            s = Shift()
        elif classes is not None:
            logger.info("%s: shift dx=%+.2f dy=%+.2f px (peak %.2f)", entry.name, s.dx, s.dy, s.response)
        shifts.append(s)
    return shifts
