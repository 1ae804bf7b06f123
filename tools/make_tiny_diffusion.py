"""Build tiny random-weight diffusers models (each layout vidrestore loads) for tests and trying the mechanics.

    python tools/make_tiny_diffusion.py --out models/tiny            # upscale/, latent/, pixel/ under it
    python tools/make_tiny_diffusion.py --layout upscale --out DIR   # one folder
    vidrestore restore in.mp4 -o out.mp4 --preset diffusion --set restorer.model_path=models/tiny/upscale

The weights are random: the output is not a restoration, only a proof that loading, sampling,
windows, flow consistency, tiles and DDNM run end to end.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vidrestore.restore.diffusion.models import LAYOUTS  # noqa: E402
from vidrestore.restore.diffusion.tiny import make_tiny_model  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path, help="output folder (a parent folder with --layout all)")
    p.add_argument("--layout", choices=(*LAYOUTS, "all"), default="all")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true")
    args = p.parse_args(argv)
    layouts = LAYOUTS if args.layout == "all" else (args.layout,)
    for layout in layouts:
        dest = args.out / layout if args.layout == "all" else args.out
        try:
            make_tiny_model(layout, dest, seed=args.seed, overwrite=args.overwrite)
        except FileExistsError as err:
            print(f"make_tiny_diffusion: {err}", file=sys.stderr)
            return 2
        print(f"{layout}: {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
