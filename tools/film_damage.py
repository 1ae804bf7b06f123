"""Render the film-damage benchmark's data: clean real frames with dust, scratches, flicker and grain at known places.

    python tools/film_damage.py SRC -o OUT [--frames N] [--seed S] [--flicker 0.15] [--grain 8]
                                [--pan WxH] [--dust 120] [--scratches 2]

SRC is a video, a folder of numbered images, or one still image (then ``--pan WxH`` cuts a clip of
``--frames`` frames from it along a smooth camera path). OUT gets ``clean/NNNNNN.png``,
``damaged/NNNNNN.png`` and ``truth.npz`` (per frame: ``gains``, ``dust_alpha`` and ``scratch_alpha``
as uint8 opacity x255, ``dust_labels``; ``contrast`` as blob id -> luma change rows). The model is
:mod:`vidrestore.film.damage`. Restore ``OUT/damaged`` with ``vidrestore restore OUT/damaged -o ...
--preset film`` and compare with ``OUT/clean`` (``vidrestore eval``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def load_clean(src: Path, frames: int, pan: tuple[int, int] | None, seed: int) -> list[np.ndarray]:
    import cv2

    from vidrestore.film.damage import camera_motion_clip

    if src.is_file() and src.suffix.lower() in {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}:
        still = cv2.imread(str(src), cv2.IMREAD_COLOR)
        if still is None:
            raise SystemExit(f"{src}: cannot read the image")
        still = cv2.cvtColor(still, cv2.COLOR_BGR2RGB)
        size = pan or (min(320, still.shape[1] - 16), min(240, still.shape[0] - 16))
        return camera_motion_clip(still, frames=frames, size=size, seed=seed)
    from vidrestore.io.reader import open_reader

    with open_reader(src) as reader:
        out = []
        for frame in reader:
            rgb = frame.rgb
            out.append(rgb if rgb.dtype == np.uint8 else (rgb >> 8).astype(np.uint8))
            if len(out) >= frames:
                break
    return out


def write(out: Path, clean: list[np.ndarray], damage) -> None:  # type: ignore[no-untyped-def]
    import cv2

    for sub, images in (("clean", clean), ("damaged", damage.frames)):
        (out / sub).mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(images):
            cv2.imwrite(str(out / sub / f"{i:06d}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    contrast = np.array([(i, b, c) for i, d in enumerate(damage.contrast) for b, c in d.items()], np.float32)
    np.savez_compressed(
        out / "truth.npz", gains=damage.gains,
        dust_alpha=np.stack([np.rint(a * 255).astype(np.uint8) for a in damage.dust_alpha]),
        dust_labels=np.stack(damage.dust_labels),
        scratch_alpha=np.stack([np.rint(a * 255).astype(np.uint8) for a in damage.scratch_alpha]),
        contrast=contrast.reshape(-1, 3))


def main(argv: list[str] | None = None) -> int:
    from vidrestore.film.damage import DamageSpec, render_damage

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("-o", "--out", type=Path, required=True)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--flicker", type=float, default=0.15, help="gain drawn from 1 +- this per frame")
    ap.add_argument("--grain", type=float, default=8.0, help="Gaussian sigma in 8-bit levels")
    ap.add_argument("--dust", type=float, default=120.0, help="blobs per frame per megapixel")
    ap.add_argument("--scratches", type=int, default=2)
    ap.add_argument("--pan", type=lambda s: tuple(int(v) for v in s.lower().split("x")), default=None,
                    help="WxH frames cut from a still image along a camera path")
    args = ap.parse_args(argv)
    clean = load_clean(args.src, args.frames, args.pan, args.seed)
    if len(clean) < 2:
        raise SystemExit(f"{args.src}: need at least 2 frames, got {len(clean)}")
    spec = DamageSpec(flicker=args.flicker, grain=args.grain / 255.0, dust_per_megapixel=args.dust,
                      scratches=args.scratches, seed=args.seed)
    damage = render_damage(clean, spec)
    write(args.out, clean, damage)
    print(f"{args.out}: {len(clean)} frames {clean[0].shape[1]}x{clean[0].shape[0]}, "
          f"{sum(damage.blobs)} dust blobs, {args.scratches} scratches, flicker +-{args.flicker:g}, "
          f"grain {args.grain:g}/255")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
