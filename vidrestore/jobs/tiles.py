"""``vidrestore decloud`` as a resumable job of spatial tiles (``--workdir``, ``--resume``, ``--engine ray``).

A tile is one block of the run's block grid (:func:`~vidrestore.decloud.engine.block_grid`): the
engine already computes every block alone from the block plus a halo that covers co-registration
shifts, shadow search, mask buffers and regression/inpainting windows, after a plan made once on
overviews (alignment, radiometric gains, shadow directions). So a tile computed in any process, in
any order (:mod:`vidrestore.decloud.tiles`, which needs only decloud's section), holds exactly the
values one uninterrupted run writes there: the assembled GeoTIFFs are bit-identical to the one-pass
ones (the tests compare every band of every output). This module is the job around the tiles
(manifest, resume, Ray, the whole config), beside :mod:`vidrestore.jobs.runner`.

Date ranges are not segments: every block needs every date (a cloudy pixel is filled from the
dates around it), so a tile always covers the whole series.

Work directory (default ``OUTDIR.vidrestore-work`` beside the output folder):

* ``manifest.json`` (:mod:`vidrestore.jobs.manifest`, written atomically): the identity of every
  input file (size, mtime, hash of its first MiB), the config hash, a digest of the plan and of the
  tile grid, and per tile its window, status, file, sha256, per-date counts, seconds, host and pid;
* ``tile_NNNNN.npz``: everything the tile writes into the outputs (written to a temporary name,
  fsynced and renamed, so a crash leaves either no tile file or a complete one; a tile counts as
  done only once the manifest says so and its sha256 still matches).

When every tile is done, the outputs are assembled from the tile files (in the one-pass block
order) through the engine's own :class:`~vidrestore.decloud.output.OutputSet` (same profile,
georeferencing and metadata; moved into place atomically), then the report and quick-look are
written and the work directory is removed unless ``--keep-workdir``.

``--resume`` refuses changed inputs, a changed config and a plan that came out differently (one
line naming what changed, exit code 2), and never recomputes a finished tile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidrestore import __version__
from vidrestore.config import Config, config_to_dict
from vidrestore.decloud.engine import DateStats, DecloudResult, block_grid
from vidrestore.decloud.tiles import (
    COUNTS,
    TileResult,
    TileSink,
    TileTask,
    compute_tile,
    compute_tile_alone,
    plan_digest,
)
from vidrestore.errors import ConfigError, ResumeError
from vidrestore.io import safety
from vidrestore.jobs import manifest as mf

if TYPE_CHECKING:
    from vidrestore.restore.registry import MaskedInpainter

log = logging.getLogger(__name__)

WORKDIR_SUFFIX = ".vidrestore-work"


def default_workdir(out_dir: str | Path) -> Path:
    return safety.sibling(out_dir, WORKDIR_SUFFIX)


def workdir_for(cfg: Config, out_dir: str | Path) -> Path:
    return Path(cfg.jobs.workdir) if cfg.jobs.workdir else default_workdir(out_dir)


def wants_tiles(cfg: Config, out_dir: str | Path, *, resume: bool) -> bool:
    """Whether decloud runs as a tiled job: asked for (``--resume``, ``--workdir``, ``--keep-workdir``,
    ``--engine ray``, ``jobs.mode: segmented``) or an interrupted job of this OUTDIR waits."""
    jobs = cfg.jobs
    if jobs.mode == "direct":
        if resume:
            raise ConfigError("--resume needs a tiled job; jobs.mode is 'direct'")
        return False
    if jobs.mode == "segmented" or resume or jobs.workdir or jobs.keep_workdir or jobs.engine == "ray":
        return True
    return (workdir_for(cfg, out_dir) / mf.MANIFEST).is_file()


def _ray_tile(task: TileTask, plan: Any, dc: Any, inpainter: MaskedInpainter | None, threads: int) -> TileResult:
    """A Ray task: the worker's thread budget, its own readers, the shared plan."""
    from vidrestore.jobs.worker import set_thread_budget

    set_thread_budget(threads)
    return compute_tile_alone(task, plan=plan, dc=dc, inpainter=inpainter)


# --------------------------------------------------------------------------- identity and plan


def series_identity(files: Sequence[Path]) -> dict[str, Any]:
    """Identity of every input file (name -> size, mtime, head hash), in a stable order."""
    return {"kind": "series", "files": {str(Path(p).resolve()): mf.input_identity(p) for p in sorted(files)}}


def series_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    of, nf = old.get("files", {}), new.get("files", {})
    out = [f"{Path(p).name} is new" for p in nf if p not in of] + [f"{Path(p).name} is gone" for p in of if p not in nf]
    for p in nf:
        if p in of:
            out += [f"{Path(p).name}: {c}" for c in mf.identity_changes(of[p], nf[p])]
    return out


# --------------------------------------------------------------------------- the job


class TiledJob:
    """Manifest, tiles and assembly of one resumable decloud run (see the module docstring)."""

    def __init__(self, man: mf.Manifest, *, cfg: Config, progress: Callable[[int, int], None] | None) -> None:
        self.man = man
        self.cfg = cfg
        self.progress = progress
        self.computed: list[int] = []
        self.reused: list[int] = []

    def run_blocks(self, plan: Any, reader: Any, dc: Any, inpainter: MaskedInpainter | None, outputs: Any,
                   stats: list[DateStats], progress: Callable[[int, int], None] | None) -> None:
        """The engine's block step: compute the missing tiles, then write every tile into ``outputs``."""
        windows, halo, fill_h = block_grid(plan, dc)
        digest = plan_digest(plan, windows, halo)
        man = self.man
        if not man.data.get("tiles"):
            man.data["plan_sha256"] = digest
            man.data["tiles"] = [{"id": i, "row": w.row, "col": w.col, "height": w.height, "width": w.width,
                                  "status": "pending", "file": f"tile_{i:05d}.npz"} for i, w in enumerate(windows)]
            man.save()
            log.info("%s: %d tiles of up to %d px (halo %d px)", man.workdir, len(windows),
                     max(max(w.height, w.width) for w in windows), halo)
        elif man.data.get("plan_sha256") != digest:
            raise ResumeError(f"{man.workdir}: the plan (co-registration, normalisation, masks on the overview, tile "
                              "grid) came out differently from the interrupted job's; its tiles would not match: "
                              "remove the work directory to start over")
        self.reused = self._verify()
        tiles = man.data["tiles"]
        tasks = [TileTask(id=e["id"], window=windows[e["id"]], halo=halo, fill_h=fill_h,
                          path=str(man.workdir / e["file"])) for e in tiles if e["status"] != "done"]
        if self.reused:
            log.info("resuming %s: %d of %d tiles already done; %d to compute", man.workdir, len(self.reused),
                     len(tiles), len(tasks))
        run = {"run": len(man.data["runs"]) + 1, "started": mf.now_iso(), "engine": self.cfg.jobs.engine,
               "done_before": list(self.reused), "computed": self.computed}
        man.data["runs"].append(run)
        man.save()
        done = {"n": len(self.reused)}

        def record(res: TileResult) -> None:
            tiles[res.id].update(status="done", sha256=res.sha256, bytes=res.bytes, seconds=res.seconds,
                                 counts=res.counts, run=run["run"], host=res.host, pid=res.pid,
                                 finished=mf.now_iso())
            self.computed.append(res.id)
            man.save()
            done["n"] += 1
            if progress is not None:
                progress(done["n"], len(tiles))

        try:
            if self.cfg.jobs.engine == "ray":
                _run_ray(tasks, plan=plan, dc=dc, inpainter=inpainter, jobs=self.cfg.jobs, on_result=record)
            else:
                for task in tasks:
                    record(compute_tile(task, plan=plan, reader=reader, dc=dc, inpainter=inpainter))
        except BaseException:
            finished = sum(e["status"] == "done" for e in tiles)
            if finished:
                log.warning("%s: %d of %d tiles are finished and kept; continue with the same command and --resume",
                            man.workdir, finished, len(tiles))
            raise
        for entry in tiles:
            TileSink.replay(man.workdir / entry["file"], outputs)
            for st, counts in zip(stats, entry["counts"]):
                for k in COUNTS:
                    setattr(st, k, getattr(st, k) + int(counts.get(k, 0)))

    def _verify(self) -> list[int]:
        intact = []
        for entry in self.man.data["tiles"]:
            if entry["status"] != "done":
                continue
            path = self.man.workdir / entry["file"]
            if path.is_file() and mf.sha256_file(path) == entry.get("sha256"):
                intact.append(entry["id"])
            else:
                log.warning("%s: tile %d is %s; it will be computed again", self.man.workdir, entry["id"],
                            "damaged (sha256 differs)" if path.exists() else "missing")
                entry["status"] = "pending"
        return intact


def _run_ray(tasks: Sequence[TileTask], *, plan: Any, dc: Any, inpainter: MaskedInpainter | None, jobs: Any,
             on_result: Callable[[TileResult], None]) -> None:
    """Tiles as Ray tasks (the plan is put in the object store once); the first failure stops the job."""
    if not tasks:
        return
    from vidrestore.jobs.ray_engine import ray_session, run_bounded

    with ray_session(jobs) as (ray, workers):
        log.info("ray: %d tiles on %d workers x %d threads", len(tasks), workers, jobs.threads_per_worker)
        plan_ref = ray.put(plan)
        remote = ray.remote(_ray_tile).options(num_cpus=jobs.threads_per_worker, num_gpus=jobs.gpus_per_worker,
                                               max_retries=0)
        run_bounded(ray, tasks, lambda task: remote.remote(task, plan_ref, dc, inpainter, jobs.threads_per_worker),
                    workers=workers, on_result=on_result)


def _open_manifest(workdir: Path, *, resume: bool, identity: dict[str, Any], cfg: Config, out_dir: Path) -> mf.Manifest:
    cfg_dict = config_to_dict(cfg)
    if (workdir / mf.MANIFEST).is_file():
        old = mf.Manifest.load(workdir)
        done = sum(e.get("status") == "done" for e in old.data.get("tiles") or [])
        if not resume:
            if done:
                raise ResumeError(f"{workdir}: holds an interrupted decloud job ({done} of {len(old.data['tiles'])} "
                                  "tiles done); add --resume to continue it, or remove the folder to start over")
            log.info("%s: the job there had finished no tile; starting over", workdir)
        else:
            if old.data.get("command") != "decloud":
                raise ResumeError(f"{workdir}: holds a {old.data.get('command')} job, not a decloud job")
            changes = series_changes(old.data["input"], identity)
            if changes:
                raise ResumeError(f"{workdir}: the inputs changed since the job started ({'; '.join(changes[:4])}"
                                  f"{'; ...' if len(changes) > 4 else ''}); cannot resume: restore them or remove the "
                                  "work directory to start over")
            diffs = mf.resume_config_changes(old.data, cfg_dict)
            if diffs:
                raise ResumeError(f"{workdir}: the config differs from the interrupted job's ({'; '.join(diffs)}); "
                                  "cannot resume: use the same preset/--config/--set, or remove the work directory "
                                  "to start over")
            return old
    elif resume:
        log.info("%s: no interrupted job to resume; starting it", workdir)
    for stale in workdir.glob("tile_*.npz"):
        stale.unlink()
    data = {"format": mf.FORMAT, "version": mf.VERSION, "vidrestore": __version__, "command": "decloud",
            "created": mf.now_iso(), "complete": False, "input": identity,
            "output": {"path": str(out_dir.resolve()), "kind": "geotiff-folder"},
            "config_hash": mf.config_hash(cfg_dict), "config": mf.hashed_config(cfg_dict), "tiles": [], "runs": []}
    man = mf.Manifest(workdir=workdir, data=data)
    man.save()
    return man


def run_decloud_tiled(inputs: Sequence[str | Path], out_dir: str | Path, *, cfg: Config, resume: bool = False,
                      overwrite: bool = False, progress: Callable[[int, int], None] | None = None
                      ) -> tuple[DecloudResult, TiledJob]:
    """:func:`~vidrestore.pipeline.stages.run_decloud` as a resumable job of tiles (see the module docstring)."""
    from vidrestore.decloud.series import discover_series
    from vidrestore.pipeline.stages import run_decloud

    out_dir = Path(out_dir)
    series = discover_series(inputs, cfg.decloud)
    files = list(series.files) + [e.mask.path for e in series.dates if e.mask is not None]
    workdir = workdir_for(cfg, out_dir)
    if workdir.resolve() == out_dir.resolve() or any(workdir.resolve() == Path(f).resolve().parent for f in files):
        raise ConfigError(f"jobs.workdir: {workdir} is the output or an input folder; choose another folder")
    safety.check_workdir(workdir, inputs=[*files, *inputs], outputs=(out_dir,))
    created = safety.make_workdir(workdir)
    if not created and (workdir / mf.MANIFEST).is_file():
        try:
            created = bool(mf.Manifest.load(workdir).data.get("workdir_created"))
        except Exception:  # noqa: BLE001 - the job refuses a damaged manifest itself, with the reason
            created = False
    workdir = workdir.resolve()
    for stale in workdir.glob(".*vidrestore-tmp*"):
        stale.unlink(missing_ok=True)
    with mf.workdir_lock(workdir):
        man = _open_manifest(workdir, resume=resume, identity=series_identity(files), cfg=cfg, out_dir=out_dir)
        if created:
            man.data["workdir_created"] = True
        job = TiledJob(man, cfg=cfg, progress=progress)
        result = run_decloud(inputs, out_dir, cfg=cfg, overwrite=overwrite, progress=progress,
                             block_runner=job.run_blocks)
        man.data["complete"] = True
        man.save()
    if not cfg.jobs.keep_workdir:
        owned = [mf.MANIFEST, mf.LOCK] + [str(t["file"]) for t in man.data["tiles"]]
        safety.remove_workdir(workdir, owned, created=bool(man.data.get("workdir_created")))
    log.info("%s: %d tiles (%d computed now, %d kept from before)", out_dir, len(man.data["tiles"]),
             len(job.computed), len(job.reused))
    return result, job
