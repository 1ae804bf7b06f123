"""``vidrestore restore INPUT -o OUTPUT [--preset NAME | --config FILE] [--set KEY=VALUE]...``"""

from __future__ import annotations

import argparse

from vidrestore.cli import job_parser, job_spec, jobs_parser


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("restore", parents=[common, job_parser(), jobs_parser()],
                       help="restore a video or image sequence",
                       description="Restore INPUT into OUTPUT with a preset or config. Every frame, timestamp and "
                                   "audio packet is kept; OUTPUT appears only when complete. Long jobs run as "
                                   "segments that --resume continues after a crash and --engine ray spreads over "
                                   "workers, with the same frames as one pass.")
    p.add_argument("--save-masks", metavar="DIR", default=None,
                   help="film stage (--preset film): write the detected dust and scratch masks for review as "
                        "PNG sequences DIR/dust/NNNNNN.png and DIR/scratch/NNNNNN.png (white = detected)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidrestore import api

    result = api.run(job_spec(args, "restore", api.OPTIONS["restore"]), bar=not args.quiet)
    if not args.quiet:
        print(f"{result.output}: {result.frames_out} frames in {result.seconds:.1f} s ({result.fps:.2f} frames/s)")
    return 0
