"""A job as segments: plan, run (locally or on Ray), record, resume, join.

:func:`run_job_segmented` is what ``vidrestore restore`` runs when a job is segmented (see
:func:`wants_segments`): it

1. probes the input, builds the processor once (early errors, its output size and its
   :func:`~vidrestore.stage.segment_reach`), and reads the frame table (packets only);
2. creates the work directory with its manifest, or with ``--resume`` checks that the input and
   the config are those of the interrupted job (:class:`~vidrestore.errors.ResumeError` otherwise:
   one line naming what changed, exit code 2) and that every finished part is intact;
3. plans the segments (scene cuts / keyframes, warm-up and look-ahead overlap), runs the pending
   ones with the chosen engine and records each in the manifest as it finishes;
4. joins the parts into OUTPUT (stream copy, audio remuxed once from the source), writes
   ``OUTPUT.vidrestore.yaml``, and removes the work directory unless ``jobs.keep_workdir``.

``context_fn`` (optional) computes job-wide facts once when the job starts (an interpolator's
time origin and the scene cuts of one full pass); they are kept in the manifest (a resumed job
reuses them) and reach each segment's processor through ``use_job_context`` (see
:mod:`vidrestore.jobs.worker`). Scene cuts found there also place the segment borders.

A processor that declares no reach runs as a single segment (never a seam), still resumable as a
whole. An error, Ctrl-C or a set cancel event keeps the finished segments; the message says how to
resume. Progress goes to a :class:`~vidrestore.pipeline.progress.Meter` (the terminal's bar and
the caller's callback are its listeners).

``frames=(start, stop)`` makes the job one segment owning the input frames ``[start, stop)``, read
with the warm-up and look-ahead of the processor's reach (from the first frame and to the last
when it declares none), so its frames equal those of the whole job; the source's sound and
subtitles are left out (they would not match a range).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from vidrestore import __version__
from vidrestore.config import Config, config_to_dict, dump_config
from vidrestore.errors import ConfigError, ResumeError
from vidrestore.io import safety
from vidrestore.io.output import OutputTarget, prepare_output, release_output
from vidrestore.io.probe import probe_video
from vidrestore.io.writer import choose_codec, output_path_for_config
from vidrestore.jobs import manifest as mf
from vidrestore.jobs.media import build_frame_table, scan_scene_cuts
from vidrestore.jobs.plan import (
    AUTO_MAX_FRAMES,
    FrameTable,
    Segment,
    auto_segment_frames,
    make_segments,
    overlap_share,
    plan_boundaries,
)
from vidrestore.jobs.worker import SegmentResult, SegmentTask, load_pieces, part_name, remove_pieces, run_segment
from vidrestore.pipeline.progress import Cancelled, Listener, Meter, TqdmBar
from vidrestore.stage import FrameProcessor, segment_reach
from vidrestore.types import VideoInfo

#: ``context_fn(info, table, cfg) -> dict`` (JSON-serialisable): job-wide facts for every segment.
ContextFn = Callable[[VideoInfo, FrameTable, Config], dict[str, Any]]

log = logging.getLogger(__name__)

WORKDIR_SUFFIX = ".vidrestore-work"


@dataclass
class SegmentedResult:
    """What a segmented job did (the CLI prints a summary; tests read the counts)."""

    input: str
    output: str
    frames_in: int
    frames_out: int
    seconds: float
    workdir: str
    segments: int
    computed: list[int]
    reused: list[int]
    overlap_share: float
    engine: str
    stats: dict[str, Any]

    @property
    def fps(self) -> float:
        return self.frames_out / self.seconds if self.seconds > 0 else 0.0


def default_workdir(output: str | Path) -> Path:
    """``OUTPUT.vidrestore-work`` beside the output."""
    return safety.sibling(output, WORKDIR_SUFFIX)


def workdir_for(cfg: Config, output: str | Path) -> Path:
    return Path(cfg.jobs.workdir) if cfg.jobs.workdir else default_workdir(output)


def wants_segments(cfg: Config, output: str | Path, *, resume: bool, frames: int | None,
                   uses_pixels: bool = True, segmentable: bool = True) -> bool:
    """Whether a job runs as segments.

    ``jobs.mode: segmented`` always, ``direct`` never (``--resume`` is then refused). ``auto``:
    when asked for (``--resume``, ``--workdir``, ``--keep-workdir``, ``--engine ray``,
    ``--segment-frames``), when an interrupted job of this output waits in its work directory,
    or when the job is long (more than twice the largest auto segment), looks at pixels and its
    processor declares its reach (``segmentable``).
    """
    jobs = cfg.jobs
    if jobs.mode == "direct":
        if resume:
            raise ConfigError("--resume needs a segmented job; jobs.mode is 'direct'")
        return False
    if jobs.mode == "segmented":
        return True
    if resume or jobs.workdir or jobs.keep_workdir or jobs.engine == "ray" or jobs.segment_frames:
        return True
    if (workdir_for(cfg, output) / mf.MANIFEST).is_file():
        return True
    return segmentable and uses_pixels and frames is not None and frames > 2 * AUTO_MAX_FRAMES


# --------------------------------------------------------------------------- manifest


def _output_identity(target: OutputTarget, codec: str | None) -> dict[str, Any]:
    return {"kind": target.kind, "container": target.container, "codec": codec}


def _new_manifest(workdir: Path, *, command: str, input_path: str, target: OutputTarget, codec: str | None,
                  cfg: Config, processor_ref: str, reach: tuple[int, int] | None, table: FrameTable,
                  segments: list[Segment], plan: dict[str, Any],
                  context: dict[str, Any] | None = None) -> mf.Manifest:
    cfg_dict = config_to_dict(cfg)
    images = target.kind == "images"
    data = {
        "format": mf.FORMAT, "version": mf.VERSION, "vidrestore": __version__, "command": command,
        "created": mf.now_iso(), "complete": False,
        "input": mf.input_identity(input_path),
        "output": {"path": str(target.final), **_output_identity(target, codec)},
        "config_hash": mf.config_hash(cfg_dict), "config": mf.hashed_config(cfg_dict),
        "processor": processor_ref, "reach": list(reach) if reach is not None else None,
        "frames": table.count, "plan": plan, "context": context,
        "segments": [{**s.to_dict(), "status": "pending", "part": part_name(s.id, images)} for s in segments],
        "runs": [],
    }
    return mf.Manifest(workdir=workdir, data=data)


def _check_resumable(man: mf.Manifest, *, input_path: str, target: OutputTarget, codec: str | None,
                     cfg: Config, table: FrameTable) -> None:
    """Refuse to resume a job whose input, config or output kind changed (one line, the reasons)."""
    data = man.data
    changes = mf.identity_changes(data["input"], mf.input_identity(input_path))
    if changes:
        raise ResumeError(f"{input_path}: the input changed since the job in {man.workdir} started "
                          f"({'; '.join(changes)}); cannot resume: restore the original input or remove the work "
                          "directory to start over")
    cfg_dict = config_to_dict(cfg)
    diffs = mf.resume_config_changes(data, cfg_dict)
    if diffs:
        raise ResumeError(f"{man.workdir}: the config differs from the interrupted job's ({'; '.join(diffs)}); "
                          "cannot resume: use the same preset/--config/--set, or remove the work directory to start over")
    want = _output_identity(target, codec)
    have = {k: data["output"].get(k) for k in want}
    if have != want:
        raise ResumeError(f"{target.final}: the interrupted job in {man.workdir} was writing a "
                          f"{have['kind']} output ({have['container'] or 'images'}, {have['codec'] or 'png'}), "
                          f"not {want['kind']} ({want['container'] or 'images'}, {want['codec'] or 'png'}); "
                          "use an output of the same type")
    if int(data["frames"]) != table.count:
        raise ResumeError(f"{input_path}: {table.count} frames now, {data['frames']} when the job started; cannot resume")


def _verify_parts(man: mf.Manifest) -> list[int]:
    """Done segments whose part is missing or damaged go back to pending; returns the intact ones."""
    intact = []
    for entry in man.segments:
        if entry["status"] != "done":
            continue
        files = [(p["part"], p["sha256"]) for p in entry["pieces"]] if entry.get("pieces") else \
            [(entry["part"], entry.get("sha256"))]
        ok = True
        for name, want in files:
            part = man.workdir / name
            ok = ok and part.exists() and (mf.sha256_tree(part) if part.is_dir() else mf.sha256_file(part)) == want
        if ok:
            intact.append(entry["id"])
        else:
            log.warning("%s: part of segment %d is %s; it will be computed again", man.workdir, entry["id"],
                        "damaged (sha256 differs)" if part.exists() else "missing")
            entry["status"] = "pending"
            entry.pop("pieces", None)  # the worker keeps what is intact of them (its own record, beside the parts)
    return intact


def _clean_stale(workdir: Path) -> None:
    """Remove what an interrupted run left half-written (temporary parts and manifests)."""
    for p in workdir.iterdir():
        if p.name.startswith(".") and ("vidrestore-tmp" in p.name or p.name.startswith(f".{mf.MANIFEST}.tmp")):
            if p.is_dir() and not p.is_symlink():
                safety.remove_output_folder(p)
            else:
                p.unlink(missing_ok=True)


def _created_before(workdir: Path) -> bool:
    """Whether an earlier run of this job created the work directory (its manifest says so), so that
    a job re-planned or resumed in it still removes the folder at the end."""
    try:
        return bool(mf.Manifest.load(workdir).data.get("workdir_created"))
    except Exception:  # noqa: BLE001 - no manifest, or one the job itself will refuse with the reason
        return False


def _owned_names(man: mf.Manifest) -> list[str]:
    """What the job put in its work directory: the manifest, the lock and every segment's part."""
    names = [mf.MANIFEST, mf.LOCK]
    for e in man.segments:
        part = man.workdir / e["part"]
        names += [e["part"], part.stem + ".pieces.json"]  # a segment written in parts: its record and parts
        names += [p["part"] for p in (e.get("pieces") or load_pieces(part))]
    return names


# --------------------------------------------------------------------------- planning


def _plan(info: VideoInfo, table: FrameTable, cfg: Config, reach: tuple[int, int] | None,
          known_cuts: list[int] | None = None) -> tuple[list[Segment], dict[str, Any]]:
    total = table.count
    if reach is None:
        return make_segments([0], total, warmup=0, lookahead=0), {"segment_frames": total, "split": "none",
                                                                   "why": "processor declares no warm-up"}
    warmup, lookahead = reach
    workers = cfg.jobs.workers or (1 if cfg.jobs.engine == "local" else 2)
    length = cfg.jobs.segment_frames or auto_segment_frames(total, workers=workers, reach=warmup + lookahead)
    split = cfg.jobs.split
    if split == "auto":
        split = "scenes" if (warmup or lookahead) else "keyframes"
    cuts: list[int] = []
    if split == "scenes" and total > length and known_cuts is not None:
        cuts = list(known_cuts)
    elif split == "scenes" and total > length:
        t0 = time.perf_counter()
        cuts = scan_scene_cuts(info, threshold=cfg.flow.scene_cut_threshold, io_cfg=cfg.io)
        log.info("scene cuts: %d found in %.1f s", len(cuts), time.perf_counter() - t0)
    starts = plan_boundaries(total, length, split=split, warmup=warmup, scene_cuts=cuts,
                             keyframes=table.keyframes if table.seekable else ())
    segments = make_segments(starts, total, warmup=warmup, lookahead=lookahead)
    plan = {"segment_frames": length, "split": split, "scene_cuts": cuts, "warmup": warmup, "lookahead": lookahead,
            "overlap_share": round(overlap_share(segments), 4)}
    return segments, plan


# --------------------------------------------------------------------------- the job


def run_job_segmented(
    input_path: str | Path,
    output_path: str | Path,
    *,
    cfg: Config,
    processor_ref: str,
    processor: FrameProcessor | None = None,
    resume: bool = False,
    overwrite: bool = False,
    quiet: bool = False,
    desc: str = "vidrestore",
    command: str = "restore",
    one_to_one: bool = True,
    info: VideoInfo | None = None,
    context_fn: ContextFn | None = None,
    frames: tuple[int, int] | None = None,
    progress: Listener | None = None,
    cancel: threading.Event | None = None,
) -> SegmentedResult:
    """Run INPUT -> OUTPUT as segments (see the module docstring).

    ``processor_ref`` is the ``"module:function"`` that builds the processor from ``(cfg, info)``
    (workers build their own from it); ``processor`` an already built one for this process.
    ``progress`` is called with a :class:`~vidrestore.pipeline.progress.Progress` after every
    output frame; a set ``cancel`` event stops the job with
    :class:`~vidrestore.pipeline.progress.Cancelled` (finished segments kept for ``resume``).
    """
    t0 = time.perf_counter()
    input_path, output_path = str(input_path), str(output_path)
    info = info or probe_video(input_path, fps=cfg.io.fps)
    target = prepare_output(output_path, inputs=(input_path,), overwrite=overwrite)  # refuse early, create nothing
    if processor is None:
        from vidrestore.jobs.worker import load_processor_factory

        processor = load_processor_factory(processor_ref)(cfg, info)
    reach = segment_reach(processor)
    if reach is None:
        log.warning("%s does not declare its temporal reach (warmup_frames/lookahead_frames): the job runs as one "
                    "segment", type(processor).__name__)
    frame_size = (info.height, info.width) if (cfg.io.apply_rotation and info.rotation % 180 == 90) else \
        (info.width, info.height)
    spec = processor.output_spec(info, frame_size)
    codec = choose_codec(cfg.encode, target.container or "", spec.bit_depth) if target.kind == "video" else None
    table = build_frame_table(info)
    if table.count == 0:
        from vidrestore.errors import MediaError

        raise MediaError(input_path, "no video frame to process")
    if frames is not None:
        check_frames(frames, table.count, input_path)
    workdir = workdir_for(cfg, output_path)
    sidecar = output_path_for_config(output_path)
    try:
        safety.check_workdir(workdir, inputs=(input_path,), outputs=(output_path, sidecar))
        created = safety.make_workdir(workdir) or _created_before(workdir)
        # tasks may run elsewhere (Ray workers, other nodes): they get absolute paths
        workdir = workdir.resolve()
        task_info = replace(info, path=str(Path(info.path).resolve()))
        with mf.workdir_lock(workdir):
            man = _open_manifest(workdir, resume=resume, command=command, input_path=input_path, target=target,
                                 codec=codec, cfg=cfg, processor_ref=processor_ref, reach=reach, table=table,
                                 info=info, context_fn=context_fn, frames=frames)
            if created:
                man.data["workdir_created"] = True
            expected = spec.num_frames if frames is None else None
            meter = _meter(man, one_to_one=one_to_one, expected=expected, desc=desc, quiet=quiet, progress=progress,
                           cancel=cancel, output=output_path)
            try:
                result = _run(man, cfg=cfg, info=task_info, table=table, target=target, codec=codec,
                              processor=processor, processor_ref=processor_ref, one_to_one=one_to_one, meter=meter,
                              resume=resume)
                meter.set_phase("join")
            finally:
                meter.close()
            _join(man, target=target, info=info, cfg=cfg, time_base=spec.time_base, sound=frames is None)
            dump_config(cfg, sidecar, overwrite=overwrite, inputs=(input_path,))
            man.data["complete"] = True
            man.data["output"]["sha256"] = (mf.sha256_tree(target.final) if target.kind == "images"
                                            else mf.sha256_file(target.final))
            man.save()
    except BaseException as err:
        if safety.is_no_space(err) and not isinstance(err, safety.NoSpaceError):
            done = len(man.done_ids()) if "man" in locals() else 0
            raise safety.space_error(err, target.final, kept=f"{done} finished segments kept in {workdir} for "
                                     "--resume") from err
        raise
    finally:
        release_output(target)
    if not cfg.jobs.keep_workdir:
        safety.remove_workdir(workdir, _owned_names(man), created=bool(man.data.get("workdir_created")))
    result.seconds = time.perf_counter() - t0
    log.info("%s: %d frames from %d segments (%d computed now, %d kept from before) in %.1f s", output_path,
             result.frames_out, result.segments, len(result.computed), len(result.reused), result.seconds)
    return result


def check_frames(frames: tuple[int, int], count: int, input_path: str) -> None:
    """Refuse a frame range that is empty or outside the input's ``count`` frames (one line)."""
    start, stop = frames
    if not 0 <= start < stop <= count:
        raise ConfigError(f"frames {start}:{stop}: {input_path} has {count} frames (0..{count - 1}); expected "
                          f"0 <= start < stop <= {count}")


def _range_plan(table: FrameTable, reach: tuple[int, int] | None,
                frames: tuple[int, int]) -> tuple[list[Segment], dict[str, Any]]:
    """One segment owning ``frames``, read with the processor's warm-up and look-ahead (all frames
    before and after when it declares no reach: only then are its outputs those of one pass)."""
    start, stop = frames
    warmup, lookahead = reach if reach is not None else (start, table.count - stop)
    seg = Segment(id=0, start=start, stop=stop, read_start=max(0, start - warmup),
                  read_stop=min(table.count, stop + lookahead))
    plan = {"segment_frames": stop - start, "split": "none", "frames": [start, stop],
            "warmup": start - seg.read_start, "lookahead": seg.read_stop - stop,
            "overlap_share": round(overlap_share([seg]), 4)}
    return [seg], plan


def _open_manifest(workdir: Path, *, resume: bool, command: str, input_path: str, target: OutputTarget,
                   codec: str | None, cfg: Config, processor_ref: str, reach: tuple[int, int] | None,
                   table: FrameTable, info: VideoInfo, context_fn: ContextFn | None = None,
                   frames: tuple[int, int] | None = None) -> mf.Manifest:
    exists = (workdir / mf.MANIFEST).is_file()
    if exists and not resume:
        old = mf.Manifest.load(workdir)
        done = len(old.done_ids())
        parts = sum(len(load_pieces(workdir / e["part"])) for e in old.segments if e["status"] != "done")
        if done or parts:
            raise ResumeError(f"{workdir}: holds an interrupted job ({done} of {len(old.segments)} segments done"
                              f"{f', {parts} parts of others' if parts else ''}); "
                              "add --resume to continue it, or remove the folder to start over")
        log.info("%s: the job there had finished no segment; starting over", workdir)  # nothing to lose
        for entry in old.segments:
            part = workdir / entry["part"]
            remove_pieces(part)
            if part.is_dir() and not part.is_symlink():
                safety.remove_output_folder(part)
            else:
                part.unlink(missing_ok=True)
        exists = False
    if exists:
        man = mf.Manifest.load(workdir)
        if man.data.get("complete"):
            log.info("%s: the job had finished; joining its parts again", workdir)
        _check_resumable(man, input_path=input_path, target=target, codec=codec, cfg=cfg, table=table)
        planned = man.data.get("reach")
        if planned != (list(reach) if reach is not None else None):
            raise ResumeError(f"{workdir}: the processor's temporal reach is {reach} now, {planned} when the job "
                              "started (another vidrestore version?); its segments would not join exactly: remove "
                              "the work directory to start over")
        ranged = man.data.get("plan", {}).get("frames")
        if ranged != (list(frames) if frames is not None else None):
            raise ResumeError(f"{workdir}: the interrupted job made frames {ranged or 'all'}, this one asks for "
                              f"{list(frames) if frames is not None else 'all'}; remove the folder to start over")
        if man.data.get("vidrestore") != __version__:
            log.warning("%s: started by vidrestore %s, resumed by %s", workdir, man.data.get("vidrestore"),
                        __version__)
        return man
    if resume:
        log.info("%s: no interrupted job to resume; starting it", workdir)
    context = None
    if context_fn is not None:
        t0 = time.perf_counter()
        context = context_fn(info, table, cfg)
        log.info("%s: job context computed in %.1f s (kept in the manifest)", workdir, time.perf_counter() - t0)
    cuts = context.get("scene_cuts") if context else None
    if frames is not None:
        segments, plan = _range_plan(table, reach, frames)
    else:
        segments, plan = _plan(info, table, cfg, reach, known_cuts=cuts)
    man = _new_manifest(workdir, command=command, input_path=input_path, target=target, codec=codec, cfg=cfg,
                        processor_ref=processor_ref, reach=reach, table=table, segments=segments, plan=plan,
                        context=context)
    man.save()
    if frames is not None:
        log.info("%s: frames %d..%d of %d as one segment (warm-up %d, look-ahead %d frames)", workdir, frames[0],
                 frames[1] - 1, table.count, plan["warmup"], plan["lookahead"])
        return man
    log.info("%s: %d frames in %d segments of ~%d (split at %s; warm-up %s, look-ahead %s: %.1f%% extra frames)",
             workdir, table.count, len(segments), plan["segment_frames"], plan["split"],
             plan.get("warmup", 0), plan.get("lookahead", 0), 100 * plan.get("overlap_share", 0.0))
    return man


def _meter(man: mf.Manifest, *, one_to_one: bool, expected: int | None, desc: str, quiet: bool,
           progress: Listener | None, cancel: threading.Event | None, output: str) -> Meter:
    """The job's meter: output frames of the segments (for another processor what its output spec
    expects for the whole video, the total a one-pass run shows)."""
    total = sum(int(e["stop"]) - int(e["start"]) for e in man.segments) if one_to_one else expected
    return Meter(total, phase="start", listeners=[TqdmBar(desc, quiet=quiet), progress], cancel=cancel, what=output)


def _run(man: mf.Manifest, *, cfg: Config, info: VideoInfo, table: FrameTable, target: OutputTarget,
         codec: str | None, processor: FrameProcessor, processor_ref: str, one_to_one: bool, meter: Meter,
         resume: bool) -> SegmentedResult:
    workdir = man.workdir
    _clean_stale(workdir)
    reused = _verify_parts(man)
    run_id = len(man.data["runs"]) + 1
    run = {"run": run_id, "started": mf.now_iso(), "engine": cfg.jobs.engine, "resumed": resume,
           "done_before": reused, "computed": []}
    man.data["runs"].append(run)
    man.save()
    pending = [Segment.from_dict(e) for e in man.segments if e["status"] != "done"]
    if reused:
        log.info("resuming %s: %d of %d segments already done (%s); %d to compute", workdir, len(reused),
                 len(man.segments), _ranges(reused), len(pending))
    tasks = [SegmentTask(segment=s, info=info, table=table, cfg=cfg, processor_ref=processor_ref,
                         part_path=str(workdir / man.segment(s.id)["part"]), codec=codec or "png",
                         one_to_one=one_to_one, context=man.data.get("context")) for s in pending]
    done_frames = sum(int(man.segment(i)["frames"]) for i in reused)

    def record(res: SegmentResult) -> None:
        entry = man.segment(res.id)
        entry.update(status="done", frames=res.frames, frames_read=res.frames_read, sha256=res.sha256,
                     bytes=res.bytes, first_time=res.first_time, seconds=res.seconds, run=run_id, host=res.host, pid=res.pid, stats=res.stats,
                     finished=mf.now_iso())
        if res.pieces:
            entry["pieces"] = res.pieces
        if res.resumed_at is not None:
            entry["resumed_at"] = res.resumed_at
            run.setdefault("resumed_parts", {})[str(res.id)] = res.resumed_at
        run["computed"].append(res.id)
        man.save()
        log.debug("segment %d (frames %d..%d) done in %.1f s", res.id, entry["start"], entry["stop"] - 1, res.seconds)

    try:
        meter.begin(done_frames)
        if cfg.jobs.engine == "ray":
            from vidrestore.jobs.ray_engine import run_ray

            def on_progress(frames: int) -> None:
                meter.set_done(done_frames + frames)

            meter.set_phase(f"{len(tasks)} segments on ray")
            run_ray(tasks, jobs=cfg.jobs, on_result=record, on_progress=on_progress)
        else:
            for k, task in enumerate(tasks, 1):
                meter.set_phase(f"segment {len(reused) + k}/{len(man.segments)}")
                record(run_segment(task, processor=processor, progress=meter.advance, check=meter.check))
    except Cancelled as err:
        done = len(man.done_ids())
        raise Cancelled(f"{target.final}: cancelled; nothing partial was left at the output; {done} of "
                        f"{len(man.segments)} segments are finished and kept in {workdir} (resume continues them)"
                        ) from err
    except BaseException:
        done = len(man.done_ids())
        if done:
                log.warning("%s: %d of %d segments are finished and kept; continue with the same command and --resume",
                        workdir, done, len(man.segments))
        raise
    frames_out = sum(int(e["frames"]) for e in man.segments)
    return SegmentedResult(input=info.path, output=str(target.final), frames_in=table.count, frames_out=frames_out,
                           seconds=0.0, workdir=str(workdir), segments=len(man.segments), computed=list(run["computed"]),
                           reused=reused, overlap_share=float(man.data["plan"].get("overlap_share", 0.0)),
                           engine=cfg.jobs.engine, stats={"processor": dict(processor.stats())})


def _join(man: mf.Manifest, *, target: OutputTarget, info: VideoInfo, cfg: Config, time_base: Fraction,
          sound: bool = True) -> None:
    from vidrestore.jobs.join import join_images, join_video

    pieces = [p for e in man.segments for p in (e.get("pieces") or [e])]  # a segment written in parts: its parts
    parts = [man.workdir / p["part"] for p in pieces]
    t0 = time.perf_counter()
    if target.kind == "images":
        stats = join_images(parts, target)
    else:
        carry = 0 if cfg.io.apply_rotation else info.rotation
        firsts = [Fraction(p["first_time"]) for p in pieces]
        encode = cfg.encode if sound else replace(cfg.encode, audio="none", subtitles="none")
        stats = join_video(parts, target, source=info, encode=encode, time_base=time_base, first_times=firsts,
                           carry_rotation=carry)
    man.data["join"] = {"seconds": round(time.perf_counter() - t0, 3), "packets": stats.packets,
                        "aux_packets": stats.aux_packets, "dts_raised": stats.dts_raised}
    log.info("joined %d parts into %s (%d packets%s) in %.1f s", len(parts), target.final, stats.packets,
             f", {stats.aux_packets} audio/subtitle packets copied" if stats.aux_packets else "",
             time.perf_counter() - t0)


def _ranges(ids: list[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"0-2, 5"``."""
    out: list[str] = []
    for i in sorted(ids):
        if out and int(out[-1].split("-")[-1]) == i - 1:
            out[-1] = f"{out[-1].split('-')[0]}-{i}"
        else:
            out.append(str(i))
    return ", ".join(out)
