"""``vidrestore restore INPUT -o OUTPUT [--preset NAME | --config FILE] [--set KEY=VALUE]...``"""

from __future__ import annotations

import argparse

from vidrestore.cli import job_parser


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("restore", parents=[common, job_parser()], help="restore a video or image sequence",
                       description="Restore INPUT into OUTPUT with a preset or config. Every frame, timestamp and "
                                   "audio packet is kept; OUTPUT appears only when complete.")
    p.set_defaults(func=run)


def load_job_config(args: argparse.Namespace, default_preset: str = "passthrough"):
    from vidrestore.config import load_config

    preset = args.preset if (args.preset or args.config) else default_preset
    return load_config(preset=preset, path=args.config, overrides=args.overrides)


def run(args: argparse.Namespace) -> int:
    from vidrestore.pipeline.factory import build_processor
    from vidrestore.pipeline.run import run_job

    cfg = load_job_config(args)
    result = run_job(args.input, args.output, cfg=cfg, processor=lambda info: build_processor(cfg, info),
                     overwrite=args.overwrite, quiet=args.quiet, desc=f"restore [{cfg.preset}]",
                     expected_frames=lambda n: n)
    if not args.quiet:
        print(f"{result.output}: {result.frames_out} frames in {result.seconds:.1f} s ({result.fps:.2f} frames/s)")
    return 0
