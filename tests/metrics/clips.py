"""Small clips for the eval/compare tests: PNG folders (lossless) and short videos (PyAV)."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from tests.conftest import shared_file


def real_frame(size: tuple[int, int] = (96, 64)) -> np.ndarray:
    """A crop of a real REDS frame, ``size = (w, h)``, RGB uint8."""
    import cv2

    path = sorted(shared_file("basicvsrpp_reds_demo/demo_000").glob("*.png"))[0]
    full = cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1]
    w, h = size
    return np.ascontiguousarray(full[40:40 + h, 100:100 + w])


def write_folder(folder: Path, frames: Sequence[np.ndarray]) -> Path:
    """Write RGB frames as frame_0000.png, ... (lossless)."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        cv2.imwrite(str(folder / f"frame_{i:04d}.png"), np.ascontiguousarray(f[..., ::-1]))
    return folder


def write_video(path: Path, frames: Sequence[np.ndarray], *, fps: int) -> Path:
    """Write RGB frames as near-lossless H.264 (yuv444p, qp 0) at ``fps``."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv444p"
        stream.options = {"qp": "0"}
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def shifted(frame: np.ndarray, dx: int) -> np.ndarray:
    """The frame moved right by ``dx`` pixels (edge repeated): a panning camera."""
    out = np.roll(frame, dx, axis=1)
    if dx > 0:
        out[:, :dx] = frame[:, :1]
    return out


def with_offset(frames: Sequence[np.ndarray], amplitude: int) -> list[np.ndarray]:
    """Alternate +-amplitude brightness: flicker."""
    return [np.clip(f.astype(np.int16) + (amplitude if i % 2 else -amplitude), 0, 255).astype(np.uint8)
            for i, f in enumerate(frames)]
