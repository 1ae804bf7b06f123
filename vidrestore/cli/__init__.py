"""``vidrestore`` command line: one module per subcommand, each with ``add_parser`` and ``run``.

Heavy libraries (torch, av, cv2) are imported inside ``run`` so that ``--help`` and the
start-up of every command stay fast. Every :class:`~vidrestore.errors.VidrestoreError` becomes
one line on stderr and exit code 2; Ctrl-C exits 130; a traceback is printed only with ``-v``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from vidrestore import __version__
from vidrestore.errors import VidrestoreError

# Subcommand name -> module. Each module defines add_parser(subparsers, common) and run(args).
COMMANDS: dict[str, str] = {
    "probe": "vidrestore.cli.probe_cmd",
    "restore": "vidrestore.cli.restore_cmd",
    "presets": "vidrestore.cli.presets_cmd",
    "flow": "vidrestore.cli.flow_cmd",
    "decloud": "vidrestore.cli.decloud_cmd",
    "weights": "vidrestore.cli.weights_cmd",
    "eval": "vidrestore.cli.eval_cmd",
    "compare": "vidrestore.cli.compare_cmd",
    "interpolate": "vidrestore.cli.interpolate_cmd",
    "serve": "vidrestore.cli.serve_cmd",
}

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

log = logging.getLogger("vidrestore")


def common_parser() -> argparse.ArgumentParser:
    """Options every subcommand takes."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("output verbosity")
    g.add_argument("-v", "--verbose", action="count", default=0, help="more logging; tracebacks on errors")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar, warnings and errors only")
    return p


def job_parser() -> argparse.ArgumentParser:
    """Options of the commands that read INPUT and write OUTPUT with a config."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("input", metavar="INPUT", help="video file or folder of numbered images")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                   help="video file (.mp4/.mkv/.mov/.webm) or folder (image sequence)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--preset", metavar="NAME", help="a preset from configs/ (see 'vidrestore presets')")
    g.add_argument("--config", metavar="FILE.yaml", help="a config file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config key, e.g. --set encode.crf=18 (repeatable)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUTPUT")
    return p


def jobs_parser(*, segment_frames: bool = True) -> argparse.ArgumentParser:
    """Options of the commands whose jobs run as segments (resume, Ray); see vidrestore/jobs.

    ``segment_frames=False`` leaves out ``--segment-frames`` (decloud: its segments are tiles).
    """
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("long jobs (segments, resume, many workers; docs/DISTRIBUTED.md)")
    g.add_argument("--resume", action="store_true",
                   help="continue the interrupted job of this OUTPUT from its work directory (refused if the input "
                        "or config changed); finished segments are never redone")
    g.add_argument("--workdir", metavar="DIR", help="work directory for segments and the manifest "
                   "(default: OUTPUT.vidrestore-work beside the output)")
    g.add_argument("--keep-workdir", action="store_true", help="keep the work directory after the output is joined")
    g.add_argument("--engine", choices=("local", "ray"), help="run segments in this process (local, default) "
                   "or as Ray tasks (ray)")
    g.add_argument("--address", metavar="ADDR", help="Ray cluster to join (e.g. auto, ray://head:10001); "
                   "default: start Ray on this machine")
    g.add_argument("--workers", type=int, metavar="N", help="Ray: segments run at once (default: CPUs / threads)")
    g.add_argument("--threads-per-worker", type=int, metavar="N", help="Ray: threads (and CPUs) per task (default 1)")
    if segment_frames:
        g.add_argument("--segment-frames", type=int, metavar="N",
                       help="input frames per segment (default: auto, 48..300 frames)")
        g.add_argument("--frames", type=_frame_range, metavar="START:STOP",
                       help="only the outputs of input frames START..STOP-1 (a preview), equal to those frames of "
                            "the whole job: warm-up and look-ahead frames are read as the stages need; no sound")
    return p


def _frame_range(text: str) -> tuple[int, int]:
    start, sep, stop = text.partition(":")
    try:
        if not sep:
            raise ValueError
        first, end = int(start), int(stop)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:STOP input frame numbers like 100:148, got {text!r}") \
            from None
    if not 0 <= first < end:
        raise argparse.ArgumentTypeError(f"expected 0 <= START < STOP, got {text!r}")
    return first, end


def job_spec(args: argparse.Namespace, command: str, options: Sequence[str]):  # noqa: ANN201 - api.JobSpec
    """The :class:`~vidrestore.api.JobSpec` the parsed arguments of a job command describe."""
    from vidrestore.api import JobSpec

    inputs = getattr(args, "inputs", None) or args.input
    values = {k: getattr(args, k, None) for k in options}
    given = {k: v for k, v in values.items() if v is not None and v is not False}  # a 0 is given (--scale 0)
    return JobSpec(command=command, input=tuple(inputs) if isinstance(inputs, list) else inputs, output=args.output,
                   preset=args.preset, config=args.config, overrides=tuple(args.overrides), overwrite=args.overwrite,
                   resume=getattr(args, "resume", False), workdir=getattr(args, "workdir", None),
                   keep_workdir=getattr(args, "keep_workdir", False), engine=getattr(args, "engine", None),
                   address=getattr(args, "address", None), workers=getattr(args, "workers", None),
                   threads_per_worker=getattr(args, "threads_per_worker", None),
                   frames=getattr(args, "frames", None), options=given)

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vidrestore",
        description="Video and temporal restoration that keeps every frame, timestamp and second of sound.",
    )
    parser.add_argument("--version", action="version", version=f"vidrestore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    common = common_parser()
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        module.add_parser(sub, common)
    return parser


class _Once(logging.Filter):
    """Lets each library warning through once (a deprecation inside a per-frame loop would otherwise
    repeat thousands of times)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        key = str(record.args[0]) if isinstance(record.args, tuple) and record.args else record.getMessage()
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def setup_logging(verbose: int, quiet: bool) -> None:
    """vidrestore's messages, and Python warnings of the libraries it uses, go to stderr as
    ``vidrestore: ...`` lines; library warnings are shown once each, and not at all under ``-q``."""
    import warnings

    level = logging.WARNING if quiet else (logging.DEBUG if verbose >= 2 else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("vidrestore: %(message)s" if verbose < 2 else
                                           "%(asctime)s %(name)s %(levelname)s: %(message)s"))
    root = logging.getLogger("vidrestore")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    warnings.showwarning = _log_warning
    lib = logging.getLogger("py.warnings")
    lib_handler = logging.StreamHandler(sys.stderr)
    lib_handler.setFormatter(logging.Formatter("vidrestore: warning from a library: %(message)s" if verbose < 2
                                               else "%(asctime)s %(name)s %(levelname)s: %(message)s"))
    lib_handler.addFilter(_Once())
    lib.handlers[:] = [lib_handler]
    lib.setLevel(logging.ERROR if quiet else logging.WARNING)
    lib.propagate = False
    libav = logging.getLogger("libav")
    libav.handlers[:] = [lib_handler]
    libav.setLevel(logging.ERROR if quiet else logging.WARNING)
    libav.propagate = False
    _quiet_ffmpeg(verbose)


def _log_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: object = None, line: str | None = None) -> None:
    """``warnings.showwarning`` replacement: one log line (message, category, where), not the
    source-line dump Python prints."""
    where = "/".join(Path(filename).parts[-2:])
    text = " ".join(str(message).split())
    logging.getLogger("py.warnings").warning("%s (%s in %s:%d)", text, category.__name__, where, lineno)


def _quiet_ffmpeg(verbose: int) -> None:
    """FFmpeg prints its own notices straight to stderr ("File ended prematurely", "deprecated pixel
    format"), which breaks the one-line error promise: vidrestore reports those conditions itself
    (truncation with the frames missing, refusals with the file named). With ``-v`` FFmpeg's messages
    go through logging instead (PyAV's callback takes the GIL from FFmpeg's threads, so it is kept
    for diagnosis, not for every run)."""
    try:
        import av.logging as avlog
    except ImportError:  # pragma: no cover - av is a core dependency
        return
    if verbose:
        avlog.set_level(avlog.WARNING)
    else:
        avlog.set_level(None)
        avlog.set_libav_level(avlog.PANIC)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: abort like Ctrl-C (every stage stops, partial output removed)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _install_signal_handlers() -> dict[int, object]:
    """SIGTERM (``kill``, ``timeout``, systemd, ``docker stop``) and SIGHUP (closed terminal) abort
    the run like Ctrl-C; a second signal during the clean-up is ignored so that it completes."""
    import signal

    def handler(signum: int, frame: object) -> None:
        for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(s, signal.SIG_IGN)
        raise Terminated(signum)

    old: dict[int, object] = {}
    for name in ("SIGTERM", "SIGHUP", "SIGINT"):
        sig = getattr(signal, name, None)
        if sig is not None:
            try:
                old[sig] = signal.signal(sig, handler if name != "SIGINT" else signal.getsignal(sig))
            except (ValueError, OSError):  # not the main thread (embedded use): leave it alone
                pass
    return old


def _restore_signal_handlers(old: dict[int, object]) -> None:
    import signal

    for sig, h in old.items():
        try:
            signal.signal(sig, h)  # type: ignore[arg-type]
        except (ValueError, OSError, TypeError):
            pass


def _set_run_context(args: argparse.Namespace) -> None:
    from vidrestore.io import safety

    inputs: list[str] = []
    for attr in ("input", "inputs", "reference", "restored"):
        value = getattr(args, attr, None)
        if isinstance(value, str):
            inputs.append(value)
        elif isinstance(value, (list, tuple)):
            inputs.extend(str(v) for v in value)
    safety.RUN.set(overwrite=bool(getattr(args, "overwrite", False)), inputs=inputs)


def _raster_read_line(err: BaseException, args: argparse.Namespace) -> str:
    """One line for a GeoTIFF that GDAL cannot read (truncated, corrupt), naming the file; "" if
    ``err`` is not that. GDAL names the file in the first exception of the chain."""
    if type(err).__module__.split(".")[0] != "rasterio" or "Write" in type(err).__name__:
        return ""
    import re

    messages: list[str] = []
    seen: BaseException | None = err
    while seen is not None and len(messages) < 10:
        messages.append(str(seen))
        seen = seen.__cause__ or seen.__context__
    named = [m for m in messages if re.search(r"[^\s,:]+\.tiff?\b", m, re.IGNORECASE)]
    detail = (named or messages)[-1]
    found = re.search(r"([^\s,:]+\.tiff?)\b", detail, re.IGNORECASE)
    name = found.group(1) if found else ""
    problem = detail[found.end():].lstrip(" ,:") if found else detail
    inputs = list(getattr(args, "inputs", None) or []) + [getattr(args, "input", None) or ""]
    for inp in inputs:
        p = Path(inp)
        candidates = [p] if p.is_file() else (list(p.rglob(Path(name).name)) if p.is_dir() and name else [])
        for c in candidates:
            if c.name == Path(name).name:
                return f"{c}: cannot read the raster (truncated or corrupt file: {problem or detail})"
    return f"cannot read a raster input (truncated or corrupt file: {detail})"


def _space_line(err: BaseException, args: argparse.Namespace) -> str:
    from vidrestore.io import safety

    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, safety.NoSpaceError):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    output = getattr(args, "output", None) or getattr(args, "json", None) or "the output"
    base = err if isinstance(err, OSError) else OSError(28, "No space left on device")
    return str(safety.space_error(base, output))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    verbose = getattr(args, "verbose", 0)
    setup_logging(verbose, getattr(args, "quiet", False))
    from vidrestore.io import safety

    previous = _install_signal_handlers()
    try:
        _set_run_context(args)
        return int(args.func(args) or 0)
    except Terminated as err:
        safety.release_all()
        name = {1: "SIGHUP", 15: "SIGTERM"}.get(err.signum, f"signal {err.signum}")
        print(f"vidrestore: interrupted by {name}; nothing partial was left", file=sys.stderr)
        return 128 + err.signum
    except VidrestoreError as err:
        if verbose:
            import traceback

            traceback.print_exc()
        text = _space_line(err, args) if safety.is_no_space(err) else str(err)
        print(f"vidrestore: error: {_one_line(text)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("vidrestore: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_INTERNAL
    except Exception as err:  # noqa: BLE001 - the last line of defence: one line, exit 1
        if safety.is_no_space(err):
            print(f"vidrestore: error: {_one_line(_space_line(err, args))}", file=sys.stderr)
            return EXIT_USAGE
        raster = _raster_read_line(err, args)
        if raster:
            if verbose:
                import traceback

                traceback.print_exc()
            print(f"vidrestore: error: {_one_line(raster)}", file=sys.stderr)
            return EXIT_USAGE
        if verbose:
            import traceback

            traceback.print_exc()
        print(f"vidrestore: internal error: {_one_line(f'{type(err).__name__}: {err}')} "
              "(run with -v for the traceback; please report it)", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        safety.release_all()
        safety.RUN.set(overwrite=False, inputs=())  # a later call in this process starts clean
        _restore_signal_handlers(previous)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def entry_point() -> None:
    """Console entry point: run :func:`main`, then leave without the interpreter's teardown.

    When ``main`` returns, the output is already renamed into place, every file is closed and the
    job's threads are joined; what is left is CPython freeing torch's modules and objects one by
    one, a noticeable share of a short job that buys nothing (``tools/benchmarks/gan.py`` compares
    whole runs, start-up and exit included). So the ``atexit`` handlers still run (Ray's
    shutdown, temporary-directory finalizers, logging), stdout and stderr are flushed, and the
    process then ends with :func:`os._exit`. While another non-daemon thread is alive, or with
    ``VIDRESTORE_SLOW_EXIT=1``, the normal exit is taken, which waits for that thread.
    """
    code = main()
    _exit_now(code)


def _exit_now(code: int) -> None:
    import os
    import threading

    waiting = [t for t in threading.enumerate()
               if t is not threading.main_thread() and t.is_alive() and not t.daemon]
    run_exitfuncs = getattr(__import__("atexit"), "_run_exitfuncs", None)
    if waiting or run_exitfuncs is None or os.environ.get("VIDRESTORE_SLOW_EXIT", "") not in ("", "0"):
        sys.exit(code)
    try:
        run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except BrokenPipeError:
        code = code or EXIT_INTERNAL
    os._exit(code)
