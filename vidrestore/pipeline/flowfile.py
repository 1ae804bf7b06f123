"""The flow job's ``.npz`` output: consecutive-frame flows streamed to disk, the file atomic.

OUTPUT ``.npz``: the forward flows of consecutive frames, ``flow`` ``(N - 1, 2, H, W)`` (float16 by
default; channel 0 = dx, pixels; ``flow[k]`` maps frame ``index_t[k]`` to ``index_s[k] = index_t[k] + 1``),
with ``index_t``, ``index_s``, ``connected`` (False across a scene cut: that flow is zeros),
``pts``/``time_base`` of every frame, ``scene_cuts`` and ``method``; ``backward`` adds
``flow_backward`` (``index_s -> index_t``). Flows are spooled to raw temporary files and copied into
the archive at the end, so long clips do not fill memory; the file appears under its name only when
complete. Run by :func:`vidrestore.api.run` (``vidrestore flow``).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np


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
