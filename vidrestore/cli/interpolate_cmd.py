"""``vidrestore interpolate INPUT -o OUTPUT (--factor N | --fps F) [--scale S] [--preset NAME] ...``

Raises the frame rate with flow-based frame synthesis (vidrestore/interpolate), keeping every
input frame, the source timeline (VFR included) and the sound; never interpolates across a scene
cut. ``--scale`` upscales every output frame with the GAN restorer in the same pass.

Long jobs run as resumable segments (``--workdir``, ``--resume``, ``--engine ray``; the flags
``vidrestore restore`` has): the joined output equals one uninterrupted run frame for frame.
"""

from __future__ import annotations

import argparse

from vidrestore.cli import job_parser, job_spec, jobs_parser

DEFAULT_PRESET = "interpolate"


def _factor(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number like 2 or 4, got {text!r}") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"must be between 1 and 64, got {value}")
    return value


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number like 2 or 1.5, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "interpolate", parents=[common, job_parser(), jobs_parser()], help="raise the frame rate (and optionally upscale)",
        description="Make new frames between the input frames with optical flow. --factor N puts input frame k "
                    "at output frame N*k, unchanged, with N-1 new frames between; --fps F retimes to any rate "
                    "(24 -> 60, 60000/1001). Timestamps come from the source pts (VFR kept); the last input "
                    "frame is held for its duration so video and audio stay equally long (interpolate.end: "
                    "last stops on it instead). Scene cuts repeat the nearest frame. Long jobs run as "
                    "segments that --resume continues after a crash and --engine ray spreads over workers, with "
                    f"the frames of one pass. Default preset: {DEFAULT_PRESET}.",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--factor", type=_factor, metavar="N",
                   help="output frames per input frame (integer >= 1; default: interpolate.factor of the config, 2)")
    g.add_argument("--fps", metavar="F", help="target frame rate: 60, 59.94 or 60000/1001")
    p.add_argument("--scale", type=_scale, metavar="S",
                   help="also upscale by S with the GAN restorer (restorer.name of the config)")
    p.add_argument("--order", choices=("auto", "interpolate-first", "upscale-first"),
                   help="with --scale: interpolate at the input size then upscale, or the reverse; auto (default) "
                        "times both stages briefly and takes the cheaper")
    p.add_argument("--method", choices=("auto", "rife", "flow"),
                   help="how new frames are made: rife (the RIFE HD v3 network; 'vidrestore weights import-rife' "
                        "stores its weights), flow (DIS optical flow + softmax splatting, no weights), auto "
                        "(default: rife when its weights are found, else flow)")
    p.add_argument("--refine", action="store_true", help="refine each new frame with a residual flow (slower)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidrestore import api

    result = api.run(job_spec(args, "interpolate", api.OPTIONS["interpolate"]), bar=not args.quiet)
    if not args.quiet:
        segments = (f"; {len(result.computed)} of {result.segments} segments computed now"
                    if result.segmented else "")
        print(f"{result.output}: {result.frames_in} frames in, {result.frames_out} out in {result.seconds:.1f} s "
              f"({result.fps:.2f} frames/s{segments})")
    return 0
