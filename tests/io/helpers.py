"""Helpers for I/O tests: run the CLI, read packets and frames back."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidrestore", *args], capture_output=True, text=True, timeout=timeout)


def packet_hashes(path: Path, kind: str) -> list[str]:
    """sha256 of every non-empty packet payload of the first stream of ``kind``, in demux order."""
    import av

    with av.open(str(path)) as c:
        streams = [s for s in c.streams if s.type == kind]
        if not streams:
            return []
        out = []
        for packet in c.demux(streams[0]):
            if packet.size == 0:
                continue
            out.append(hashlib.sha256(bytes(packet)).hexdigest())
        return out


def video_times(path: Path) -> list[float]:
    """Presentation times (s) of every decoded video frame, in order."""
    import av

    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        return [float(f.pts * vs.time_base) for f in c.decode(vs)]


def read_frames(path: Path, every: int = 1) -> list[np.ndarray]:
    from vidrestore.io.reader import open_reader

    with open_reader(path) as r:
        return [f.rgb for f in r if f.index % every == 0]


def decode_all(path: Path, every: int = 1) -> tuple[list[float], list[np.ndarray]]:
    """One pass: presentation times of all frames, and every ``every``-th frame as RGB."""
    from vidrestore.io.reader import decoded_to_rgb, open_reader

    times, frames = [], []
    with open_reader(path) as r:
        r.native = True  # convert to RGB only the frames compared
        for f in r:
            times.append(f.time)
            if f.index % every == 0:
                if f.rgb is not None:
                    frames.append(f.rgb)
                else:
                    frames.append(decoded_to_rgb(f.native, "rgb48le" if r.info.is_high_bit_depth else "rgb24"))
    return times, frames


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    peak = 65535.0 if a.dtype == np.uint16 else 255.0
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(peak**2 / mse)


def pix_fmt(path: Path) -> str:
    import av

    with av.open(str(path)) as c:
        return c.streams.video[0].codec_context.format.name


def rate(x: Fraction | None) -> float:
    return float(x) if x else 0.0
