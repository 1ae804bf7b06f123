"""Two jobs from Python: clean samples/moving.mp4 with the film preset, then double its frame rate.

Both report progress to a callback (here one status line on stderr) and print the equivalent
command line. ``--frames START:STOP`` cleans only those input frames (a preview equal to the same
frames of the whole job); Ctrl-C cancels cleanly through the cancel event.

    python examples/python_job.py OUTDIR [--frames 0:24]
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from vidrestore import api

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "moving.mp4"


def show(p: api.Progress) -> None:
    total = p.total if p.total is not None else "?"
    eta = f", {p.eta_s:.0f} s left" if p.eta_s is not None else ""
    print(f"\r{p.phase}: {p.done}/{total} frames, {p.fps:.1f} frames/s{eta}   ", end="", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--frames", help="START:STOP input frames to clean (default: all)")
    args = parser.parse_args()
    frames = tuple(int(v) for v in args.frames.split(":")) if args.frames else None
    cancel = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: cancel.set())  # the job stops at its next frame, output removed
    args.outdir.mkdir(parents=True, exist_ok=True)

    clean = api.JobSpec(command="restore", input=str(SAMPLE), output=str(args.outdir / "clean.mp4"), preset="film",
                        frames=frames, overwrite=True)
    print(api.command_line(clean))
    cleaned = api.run(clean, progress=show, cancel=cancel)
    print(f"\n{cleaned.output}: {cleaned.frames_out} frames cleaned in {cleaned.seconds:.1f} s")

    smooth = api.interpolate(cleaned.output, args.outdir / "smooth.mp4", factor=2, overwrite=True,
                             progress=show, cancel=cancel)
    print(f"\n{smooth.output}: {smooth.frames_in} frames in, {smooth.frames_out} out in {smooth.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
