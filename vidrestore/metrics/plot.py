"""Per-frame curves of an :class:`~vidrestore.metrics.evaluate.EvalReport` as a PNG (matplotlib, Agg).

One panel per metric family (PSNR, SSIM, LPIPS, warping error, flicker), x = reference frame
index; temporal panels draw the reference's own curve dashed beside the restored one, so a
reader sees whether the restoration added or removed temporal instability. ``inf`` PSNR
(identical frames) is drawn at the top of its panel with a marker and said in the title.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from vidrestore.errors import MediaError

if TYPE_CHECKING:
    from vidrestore.metrics.evaluate import EvalReport

_PANELS = (
    ("psnr", ("psnr",), "PSNR (dB)"),
    ("ssim", ("ssim",), "SSIM"),
    ("lpips", ("lpips",), "LPIPS"),
    ("warp", ("warp", "warp_ref"), "warping error (MSE)"),
    ("flicker", ("flicker", "flicker_ref"), "flicker (luma levels)"),
)
_LABELS = {"warp_ref": "reference", "flicker_ref": "reference"}


def plot_report(report: EvalReport, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Draw the per-frame curves of ``report`` into ``path`` (PNG, written atomically)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from vidrestore.metrics.evaluate import atomic_write

    path = Path(path)
    panels = [(key, [s for s in series if s in report.series], label)
              for key, series, label in _PANELS if any(s in report.series for s in series)]
    if not panels:
        raise MediaError(path, "nothing to plot: the report has no metric series")
    fig = Figure(figsize=(10, 2.2 * len(panels) + 0.6), dpi=100, layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    x = [f.ref_index for f in report.frames]
    means = report.means()
    for ax, (key, series, label) in zip(axes, panels):
        for name in series:
            _draw_series(ax, x, report.values(name), name, means.get(name, math.nan))
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    from matplotlib.ticker import MaxNLocator

    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[-1].set_xlabel("reference frame index")
    fig.suptitle(title or f"{Path(report.restored).name} vs {Path(report.reference).name}", fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write(path, buf.getvalue())
    return path


def _draw_series(ax: object, x: list[int], values: list[float | None], name: str, mean: float) -> None:
    finite = [(i, v) for i, v in zip(x, values) if v is not None and math.isfinite(v)]
    infinite = [i for i, v in zip(x, values) if v is not None and math.isinf(v)]
    style = "--" if name.endswith("_ref") else "-"
    label = f"{_LABELS.get(name, 'restored')} (mean {_fmt(mean)})"
    if finite:
        xs, ys = zip(*finite)
        ax.plot(xs, ys, style, linewidth=1.2, marker="." if len(xs) < 60 else None, label=label)  # type: ignore[attr-defined]
        top = max(ys)
    else:
        ax.plot([], [], style, label=label)  # type: ignore[attr-defined]
        top = 1.0
    if infinite:
        ax.scatter(infinite, [top] * len(infinite), marker="^", color="tab:green",  # type: ignore[attr-defined]
                   label=f"identical frames (inf): {len(infinite)}")


def _fmt(v: float) -> str:
    if math.isnan(v):
        return "n/a"
    if math.isinf(v):
        return "inf"
    return f"{v:.4g}"
