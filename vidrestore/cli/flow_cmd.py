"""``vidrestore flow INPUT -o OUTPUT [--method auto|raft-small|raft-large|dis|farneback] [--weights PATH]``

OUTPUT ``.npz``: the forward flows of consecutive frames, ``flow`` ``(N - 1, 2, H, W)`` (float16 by
default; channel 0 = dx, pixels; ``flow[k]`` maps frame ``index_t[k]`` to ``index_s[k] = index_t[k] + 1``),
with ``index_t``, ``index_s``, ``connected`` (False across a scene cut: that flow is zeros),
``pts``/``time_base`` of every frame, ``scene_cuts`` and ``method``; ``--backward`` adds
``flow_backward`` (``index_s -> index_t``). Flows are streamed to disk, so long clips do not fill memory;
the file appears under its name only when complete.

OUTPUT video file or folder: the colour-wheel picture of each frame's flow (torchvision's
``flow_to_image`` convention), one output frame per input frame with the input's timestamps.

This module only parses: the job runs through :func:`vidrestore.api.run` (``command="flow"``).
"""

from __future__ import annotations

import argparse

from vidrestore.cli import job_parser

METHOD_CHOICES = ("auto", "raft-small", "raft-large", "dis", "farneback")


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "flow", parents=[common, job_parser()], help="estimate optical flow (.npz) or visualise it (video/folder)",
        description="Estimate the optical flow between consecutive frames of INPUT. OUTPUT.npz stores the "
                    "forward flows (float16, pixels) with their frame indices; a video file or folder "
                    "gets the colour-wheel visualisation, one frame per input frame.")
    p.add_argument("--method", choices=METHOD_CHOICES, help="flow estimator (default: flow.method of the config, "
                   "'auto' = RAFT when its weights are found offline, else DIS)")
    p.add_argument("--weights", metavar="PATH", help="RAFT checkpoint file (torchvision format)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (RAFT only; default auto)")
    p.add_argument("--backward", action="store_true", help=".npz: also store the backward flows")
    p.add_argument("--float32", action="store_true", help=".npz: store float32 instead of float16")
    p.add_argument("--max-flow", type=float, metavar="PX",
                   help="visualisation: vector length (px) shown fully saturated; default: each frame's own maximum")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidrestore import api
    from vidrestore.cli import job_spec

    result = api.run(job_spec(args, "flow", api.OPTIONS["flow"]), bar=not args.quiet)
    stats = result.stats
    if not args.quiet:
        print(f"{args.output}: {result.frames_out} frames, {stats['flow_method']}, {stats['flows_per_frame']} flows "
              f"computed per frame, scene cuts {stats['scene_cuts'] or 'none'}, {result.seconds:.1f} s")
    return 0
