"""``vidrestore interpolate INPUT -o OUTPUT (--factor N | --fps F) [--scale S] [--preset NAME] ...``

Raises the frame rate with flow-based frame synthesis (vidrestore/interpolate), keeping every
input frame, the source timeline (VFR included) and the sound; never interpolates across a scene
cut. ``--scale`` upscales every output frame with the GAN restorer in the same pass.

Long jobs run as resumable segments (``--workdir``, ``--resume``, ``--engine ray``; the flags
``vidrestore restore`` has): the joined output equals one uninterrupted run frame for frame.
"""

from __future__ import annotations

import argparse

from typing import TYPE_CHECKING

from vidrestore.cli import job_overrides, job_parser, jobs_parser

if TYPE_CHECKING:
    from vidrestore.config import Config

DEFAULT_PRESET = "interpolate"
PROCESSOR_REF = "vidrestore.pipeline.stages:build_interpolation"


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


def overrides_from_args(args: argparse.Namespace) -> list[str]:
    """The ``--set`` overrides the dedicated flags stand for (applied after the user's own ``--set``)."""
    from vidrestore.interpolate.timing import parse_rate

    out: list[str] = list(args.overrides)
    if args.factor is not None:
        out += [f"interpolate.factor={args.factor}", "interpolate.fps=null"]
    if args.fps is not None:
        parse_rate(args.fps)  # refuses a bad rate with one clear line
        out.append(f"interpolate.fps='{args.fps}'")
    if args.scale is not None:
        out.append(f"restorer.scale={args.scale}")
    if args.order is not None:
        out.append(f"interpolate.order={args.order}")
    if args.method is not None:
        out.append(f"interpolate.method={args.method}")
    if args.refine:
        out.append("interpolate.refine=true")
    return out


def pinned_order(cfg: Config, output: str) -> Config:
    """With ``interpolate.order: auto``, the order an interrupted job of OUTPUT chose (its manifest).

    ``auto`` times both orders at start-up and may choose differently on another run; a resumed
    job keeps the order its finished segments were made with.
    """
    import dataclasses

    from vidrestore.jobs import manifest as mf
    from vidrestore.jobs.runner import workdir_for

    if cfg.interpolate.order != "auto":
        return cfg
    path = workdir_for(cfg, output) / mf.MANIFEST
    if not path.is_file():
        return cfg
    chosen = mf.Manifest.load(path.parent).data.get("config", {}).get("interpolate.order")
    if chosen in ("interpolate-first", "upscale-first"):
        return dataclasses.replace(cfg, interpolate=dataclasses.replace(cfg.interpolate, order=chosen))
    return cfg


def _run_segmented(args: argparse.Namespace, cfg: Config, info, what: str):  # noqa: ANN001, ANN202
    import dataclasses

    from vidrestore.interpolate.processor import job_context, wants_restorer
    from vidrestore.jobs.runner import run_job_segmented
    from vidrestore.pipeline.stages import build_interpolation as build_processor

    cfg = pinned_order(cfg, args.output)
    processor = build_processor(cfg, info)
    if wants_restorer(cfg) and cfg.interpolate.order == "auto":
        # workers build their own processor: they must not time the orders again (and maybe choose another)
        cfg = dataclasses.replace(cfg, interpolate=dataclasses.replace(cfg.interpolate, order=processor.order))
    return run_job_segmented(args.input, args.output, cfg=cfg, processor_ref=PROCESSOR_REF, processor=processor,
                             resume=args.resume, overwrite=args.overwrite, quiet=args.quiet,
                             desc=f"interpolate {what}", command="interpolate", one_to_one=False, info=info,
                             context_fn=job_context)


def run(args: argparse.Namespace) -> int:
    from vidrestore.config import load_config
    from vidrestore.io.probe import probe_video
    from vidrestore.io.reader import open_reader
    from vidrestore.jobs.runner import wants_segments
    from vidrestore.pipeline.run import run_job
    from vidrestore.pipeline.stages import build_interpolation as build_processor

    preset = args.preset if (args.preset or args.config) else DEFAULT_PRESET
    cfg = load_config(preset=preset, path=args.config, overrides=[*overrides_from_args(args), *job_overrides(args)])
    what = f"{cfg.interpolate.fps} fps" if cfg.interpolate.fps else f"x{cfg.interpolate.factor}"
    info = probe_video(args.input, fps=cfg.io.fps)
    if wants_segments(cfg, args.output, resume=args.resume, frames=info.num_frames):
        result = _run_segmented(args, cfg, info, what)
        if not args.quiet:
            print(f"{result.output}: {result.frames_in} frames in, {result.frames_out} out in {result.seconds:.1f} s "
                  f"({result.fps:.2f} frames/s; {len(result.computed)} of {result.segments} segments computed now)")
        return 0
    built: dict[str, object] = {}

    def make(info):  # noqa: ANN001, ANN202 - run_job passes the probed VideoInfo
        built["processor"] = build_processor(cfg, info)
        return built["processor"]

    def expected(frames_in: int) -> int | None:
        proc = built.get("processor")
        interp = getattr(proc, "interpolator", proc)
        return interp.expected_frames(frames_in) if interp is not None else None

    result = run_job(args.input, args.output, cfg=cfg, processor=make, overwrite=args.overwrite, quiet=args.quiet,
                     desc=f"interpolate {what}", expected_frames=expected,
                     reader=open_reader(args.input, cfg.io, info))
    if not args.quiet:
        print(f"{result.output}: {result.frames_in} frames in, {result.frames_out} out in {result.seconds:.1f} s "
              f"({result.fps:.2f} frames/s)")
    return 0
