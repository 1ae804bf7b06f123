"""``vidrestore compare INPUT OUTPUT -o FILE``: see a restoration next to its input.

FILE decides what is made:

* a video (``.mp4``, ``.mkv``, ``.mov``, ``.webm``) or a folder: every frame pair side by side
  (``--layout side``), stacked (``stack``) or as a split wipe (``wipe``, ``--position`` or a
  ``--sweep``ing divider), labelled, with OUTPUT's timestamps and audio;
* an image (``.png``/``.jpg``): a sheet of chosen frames (``--frames`` or ``--count`` spread
  evenly), each row INPUT | OUTPUT | zoomed crop of both (``--crop X,Y,W,H`` in OUTPUT pixels, or
  the most detailed region).

The clips may differ in size (scaled to match) and, with ``--match time``, in frame rate.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)

SHEET_SUFFIXES = (".png", ".jpg", ".jpeg")


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("compare", parents=[common], help="side-by-side / wipe video or PNG sheet of two clips",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="INPUT", help="the clip before restoration (video file or image folder)")
    p.add_argument("restored", metavar="OUTPUT", help="the restored clip")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help=".mp4/.mkv/.mov/.webm or folder: comparison video; .png/.jpg: sheet of frames")
    p.add_argument("--layout", choices=("side", "stack", "wipe"), default="side", help="video layout (default side)")
    p.add_argument("--position", type=float, default=0.5, help="wipe divider position 0..1 (default 0.5)")
    p.add_argument("--sweep", action="store_true", help="wipe: move the divider across and back over the clip")
    p.add_argument("--labels", metavar="A,B", help="panel labels (default: the two file names)")
    p.add_argument("--height", type=int, metavar="PX", help="height of the panels (default: the larger clip's; "
                                                             "sheets: OUTPUT's, at most 360)")
    p.add_argument("--filter", dest="filt", choices=("bicubic", "nearest", "area", "lanczos"), default="bicubic",
                   help="scaling filter of the full frames (zoomed crops always use nearest)")
    p.add_argument("--match", choices=("index", "time"), default="index",
                   help="pair frame i with frame i (default), or show the INPUT frame on screen at each OUTPUT "
                        "frame's time (different frame rates)")
    p.add_argument("--partial", action="store_true", help="index matching: stop at the shorter clip instead of failing")
    p.add_argument("--frames", metavar="I,J,...", help="sheet: OUTPUT frame indices to show")
    p.add_argument("--count", type=int, default=4, metavar="N", help="sheet: frames spread evenly (default 4)")
    p.add_argument("--crop", metavar="X,Y,W,H", help="sheet: zoom region in OUTPUT pixels (default: most detail)")
    p.add_argument("--max-frames", type=int, metavar="N", help="video: stop after N frames")
    p.add_argument("--crf", type=int, default=18, help="video: x264 quality (default 18)")
    p.add_argument("--fps", metavar="RATE", help="frame rate of image-folder inputs (default 25)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing FILE")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidrestore.config import IOConfig
    from vidrestore.errors import ConfigError

    labels = _labels(args)
    if not 0.0 <= args.position <= 1.0:
        raise ConfigError(f"--position must be in [0, 1], got {args.position}")
    if args.count < 1:
        raise ConfigError(f"--count must be >= 1, got {args.count}")
    if args.max_frames is not None and args.max_frames < 1:
        raise ConfigError(f"--max-frames must be >= 1, got {args.max_frames}")
    io_cfg = IOConfig(fps=args.fps)
    if Path(args.output).suffix.lower() in SHEET_SUFFIXES:
        return _run_sheet(args, labels, io_cfg)
    return _run_video(args, labels, io_cfg)


def _labels(args: argparse.Namespace) -> tuple[str, str]:
    from vidrestore.errors import ConfigError

    if args.labels is None:
        return _short(Path(args.input).name or str(args.input)), _short(Path(args.restored).name or str(args.restored))
    parts = [s.strip() for s in args.labels.split(",")]
    if len(parts) != 2:
        raise ConfigError(f"--labels: expected two comma-separated labels, got {args.labels!r}")
    return parts[0], parts[1]


def _short(name: str, limit: int = 28) -> str:
    return name if len(name) <= limit else name[: limit - 3] + "..."


def _pairs(args: argparse.Namespace, reader_a, reader_b):  # type: ignore[no-untyped-def]
    from vidrestore.metrics.compare import pair_hold, pair_index

    if args.match == "time":
        rate = reader_a.info.avg_rate or reader_a.info.real_rate
        tol = 0.25 / float(rate) if rate else 0.01
        return pair_hold(reader_a, reader_b, tolerance=tol)
    return pair_index(reader_a, reader_b, partial=args.partial, name_a=str(args.input), name_b=str(args.restored))


def _run_video(args: argparse.Namespace, labels: tuple[str, str], io_cfg) -> int:  # type: ignore[no-untyped-def]
    from vidrestore.config import EncodeConfig
    from vidrestore.io.reader import open_reader
    from vidrestore.metrics.compare import compose, plan_layout, sweep_position
    from vidrestore.types import Frame, OutputSpec

    with open_reader(args.input, io_cfg) as ra, open_reader(args.restored, io_cfg) as rb:
        layout = plan_layout(ra.frame_size, rb.frame_size, mode=args.layout, height=args.height)
        info = rb.info
        count = info.num_frames
        if args.max_frames is not None and count is not None:
            count = min(count, args.max_frames)
        spec = OutputSpec(width=layout.width, height=layout.height, time_base=info.time_base,
                          rate=info.avg_rate or info.real_rate, num_frames=count, bit_depth=8)
        from vidrestore.io.writer import open_writer

        writer = open_writer(args.output, spec=spec, source=info, encode=EncodeConfig(crf=args.crf),
                             overwrite=args.overwrite, inputs=(str(args.input), str(args.restored)))
        n = 0
        try:
            for fa, fb in _pairs(args, ra, rb):
                pos = sweep_position(n, count) if args.sweep else args.position
                rgb = compose(fa.rgb, fb.rgb, layout, labels=labels, position=pos, filt=args.filt)
                writer.write(Frame(index=n, pts=fb.pts, time_base=fb.time_base, rgb=rgb, duration=fb.duration))
                n += 1
                if args.max_frames is not None and n >= args.max_frames:
                    break
            if n == 0:
                from vidrestore.errors import MediaError

                raise MediaError(args.restored, "no frame pairs to compare")
        except BaseException:
            writer.abort()
            raise
        writer.close()
    if not args.quiet:
        print(f"{args.output}: {n} frames, {layout.width}x{layout.height} ({args.layout})")
    return 0


def _run_sheet(args: argparse.Namespace, labels: tuple[str, str], io_cfg) -> int:  # type: ignore[no-untyped-def]
    import cv2

    from vidrestore.errors import ConfigError, MediaError, OutputError
    from vidrestore.io.reader import open_reader
    from vidrestore.metrics.compare import Crop, choose_frames, make_sheet, parse_frames
    from vidrestore.metrics.evaluate import atomic_write

    out = Path(args.output)
    for inp in (args.input, args.restored):
        if Path(inp).resolve() == out.resolve():
            raise OutputError(f"{out}: output is an input; choose another file name")
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise OutputError(f"{out}: folder {out.parent} does not exist")
    from vidrestore.io import safety

    safety.check_target(out, overwrite=args.overwrite, inputs=(args.input, args.restored), what="sheet")
    crop = Crop.parse(args.crop) if args.crop else None
    with open_reader(args.input, io_cfg) as ra, open_reader(args.restored, io_cfg) as rb:
        if args.frames:
            wanted = parse_frames(args.frames)
        else:
            count = rb.info.num_frames
            if args.match == "index" and ra.info.num_frames is not None and count is not None:
                count = min(count, ra.info.num_frames)
            if count is None:
                raise ConfigError(f"{args.restored}: frame count unknown; pass --frames")
            wanted = choose_frames(count, args.count)
        picked = []
        last = max(wanted)
        for fa, fb in _pairs(args, ra, rb):
            if fb.index in wanted:
                picked.append((fb.index, fa.rgb, fb.rgb))
            if fb.index >= last:
                break
    missing = sorted(set(wanted) - {i for i, _, _ in picked})
    if missing:
        raise MediaError(args.restored, f"has no frame {missing[0]} (asked for by --frames/--count)")
    sheet = make_sheet(picked, labels=labels, height=args.height, crop=crop, filt=args.filt)
    ok, buf = cv2.imencode(out.suffix.lower(), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OutputError(f"{out}: could not encode the sheet")
    atomic_write(out, buf.tobytes(), overwrite=args.overwrite, inputs=(args.input, args.restored))
    if not args.quiet:
        print(f"{out}: sheet of frames {', '.join(str(i) for i, _, _ in picked)}, {sheet.shape[1]}x{sheet.shape[0]}")
    return 0
