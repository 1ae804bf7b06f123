"""How the interpolation ensemble's weighting was chosen (vidrestore/interpolate/ensemble.py), on the dev clips.

The drop-frame protocol of tools/benchmarks/interpolate_rife.py on the clips named (by default its
DEV clips, where the choice was made): RIFE alone and the flow synthesizer each make every new
frame, and each also rebuilds every kept frame from its two neighbours (the rebuild test). Ways to
combine them per pair, scored against the held-out frames (mean PSNR):

* ``select``: the synthesizer with the smaller rebuild error;
* ``avg``: half and half, whatever the tests say;
* ``ivw``: inverse rebuild error (RIFE's share ``e_flow / (e_rife + e_flow)``): the one adopted;
* ``ivw3``: the same over three candidates, linear blending the third;
* ``stack2`` / ``stack3``: convex least squares on the rebuilt frames (weights fitted to the tests).

    python tools/benchmarks/_ensemble_choice.py                 # the dev clips
    python tools/benchmarks/_ensemble_choice.py "chaplin.mp4"   # any clip of interpolate_rife.CLIPS
    python tools/benchmarks/_ensemble_choice.py --validation    # clips no benchmark row uses (VALIDATION)
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.benchmarks.interpolate_rife import CLIPS, DEV, VARIANTS, _cfg, load_clip  # noqa: E402

#: --test-one-pass: RIFE's rebuild tests with one pass (its frames still with the four of the defaults).
TEST_ONE_PASS = False


def _mids(seq: list[np.ndarray], overrides: tuple[str, ...]) -> list[np.ndarray]:
    from vidrestore.interpolate.dropframe import interpolate_kept

    out = interpolate_kept(seq, _cfg(*overrides))
    return [out[2 * k + 1].astype(np.float64) for k in range(len(seq) - 1)]


def _convex_fit(frames: dict[str, np.ndarray], target: np.ndarray) -> dict[str, float]:
    """Weights >= 0 summing to 1 that best fit ``target`` (every subset solved, the best feasible kept)."""
    best: tuple[float, dict[str, float]] | None = None
    names = list(frames)
    for size in range(1, len(names) + 1):
        for sub in itertools.combinations(names, size):
            base = frames[sub[-1]]
            if size == 1:
                weights = np.ones(1)
            else:
                a = np.stack([frames[n] - base for n in sub[:-1]], 1)
                free = np.linalg.lstsq(a, target - base, rcond=None)[0]
                weights = np.append(free, 1.0 - free.sum())
            if (weights < 0).any():
                continue
            err = float(np.mean((sum(w * frames[n] for n, w in zip(sub, weights)) - target) ** 2))
            if best is None or err < best[0]:
                best = (err, dict(zip(sub, weights)))
    assert best is not None  # noqa: S101 - a single candidate is always feasible
    return best[1]


#: Validation clips, for deciding whether the ensemble is on by default: never used by the benchmark's
#: rows (other files, or other stretches of its files). name -> (path under shared/data, first frame, frames).
VALIDATION = {
    "fire2.mp4": ("moviepy_media/fire2.mp4", 0, None),
    "big_buck_bunny_432_433.webm": ("moviepy_media/big_buck_bunny_432_433.webm", 0, 25),
    "raft_demo_frames": ("raft_demo_frames", 0, None),
    "chaplin.mp4 40-100": ("moviepy_media/chaplin.mp4", 40, 60),
}


def _frames(name: str) -> list[np.ndarray]:
    if name in VALIDATION:
        rel, first, count = VALIDATION[name]
        frames = load_clip(rel, None if count is None else first + count)
        return frames[first:]
    rel, limit, _ = CLIPS[name]
    return load_clip(rel, limit)


def _stacked(names: tuple[str, ...], made: dict[str, list[np.ndarray]], rebuilt: dict[int, dict[str, np.ndarray]],
             kept: list[np.ndarray], k: int, tests: list[int]) -> np.ndarray:
    """Pair k's frames of ``names`` mixed with the convex weights that best rebuild its tested frames."""
    if not tests:
        return sum(made[n][k] for n in names) / len(names)
    target = np.concatenate([kept[j].astype(np.float64).ravel() for j in tests])
    fit = _convex_fit({n: np.concatenate([rebuilt[j][n].ravel() for j in tests]) for n in names}, target)
    return sum(w * made[n][k] for n, w in fit.items())


def clip_scores(name: str) -> dict[str, float]:
    from vidrestore.interpolate.dropframe import mean_motion, psnr, remove_duplicates

    clean = remove_duplicates(_frames(name), 10.0)
    clean = clean[:len(clean) if len(clean) % 2 else len(clean) - 1]
    kept = clean[0::2]
    if len(kept) < 4:
        raise SystemExit(f"{name}: {len(kept)} frames kept after repeats are removed; the rebuild tests need 4")
    chosen = [k for k in range(len(kept) - 1) if mean_motion(kept[k], kept[k + 1]) >= 1.0]
    made: dict[str, list[np.ndarray]] = {}
    rebuilt: dict[int, dict[str, np.ndarray]] = {j: {"blend": (kept[j - 1].astype(np.float64) + kept[j + 1]) / 2}
                                                for j in range(1, len(kept) - 1)}
    for method, overrides in (("rife", VARIANTS["ours, RIFE alone"]), ("flow", VARIANTS["flow"])):
        made[method] = _mids(kept, overrides)
        for start in (0, 1):  # every kept frame j rebuilt from j - 1 and j + 1
            tested = VARIANTS["ours, 1 pass"] if method == "rife" and TEST_ONE_PASS else overrides
            for i, frame in enumerate(_mids(kept[start::2], tested)):
                rebuilt[start + 2 * i + 1][method] = frame
    made["blend"] = [(kept[k].astype(np.float64) + kept[k + 1]) / 2 for k in range(len(kept) - 1)]
    scores: dict[str, list[float]] = {}
    for k in chosen:
        tests = [j for j in (k, k + 1) if j in rebuilt]
        err = {m: np.mean([np.mean((rebuilt[j][m] - kept[j]) ** 2) for j in tests]) if tests else 1.0
               for m in ("rife", "flow", "blend")}
        r, f, b = made["rife"][k], made["flow"][k], made["blend"][k]
        share = err["flow"] / (err["rife"] + err["flow"])
        inv = np.array([1 / err["rife"], 1 / err["flow"], 1 / err["blend"]])
        inv /= inv.sum()
        stacked = {names: _stacked(names, made, rebuilt, kept, k, tests)
                   for names in (("rife", "flow"), ("rife", "flow", "blend"))}
        combos = {"rife": r, "flow": f, "select": r if err["rife"] <= err["flow"] else f, "avg": (r + f) / 2,
                  "ivw": share * r + (1 - share) * f, "ivw3": inv[0] * r + inv[1] * f + inv[2] * b,
                  "stack2": stacked[("rife", "flow")], "stack3": stacked[("rife", "flow", "blend")]}
        truth = clean[2 * k + 1]
        for label, frame in combos.items():
            scores.setdefault(label, []).append(psnr(np.clip(np.rint(frame), 0, 255).astype(np.uint8), truth))
    return {label: float(np.mean(v)) for label, v in scores.items()}


def main() -> int:
    import torch

    torch.set_num_threads(2)
    global TEST_ONE_PASS
    args = [a for a in sys.argv[1:] if a != "--test-one-pass"]
    TEST_ONE_PASS = len(args) < len(sys.argv) - 1
    names = args or list(DEV)
    if names == ["--validation"]:
        names = list(VALIDATION)
    for name in names:
        scores = clip_scores(name)
        print(f"{name}: " + ", ".join(f"{k} {v:.2f}" for k, v in scores.items()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
