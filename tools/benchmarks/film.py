"""Film restoration benchmarks (issue 6, measured as issue 18 asks): damage table, real film, speed.

* Damage table: clean clips get dust/dirt blobs, line scratches, +-15 % flicker and grain of sigma
  8/255 at known places (:mod:`vidrestore.film.damage`). The film defaults were tuned on the dev clips
  (``DEV_CLIPS``: REDS demo 320x180x21, the Vimeo-90K septuplet 112x64x7, Sintel 1024x436x10, the
  Landsat still under a synthetic camera path 320x240x16) and damage seed 3 (dev seeds 0-3); the
  rows report held-out seeds 4-9 (mean and worst seed) on those clips and on held-out clips no
  default was tuned on (fire2.mp4, Big Buck Bunny). Peers: three ffmpeg chains fixed before looking
  (``FFMPEG_CHAINS``: hqdn3d+deflicker, + tmedian, + atadenoise), each reported; the film row is
  compared with the best of them. Also: dust detection recall/precision, false repairs (repair
  mask outside any true blob, and pixels the output left further from the clean frame than the
  input was, which counts ghosting), and film followed by the GAN restorer on the first seed.
* Real damaged film: a frozen sample (all 24 frames of old_films_bofb/data_1/001 and the first 60
  frames of chaplin.mp4) scored before and after by an independent judge
  (tools/benchmarks/_spike_judge.py: Farneback motion compensation, a temporal median test with one
  threshold) that shares no rule with the restorer's detector; changes on moving parts of the
  picture away from any judged spike are reported as ghosting candidates. Before/after sheets with
  zoomed crops are written to out/film/ for a person to look at.
* chaplin.mp4 end to end: ``vidrestore restore chaplin.mp4 --preset film`` wall time, and its MP3
  track compared bit for bit (ffmpeg ``-map 0:a -c copy -f md5``).
* Speed: the stage alone (no decode/encode) at 480p (upscale_a_video/old_movie_2.mp4) and 1080p (the
  same frames resized), DIS medium flow, with the share of time per stage.

Pass marks are the named ``TARGETS``; a row passes on the mean over the held-out seeds.

    python tools/benchmarks/film.py [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.benchmarks.common import SHARED, BenchRow  # noqa: E402

AREA = "Film restoration (issue 6)"
CMD = "python tools/benchmarks/film.py"
DATA = SHARED / "data"
WEIGHTS = SHARED / "weights" / "realesr-animevideov3.pth"
OUT = ROOT / "out" / "film"


# --------------------------------------------------------------------------- data


def _read_png(path: Path) -> np.ndarray:
    import cv2

    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _sources(quick: bool) -> dict[str, list[np.ndarray]]:
    """Clean clips by name (missing data is left out)."""
    import cv2

    out: dict[str, list[np.ndarray]] = {}
    reds = DATA / "basicvsrpp_reds_demo" / "demo_000"
    if reds.is_dir():
        out["REDS"] = [_read_png(p) for p in sorted(reds.glob("*.png"))[: 12 if quick else 21]]
    vimeo = DATA / "mmagic_vimeo90k" / "00001" / "0266"
    if vimeo.is_dir():
        out["Vimeo-90K"] = [_read_png(p) for p in sorted(vimeo.glob("im*.png"))]
    sintel = DATA / "raft_demo_frames"
    if sintel.is_dir():
        frames = [_read_png(p) for p in sorted(sintel.glob("frame_*.png"))]
        if quick:
            frames = [cv2.resize(f, (512, 218), interpolation=cv2.INTER_AREA) for f in frames]
        out["Sintel"] = frames
    tif = DATA / "rasterio_testdata" / "RGB.byte.tif"
    if tif.is_file():
        try:
            import rasterio

            from vidrestore.film.damage import camera_motion_clip

            with rasterio.open(tif) as r:
                still = np.moveaxis(r.read(), 0, -1)
            out["Landsat pan"] = camera_motion_clip(still[150:600, 150:650], frames=10 if quick else 16,
                                                    size=(320, 240), seed=1)
        except ImportError:
            pass
    return out


# --------------------------------------------------------------------------- runners


def _film(images: list[np.ndarray], *overrides: str, analyse_only: bool = False):  # type: ignore[no-untyped-def]
    """(output images, processor, seconds) of the film stage over ``images`` (DIS flow, 1 torch thread)."""
    from fractions import Fraction

    from vidrestore.config import load_config
    from vidrestore.pipeline.stages import build_film as build_processor
    from vidrestore.types import Frame

    cfg = load_config(preset="film", overrides=list(overrides))
    proc = build_processor(cfg, None)  # type: ignore[arg-type]
    proc.keep_masks = True
    proc.analyse_only = analyse_only
    frames = [Frame(index=i, pts=i, time_base=Fraction(1, 24), rgb=im) for i, im in enumerate(images)]
    t0 = time.perf_counter()
    out = [f.rgb for f in proc.process(iter(frames))]
    return out, proc, time.perf_counter() - t0


def _film_gan(images: list[np.ndarray]) -> list[np.ndarray] | None:
    if not WEIGHTS.is_file():
        return None
    from fractions import Fraction

    from vidrestore.config import load_config
    from vidrestore.pipeline.stages import build_film_chain as build_processor
    from vidrestore.types import Frame, VideoInfo

    h, w = images[0].shape[:2]
    info = VideoInfo(path="bench", container="png", codec="png", width=w, height=h, pix_fmt="rgb24", bit_depth=8,
                     avg_rate=Fraction(24), real_rate=Fraction(24), time_base=Fraction(1, 24),
                     num_frames=len(images), num_frames_exact=True, duration=None, start_time=0.0, rotation=0)
    cfg = load_config(preset="film", overrides=["restorer.name=realesr-animevideov3", f"restorer.weights={WEIGHTS}",
                                                "restorer.scale=1"])
    proc = build_processor(cfg, info)
    frames = [Frame(index=i, pts=i, time_base=Fraction(1, 24), rgb=im) for i, im in enumerate(images)]
    return [f.rgb for f in proc.process(iter(frames))]


TMEDIAN_PAD = 1  # the chains' tmedian radius


def _ffmpeg(images: list[np.ndarray], chain: str = "hqdn3d,deflicker") -> list[np.ndarray] | None:
    """An ffmpeg filter chain (each filter at its defaults) on the same frames, as PNGs in and out."""
    import cv2

    if shutil.which("ffmpeg") is None:
        return None
    with tempfile.TemporaryDirectory() as td:
        for i, img in enumerate(images):
            cv2.imwrite(f"{td}/in_{i:05d}.png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        # ffmpeg's tmedian only outputs frames with a full window (output k is centred on input k + radius):
        # the first and last frames are repeated radius times (tpad) so that output k is input k's median
        vf = (f"tpad=start={TMEDIAN_PAD}:start_mode=clone:stop={TMEDIAN_PAD}:stop_mode=clone,{chain}"
              if "tmedian" in chain else chain)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", f"{td}/in_%05d.png", "-vf", vf,
                        f"{td}/out_%05d.png"], check=True)
        return [_read_png(Path(f"{td}/out_{i + 1:05d}.png")) for i in range(len(images))]


def _quality(out: list[np.ndarray], clean: list[np.ndarray]) -> tuple[np.ndarray, float]:
    from vidrestore.metrics.fidelity import psnr, ssim

    return np.array([psnr(o, c) for o, c in zip(out, clean)]), float(np.mean([ssim(o, c) for o, c in zip(out, clean)]))


# --------------------------------------------------------------------------- benches


@dataclass(frozen=True)
class Targets:
    """The pass marks of the film rows (issue 6), named here rather than written into each row."""

    gain_db: float = 5.0  # mean PSNR gain over the damaged input
    vs_peer_db: float = 2.0  # ... and over the best of the ffmpeg chains
    worst_frame_db: float = 0.0  # no frame of any seed below its damaged input
    recall: float = 0.90  # visible blobs found
    precision: float = 0.80  # detected pixels on rendered damage
    real_fall: float = 0.80  # fewer judged spike regions on real film


TARGETS = Targets()
#: Damage seeds the film defaults may be tuned on (the dust knobs were tuned on seed 3) ...
DEV_SEEDS = (0, 1, 2, 3)
#: ... and the ones the rows report: the mean and the worst of them.
HELDOUT_SEEDS = (4, 5, 6, 7, 8, 9)
QUICK_SEEDS = (4, 5)
#: Clean clips the film defaults were tuned on (the damage table since issue 6); the others are held out.
DEV_CLIPS = ("REDS", "Vimeo-90K", "Sintel", "Landsat pan")
#: The peers, chosen before looking at any result (issue 18): each filter at ffmpeg's defaults.
FFMPEG_CHAINS = ("hqdn3d,deflicker", "deflicker,tmedian=radius=1,hqdn3d",
                 "deflicker,tmedian=radius=1,atadenoise,hqdn3d")
#: A luma change (0..1) larger than this is a repair (or, where the frame was not damaged, a false one).
CHANGED = 0.10
#: Pixels within this many px of rendered damage count as damaged when false repairs are counted.
DAMAGE_MARGIN = 2
#: Wall time the whole chaplin clip may take end to end with --preset film ("a few minutes").
END_TO_END_S = 300.0


def _luma(rgb: np.ndarray) -> np.ndarray:
    x = rgb.astype(np.float32) / 255.0
    return 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]


def _false_repairs(damage, out: list[np.ndarray], clean: list[np.ndarray],  # type: ignore[no-untyped-def]
                   masks: list[np.ndarray]) -> tuple[float, float]:
    """(repair-mask px per frame outside any true blob or scratch, px per frame outside them that the
    output moved more than CHANGED further from the clean frame than the damaged input was)."""
    import cv2

    k = np.ones((2 * DAMAGE_MARGIN + 1, 2 * DAMAGE_MARGIN + 1), np.uint8)
    masked, harmed = [], []
    for i, (o, c, m) in enumerate(zip(out, clean, masks)):
        truth = ((damage.dust_alpha[i] > 0.02) | (damage.scratch_alpha[i] > 0.02)).astype(np.uint8)
        outside = cv2.dilate(truth, k) == 0
        masked.append(int((m & outside).sum()))
        worse = np.abs(_luma(o) - _luma(c)) - np.abs(_luma(damage.frames[i]) - _luma(c)) > CHANGED
        harmed.append(int((worse & outside).sum()))
    return float(np.mean(masked)), float(np.mean(harmed))


def _heldout_sources(quick: bool) -> dict[str, list[np.ndarray]]:
    """Clean clips no film default was tuned on (resized to small sizes: real camera and animation)."""
    import cv2

    from vidrestore.io.reader import open_reader

    out: dict[str, list[np.ndarray]] = {}
    picks = [("fire2 (held-out)", DATA / "moviepy_media" / "fire2.mp4", 0, 12 if quick else 25, (320, 180)),
             ("Big Buck Bunny (held-out)", DATA / "moviepy_media" / "big_buck_bunny_0_30.webm", 240,
              12 if quick else 16, (384, 216))]
    for name, path, start, n, size in picks:
        if not path.is_file():
            continue
        with open_reader(path) as reader:
            frames = [f.rgb for f in itertools.islice(reader, start, start + n)]
        out[name] = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
    return out


def _one_seed(clean: list[np.ndarray], seed: int, with_gan: bool) -> dict:
    """Every measurement of one clip under one damage seed."""
    from vidrestore.film.damage import DamageSpec, render_damage, score_detection

    damage = render_damage(clean, DamageSpec(seed=seed))
    p_in, _ = _quality(damage.frames, clean)
    res: dict = {"seed": seed, "input": float(p_in.mean()), "chains": {}}
    for chain in FFMPEG_CHAINS:
        ff = _ffmpeg(damage.frames, chain)
        if ff is not None:
            res["chains"][chain] = float(_quality(ff, clean)[0].mean())
    out, proc, seconds = _film(damage.frames)
    p_out, s_out = _quality(out, clean)
    res.update(film=float(p_out.mean()), ssim=s_out, worst_frame=float((p_out - p_in).min()),
               fps=len(out) / seconds)
    repaired = [proc.last_masks[i][0] | proc.last_masks[i][1] for i in range(len(out))]
    res["score"] = score_detection(damage, [proc.last_masks[i][0] for i in range(len(out))])
    res["false_masked"], res["false_harmed"] = _false_repairs(damage, out, clean, repaired)
    if with_gan:
        gan = _film_gan(damage.frames)
        res["gan"] = None if gan is None else float(_quality(gan, clean)[0].mean())
    return res


def _source_rows(label: str, runs: list[dict], seeds: str) -> list[BenchRow]:
    """The rows of one clip over the held-out seeds: peers, film, detection, false repairs."""
    chains = {c: [r["chains"][c] for r in runs if c in r["chains"]] for c in FFMPEG_CHAINS}
    chains = {c: float(np.mean(v)) for c, v in chains.items() if v}
    p_in = float(np.mean([r["input"] for r in runs]))
    rows = [BenchRow(f"{label}: damaged input and ffmpeg peers, mean PSNR over seeds {seeds}",
                     f"input {p_in:.2f} dB; " + "; ".join(f"{c} {v:.2f} dB ({v - p_in:+.2f})" for c, v in chains.items()),
                     command="ffmpeg -i in_%05d.png -vf CHAIN out_%05d.png",
                     notes="peers fixed before looking (issue 18), each filter at its defaults")]
    gain = np.array([r["film"] - r["input"] for r in runs])
    best_peer = np.array([r["film"] - max(r["chains"].values()) if r["chains"] else np.nan for r in runs])
    worst_frame = min(r["worst_frame"] for r in runs)
    best_name = max(chains, key=chains.get) if chains else "none"
    missed = [m for m, bad in (
        (f"gain {gain.mean():+.2f} dB < +{TARGETS.gain_db:g}", gain.mean() < TARGETS.gain_db),
        (f"{np.nanmean(best_peer):+.2f} dB vs {best_name} < +{TARGETS.vs_peer_db:g}",
         not np.isnan(best_peer).all() and np.nanmean(best_peer) < TARGETS.vs_peer_db),
        (f"a frame {worst_frame:+.2f} dB below its input", worst_frame <= TARGETS.worst_frame_db)) if bad]
    ok = not missed
    rows.append(BenchRow(
        f"{label}: vidrestore film, seeds {seeds}",
        f"PSNR {np.mean([r['film'] for r in runs]):.2f} dB, SSIM {np.mean([r['ssim'] for r in runs]):.4f}; "
        f"vs input {gain.mean():+.2f} dB (worst seed {gain.min():+.2f}); vs the best ffmpeg chain "
        f"{np.nanmean(best_peer):+.2f} dB (worst seed {np.nanmin(best_peer):+.2f}; best on average: {best_name}); "
        f"worst frame {worst_frame:+.2f} dB vs its input; {np.mean([r['fps'] for r in runs]):.2f} frames/s",
        target=f">= +{TARGETS.gain_db:g} dB vs input, >= +{TARGETS.vs_peer_db:g} dB vs the best chain (means), "
               "no frame below its input", passed=ok, notes="missed: " + "; ".join(missed) if missed else "",
        command=f"{CMD}  (or: python tools/film_damage.py SRC -o D --seed N; vidrestore restore D/damaged -o OUT "
                "--preset film)"))
    sc = [r["score"] for r in runs]
    rec = np.array([s.visible_recall for s in sc])
    prec = np.array([s.precision for s in sc])
    rows.append(BenchRow(
        f"{label}: dust detection, seeds {seeds}",
        f"recall {rec.mean():.3f} (worst seed {rec.min():.3f}) of {sum(s.visible_blobs for s in sc)} visible blobs; "
        f"precision {prec.mean():.3f} (worst seed {prec.min():.3f})",
        target=f"recall >= {TARGETS.recall:g} at precision >= {TARGETS.precision:g} (means)",
        passed=bool(rec.mean() >= TARGETS.recall and prec.mean() >= TARGETS.precision), command=CMD,
        notes=("" if rec.mean() >= TARGETS.recall and prec.mean() >= TARGETS.precision else
               f"missed: recall {rec.mean():.3f} / precision {prec.mean():.3f} under the marks; ") + "visible = the blob changes the luma by >= 0.1 (25/255) on average; precision = share of "
              "detected pixels on rendered damage (dust or scratch, 1 px tolerance)"))
    rows.append(BenchRow(
        f"{label}: false repairs, seeds {seeds}",
        f"repair mask outside any true blob or scratch: {np.mean([r['false_masked'] for r in runs]):.1f} px/frame; "
        f"pixels outside them left more than {CHANGED:g} luma further from the clean frame than the input: "
        f"{np.mean([r['false_harmed'] for r in runs]):.1f} px/frame (worst seed "
        f"{max(r['false_harmed'] for r in runs):.1f})", command=CMD,
        notes=f"true damage = rendered dust or scratch opacity > 0.02, grown by {DAMAGE_MARGIN} px; the second "
              "count includes ghosting on moving parts of the picture"))
    gans = [r.get("gan") for r in runs if r.get("gan") is not None]
    if gans:
        rows.append(BenchRow(f"{label}: film + GAN (realesr-animevideov3, scale 1), seed {runs[0]['seed']}",
                             f"PSNR {gans[0]:.2f} dB", command=CMD,
                             notes="the GAN sharpens and invents texture: not a fidelity gain"))
    return rows


def bench_damage(quick: bool) -> list[BenchRow]:
    """The damage table on held-out seeds, dev clips and held-out clips alike."""
    rows: list[BenchRow] = []
    sources = {**_sources(quick), **_heldout_sources(quick)}
    if not sources:
        return [BenchRow("film damage table", "skipped: ../shared/data missing")]
    seeds = QUICK_SEEDS if quick else HELDOUT_SEEDS
    seed_text = f"{seeds[0]}-{seeds[-1]}"
    pooled: dict[str, list] = {"dev": [], "held-out": []}
    for name, clean in sources.items():
        h, w = clean[0].shape[:2]
        split = "dev clip" if name in DEV_CLIPS else "held-out clip"
        label = f"damage {name} {w}x{h}x{len(clean)} ({split})"
        runs = [_one_seed(clean, s, with_gan=not quick and i == 0) for i, s in enumerate(seeds)]
        rows += _source_rows(label, runs, seed_text)
        pooled["dev" if name in DEV_CLIPS else "held-out"] += runs
    for split, runs in pooled.items():
        if not runs:
            continue
        sc = [r["score"] for r in runs]
        vis = sum(s.visible_found for s in sc) / max(sum(s.visible_blobs for s in sc), 1)
        prec = sum(s.detected_on_damage for s in sc) / max(sum(s.detected_pixels for s in sc), 1)
        gain = float(np.mean([r["film"] - r["input"] for r in runs]))
        peer = float(np.nanmean([r["film"] - max(r["chains"].values()) if r["chains"] else np.nan for r in runs]))
        worst = min(r["worst_frame"] for r in runs)
        clips = ", ".join(n for n in sources if (n in DEV_CLIPS) == (split == "dev"))
        rows.append(BenchRow(
            f"damage table, {split}s ({clips}), seeds {seed_text}",
            f"mean gain {gain:+.2f} dB vs input, {peer:+.2f} dB vs the best ffmpeg chain; worst frame "
            f"{worst:+.2f} dB vs its input; dust recall {vis:.3f} of {sum(s.visible_blobs for s in sc)} visible "
            f"blobs, precision {prec:.3f}",
            target=f">= +{TARGETS.gain_db:g} dB, >= +{TARGETS.vs_peer_db:g} dB vs the best chain, recall >= "
                   f"{TARGETS.recall:g} at precision >= {TARGETS.precision:g}",
            passed=bool(gain >= TARGETS.gain_db and peer >= TARGETS.vs_peer_db and vis >= TARGETS.recall
                        and prec >= TARGETS.precision and worst > TARGETS.worst_frame_db), command=CMD,
            notes=f"film defaults tuned on the dev clips ({', '.join(DEV_CLIPS)}) and seed 3 (dev seeds "
                  f"{DEV_SEEDS[0]}-{DEV_SEEDS[-1]}); these seeds were not looked at while tuning"))
    return rows


def _dusty_crop(masks: list[np.ndarray], fraction: float = 0.3):  # type: ignore[no-untyped-def]
    """The square window (side ``fraction`` of the shorter side) holding the most detected dirt."""
    import cv2

    from vidrestore.metrics.compare import Crop

    total = np.sum([m.astype(np.float32) for m in masks], axis=0)
    h, w = total.shape
    side = max(16, int(min(h, w) * fraction))
    window = cv2.boxFilter(total, -1, (side, side), normalize=False, borderType=cv2.BORDER_CONSTANT)
    y, x = np.unravel_index(int(np.argmax(window)), window.shape)
    return Crop(int(np.clip(x - side // 2, 0, w - side)), int(np.clip(y - side // 2, 0, h - side)), side, side)


def _sheet_picks(masks: list[np.ndarray], count: int = 3) -> list[int]:
    """The ``count`` frames the restorer repaired most (in order), topped up with evenly spread ones."""
    n = len(masks)
    area = np.array([int(m.sum()) for m in masks])
    picks = [int(i) for i in np.argsort(-area, kind="stable")[:count] if area[i] > 0]
    for i in (n // 4, n // 2, 3 * n // 4, 0, n - 1):
        if len(picks) >= min(count, n):
            break
        if i not in picks:
            picks.append(i)
    return sorted(picks)


def _sheet(pairs: list[tuple[int, np.ndarray, np.ndarray]], path: Path, masks: list[np.ndarray]) -> None:
    """Before/after rows, each zoomed where that frame was repaired (its own crop: dirt is somewhere else in
    every frame), or on the frame's detail where nothing was."""
    import cv2

    from vidrestore.metrics.compare import make_sheet, vconcat

    rows = [make_sheet([pair], labels=("before", "after: --preset film"),
                       crop=_dusty_crop([mask]) if mask.any() else None) for pair, mask in zip(pairs, masks)]
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(vconcat(rows), cv2.COLOR_RGB2BGR))


#: The frozen real-film sample the judge scores, declared before any tuning against it (issue 18):
#: all 24 frames of old_films_bofb 001 and the first 60 frames of chaplin.mp4.
REAL_FILM_SAMPLE = (("old_films_bofb 001", ("old_films_bofb", "data_1", "001"), 24),
                    ("chaplin.mp4", ("moviepy_media", "chaplin.mp4"), 60))


#: Reporting split of the judge's regions (not a rule of the judge): specks of dirt are this small,
#: the judge's false spikes on fast limbs are larger.
SPECK_AREA = 64


def _small_regions(judged) -> int:  # type: ignore[no-untyped-def]
    import cv2

    count = 0
    for i in judged.judged:
        n, _, stats, _ = cv2.connectedComponentsWithStats(judged.masks[i].astype(np.uint8), connectivity=8)
        count += int((stats[1:, cv2.CC_STAT_AREA] <= SPECK_AREA).sum())
    return count


def _moving_changes(frames: list[np.ndarray], out: list[np.ndarray], judged) -> float:  # type: ignore[no-untyped-def]
    """Pixels per judged frame the restorer changed by more than CHANGED (luma) where the picture moves
    (the judge's non-still area) and the judge saw no spike within 3 px: the candidates for ghosting."""
    import cv2

    counts = []
    for i in judged.judged:
        near = cv2.dilate(judged.masks[i].astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
        changed = np.abs(_luma(out[i]) - _luma(frames[i])) > CHANGED
        counts.append(int((changed & judged.moving[i] & ~near).sum()))
    return float(np.mean(counts)) if counts else 0.0


def bench_real_film(quick: bool) -> list[BenchRow]:
    """Real damaged film scored by the independent spike judge (tools/benchmarks/_spike_judge.py)."""
    from tools.benchmarks._spike_judge import JUDGE, judge_clip
    from vidrestore.io.reader import open_reader

    rows: list[BenchRow] = []
    for name, rel, n in REAL_FILM_SAMPLE:
        path = DATA.joinpath(*rel)
        if not path.exists():
            rows.append(BenchRow(f"real film {name}", f"skipped: {path} missing"))
            continue
        n = min(n, 24) if quick else n
        with open_reader(path) as reader:
            frames = [f.rgb for f in itertools.islice(reader, n)]
        out, proc, seconds = _film(frames)
        before, after = judge_clip(frames), judge_clip(out)
        b, a = before.total_regions(), after.total_regions()
        b_small, a_small = _small_regions(before), _small_regions(after)
        b_px, a_px = before.total_pixels(), after.total_pixels()
        fall = 1 - a / max(b, 1e-9)
        ghost = _moving_changes(frames, out, before)
        own = sum(int(proc.last_masks[i][0].any() or proc.last_masks[i][1].any()) for i in range(len(frames)))
        h, w = frames[0].shape[:2]
        sheet = OUT / f"{name.split()[0].replace('.mp4', '')}_before_after.png"
        repaired = [proc.last_masks[i][0] | proc.last_masks[i][1] for i in range(len(frames))]
        picks = _sheet_picks(repaired)
        _sheet([(i, frames[i], out[i]) for i in picks], sheet, [repaired[i] for i in picks])
        nj = len(before.judged)
        rows.append(BenchRow(
            f"real film {name} {w}x{h}, frames 0-{len(frames) - 1}: judged dirt before -> after",
            f"{b} -> {a} spike regions in {nj} judged frames ({100 * fall:.0f} % fewer), {b_px} -> {a_px} px; "
            f"of them dirt-sized (<= {SPECK_AREA} px): {b_small} -> {a_small} "
            f"({100 * (1 - a_small / max(b_small, 1e-9)):.0f} % fewer); "
            f"changed on moving parts away from any judged spike: {ghost:.1f} px/frame; restored at "
            f"{len(frames) / seconds:.2f} frames/s",
            target=f">= {100 * TARGETS.real_fall:.0f} % fewer (independent judge)",
            passed=fall >= TARGETS.real_fall, command=CMD,
            notes=("" if fall >= TARGETS.real_fall else
                   f"missed: {100 * fall:.0f} % fewer judged regions ({100 * (1 - a_small / max(b_small, 1e-9)):.0f} % "
                   "of the dirt-sized ones); ") + f"{JUDGE}; it shares no rule, flow or threshold with the restorer's detector, and also flags "
                  "one-frame appearances of fast limbs, which a repair must leave, so 'fewer' is a lower bound; "
                  f"the restorer repaired something in {own} of {len(frames)} frames; "
                  f"sample frozen before tuning (issue 18); before/after sheet: {sheet.relative_to(ROOT)}"))
    return rows


def _audio_md5(path: Path) -> str | None:
    if shutil.which("ffmpeg") is None:
        return None
    r = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a", "-c", "copy", "-f", "md5", "-"],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def bench_chaplin_cli(quick: bool) -> list[BenchRow]:
    src = DATA / "moviepy_media" / "chaplin.mp4"
    if not src.is_file() or quick:
        return [BenchRow("chaplin.mp4 --preset film end to end", "skipped" + (" (quick run)" if quick else ": missing"))]
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / "chaplin_film.mp4"
    masks = OUT / "chaplin_masks"
    cmd = [sys.executable, "-m", "vidrestore", "restore", str(src), "-o", str(out), "--preset", "film",
           "--save-masks", str(masks), "--overwrite", "-q"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        return [BenchRow("chaplin.mp4 --preset film end to end", f"failed: {r.stderr.strip()[-200:]}", passed=False)]
    same = _audio_md5(src) == _audio_md5(out) and _audio_md5(src) is not None
    from vidrestore.io.probe import probe_video

    n_in, n_out = probe_video(src).num_frames, probe_video(out).num_frames
    return [BenchRow(
        "chaplin.mp4 640x360 --preset film end to end",
        f"{wall:.0f} s for {n_out} frames ({n_out / wall:.2f} frames/s, decode + film + encode); frames {n_in} -> "
        f"{n_out}; MP3 track {'bit-exact' if same else 'DIFFERENT'}",
        target=f"under {END_TO_END_S / 60:g} minutes; audio bit-exact", passed=same and n_in == n_out and wall < END_TO_END_S,
        command="vidrestore restore chaplin.mp4 -o chaplin_film.mp4 --preset film --save-masks MASKS",
        notes="audio compared with ffmpeg -map 0:a -c copy -f md5")]


def bench_speed(quick: bool) -> list[BenchRow]:
    import cv2

    src = DATA / "upscale_a_video" / "old_movie_2.mp4"
    if not src.is_file():
        return [BenchRow("film speed", f"skipped: {src} missing")]
    from vidrestore.io.reader import open_reader

    n480, n1080 = (16, 6) if quick else (48, 12)
    with open_reader(src) as reader:
        frames = [f.rgb for _, f in zip(range(n480), reader)]
    rows = []
    for label, clip in (("480p", frames), ("1080p", [cv2.resize(f, (1920, 1080), interpolation=cv2.INTER_CUBIC)
                                                      for f in frames[:n1080]])):
        _, proc, seconds = _film(clip)
        st = proc.stats()
        share = ", ".join(f"{k} {100 * v:.0f}%" for k, v in sorted(st["stage_share"].items(), key=lambda kv: -kv[1])
                          if v >= 0.01)
        h, w = clip[0].shape[:2]
        rows.append(BenchRow(f"film stage speed, {label} ({w}x{h}, DIS medium)",
                             f"{len(clip) / seconds:.2f} frames/s over {len(clip)} frames; time per stage: {share}",
                             command=CMD, notes="the stage alone (frames in memory, no decode/encode), "
                                                f"1 torch thread (film.threads), {os.cpu_count()} cores shared"))
    return rows


def _load() -> str:
    try:
        return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except OSError:
        return ""


def run(quick: bool = False) -> list[BenchRow]:
    from dataclasses import replace

    import torch

    before = torch.get_num_threads()
    try:
        rows = bench_damage(quick) + bench_real_film(quick) + bench_speed(quick) + bench_chaplin_cli(quick)
    finally:
        torch.set_num_threads(before)
    note = _load()
    return [replace(r, notes="; ".join(x for x in (r.notes, note) if x)) for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    for row in run(quick=args.quick):
        mark = "" if row.passed is None else (" [PASS]" if row.passed else " [FAIL]")
        print(f"{row.name}: {row.result}{mark}  {row.notes}", flush=True)


if __name__ == "__main__":
    main()
