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

# This module only parses (its docstring is the command's --help): the comparison runs through
# vidrestore.api.compare.


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


#: The flags that are options of the comparison (everything but the three paths and verbosity).
OPTIONS = ("layout", "position", "sweep", "labels", "height", "filt", "match", "partial", "frames", "count", "crop",
           "max_frames", "crf", "fps", "overwrite")


def run(args: argparse.Namespace) -> int:
    from vidrestore import api

    result = api.compare(args.input, args.restored, args.output, **{k: getattr(args, k) for k in OPTIONS})
    if not args.quiet:
        if result.kind == "sheet":
            print(f"{result.output}: sheet of frames {', '.join(str(i) for i in result.frames)}, "
                  f"{result.width}x{result.height}")
        else:
            print(f"{args.output}: {len(result.frames)} frames, {result.width}x{result.height} ({args.layout})")
    return 0
