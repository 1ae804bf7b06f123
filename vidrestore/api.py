"""The Python front door: a job described once (:class:`JobSpec`), run the same way by every caller.

The command line, the web app and Python scripts all describe a job as a :class:`JobSpec` and hand
it to :func:`run`, so a job started from a page, a script or a shell resolves the same config,
takes the same decision between one streaming pass and a resumable segmented job, and gives the
same frames. :func:`command_line` writes the equivalent ``vidrestore`` command, so any job can be
repeated from a shell.

Progress reaches callers as :class:`Progress` values (the terminal's bar is one listener among
others); a set ``cancel`` event stops a job with :class:`Cancelled`, leaving nothing partial at the
output and keeping the finished segments of a segmented job, which ``resume=True`` continues.
``frames=(start, stop)`` makes only the outputs of those input frames, fed with the warm-up and
look-ahead frames of the stage chain's reach, so they equal the same frames of the whole job (what
a preview needs).

Errors are :class:`~vidrestore.errors.VidrestoreError` subclasses whose text is the command line's
one-line message.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shlex
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidrestore.errors import ConfigError
from vidrestore.pipeline.progress import Cancelled, Listener, Meter, Progress, TqdmBar

if TYPE_CHECKING:
    from vidrestore.config import Config
    from vidrestore.types import VideoInfo

log = logging.getLogger(__name__)

__all__ = ["COMMANDS", "OPTIONS", "Cancelled", "JobResult", "JobSpec", "Progress", "command_line", "compare",
           "decloud", "flow", "interpolate", "load_config", "restore", "run"]

#: The preset each command takes when neither ``preset`` nor ``config`` is given (flow: the defaults).
DEFAULT_PRESETS: dict[str, str | None] = {"restore": "passthrough", "interpolate": "interpolate",
                                          "decloud": "decloud", "flow": None}
COMMANDS = tuple(DEFAULT_PRESETS)

#: The options of each command (their CLI dest names; ``--segment-frames`` is ``segment_frames``).
OPTIONS: dict[str, tuple[str, ...]] = {
    "restore": ("save_masks", "segment_frames"),
    "interpolate": ("factor", "fps", "scale", "order", "method", "refine", "segment_frames"),
    "decloud": ("pattern", "bands", "masks", "mask_type", "detector", "scale", "dry_run", "cog", "stac",
                "cloud_values", "shadow_values", "composite", "reproject"),
    "flow": ("method", "weights", "device", "backward", "float32", "max_flow"),
}

INTERPOLATE_REF = "vidrestore.pipeline.stages:build_interpolation"


@dataclass(frozen=True)
class JobSpec:
    """One job, as the command line states it (see the module docstring).

    ``overrides`` are ``section.key=value`` exactly as ``--set``; ``options`` the command's own
    options by their CLI dest name (:data:`OPTIONS`). ``engine``, ``address``, ``workers`` and
    ``threads_per_worker`` left at None keep the config's ``jobs.*`` values. ``segmented`` None
    decides as the command line does (segments when asked for, resumed or long); True always runs
    segments (resumable), False one pass. ``frames=(start, stop)``: only the outputs of input
    frames ``[start, stop)``, equal to those of the whole job (a segmented job of one segment,
    without the source's sound).
    """

    command: str
    input: str | tuple[str, ...]
    output: str
    preset: str | None = None
    config: str | None = None
    overrides: tuple[str, ...] = ()
    overwrite: bool = False
    resume: bool = False
    segmented: bool | None = None
    workdir: str | None = None
    keep_workdir: bool = False
    engine: str | None = None
    address: str | None = None
    workers: int | None = None
    threads_per_worker: int | None = None
    frames: tuple[int, int] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.command not in COMMANDS:
            raise ConfigError(f"command {self.command!r}: expected one of {', '.join(COMMANDS)}")
        if self.preset and self.config:
            raise ConfigError("preset and config exclude each other: give one (a config may name its base preset)")
        inputs = (self.input,) if isinstance(self.input, (str, Path)) else tuple(self.input)
        if not inputs or (self.command != "decloud" and len(inputs) != 1):
            raise ConfigError(f"{self.command}: expected {'at least one input' if not inputs else 'one input'}, "
                              f"got {len(inputs)}")
        object.__setattr__(self, "input", str(inputs[0]) if self.command != "decloud" else tuple(map(str, inputs)))
        object.__setattr__(self, "output", str(self.output))
        object.__setattr__(self, "overrides", tuple(self.overrides))
        object.__setattr__(self, "options", dict(self.options))
        unknown = sorted(set(self.options) - set(OPTIONS[self.command]))
        if unknown:
            raise ConfigError(f"{self.command}: unknown option(s) {', '.join(unknown)}; "
                              f"expected {', '.join(OPTIONS[self.command])}")
        if self.engine not in (None, "local", "ray"):
            raise ConfigError(f"engine {self.engine!r}: expected local or ray")
        if self.frames is not None:
            _check_range(self)

    def __hash__(self) -> int:  # options is a dict: hash the equivalent command line (specs as cache keys)
        return hash(command_line(self))

    @property
    def inputs(self) -> tuple[str, ...]:
        """The inputs as a tuple (one for restore and interpolate)."""
        return self.input if isinstance(self.input, tuple) else (self.input,)


def _one_input(spec: JobSpec) -> str:
    """The single input of a restore or interpolate job (``JobSpec`` has already refused several)."""
    return spec.inputs[0]


def _check_range(spec: JobSpec) -> None:
    if spec.command == "decloud":
        raise ConfigError("frames: decloud jobs have no frame range (their segments are tiles)")
    if spec.command == "flow":
        raise ConfigError("frames: flow jobs run in one pass, over every frame")
    if spec.segmented is False:
        raise ConfigError("frames: a frame range runs as a segmented job; segmented=False refuses it")
    try:
        start, stop = (int(v) for v in spec.frames)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ConfigError(f"frames {spec.frames!r}: expected (start, stop) input frame numbers") from None
    if not 0 <= start < stop:
        raise ConfigError(f"frames {start}..{stop}: expected 0 <= start < stop")
    object.__setattr__(spec, "frames", (start, stop))


@dataclass
class JobResult:
    """What a job made. ``frames_in``/``frames_out`` count input and output frames (decloud: dates);
    ``segments``/``computed``/``reused`` describe a segmented job (None/[] for one pass);
    ``config`` is the resolved config the job ran with; ``detail`` the command's own result (the
    decloud report, ...)."""

    output: str
    frames_in: int
    frames_out: int
    seconds: float
    stats: dict[str, Any] = field(default_factory=dict)
    segmented: bool = False
    segments: int | None = None
    computed: list[int] = field(default_factory=list)
    reused: list[int] = field(default_factory=list)
    workdir: str | None = None
    config: Config | None = None
    detail: Any = None

    @property
    def fps(self) -> float:
        return self.frames_out / self.seconds if self.seconds > 0 else 0.0


# --------------------------------------------------------------------------- config


def _job_overrides(spec: JobSpec) -> list[str]:
    """``jobs.*`` overrides for the job fields given (what the command line's job flags stand for)."""
    fields = {"workdir": spec.workdir, "engine": spec.engine, "address": spec.address, "workers": spec.workers,
              "threads_per_worker": spec.threads_per_worker}
    if spec.command != "decloud":
        fields["segment_frames"] = spec.options.get("segment_frames")
    out = [f"jobs.{key}={json.dumps(value)}" for key, value in fields.items() if value is not None]
    if spec.keep_workdir:
        out.append("jobs.keep_workdir=true")
    if spec.engine == "ray" or spec.address:
        out.append("jobs.engine=ray")
    return out


def _restore_overrides(spec: JobSpec) -> list[str]:
    masks = spec.options.get("save_masks")
    return [*spec.overrides, *_job_overrides(spec), *([f"film.save_masks={json.dumps(str(masks))}"] if masks else [])]


def _interpolate_overrides(spec: JobSpec) -> list[str]:
    """The user's overrides, then those the interpolate options stand for, then the job's."""
    from vidrestore.interpolate.timing import parse_rate

    o = spec.options
    out = list(spec.overrides)
    if o.get("factor") is not None and o.get("fps") is not None:
        raise ConfigError("factor and fps exclude each other: give one")
    if o.get("factor") is not None:
        out += [f"interpolate.factor={_whole('factor', o['factor'], 1, 64)}", "interpolate.fps=null"]
    if o.get("fps") is not None:
        parse_rate(str(o["fps"]))  # refuses a bad rate with one clear line
        out.append(f"interpolate.fps='{o['fps']}'")
    if o.get("scale") is not None:
        out.append(f"restorer.scale={_positive('scale', o['scale'])}")
    if o.get("order") is not None:
        out.append(f"interpolate.order={o['order']}")
    if o.get("method") is not None:
        out.append(f"interpolate.method={o['method']}")
    if o.get("refine"):
        out.append("interpolate.refine=true")
    return [*out, *_job_overrides(spec)]


def _decloud_overrides(spec: JobSpec) -> list[str]:
    """The user's overrides, then the decloud options as ``decloud.*`` overrides (options win), then the job's."""
    from vidrestore.decloud.series import parse_band_map

    o = spec.options
    out = list(spec.overrides)
    if o.get("pattern"):
        out.append(f"decloud.input.pattern={json.dumps(o['pattern'])}")
    if o.get("bands"):
        bands = o["bands"] if isinstance(o["bands"], Mapping) else parse_band_map(str(o["bands"]))
        out.append(f"decloud.bands={json.dumps(dict(bands))}")
    if o.get("masks"):
        out.append(f"decloud.masks={json.dumps(str(o['masks']))}")
    if o.get("mask_type"):
        out.append(f"decloud.mask_type={o['mask_type']}")
    for key in ("cloud_values", "shadow_values"):
        if o.get(key):
            out.append(f"decloud.{key}={_int_list(key, o[key])}")
    if o.get("composite"):
        out.append(f"decloud.output.composite={o['composite']}")
    if o.get("reproject"):
        out.append("decloud.input.reproject=true")
    if o.get("detector"):
        out.append(f"decloud.detect.detector={o['detector']}")
    if o.get("scale") is not None:
        scale = float(o["scale"])
        if not scale > 0:
            raise ConfigError(f"--scale {scale:g}: must be > 0 (the pixel value meaning reflectance 1)")
        out.append(f"decloud.input.reflectance_scale={scale!r}")
    for key, flag in (("dry_run", "dry_run"), ("output.cog", "cog"), ("output.stac", "stac")):
        if o.get(flag):
            out.append(f"decloud.{key}=true")
    return [*out, *_job_overrides(spec)]


def _whole(name: str, value: Any, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} {value!r}: expected a whole number like 2 or 4") from None
    if not low <= number <= high or (isinstance(value, float) and not value.is_integer()):
        raise ConfigError(f"{name} {value!r}: must be a whole number between {low} and {high}")
    return number


def _positive(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} {value!r}: expected a number like 2 or 1.5") from None
    if not number > 0:
        raise ConfigError(f"{name} {value!r}: must be > 0")
    return number


def _int_list(key: str, value: Any) -> list[int]:
    """``"8,9,10"`` or ``[8, 9, 10]`` -> [8, 9, 10] (the CLI's ``--cloud-values``)."""
    flag = "--" + key.replace("_", "-")
    if isinstance(value, (list, tuple)):
        items = list(value)
    else:
        items = [v for v in str(value).replace(" ", "").split(",") if v]
    try:
        return [int(v) for v in items]
    except ValueError as err:
        raise ConfigError(f"{flag} {value!r}: expected comma-separated integers like 8,9,10") from err


def _flow_overrides(spec: JobSpec) -> list[str]:
    """The user's overrides, then ``flow.method`` when the ``method`` option names one."""
    method = spec.options.get("method")
    return [*spec.overrides, *([f"flow.method={method}"] if method else [])]


_OVERRIDES: dict[str, Callable[[JobSpec], list[str]]] = {
    "restore": _restore_overrides, "interpolate": _interpolate_overrides, "decloud": _decloud_overrides,
    "flow": _flow_overrides}


def load_config(spec: JobSpec) -> Config:
    """The resolved config of ``spec``: preset or config file, then ``overrides``, the options and the job fields."""
    from vidrestore.config import load_config as load

    preset = spec.preset if (spec.preset or spec.config) else DEFAULT_PRESETS[spec.command]
    cfg = load(preset=preset, path=spec.config, overrides=_OVERRIDES[spec.command](spec))
    if spec.command == "restore" and spec.options.get("save_masks") and not cfg.film.enabled:
        raise ConfigError("--save-masks needs the film stage: use --preset film (or --set film.enabled=true)")
    return cfg


# --------------------------------------------------------------------------- command line


def command_line(spec: JobSpec) -> str:
    """The ``vidrestore`` command that runs ``spec`` (shell-quoted, one line)."""
    words = ["vidrestore", spec.command, *spec.inputs, "-o", spec.output]
    if spec.preset:
        words += ["--preset", spec.preset]
    if spec.config:
        words += ["--config", spec.config]
    for item in spec.overrides:
        words += ["--set", item]
    if spec.segmented is not None and spec.frames is None:
        words += ["--set", f"jobs.mode={'segmented' if spec.segmented else 'direct'}"]
    for flag, value in (("--overwrite", spec.overwrite), ("--resume", spec.resume),
                        ("--keep-workdir", spec.keep_workdir)):
        if value:
            words.append(flag)
    valued: tuple[tuple[str, object], ...] = (
        ("--workdir", spec.workdir), ("--engine", spec.engine), ("--address", spec.address),
        ("--workers", spec.workers), ("--threads-per-worker", spec.threads_per_worker))
    for flag, given in valued:
        if given is not None:
            words += [flag, str(given)]
    if spec.frames is not None:
        words += ["--frames", f"{spec.frames[0]}:{spec.frames[1]}"]
    for key in OPTIONS[spec.command]:
        words += _option_words(key, spec.options.get(key))
    return " ".join(shlex.quote(w) for w in words)


def _option_words(key: str, value: Any) -> list[str]:
    flag = "--" + key.replace("_", "-")
    if value is None or value is False:
        return []
    if value is True:
        return [flag]
    if isinstance(value, Mapping):
        return [flag, ",".join(f"{k}={v}" for k, v in value.items())]
    if isinstance(value, (list, tuple)):
        return [flag, ",".join(str(v) for v in value)]
    if isinstance(value, float) and value.is_integer():
        return [flag, f"{value:g}"]
    return [flag, str(value)]


# --------------------------------------------------------------------------- running


def run(spec: JobSpec, *, progress: Listener | None = None, cancel: threading.Event | None = None,
        bar: bool = False) -> JobResult:
    """Run ``spec``; the one place that decides between one pass and a segmented (resumable) job.

    ``progress`` is called with a :class:`Progress` as the job advances (from the job's threads);
    a set ``cancel`` raises :class:`Cancelled` (nothing partial at the output; finished segments
    kept for ``resume=True``). The last report has phase ``done``, once the output is in place.
    ``bar`` draws the terminal's progress bar on stderr (the CLI's).
    """
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"{spec.output}: cancelled before it started; nothing was written")
    runner = {"restore": _run_restore, "interpolate": _run_interpolate, "decloud": _run_decloud,
              "flow": _run_flow}[spec.command]
    last: list[Progress] = []

    def relay(p: Progress) -> None:
        last[:] = [p]
        progress(p)  # type: ignore[misc]

    with _run_context(spec):
        result = runner(spec, progress=relay if progress is not None else None, cancel=cancel, quiet=not bar)
    if progress is not None:  # one last report once the output is in place
        done = last[0].done if last else result.frames_out
        progress(Progress(done=done, total=done, elapsed_s=result.seconds, fps=result.fps, eta_s=0.0,
                          phase="done"))
    return result


@contextmanager
def _run_context(spec: JobSpec) -> Iterator[None]:
    """``overwrite`` and the inputs govern every file the job writes (masks, reports, sidecars)."""
    from vidrestore.io import safety

    before = (safety.RUN.overwrite, safety.RUN.continuing, safety.RUN.roots, safety.RUN.ids)
    safety.RUN.set(overwrite=spec.overwrite, inputs=spec.inputs, continuing=spec.resume)
    try:
        yield
    finally:
        safety.RUN.overwrite, safety.RUN.continuing, safety.RUN.roots, safety.RUN.ids = before


def _wants_segments(spec: JobSpec, cfg: Config, info: VideoInfo, processor: Any | None) -> bool:
    from vidrestore.jobs.runner import wants_segments
    from vidrestore.stage import segment_reach

    if spec.frames is not None or spec.segmented is True:
        return True
    if spec.segmented is False:
        if spec.resume:
            raise ConfigError("--resume needs a segmented job; segmented=False asks for one pass")
        return False
    if processor is None:  # interpolate: decided on the config alone, as it always was
        return wants_segments(cfg, spec.output, resume=spec.resume, frames=info.num_frames)
    return wants_segments(cfg, spec.output, resume=spec.resume, frames=info.num_frames,
                          uses_pixels=getattr(processor, "uses_pixels", True),
                          segmentable=segment_reach(processor) is not None)


def _segmented_result(res: Any, spec: JobSpec, cfg: Config) -> JobResult:
    frames_in = spec.frames[1] - spec.frames[0] if spec.frames is not None else res.frames_in
    return JobResult(output=res.output, frames_in=frames_in, frames_out=res.frames_out, seconds=res.seconds,
                     stats=dict(res.stats), segmented=True, segments=res.segments, computed=list(res.computed),
                     reused=list(res.reused), workdir=res.workdir, config=cfg, detail=res)


def _direct_result(res: Any, cfg: Config) -> JobResult:
    return JobResult(output=res.output, frames_in=res.frames_in, frames_out=res.frames_out, seconds=res.seconds,
                     stats=dict(res.stats), config=cfg, detail=res)


def _run_restore(spec: JobSpec, *, progress: Listener | None, cancel: threading.Event | None,
                 quiet: bool) -> JobResult:
    from vidrestore.io.probe import probe_video
    from vidrestore.io.reader import open_reader
    from vidrestore.jobs.runner import run_job_segmented
    from vidrestore.pipeline.factory import PROCESSORS, build_processor, select_processor
    from vidrestore.pipeline.run import run_job

    cfg = load_config(spec)
    source = _one_input(spec)
    info = probe_video(source, fps=cfg.io.fps)
    processor = build_processor(cfg, info)
    desc = f"restore [{cfg.preset}]"
    if _wants_segments(spec, cfg, info, processor):
        seg = run_job_segmented(source, spec.output, cfg=cfg, processor_ref=PROCESSORS[select_processor(cfg)],
                                processor=processor, resume=spec.resume, overwrite=spec.overwrite, quiet=quiet,
                                desc=desc, info=info, frames=spec.frames, progress=progress, cancel=cancel)
        return _segmented_result(seg, spec, cfg)
    res = run_job(source, spec.output, cfg=cfg, processor=processor, overwrite=spec.overwrite, quiet=quiet,
                  desc=desc, reader=open_reader(source, cfg.io, info), expected_frames=lambda n: n,
                  progress=progress, cancel=cancel)
    return _direct_result(res, cfg)


def _pinned_order(cfg: Config, output: str) -> Config:
    """With ``interpolate.order: auto``, the order an interrupted job of OUTPUT chose (its manifest).

    ``auto`` times both orders at start-up and may choose differently on another run; a resumed
    job keeps the order its finished segments were made with.
    """
    from vidrestore.jobs import manifest as mf
    from vidrestore.jobs.runner import workdir_for

    if cfg.interpolate.order != "auto":
        return cfg
    path = workdir_for(cfg, output) / mf.MANIFEST
    if not path.is_file():
        return cfg
    chosen = mf.Manifest.load(path.parent).data.get("config", {}).get("interpolate.order")
    if chosen in ("interpolate-first", "upscale-first"):
        return dataclasses.replace(cfg, interpolate=dataclasses.replace(cfg.interpolate, order=chosen))
    return cfg


def _run_interpolate(spec: JobSpec, *, progress: Listener | None, cancel: threading.Event | None,
                     quiet: bool) -> JobResult:
    from vidrestore.io.probe import probe_video
    from vidrestore.io.reader import open_reader
    from vidrestore.jobs.context import interpolation_context
    from vidrestore.jobs.runner import run_job_segmented
    from vidrestore.pipeline.run import run_job
    from vidrestore.pipeline.stages import build_interpolation as build_processor
    from vidrestore.pipeline.stages import wants_restorer

    cfg = load_config(spec)
    what = f"{cfg.interpolate.fps} fps" if cfg.interpolate.fps else f"x{cfg.interpolate.factor}"
    source = _one_input(spec)
    info = probe_video(source, fps=cfg.io.fps)
    if _wants_segments(spec, cfg, info, None):
        cfg = _pinned_order(cfg, spec.output)
        processor = build_processor(cfg, info)
        if wants_restorer(cfg) and cfg.interpolate.order == "auto":
            # workers build their own processor: they must not time the orders again (and maybe choose another)
            cfg = dataclasses.replace(cfg, interpolate=dataclasses.replace(cfg.interpolate, order=processor.order))
        seg = run_job_segmented(source, spec.output, cfg=cfg, processor_ref=INTERPOLATE_REF, processor=processor,
                                resume=spec.resume, overwrite=spec.overwrite, quiet=quiet,
                                desc=f"interpolate {what}", command="interpolate", one_to_one=False, info=info,
                                context_fn=interpolation_context, frames=spec.frames, progress=progress, cancel=cancel)
        return _segmented_result(seg, spec, cfg)
    built: dict[str, Any] = {}

    def make(info: VideoInfo) -> Any:
        built["processor"] = build_processor(cfg, info)
        return built["processor"]

    def expected(frames_in: int) -> int | None:
        proc = built.get("processor")
        interp = getattr(proc, "interpolator", proc)
        return interp.expected_frames(frames_in) if interp is not None else None

    res = run_job(source, spec.output, cfg=cfg, processor=make, overwrite=spec.overwrite, quiet=quiet,
                  desc=f"interpolate {what}", expected_frames=expected,
                  reader=open_reader(source, cfg.io, info), progress=progress, cancel=cancel)
    return _direct_result(res, cfg)


def _run_decloud(spec: JobSpec, *, progress: Listener | None, cancel: threading.Event | None,
                 quiet: bool) -> JobResult:
    from vidrestore.jobs.tiles import run_decloud_tiled, wants_tiles
    from vidrestore.pipeline.stages import run_decloud

    cfg = load_config(spec)
    if spec.segmented is False and spec.resume:
        raise ConfigError("--resume needs a tiled job; segmented=False asks for one pass")
    tiled = spec.segmented if spec.segmented is not None else wants_tiles(cfg, spec.output, resume=spec.resume)
    unit = "tile" if tiled else "block"
    bar = TqdmBar("decloud", unit=unit, quiet=quiet, redraw=True, leave=False, dynamic_ncols=False,
                  smoothing=0.3, disable=False)
    meter = Meter(None, phase=f"{unit}s", listeners=[bar, progress], cancel=cancel, what=spec.output)

    def step(done: int, total: int) -> None:
        meter.set_done(done, total)

    t0 = time.perf_counter()
    made_folder = not Path(spec.output).exists()
    try:
        if tiled:
            res = run_decloud_tiled(list(spec.inputs), spec.output, cfg=cfg, resume=spec.resume,
                                    overwrite=spec.overwrite, progress=step)[0]
        else:
            res = run_decloud(list(spec.inputs), spec.output, cfg=cfg, overwrite=spec.overwrite, progress=step)
    except Cancelled as err:
        if made_folder:  # the empty output folder this run made goes too (never a file in it: none is ours)
            from vidrestore.io import safety

            safety.remove_workdir(spec.output, (), created=True)
        kept = "; finished tiles are kept for resume" if tiled else ""
        raise Cancelled(f"{spec.output}: cancelled; nothing partial was left{kept}") from err
    finally:
        meter.close()
    dates = len(res.stats)
    return JobResult(output=spec.output, frames_in=dates, frames_out=dates, seconds=time.perf_counter() - t0,
                     stats={"dates": [dataclasses.asdict(s) for s in res.stats]}, segmented=bool(tiled),
                     config=cfg, detail=res)


def _run_flow(spec: JobSpec, *, progress: Listener | None, cancel: threading.Event | None,
              quiet: bool) -> JobResult:
    """The flows of consecutive frames: stored in OUTPUT.npz, or drawn as colour wheels (a video or folder)."""
    from vidrestore.device import resolve_device
    from vidrestore.errors import OutputError
    from vidrestore.flow import build_flow_estimator

    if spec.segmented or spec.resume:
        raise ConfigError("flow jobs run in one pass: they have no segments to resume")
    cfg = load_config(spec)
    o = spec.options
    device = str(resolve_device(o.get("device") or "auto", key="--device", check=False))
    estimator = build_flow_estimator(cfg.flow, device=device, weights=o.get("weights"))
    log.info("flow: %r on %s", estimator, device)
    source = _one_input(spec)
    if Path(spec.output).suffix.lower() == ".npz":
        import numpy as np

        from vidrestore.pipeline.flowfile import write_npz

        stats = write_npz(source, spec.output, cfg=cfg, estimator=estimator, overwrite=spec.overwrite,
                          backward=bool(o.get("backward")), dtype=np.float32 if o.get("float32") else np.float16,
                          quiet=quiet, device=device)
        frames = int(stats["frames"])
        return JobResult(output=spec.output, frames_in=frames, frames_out=frames, seconds=float(stats["seconds"]),
                         stats=stats, config=cfg, detail=stats)
    from vidrestore.flow.visualize import FlowVisualizer
    from vidrestore.pipeline.run import run_job

    max_flow = o.get("max_flow")
    if max_flow is not None and max_flow <= 0:
        raise OutputError(f"--max-flow must be > 0 px, got {max_flow}")
    vis = FlowVisualizer(estimator=estimator, max_flow=max_flow, scene_cut=cfg.flow.scene_cut,
                         scene_cut_threshold=cfg.flow.scene_cut_threshold, device=device)
    res = run_job(source, spec.output, cfg=cfg, processor=vis, overwrite=spec.overwrite, quiet=quiet,
                  desc=f"flow [{estimator.name}]", expected_frames=lambda n: n, progress=progress, cancel=cancel)
    return _direct_result(res, cfg)


# --------------------------------------------------------------------------- convenience


_SPEC_FIELDS = {f.name for f in dataclasses.fields(JobSpec)}


def _spec(command: str, input: Any, output: Any, kw: dict[str, Any]) -> JobSpec:
    """A JobSpec from keywords: JobSpec fields by name, anything else is an option of the command."""
    options = dict(kw.pop("options", None) or {})
    for key in list(kw):
        if key not in _SPEC_FIELDS:
            options[key] = kw.pop(key)
    return JobSpec(command=command, input=input, output=output, options=options, **kw)


def restore(input: str | Path, output: str | Path, *, preset: str | None = None,
            progress: Listener | None = None, cancel: threading.Event | None = None, **kw: Any) -> JobResult:
    """Restore ``input`` into ``output`` (``vidrestore restore``); keywords are JobSpec fields or options."""
    return run(_spec("restore", input, output, {"preset": preset, **kw}), progress=progress, cancel=cancel)


def interpolate(input: str | Path, output: str | Path, *, progress: Listener | None = None,
                cancel: threading.Event | None = None, **kw: Any) -> JobResult:
    """Raise the frame rate of ``input`` (``vidrestore interpolate``), e.g. ``factor=2`` or ``fps="60"``."""
    return run(_spec("interpolate", input, output, kw), progress=progress, cancel=cancel)


def flow(input: str | Path, output: str | Path, *, progress: Listener | None = None,
         cancel: threading.Event | None = None, **kw: Any) -> JobResult:
    """Optical flow of ``input`` (``vidrestore flow``): ``output.npz`` stores it, a video or folder shows it,
    e.g. ``method="dis"``, ``backward=True``."""
    return run(_spec("flow", input, output, kw), progress=progress, cancel=cancel)


def compare(input: str | Path, restored: str | Path, output: str | Path, **options: Any) -> Any:
    """``vidrestore compare``: ``restored`` next to ``input`` as a video or folder (every frame pair), or a
    sheet of chosen frames when ``output`` ends in .png/.jpg; ``options`` are the command's flags by
    name (:class:`~vidrestore.metrics.sidebyside.CompareOptions`). Not a :class:`JobSpec` job: it has
    two inputs and no config. Returns a :class:`~vidrestore.metrics.sidebyside.CompareResult`."""
    from vidrestore.metrics.sidebyside import CompareOptions
    from vidrestore.metrics.sidebyside import compare as run_compare

    return run_compare(str(input), str(restored), str(output), CompareOptions(**options))


def decloud(inputs: str | Path | tuple[str, ...] | list[str], output: str | Path, *,
            progress: Listener | None = None, cancel: threading.Event | None = None, **kw: Any) -> JobResult:
    """Fill clouds and shadows of a satellite series (``vidrestore decloud``), e.g. ``bands="blue=1,..."``."""
    names = (str(inputs),) if isinstance(inputs, (str, Path)) else tuple(map(str, inputs))
    return run(_spec("decloud", names, output, kw), progress=progress, cancel=cancel)
