"""Drop-frame evaluation: remove every other frame, rebuild it, compare with the frame removed.

Protocol (issue 8, used by the tests and ``tools/benchmarks/interpolate.py``):

1. The clip's frames, in order. Repeated frames are removed first (film transferred to a faster
   video rate shows some of its frames twice), so a held-out frame is a real capture between its
   neighbours, not a copy of one of them. A frame is a repeat when its PSNR to the previous kept
   frame exceeds the clip's median consecutive PSNR by ``duplicate_margin`` dB: the margin is
   relative to the clip's own median because a static, clean clip has high PSNR between all its
   consecutive frames, and a fixed bar would call every one of them a repeat.
2. Frames 0, 2, 4, ... are kept; each odd frame ``2k + 1`` is the ground truth for the frame made
   between kept frames k and k + 1.
3. Only triplets whose kept frames move by at least ``min_motion`` px on average (DIS medium flow
   between them) are scored: static stretches say nothing about interpolation.
4. Methods, scored by PSNR (RGB, 8-bit peak) on the same frames:
   ``ours`` (the :class:`~vidrestore.interpolate.processor.InterpolationProcessor` run with
   ``--factor 2`` over the kept frames, exactly as the CLI does), ``blend`` (linear blending of the
   two neighbours) and ``minterpolate`` (the system ffmpeg's ``minterpolate=mi_mode=mci`` at twice
   the rate of the kept frames; frames are passed as raw RGB, converted to yuv444p for the filter
   and back).
5. Ceilings (``with_ceiling``), which need the answer and so bound what warping the two neighbours
   can reach: DIS medium flow is computed *from the held-out frame* to both neighbours, and
   ``ceiling`` backward-warps both along it and averages them (every pixel placed where it really
   is); ``ceiling_linear`` keeps that true trajectory between the neighbours but puts each pixel at
   its linear midpoint, which is the best an interpolator assuming uniform motion can do. The gap
   between the two is motion that is not uniform between the kept frames (irregular cadence,
   jitter); below ``ceiling`` is what no warp of the neighbours recovers (grain, compression noise,
   new content).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Protocol

import numpy as np

from vidrestore.errors import VidrestoreError

if TYPE_CHECKING:
    from vidrestore.flow.config import FlowConfig
    from vidrestore.interpolate.config import InterpolateConfig

log = logging.getLogger(__name__)


class Sections(Protocol):
    """The two config sections an evaluation reads (a whole ``Config`` has them, and so may a test's stand-in)."""

    interpolate: InterpolateConfig
    flow: FlowConfig


@dataclass
class DropFrameResult:
    """Per-method PSNR lists over the scored triplets (index = held-out frame in the deduplicated clip)."""

    name: str
    frames: int  # frames after deduplication
    duplicates_removed: int
    scored: list[int] = field(default_factory=list)
    psnr: dict[str, list[float]] = field(default_factory=dict)
    motion: list[float] = field(default_factory=list)

    def mean(self, method: str) -> float:
        values = self.psnr.get(method, [])
        return float(np.mean(values)) if values else float("nan")

    def gain(self, method: str, baseline: str) -> float:
        return self.mean(method) - self.mean(baseline)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 RGB frames (inf when identical)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * float(np.log10(255.0**2 / mse))


def remove_duplicates(frames: Sequence[np.ndarray], margin: float = 10.0) -> list[np.ndarray]:
    """Drop repeated frames: PSNR to the previous kept frame above (median consecutive PSNR + ``margin``)."""
    if len(frames) < 3:
        return list(frames)
    consecutive = [psnr(b, a) for a, b in zip(frames, frames[1:])]
    limit = float(np.median(np.minimum(consecutive, 99.0))) + margin
    out: list[np.ndarray] = [frames[0]]
    for f in frames[1:]:
        if psnr(f, out[-1]) <= limit:
            out.append(f)
    return out


def linear_blend(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.rint((a.astype(np.float32) + b.astype(np.float32)) / 2.0).astype(np.uint8)


def minterpolate_mci(kept: Sequence[np.ndarray], rate: Fraction = Fraction(25)) -> list[np.ndarray]:
    """ffmpeg ``minterpolate=mi_mode=mci`` doubling ``kept`` (RGB uint8): returns ``2 len(kept) - 1`` frames.

    The filter drops its last input, so the last frame is sent twice. Raises :class:`VidrestoreError`
    when no system ffmpeg is found.
    """
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise VidrestoreError("ffmpeg not found on PATH: the minterpolate baseline needs the system ffmpeg")
    h, w = kept[0].shape[:2]
    cmd = [exe, "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(rate),
           "-i", "-", "-vf", f"format=yuv444p,minterpolate=fps={rate * 2}:mi_mode=mci,format=rgb24",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    payload = b"".join(np.ascontiguousarray(f).tobytes() for f in [*kept, kept[-1]])
    proc = subprocess.run(cmd, input=payload, capture_output=True, check=False)
    if proc.returncode != 0:
        raise VidrestoreError(f"ffmpeg minterpolate failed: {proc.stderr.decode(errors='replace').strip()}")
    out = np.frombuffer(proc.stdout, dtype=np.uint8).reshape(-1, h, w, 3)
    need = 2 * len(kept) - 1
    if out.shape[0] < need:
        raise VidrestoreError(f"ffmpeg minterpolate returned {out.shape[0]} frames, expected {need}")
    return [out[i] for i in range(need)]


def mean_motion(a: np.ndarray, b: np.ndarray) -> float:
    """Mean flow magnitude (px) between two frames, DIS medium."""
    from vidrestore.flow import DISFlow
    from vidrestore.tensors import to_tensor

    flow = DISFlow(preset="medium").estimate(to_tensor(a), to_tensor(b))
    return float(flow.pow(2).sum(dim=1).sqrt().mean())


def oracle_ceilings(before: np.ndarray, after: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(ceiling, ceiling_linear)`` frames for one triplet (RGB uint8; see the module docstring, item 5).

    ``flow_t_to_b - flow_t_to_a`` is the trajectory from ``before`` to ``after`` through each pixel
    of ``truth``; the linear ceiling samples ``before`` at minus half of it and ``after`` at plus half.
    """
    from vidrestore.flow import DISFlow
    from vidrestore.flow.warp import backward_warp
    from vidrestore.tensors import from_tensor, to_tensor

    dis = DISFlow(preset="medium")
    a, b, t = to_tensor(before), to_tensor(after), to_tensor(truth)
    to_a, to_b = dis.estimate(t, a), dis.estimate(t, b)
    half = (to_b - to_a) * 0.5

    def average(flow_a: object, flow_b: object) -> np.ndarray:
        wa = from_tensor(backward_warp(a, flow_a, mode="bicubic").clamp(0, 1))[0]
        wb = from_tensor(backward_warp(b, flow_b, mode="bicubic").clamp(0, 1))[0]
        return linear_blend(wa, wb)

    return average(to_a, to_b), average(-half, half)


def interpolate_kept(kept: Sequence[np.ndarray], cfg: Sections, *, factor: int = 2) -> list[np.ndarray]:
    """Run the interpolation stage at ``--factor`` (2) over ``kept``; returns the output frames (``factor * n``
    with hold): output ``factor * k + j`` is at t = j / factor between kept frames k and k + 1."""
    from dataclasses import replace

    from vidrestore.interpolate.processor import build_processor
    from vidrestore.types import Frame, VideoInfo

    proc = build_processor(replace(cfg.interpolate, factor=factor, fps=None), cfg.flow)
    h, w = kept[0].shape[:2]
    info = VideoInfo(path="<drop-frame>", container="none", codec="none", width=w, height=h, pix_fmt="rgb24",
                     bit_depth=8, avg_rate=Fraction(25), real_rate=Fraction(25), time_base=Fraction(1, 25),
                     num_frames=len(kept), num_frames_exact=True, duration=len(kept) / 25, start_time=0.0,
                     rotation=0)
    proc.output_spec(info, (w, h))
    frames = (Frame(index=i, pts=i, time_base=Fraction(1, 25), rgb=np.ascontiguousarray(f)) for i, f in enumerate(kept))
    return [f.rgb for f in proc.process(frames)]


def evaluate_clip(name: str, frames: Sequence[np.ndarray], cfg: Sections, *, min_motion: float = 1.0,
                  duplicate_margin: float | None = 10.0, with_minterpolate: bool = True,
                  methods: dict[str, Sections] | None = None, with_ceiling: bool = False) -> DropFrameResult:
    """The drop-frame protocol on one clip (see the module docstring).

    ``methods`` adds named configs of our interpolator to compare (e.g. with/without refinement); the
    main one is ``ours`` = ``cfg``. ``with_ceiling`` adds ``ceiling`` and ``ceiling_linear``
    (:func:`oracle_ceilings`).
    """
    clean = remove_duplicates(frames, duplicate_margin) if duplicate_margin is not None else list(frames)
    count = len(clean) if len(clean) % 2 else len(clean) - 1
    clean = clean[:count]
    kept = clean[0::2]
    result = DropFrameResult(name=name, frames=len(clean), duplicates_removed=len(frames) - len(clean))
    if len(kept) < 2:
        return result
    motion = [mean_motion(kept[k], kept[k + 1]) for k in range(len(kept) - 1)]
    chosen = [k for k, m in enumerate(motion) if m >= min_motion]
    result.scored = [2 * k + 1 for k in chosen]
    result.motion = [motion[k] for k in chosen]
    if not chosen:
        return result
    runs = {"ours": cfg, **(methods or {})}
    for method, method_cfg in runs.items():
        out = interpolate_kept(kept, method_cfg)
        result.psnr[method] = [psnr(out[2 * k + 1], clean[2 * k + 1]) for k in chosen]
    result.psnr["blend"] = [psnr(linear_blend(kept[k], kept[k + 1]), clean[2 * k + 1]) for k in chosen]
    if with_minterpolate:
        mci = minterpolate_mci(kept)
        result.psnr["minterpolate"] = [psnr(mci[2 * k + 1], clean[2 * k + 1]) for k in chosen]
    if with_ceiling:
        result.psnr["ceiling"], result.psnr["ceiling_linear"] = [], []
        for k in chosen:
            full, linear = oracle_ceilings(kept[k], kept[k + 1], clean[2 * k + 1])
            result.psnr["ceiling"].append(psnr(full, clean[2 * k + 1]))
            result.psnr["ceiling_linear"].append(psnr(linear, clean[2 * k + 1]))
    return result
