"""``vidrestore flow INPUT -o OUTPUT [--method auto|raft-small|raft-large|dis|farneback] [--weights PATH]``

OUTPUT ``.npz``: the forward flows of consecutive frames, ``flow`` ``(N - 1, 2, H, W)`` (float16 by
default; channel 0 = dx, pixels; ``flow[k]`` maps frame ``index_t[k]`` to ``index_s[k] = index_t[k] + 1``),
with ``index_t``, ``index_s``, ``connected`` (False across a scene cut: that flow is zeros),
``pts``/``time_base`` of every frame, ``scene_cuts`` and ``method``; ``--backward`` adds
``flow_backward`` (``index_s -> index_t``). Flows are streamed to disk, so long clips do not fill memory;
the file appears under its name only when complete.

OUTPUT video file or folder: the colour-wheel picture of each frame's flow (torchvision's
``flow_to_image`` convention), one output frame per input frame with the input's timestamps.
"""

from __future__ import annotations

import argparse
import logging
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from vidrestore.cli import job_parser
from vidrestore.errors import OutputError

log = logging.getLogger(__name__)

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


def _config(args: argparse.Namespace) -> Any:
    from vidrestore.config import load_config

    overrides = list(args.overrides)
    if args.method:
        overrides.append(f"flow.method={args.method}")
    return load_config(preset=args.preset, path=args.config, overrides=overrides)


def run(args: argparse.Namespace) -> int:
    from vidrestore.device import resolve_device
    from vidrestore.flow import build_flow_estimator

    cfg = _config(args)
    device = str(resolve_device(args.device, key="--device", check=False))
    estimator = build_flow_estimator(cfg.flow, device=device, weights=args.weights)
    log.info("flow: %r on %s", estimator, device)
    if Path(args.output).suffix.lower() == ".npz":
        stats = write_npz(args.input, args.output, cfg=cfg, estimator=estimator, overwrite=args.overwrite,
                          backward=args.backward, dtype=np.float32 if args.float32 else np.float16,
                          quiet=args.quiet, device=device)
        frames, seconds = stats["frames"], stats["seconds"]
    else:
        from vidrestore.flow.visualize import FlowVisualizer
        from vidrestore.pipeline.run import run_job

        if args.max_flow is not None and args.max_flow <= 0:
            raise OutputError(f"--max-flow must be > 0 px, got {args.max_flow}")
        vis = FlowVisualizer(estimator=estimator, max_flow=args.max_flow, scene_cut=cfg.flow.scene_cut,
                             scene_cut_threshold=cfg.flow.scene_cut_threshold, device=device)
        result = run_job(args.input, args.output, cfg=cfg, processor=vis, overwrite=args.overwrite,
                         quiet=args.quiet, desc=f"flow [{estimator.name}]", expected_frames=lambda n: n)
        stats = result.stats
        frames, seconds = result.frames_out, result.seconds
    if not args.quiet:
        print(f"{args.output}: {frames} frames, {estimator.name}, {stats['flows_per_frame']} flows computed per frame, "
              f"scene cuts {stats['scene_cuts'] or 'none'}, {seconds:.1f} s")
    return 0


# --------------------------------------------------------------------------- .npz streaming


def _check_npz_output(output: Path, input_path: Path, overwrite: bool) -> None:
    """Refuse OUTPUT.npz (and its sidecar) by the rules of :mod:`vidrestore.io.safety`, before any work."""
    from vidrestore.io import safety

    safety.check_target(output, overwrite=overwrite, inputs=(input_path,), what="flow file")
    side = safety.sibling(output, ".vidrestore.yaml")
    safety.check_target(side, overwrite=overwrite or safety.is_vidrestore_sidecar(side),
                        inputs=(input_path,), what="config sidecar")


class _ArraySpool:
    """Append equally shaped arrays to a raw temporary file; later copied into an .npy entry."""

    def __init__(self, folder: Path, name: str, dtype: np.dtype, tag: str) -> None:
        self.dtype = np.dtype(dtype)
        self.count = 0
        self.item_shape: tuple[int, ...] | None = None
        from vidrestore.io import safety

        self.path = safety.temp_path(folder / name, suffix=f"-{tag}.raw")
        self._f = os.fdopen(safety.open_new(self.path), "wb")
        safety._register_temp(self.path)

    def append(self, arr: np.ndarray) -> None:
        arr = np.ascontiguousarray(arr, dtype=self.dtype)
        if self.item_shape is None:
            self.item_shape = arr.shape
        self._f.write(arr.tobytes())
        self.count += 1

    def write_npy(self, zf: zipfile.ZipFile, name: str, fallback_shape: tuple[int, ...]) -> None:
        self._f.close()
        shape = (self.count, *(self.item_shape or fallback_shape))
        with zf.open(f"{name}.npy", "w", force_zip64=True) as out:
            np.lib.format.write_array_header_1_0(
                out, {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": shape})
            with open(self.path, "rb") as raw:
                while block := raw.read(1 << 22):
                    out.write(block)

    def discard(self) -> None:
        from vidrestore.io import safety

        if not self._f.closed:
            self._f.close()
        self.path.unlink(missing_ok=True)
        safety._forget_temp(self.path)


def write_npz(input_path: str | os.PathLike[str], output: str | os.PathLike[str], *, cfg: Any, estimator: Any,
              overwrite: bool = False, backward: bool = False, dtype: Any = np.float16, quiet: bool = True,
              device: str = "cpu") -> dict[str, Any]:
    """Estimate consecutive-frame flows of INPUT and store them in OUTPUT.npz (streamed, atomic)."""
    import time

    from vidrestore.config import dump_config
    from vidrestore.flow.cache import cache_from_config
    from vidrestore.io.reader import open_reader
    from vidrestore.io.writer import output_path_for_config
    from vidrestore.tensors import to_tensor

    t0 = time.perf_counter()
    out = Path(output)
    _check_npz_output(out, Path(input_path), overwrite)
    folder = out.parent if str(out.parent) else Path(".")
    cache = cache_from_config(cfg.flow, estimator)
    from vidrestore.io import safety

    lock = safety.OutputLock(out).acquire()
    safety.clean_stale_temps(out)
    fwd = _ArraySpool(folder, out.name, dtype, "fwd")
    bwd = _ArraySpool(folder, out.name, dtype, "bwd") if backward else None
    index_t: list[int] = []
    connected: list[bool] = []
    pts: list[int] = []
    bar = None
    try:
        with open_reader(input_path, cfg.io) as reader:
            info = reader.info
            if not quiet:
                from tqdm import tqdm

                bar = tqdm(total=info.num_frames, desc=f"flow [{estimator.name}]", unit="frame", leave=True)
            prev = None
            for frame in reader:
                cache.add(frame.index, to_tensor(frame.rgb, device=device)[0])
                pts.append(frame.pts)
                if prev is not None:
                    _spool_pair(cache, prev, fwd, bwd, index_t, connected)
                    cache.evict(prev)
                prev = frame.index
                if bar is not None:
                    bar.update(1)
        h, w = reader.frame_size[1], reader.frame_size[0]
        with safety.atomic_file(out, overwrite=overwrite, inputs=(input_path,), what="flow file", suffix=".npz") as fh, \
                zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            fwd.write_npy(zf, "flow", (2, h, w))
            if bwd is not None:
                bwd.write_npy(zf, "flow_backward", (2, h, w))
            small = {
                "index_t": np.asarray(index_t, dtype=np.int64),
                "index_s": np.asarray(index_t, dtype=np.int64) + 1,
                "connected": np.asarray(connected, dtype=bool),
                "pts": np.asarray(pts, dtype=np.int64),
                "time_base": np.asarray(str(info.time_base)),
                "scene_cuts": np.asarray(cache.cuts, dtype=np.int64),
                "method": np.asarray(estimator.name),
            }
            for name, arr in small.items():
                with zf.open(f"{name}.npy", "w") as entry:
                    np.lib.format.write_array(entry, arr, allow_pickle=False)
    finally:
        if bar is not None:
            bar.close()
        fwd.discard()
        if bwd is not None:
            bwd.discard()
        lock.release()
    dump_config(cfg, output_path_for_config(out), overwrite=overwrite, inputs=(input_path,))
    stats = cache.stats()
    stats["seconds"] = time.perf_counter() - t0
    return stats


def _spool_pair(cache: Any, i: int, fwd: _ArraySpool, bwd: _ArraySpool | None, index_t: list[int],
                connected: list[bool]) -> None:
    """Store flow(i -> i+1) (and back), or zeros when a scene cut separates the pair."""
    linked = cache.same_shot(i, i + 1)
    if linked:
        cache.ensure(i, i + 2, "both" if bwd is not None else "forward")
        fwd.append(cache.forward(i).cpu().numpy())
        if bwd is not None:
            bwd.append(cache.backward(i).cpu().numpy())
    else:
        h, w = cache.frame(i).shape[-2:]
        zero = np.zeros((2, h, w), dtype=np.float32)
        fwd.append(zero)
        if bwd is not None:
            bwd.append(zero)
    index_t.append(i)
    connected.append(linked)
