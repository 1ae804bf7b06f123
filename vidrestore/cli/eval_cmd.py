"""``vidrestore eval REFERENCE RESTORED``: per-frame PSNR/SSIM/LPIPS, warping error and flicker.

Both may be video files or folders of numbered images. Prints the means (and the worst frame of
each metric); ``--json`` writes every per-frame value, ``--plot`` the per-frame curves.
Conventions of PSNR/SSIM are BasicSR's (0..255 scale, RGB or ``--y-channel``, ``--crop-border``).
"""

from __future__ import annotations

import argparse
import math
import sys


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("eval", parents=[common], help="measure a restored clip against its reference",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("reference", metavar="REFERENCE", help="ground truth (or the input, for temporal metrics)")
    p.add_argument("restored", metavar="RESTORED", help="the clip to judge")
    p.add_argument("--metrics", metavar="LIST",
                   help="comma-separated: psnr,ssim,lpips,warp,flicker or 'all' (default psnr,ssim,warp,flicker, "
                        "plus lpips when its weights are found offline)")
    p.add_argument("--json", metavar="FILE", help="write per-frame values and means as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="write per-frame curves as a PNG")
    p.add_argument("--resize", action="store_true", help="scale RESTORED to REFERENCE's size when they differ")
    p.add_argument("--match", choices=("index", "pts"), default="index",
                   help="pair frames by position (default) or by presentation time")
    p.add_argument("--partial", action="store_true",
                   help="compare only the frames both clips have instead of failing on a count mismatch")
    p.add_argument("--y-channel", action="store_true", help="PSNR/SSIM on BT.601 luma Y (BasicSR test_y_channel)")
    p.add_argument("--crop-border", type=int, default=0, metavar="N", help="drop N pixels on each edge for PSNR/SSIM")
    p.add_argument("--flow", default="dis", choices=("dis", "farneback", "raft-small", "raft-large", "auto"),
                   help="flow method of the temporal metrics, estimated on REFERENCE (default dis: no weights)")
    p.add_argument("--flow-preset", default="medium", choices=("ultrafast", "fast", "medium"),
                   help="DIS preset (default medium)")
    p.add_argument("--max-frames", type=int, metavar="N", help="stop after N frame pairs")
    p.add_argument("--per-frame", action="store_true", help="also print every frame's values (TSV)")
    p.add_argument("--fps", metavar="RATE", help="frame rate of image-folder inputs (default 25)")
    p.add_argument("--weights", metavar="DIR", help="folder with weight files (LPIPS: alexnet-owt-7be5be79.pth and "
                                                     "LPIPS_v0.1_alex-df73285e.pth; RAFT), searched first")
    p.add_argument("--device", default="cpu", help="torch device for LPIPS and flow (default cpu)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="CPU threads for torch and OpenCV (default: theirs; 1 is faster on a busy machine)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --json/--plot file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidrestore.config import FlowConfig, IOConfig
    from vidrestore.errors import ConfigError
    from vidrestore.metrics.evaluate import EvalOptions, evaluate, parse_metrics, write_json

    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f"--threads must be >= 1, got {args.threads}")
        _set_threads(args.threads)
    if args.weights is not None:
        _add_weights_dir(args.weights)
    metrics, explicit = parse_metrics(args.metrics)
    options = EvalOptions(
        metrics=metrics, lpips_explicit=explicit, crop_border=args.crop_border, y_channel=args.y_channel,
        match=args.match, partial=args.partial, resize=args.resize, max_frames=args.max_frames,
        flow=FlowConfig(method=args.flow, dis_preset=args.flow_preset), device=args.device,
        io=IOConfig(fps=args.fps),
    )
    _check_outputs(args)
    report = evaluate(args.reference, args.restored, options, progress=_progress(args))
    if args.json:
        write_json(report, args.json)
    if args.plot:
        from vidrestore.metrics.plot import plot_report

        plot_report(report, args.plot)
    if args.per_frame:
        _print_per_frame(report)
    _print_summary(report, args)
    return 0


def _add_weights_dir(folder: str) -> None:
    """Search ``folder`` before $VIDRESTORE_WEIGHTS and the caches (this process only)."""
    import os
    from pathlib import Path

    from vidrestore.errors import ConfigError

    if not Path(folder).is_dir():
        raise ConfigError(f"--weights {folder}: not a folder")
    rest = os.environ.get("VIDRESTORE_WEIGHTS")
    os.environ["VIDRESTORE_WEIGHTS"] = folder + (os.pathsep + rest if rest else "")


def _set_threads(n: int) -> None:
    import cv2
    import torch

    torch.set_num_threads(n)
    cv2.setNumThreads(n)


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse output paths that would overwrite an input, before any decoding."""
    from pathlib import Path

    from vidrestore.errors import OutputError
    from vidrestore.io import safety

    inputs = {Path(args.reference).resolve(), Path(args.restored).resolve()}
    for opt in ("json", "plot"):
        value = getattr(args, opt)
        if value is None:
            continue
        if Path(value).resolve() in inputs or any(safety.same_file(value, i) for i in inputs):
            raise OutputError(f"{value}: --{opt} would overwrite an input")
        if opt == "plot" and Path(value).suffix.lower() != ".png":
            raise OutputError(f"{value}: --plot writes a PNG; give a .png file name")
        parent = Path(value).parent
        if not parent.is_dir():
            raise OutputError(f"{value}: folder {parent} does not exist")
        safety.check_target(value, overwrite=args.overwrite, inputs=(args.reference, args.restored),
                            what=f"--{opt} file")


def _progress(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    if args.quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = tqdm(unit="pair", desc="eval", leave=False)

    def update(n: int) -> None:
        bar.n = n
        bar.refresh()

    return update


def _fmt(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if math.isinf(v):
        return "inf"
    return f"{v:.6g}" if abs(v) < 1e-3 else f"{v:.4f}"


def _print_per_frame(report) -> None:  # type: ignore[no-untyped-def]
    print("\t".join(["ref", "out", "time", *report.series]))
    for f in report.frames:
        print("\t".join([str(f.ref_index), str(f.out_index), f"{f.time:.3f}",
                         *(_fmt(f.values.get(s)) for s in report.series)]))


def _print_summary(report, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    from vidrestore.metrics.evaluate import UNITS

    s = report.settings
    print(f"{report.restored} vs {report.reference}: {len(report.frames)} frame pairs "
          f"(match {s['match']}, {s['channel']}, crop {s['crop_border']}"
          + (f", flow {s['flow']}" if s.get("flow") else "") + ")")
    means = report.means()
    width = max(len(n) for n in report.series)
    for name in report.series:
        worst = report.worst(name)
        finite = {v for v in report.values(name) if v is not None and math.isfinite(v)}
        if len(finite) < 2:
            worst = None  # every frame scored the same: no worst frame to point at
        unit = f" {UNITS[name]}" if UNITS[name] else ""
        tail = f"   worst frame {worst[0]}: {_fmt(worst[1])}" if worst is not None else ""
        print(f"  {name:<{width}}  mean {_fmt(means[name])}{unit}{tail}")
    for metric, reason in report.skipped.items():
        print(f"  {metric}: skipped ({reason})")
    for note in report.notes:
        print(f"  note: {note}")
    if args.json:
        print(f"  per-frame values: {args.json}")
    if args.plot:
        print(f"  plot: {args.plot}")
