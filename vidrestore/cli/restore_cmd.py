"""``vidrestore restore INPUT -o OUTPUT [--preset NAME | --config FILE] [--set KEY=VALUE]...``"""

from __future__ import annotations

import argparse

from vidrestore.cli import job_overrides, job_parser, jobs_parser


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


def load_job_config(args: argparse.Namespace, default_preset: str = "passthrough"):
    import json

    from vidrestore.config import load_config
    from vidrestore.errors import ConfigError

    preset = args.preset if (args.preset or args.config) else default_preset
    masks = getattr(args, "save_masks", None)
    extra = [f"film.save_masks={json.dumps(str(masks))}"] if masks else []
    cfg = load_config(preset=preset, path=args.config, overrides=[*args.overrides, *job_overrides(args), *extra])
    if masks and not cfg.film.enabled:
        raise ConfigError("--save-masks needs the film stage: use --preset film (or --set film.enabled=true)")
    return cfg


def run(args: argparse.Namespace) -> int:
    from vidrestore.io.probe import probe_video
    from vidrestore.io.reader import open_reader
    from vidrestore.jobs.runner import run_job_segmented, wants_segments
    from vidrestore.pipeline.factory import PROCESSORS, build_processor, select_processor
    from vidrestore.pipeline.run import run_job
    from vidrestore.stage import segment_reach

    cfg = load_job_config(args)
    resume = getattr(args, "resume", False)
    info = probe_video(args.input, fps=cfg.io.fps)
    processor = build_processor(cfg, info)
    desc = f"restore [{cfg.preset}]"
    if wants_segments(cfg, args.output, resume=resume, frames=info.num_frames,
                      uses_pixels=getattr(processor, "uses_pixels", True),
                      segmentable=segment_reach(processor) is not None):
        result = run_job_segmented(args.input, args.output, cfg=cfg, processor_ref=PROCESSORS[select_processor(cfg)],
                                   processor=processor, resume=resume, overwrite=args.overwrite, quiet=args.quiet,
                                   desc=desc, info=info)
    else:
        result = run_job(args.input, args.output, cfg=cfg, processor=processor, overwrite=args.overwrite,
                         quiet=args.quiet, desc=desc, reader=open_reader(args.input, cfg.io, info),
                         expected_frames=lambda n: n)
    if not args.quiet:
        print(f"{result.output}: {result.frames_out} frames in {result.seconds:.1f} s ({result.fps:.2f} frames/s)")
    return 0
