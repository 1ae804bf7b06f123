"""Compare a restored clip with its reference, frame by frame: the engine of ``vidrestore eval``.

Frames are streamed from both clips (never the whole clip in memory) and paired:

* ``match="index"``: frame i with frame i. Different counts are an error unless ``partial``,
  which compares the first ``min(n_ref, n_out)`` frames and says so in the notes.
* ``match="pts"``: by presentation time, each clip's time counted from its own first frame; a
  reference frame pairs with the restored frame within half a reference frame interval. A
  reference frame without a partner is an error unless ``partial`` (then it is skipped and
  counted); restored frames without a partner (e.g. interpolated ones) are skipped and counted.

Per pair (see :mod:`vidrestore.metrics.fidelity`, :mod:`~vidrestore.metrics.temporal`,
:mod:`~vidrestore.metrics.lpips` for the definitions and units):

* ``psnr`` (dB), ``ssim``: restored vs reference, RGB or Y (``y_channel``), ``crop_border``;
* ``lpips``: restored vs reference (only when its weights resolve offline);
* ``warp``: warping error of the restored clip between the previous pair and this one, with the
  flow of the *reference* (non-occluded pixels); ``warp_ref``: the same for the reference itself,
  the baseline a restoration should not exceed by much;
* ``flicker`` / ``flicker_ref``: the flicker index of restored / reference in the reference's
  static regions (motion-compensated with the reference flow).

Temporal values belong to the later frame of their pair; the first paired frame has none.
Restored frames of another size are an error unless ``resize`` (then they are scaled to the
reference size: area filter when shrinking, bicubic when enlarging).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vidrestore.errors import ConfigError, MediaError
from vidrestore.flow.config import FlowConfig
from vidrestore.io.config import IOConfig
from vidrestore.metrics.fidelity import psnr, ssim
from vidrestore.metrics.temporal import nanmean
from vidrestore.sections import check, choice
from vidrestore.types import Frame

if TYPE_CHECKING:
    import torch

    from vidrestore.metrics.lpips import LPIPSAlex

log = logging.getLogger(__name__)

#: Metrics a user can ask for, in display order.
METRICS = ("psnr", "ssim", "lpips", "warp", "flicker")
#: What ``eval`` computes when not told (lpips joins when its weights resolve).
DEFAULT_METRICS = ("psnr", "ssim", "warp", "flicker")
TEMPORAL = ("warp", "flicker")
#: Series each metric produces (temporal metrics also report the reference's own value).
SERIES = {
    "psnr": ("psnr",),
    "ssim": ("ssim",),
    "lpips": ("lpips",),
    "warp": ("warp", "warp_ref"),
    "flicker": ("flicker", "flicker_ref"),
}
UNITS = {
    "psnr": "dB",
    "ssim": "",
    "lpips": "",
    "warp": "MSE [0,1]",
    "warp_ref": "MSE [0,1]",
    "flicker": "luma levels",
    "flicker_ref": "luma levels",
}
#: For each series, whether larger is better (worst frames are picked accordingly).
HIGHER_IS_BETTER = {"psnr": True, "ssim": True}


def parse_metrics(text: str | None) -> tuple[tuple[str, ...], bool]:
    """``"psnr,ssim"`` -> (metrics, lpips_explicit). ``None`` -> the defaults (lpips if available)."""
    if text is None or text.strip() in ("", "default"):
        return DEFAULT_METRICS, False
    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    if names == ["all"]:
        return METRICS, True
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ConfigError(f"--metrics: unknown metric {unknown[0]!r}; choose from {', '.join(METRICS)} (or 'all')")
    ordered = tuple(m for m in METRICS if m in names)
    return ordered, "lpips" in ordered


@dataclass(frozen=True, kw_only=True)
class EvalOptions:
    """How to pair and measure; see the module doc."""

    metrics: tuple[str, ...] = DEFAULT_METRICS
    lpips_explicit: bool = False  # asked for by name: missing weights are an error, not a note
    crop_border: int = 0
    y_channel: bool = False
    match: str = "index"  # index | pts
    partial: bool = False
    resize: bool = False
    max_frames: int | None = None
    flow: FlowConfig = field(default_factory=lambda: FlowConfig(method="dis"))
    device: str = "cpu"
    io: IOConfig = field(default_factory=IOConfig)

    def __post_init__(self) -> None:
        choice("--match", self.match, ("index", "pts"))
        check("--crop-border", self.crop_border >= 0, f"must be >= 0, got {self.crop_border}")
        check("--max-frames", self.max_frames is None or self.max_frames >= 1, f"must be >= 1, got {self.max_frames}")
        unknown = [m for m in self.metrics if m not in METRICS]
        if unknown or not self.metrics:
            raise ConfigError(f"metrics: expected some of {', '.join(METRICS)}, got {self.metrics}")


@dataclass
class FrameScores:
    """Values of one matched pair. ``None`` = not applicable (first frame of a temporal metric)."""

    ref_index: int
    out_index: int
    time: float  # seconds since the reference's first frame
    values: dict[str, float | None]


@dataclass
class EvalReport:
    reference: str
    restored: str
    series: tuple[str, ...]
    frames: list[FrameScores] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # metric -> why it was not computed
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def values(self, name: str) -> list[float | None]:
        return [f.values.get(name) for f in self.frames]

    def means(self) -> dict[str, float]:
        """Mean per series over the frames where it applies. PSNR's mean is of per-frame dB
        values (as BasicSR reports it); ``inf`` frames make the mean ``inf``."""
        out: dict[str, float] = {}
        for name in self.series:
            vals = [v for v in self.values(name) if v is not None]
            if not vals:
                out[name] = math.nan
            elif any(math.isinf(v) for v in vals):
                out[name] = math.inf if all(v > 0 for v in vals if math.isinf(v)) else math.nan
            else:
                out[name] = nanmean(vals)
        return out

    def worst(self, name: str) -> tuple[int, float] | None:
        """(reference frame index, value) of the worst frame of a series."""
        pairs = [(f.ref_index, v) for f in self.frames if (v := f.values.get(name)) is not None and math.isfinite(v)]
        if not pairs:
            return None
        pick = min if HIGHER_IS_BETTER.get(name, False) else max
        return pick(pairs, key=lambda p: p[1])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``inf`` is written as the string ``"inf"``, ``nan``/not applicable as ``null``."""
        return {
            "reference": self.reference,
            "restored": self.restored,
            "settings": self.settings,
            "counts": self.counts,
            "metrics": list(self.series),
            "units": {s: UNITS[s] for s in self.series},
            "means": {k: _json_number(v) for k, v in self.means().items()},
            "skipped": dict(self.skipped),
            "notes": list(self.notes),
            "frames": [
                {"ref_index": f.ref_index, "out_index": f.out_index, "time": round(f.time, 6),
                 **{k: _json_number(v) for k, v in f.values.items()}}
                for f in self.frames
            ],
        }


def _json_number(v: float | None) -> float | str | None:
    if v is None or math.isnan(v):
        return None
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return float(v)


def write_json(report: EvalReport, path: str | os.PathLike[str]) -> None:
    """Write the report as JSON atomically (temporary file, then rename)."""
    text = json.dumps(report.to_dict(), indent=1, allow_nan=False) + "\n"
    atomic_write(Path(path), text.encode("utf-8"))


def atomic_write(path: Path, data: bytes, *, overwrite: bool | None = None,
                 inputs: tuple[str | os.PathLike[str], ...] = ()) -> None:
    """Write ``data`` to ``path`` through :func:`vidrestore.io.safety.atomic_write` (an existing file
    only with ``overwrite``, default the run's ``--overwrite``; never onto an input or through a link)."""
    from vidrestore.io import safety

    safety.atomic_write(path, data, overwrite=safety.RUN.overwrite if overwrite is None else overwrite,
                        inputs=inputs, what="report")


# --------------------------------------------------------------------------- pairing


@dataclass
class PairCounter:
    ref_seen: int = 0
    out_seen: int = 0
    paired: int = 0
    ref_unmatched: int = 0
    out_unmatched: int = 0


def pair_by_index(ref: Iterable[Frame], out: Iterable[Frame], *, partial: bool, counter: PairCounter,
                  ref_name: str, out_name: str) -> Iterator[tuple[Frame, Frame]]:
    """Frame i with frame i; a length difference is a :class:`MediaError` unless ``partial``."""
    it_ref, it_out = iter(ref), iter(out)
    while True:
        a = next(it_ref, None)
        b = next(it_out, None)
        if a is not None:
            counter.ref_seen += 1
        if b is not None:
            counter.out_seen += 1
        if a is None or b is None:
            if a is None and b is None:
                return
            # Count the rest of the longer clip for an exact message.
            rest = it_out if a is None else it_ref
            extra = 1 + sum(1 for _ in rest)
            if a is None:
                counter.out_seen += extra - 1
                counter.out_unmatched = extra
            else:
                counter.ref_seen += extra - 1
                counter.ref_unmatched = extra
            if not partial:
                raise MediaError(out_name, f"has {counter.out_seen} frames, the reference {ref_name} has "
                                           f"{counter.ref_seen}; pass --partial to compare the first "
                                           f"{min(counter.out_seen, counter.ref_seen)} (or --match pts)")
            return
        counter.paired += 1
        yield a, b


def pair_by_time(ref: Iterable[Frame], out: Iterable[Frame], *, tolerance: float, partial: bool,
                 counter: PairCounter, ref_name: str, out_name: str) -> Iterator[tuple[Frame, Frame]]:
    """Pair by time since each clip's first frame: the nearest restored frame within ``tolerance`` seconds."""
    it_out = iter(out)
    ref_t0: float | None = None
    out_t0: float | None = None
    pending: Frame | None = None  # a restored frame read ahead, belonging to a later reference frame

    def next_out() -> Frame | None:
        nonlocal pending, out_t0
        if pending is not None:
            b, pending = pending, None
            return b
        b = next(it_out, None)
        if b is not None:
            counter.out_seen += 1
            if out_t0 is None:
                out_t0 = b.time
        return b

    for a in ref:
        counter.ref_seen += 1
        if ref_t0 is None:
            ref_t0 = a.time
        ta = a.time - ref_t0
        match: Frame | None = None
        while (b := next_out()) is not None:
            tb = b.time - (out_t0 or 0.0)
            if tb < ta - tolerance:
                counter.out_unmatched += 1
                continue
            if tb > ta + tolerance:
                pending = b
                break
            # Within tolerance: take the nearest of the candidates (a denser clip has several).
            while (c := next_out()) is not None:
                tc = c.time - (out_t0 or 0.0)
                if abs(tc - ta) < abs(tb - ta):
                    counter.out_unmatched += 1
                    b, tb = c, tc
                    continue
                pending = c
                break
            match = b
            break
        if match is None:
            counter.ref_unmatched += 1
            if not partial:
                raise MediaError(out_name, f"has no frame within {tolerance * 1000:.1f} ms of reference frame "
                                           f"{a.index} (t={ta:.3f} s of {ref_name}); pass --partial to skip "
                                           "reference frames without a partner")
            continue
        counter.paired += 1
        yield a, match
    while next_out() is not None:
        counter.out_unmatched += 1


# --------------------------------------------------------------------------- measuring


def resize_rgb(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale ``(H, W, 3)`` to ``size = (w, h)``: area filter when shrinking, bicubic when enlarging."""
    import cv2

    w, h = size
    if rgb.shape[1] == w and rgb.shape[0] == h:
        return rgb
    shrink = w * h < rgb.shape[0] * rgb.shape[1]
    out = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    return np.ascontiguousarray(out)


class PairEvaluator:
    """Measures one matched pair at a time; keeps the previous pair for the temporal metrics."""

    def __init__(self, options: EvalOptions, *, lpips_net: LPIPSAlex | None = None) -> None:
        self.options = options
        self.lpips_net = lpips_net
        self.temporal = any(m in TEMPORAL for m in options.metrics)
        self._estimator: Any = None
        self._prev: tuple[torch.Tensor, torch.Tensor] | None = None
        if self.temporal:
            from vidrestore.flow import build_flow_estimator

            self._estimator = build_flow_estimator(options.flow, device=options.device)

    @property
    def flow_name(self) -> str | None:
        return getattr(self._estimator, "name", None)

    def measure(self, ref_rgb: np.ndarray, out_rgb: np.ndarray) -> dict[str, float | None]:
        o = self.options
        values: dict[str, float | None] = {}
        if "psnr" in o.metrics:
            values["psnr"] = psnr(out_rgb, ref_rgb, crop_border=o.crop_border, test_y_channel=o.y_channel)
        if "ssim" in o.metrics:
            values["ssim"] = ssim(out_rgb, ref_rgb, crop_border=o.crop_border, test_y_channel=o.y_channel)
        if self.lpips_net is None and not self.temporal:
            return values
        from vidrestore.tensors import to_tensor

        ref_t = to_tensor(ref_rgb, o.device)
        out_t = to_tensor(out_rgb, o.device)
        if self.lpips_net is not None:
            import torch

            with torch.no_grad():
                values["lpips"] = float(self.lpips_net(out_t, ref_t)[0])
        if self.temporal:
            values.update(self._temporal(ref_t, out_t))
            self._prev = (ref_t, out_t)
        return values

    def _temporal(self, ref_t: torch.Tensor, out_t: torch.Tensor) -> dict[str, float | None]:
        from vidrestore.metrics.temporal import estimate_motion, temporal_pair

        o = self.options
        names = [s for m in o.metrics if m in TEMPORAL for s in SERIES[m]]
        if self._prev is None:
            return {n: None for n in names}
        ref_p, out_p = self._prev
        motion = estimate_motion(self._estimator, ref_t, ref_p, occlusion_threshold=o.flow.occlusion_threshold)
        scores = temporal_pair(out_t, out_p, ref_t, ref_p, motion)
        values: dict[str, float | None] = {}
        if "warp" in o.metrics:
            values["warp"] = scores.warp
            values["warp_ref"] = scores.warp_guide
        if "flicker" in o.metrics:
            values["flicker"] = scores.flicker
            values["flicker_ref"] = scores.flicker_guide
        return values


def _frame_interval(info: Any) -> float:
    rate = info.avg_rate or info.real_rate
    if rate:
        return float(1 / Fraction(rate))
    return 1 / 25


def _resolve_lpips(options: EvalOptions, report: EvalReport) -> tuple[EvalOptions, LPIPSAlex | None]:
    """Load LPIPS when asked (error if missing) or when available by default (else a note)."""
    from dataclasses import replace

    from vidrestore.metrics.lpips_weights import lpips_status

    if "lpips" in options.metrics:
        from vidrestore.metrics.lpips import load_lpips

        return options, load_lpips(device=options.device)
    if options.lpips_explicit:
        return options, None
    ok, reason = lpips_status()
    if not ok:
        report.skipped["lpips"] = reason
        return options, None
    from vidrestore.metrics.lpips import load_lpips

    metrics = tuple(m for m in METRICS if m in (*options.metrics, "lpips"))
    return replace(options, metrics=metrics, lpips_explicit=True), load_lpips(device=options.device)


def evaluate(
    reference: str | os.PathLike[str],
    restored: str | os.PathLike[str],
    options: EvalOptions | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> EvalReport:
    """Pair and measure two clips (video files or image folders). See the module doc.

    ``progress`` is called with the number of pairs measured so far.
    """
    from vidrestore.io.reader import open_reader

    options = options or EvalOptions()
    ref_name, out_name = str(reference), str(restored)
    report = EvalReport(reference=ref_name, restored=out_name, series=())
    options, lpips_net = _resolve_lpips(options, report)
    report.series = tuple(s for m in options.metrics for s in SERIES[m])
    with open_reader(reference, options.io) as ref_reader, open_reader(restored, options.io) as out_reader:
        _check_counts(ref_reader.info, out_reader.info, options, ref_name, out_name)
        ref_size, out_size = ref_reader.frame_size, out_reader.frame_size
        if ref_size != out_size and not options.resize:
            raise MediaError(out_name, f"is {out_size[0]}x{out_size[1]}, the reference {ref_name} is "
                                       f"{ref_size[0]}x{ref_size[1]}; pass --resize to scale it to the reference size")
        if ref_size != out_size:
            report.notes.append(f"restored frames scaled from {out_size[0]}x{out_size[1]} to "
                                f"{ref_size[0]}x{ref_size[1]} (--resize)")
        evaluator = PairEvaluator(options, lpips_net=lpips_net)
        counter = PairCounter()
        tol = 0.5 * _frame_interval(ref_reader.info)
        if options.match == "index":
            pairs = pair_by_index(ref_reader, out_reader, partial=options.partial, counter=counter,
                                  ref_name=ref_name, out_name=out_name)
        else:
            pairs = pair_by_time(ref_reader, out_reader, tolerance=tol, partial=options.partial,
                                 counter=counter, ref_name=ref_name, out_name=out_name)
        ref_t0: float | None = None
        for a, b in pairs:
            if ref_t0 is None:
                ref_t0 = a.time
            out_rgb = resize_rgb(b.rgb, ref_size) if ref_size != out_size else b.rgb
            values = evaluator.measure(a.rgb, out_rgb)
            report.frames.append(FrameScores(a.index, b.index, a.time - ref_t0, values))
            if progress is not None:
                progress(len(report.frames))
            if options.max_frames is not None and len(report.frames) >= options.max_frames:
                report.notes.append(f"stopped after {options.max_frames} pairs (--max-frames)")
                break
    if not report.frames:
        raise MediaError(out_name, f"no frame pairs with the reference {ref_name}")
    _finish(report, counter, options, evaluator)
    return report


def _check_counts(ref_info: Any, out_info: Any, options: EvalOptions, ref_name: str, out_name: str) -> None:
    """Fail before decoding when both containers state exact, different frame counts."""
    if options.match != "index" or options.partial or options.max_frames is not None:
        return
    n_ref, n_out = ref_info.num_frames, out_info.num_frames
    if ref_info.num_frames_exact and out_info.num_frames_exact and n_ref is not None and n_out is not None \
            and n_ref != n_out:
        raise MediaError(out_name, f"has {n_out} frames, the reference {ref_name} has {n_ref}; pass --partial "
                                   f"to compare the first {min(n_ref, n_out)} (or --match pts)")


def _finish(report: EvalReport, counter: PairCounter, options: EvalOptions, evaluator: PairEvaluator) -> None:
    report.counts = asdict(counter)
    if counter.ref_unmatched and options.match == "index":
        report.notes.append(f"the reference has {counter.ref_unmatched} more frames than the restored clip; "
                            "compared the common first frames (--partial)")
    elif counter.out_unmatched and options.match == "index":
        report.notes.append(f"the restored clip has {counter.out_unmatched} more frames than the reference; "
                            "compared the common first frames (--partial)")
    if options.match == "pts":
        if counter.ref_unmatched:
            report.notes.append(f"{counter.ref_unmatched} reference frames had no restored frame at their time "
                                "(skipped, --partial)")
        if counter.out_unmatched:
            report.notes.append(f"{counter.out_unmatched} restored frames had no reference frame at their time "
                                "(not measured)")
    report.settings = {
        "metrics": list(options.metrics),
        "channel": "Y (BT.601 studio swing)" if options.y_channel else "RGB",
        "crop_border": options.crop_border,
        "match": options.match,
        "resize": options.resize,
        "flow": evaluator.flow_name,
        "conventions": "BasicSR: 0..255 scale, PSNR peak 255, SSIM 11x11 Gaussian sigma 1.5 valid region",
    }
