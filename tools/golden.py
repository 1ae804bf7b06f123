"""Golden frame hashes: every preset on samples/ and on two ../shared clips, recorded once, checked after refactors.

    python tools/golden.py --record            # writes tests/golden/hashes.json
    python tools/golden.py                     # compares, prints the cases that differ (exit 1)
    python tools/golden.py --only film         # cases whose name contains 'film'

Each case runs the CLI (in this process) with PNG-folder output, so the hash covers the processed
pixels and the output timestamps, not the encoder's bitstream. The hash of a case is the sha256 of
every output frame's pixels (in frame order) plus the frame count and the per-frame pts recorded in
the output's timing sidecar. Refactors that claim "behaviour unchanged" must leave every hash equal.

The machine fingerprint (CPU flags that change float kernels, library versions) is stored with the
hashes: on a machine whose fingerprint differs, exact equality is not expected, and the test falls
back to the per-frame means recorded beside the hashes (within 0.5 of 255).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HASHES = ROOT / "tests" / "golden" / "hashes.json"
SHARED = ROOT.parent / "shared" / "data"
WEIGHTS = ROOT.parent / "shared" / "weights"
RIFE_PKL = WEIGHTS / "rife-hd-v3" / "flownet.pkl"
# presets whose weights ../shared/weights holds (realesr-animevideov3); denoise-light needs realesr-general-wdn-x4v3,
# which is not offline here, so its cases run only where 'vidrestore weights fetch' has stored it
GAN_WEIGHTS = {"upscale": "realesr-animevideov3.pth", "upscale-x2": "realesr-animevideov3.pth",
               "denoise-light": "realesr-general-wdn-x4v3.pth"}

VIDEO_PRESETS = ("passthrough", "denoise-light", "upscale", "upscale-x2", "film", "film-gentle", "interpolate",
                 "diffusion")


@dataclass(frozen=True)
class Case:
    name: str
    command: str  # restore | interpolate | decloud
    input: str  # relative to the repository root, or shared:<path> under ../shared/data
    preset: str
    sets: tuple[str, ...] = field(default_factory=tuple)
    frames: int = 0  # shared image folders: the first N files are copied (0 = all)

    @property
    def needs_shared(self) -> bool:
        return self.input.startswith("shared:")


def _cases() -> list[Case]:
    cases: list[Case] = []
    inputs = ["samples/moving.mp4", "samples/vfr.mkv", "samples/tenbit.mkv", "samples/odd.mp4", "samples/frames16",
              "shared:basicvsrpp_reds_demo/demo_000", "shared:old_films_bofb/data_1/001"]
    for inp in inputs:
        stem = inp.split("/")[-1].split(".")[0] if not inp.startswith("shared:") else inp.split(":")[1].split("/")[0]
        for preset in VIDEO_PRESETS:
            command = "interpolate" if preset == "interpolate" else "restore"
            sets: tuple[str, ...] = ()
            if preset == "diffusion" and inp in ("samples/moving.mp4", "samples/vfr.mkv"):
                continue  # minutes per clip on a CPU; the small clips and 4 shared frames pin its mechanics
            if preset == "diffusion":
                # random-weight tiny model (tools/make_tiny_diffusion.py, seed 0), two steps: mechanics, not quality
                sets = ("restorer.model_path=@TINY@", "restorer.steps=2")
            if preset == "interpolate":
                sets = ("interpolate.method=flow",)  # the learned path is pinned by its own parity tests
            frames = (4 if preset == "diffusion" else 8) if inp.startswith("shared:") else 0
            cases.append(Case(f"{stem}-{preset}", command, inp, preset, sets, frames))
        if inp == "samples/moving.mp4":
            cases.append(Case(f"{stem}-interpolate-rife", "interpolate", inp, "interpolate",
                              ("interpolate.method=rife", f"interpolate.rife_weights={RIFE_PKL}"), 0))
    cases.append(Case("rasterio-decloud", "decloud", "decloud:rgb", "decloud", ()))
    return cases


def fingerprint() -> dict[str, str]:
    import cv2
    import numpy
    import torch

    flags = ""
    try:
        text = Path("/proc/cpuinfo").read_text()
        line = next(ln for ln in text.splitlines() if ln.startswith("flags"))
        have = set(line.split(":", 1)[1].split())
        flags = " ".join(f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in have)
    except (OSError, StopIteration):
        pass
    return {"machine": platform.machine(), "cpu_flags": flags, "torch": torch.__version__,
            "numpy": numpy.__version__, "cv2": cv2.__version__, "threads": str(torch.get_num_threads())}


def _tiny_model(work: Path) -> Path:
    from vidrestore.restore.diffusion.tiny import make_tiny_model

    out = work / "tiny-upscale"
    if not out.exists():
        make_tiny_model("upscale", out, seed=0)
    return out


def _materialise_input(case: Case, work: Path) -> Path:
    if case.input.startswith("shared:"):
        src = SHARED / case.input.split(":", 1)[1]
        files = sorted(p for p in src.iterdir() if p.suffix.lower() in (".png", ".jpg", ".tif"))
        dst = work / "in" / case.input.replace("/", "_").replace(":", "_")
        if not dst.exists():
            dst.mkdir(parents=True)
            for i, p in enumerate(files[: case.frames or None]):
                shutil.copyfile(p, dst / f"frame_{i:04d}{p.suffix.lower()}")
        return dst
    if case.input.startswith("decloud:"):
        return _decloud_series(work)
    return ROOT / case.input


def _decloud_series(work: Path) -> Path:
    """Six dates cut from rasterio's RGB.byte.tif with a deterministic synthetic cloud on three of them."""
    import numpy as np
    import rasterio
    from rasterio.windows import Window

    dst = work / "in" / "series"
    if dst.exists():
        return dst
    dst.mkdir(parents=True)
    src = SHARED / "rasterio_testdata" / "RGB.byte.tif"
    with rasterio.open(src) as ds:
        win = Window(300, 300, 96, 96)
        data = ds.read(window=win)
        profile = ds.profile | {"width": 96, "height": 96, "transform": ds.window_transform(win), "tiled": False}
        profile.pop("blockxsize", None), profile.pop("blockysize", None)
    yy, xx = np.mgrid[0:96, 0:96]
    for d in range(6):
        img = data.astype(np.float64) * (1.0 + 0.02 * d)
        if d % 2 == 1:
            cloud = ((yy - 20 - 10 * d) ** 2 + (xx - 30 - 5 * d) ** 2) < 18 ** 2
            img[:, cloud] = 250.0
        with rasterio.open(dst / f"S2_2020{d + 1:02d}01.tif", "w", **profile) as out:
            out.write(np.clip(img, 0, 255).astype(data.dtype))
    return dst


def _hash_folder(out: Path) -> dict[str, object]:
    import cv2
    import numpy as np

    frames = sorted(p for p in out.iterdir() if p.suffix in (".png", ".tif"))
    h = hashlib.sha256()
    means = []
    for p in frames:
        img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        h.update(str(img.shape).encode() + str(img.dtype).encode())
        h.update(np.ascontiguousarray(img).tobytes())
        scale = 65535.0 if img.dtype == np.uint16 else 255.0
        means.append(round(float(img.mean()) / scale * 255.0, 3))
    timing = sorted(out.glob("*.json"))
    for t in timing:  # the timing sidecar(s): pts and time base, nothing machine- or path-specific
        data = json.loads(t.read_text())
        h.update(json.dumps(_timing_only(data), sort_keys=True).encode())
    return {"frames": len(frames), "sha256": h.hexdigest(), "means": means}


def _timing_only(data: object) -> object:
    keep = ("pts", "time_base", "durations", "duration", "frames", "rate")
    if isinstance(data, dict):
        return {k: _timing_only(v) for k, v in data.items() if k in keep}
    return data


def _hash_decloud(out: Path) -> dict[str, object]:
    import numpy as np
    import rasterio

    h = hashlib.sha256()
    means = []
    files = sorted(p for p in out.rglob("*.tif"))
    for p in files:
        with rasterio.open(p) as ds:
            arr = ds.read()
        h.update(p.relative_to(out).as_posix().encode() + arr.tobytes())
        means.append(round(float(np.nanmean(arr)), 3))
    return {"frames": len(files), "sha256": h.hexdigest(), "means": means}


def run_case(case: Case, work: Path) -> dict[str, object]:
    from vidrestore.cli import main

    inp = _materialise_input(case, work)
    out = work / "out" / case.name
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sets = [s.replace("@TINY@", str(_tiny_model(work))) for s in case.sets]
    args = [case.command, str(inp), "-o", str(out) + ("" if case.command == "decloud" else "/"), "--preset",
            case.preset, "-q"]
    for s in sets:
        args += ["--set", s]
    rc = main(args)
    if rc != 0:
        raise RuntimeError(f"{case.name}: exit {rc} for vidrestore {' '.join(args)}")
    return _hash_decloud(out) if case.command == "decloud" else _hash_folder(out)


def available(case: Case) -> bool:
    if case.needs_shared or case.input.startswith("decloud:"):
        if not SHARED.exists():
            return False
    if case.name.endswith("interpolate-rife"):
        return RIFE_PKL.is_file()
    if case.preset in GAN_WEIGHTS:
        return (WEIGHTS / GAN_WEIGHTS[case.preset]).is_file()
    return True


def _save(path: Path, results: dict[str, object]) -> None:
    """Add ``results`` to the record after every case (a long recording keeps what it has done)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    record = json.loads(path.read_text()) if path.exists() else {"cases": {}}
    record["cases"].update(results)
    record["fingerprint"] = fingerprint()
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--record", action="store_true", help="write tests/golden/hashes.json")
    p.add_argument("--only", default="", help="cases whose name contains this text")
    p.add_argument("--hashes", type=Path, default=HASHES, help="recorded hashes (default tests/golden/hashes.json)")
    p.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary one)")
    args = p.parse_args(argv)
    import os

    os.environ["VIDRESTORE_WEIGHTS"] = str(WEIGHTS)  # the real weights this machine holds, nothing else
    work = args.work or Path(tempfile.mkdtemp(prefix="vidrestore-golden-"))
    cases = [c for c in _cases() if args.only in c.name]
    results: dict[str, object] = {}
    for case in cases:
        if not available(case):
            print(f"skip {case.name} (its data or weights are not on this machine)")
            continue
        t0 = time.perf_counter()
        results[case.name] = run_case(case, work)
        results[case.name]["seconds"] = round(time.perf_counter() - t0, 1)
        print(f"{case.name}: {results[case.name]['frames']} frames {results[case.name]['sha256'][:16]} "
              f"{results[case.name]['seconds']} s", flush=True)
        if args.record:
            _save(args.hashes, {case.name: results[case.name]})
    if args.record:
        print(f"wrote {args.hashes}")
        return 0
    if not args.hashes.exists():
        print(f"{args.hashes} not recorded yet: run with --record first")
        return 1
    recorded = json.loads(args.hashes.read_text())["cases"]
    bad = [n for n, r in results.items() if n in recorded and recorded[n]["sha256"] != r["sha256"]]
    for n in bad:
        print(f"DIFFERS: {n}")
    print(f"{len(results) - len(bad)} of {len(results)} cases identical to {args.hashes}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
