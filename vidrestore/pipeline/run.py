"""The streaming job: decode thread -> processing stage -> encode thread.

Bounded queues give backpressure, so memory stays flat however long the clip is. Frame order is
kept. An error anywhere, Ctrl-C or a set cancel event stops all three stages, removes the partial
output and is re-raised in the caller's thread (:class:`~vidrestore.pipeline.progress.Cancelled`
for a cancel). Progress goes to a :class:`~vidrestore.pipeline.progress.Meter`, whose listeners
are the terminal's bar and the caller's callback. The output appears under its final name only when complete;
the resolved config is written beside it as ``OUTPUT.vidrestore.yaml``.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidrestore.config import Config, dump_config
from vidrestore.errors import VidrestoreError
from vidrestore.io.reader import FrameReader, open_reader
from vidrestore.io.writer import open_writer, output_path_for_config
from vidrestore.pipeline.base import FrameProcessor, OutputSpec
from vidrestore.pipeline.progress import Cancelled, Listener, Meter, TqdmBar
from vidrestore.types import Frame, VideoInfo

log = logging.getLogger(__name__)

_END = object()


class FrameCountError(VidrestoreError):
    """The processor emitted a different number of frames than it promised (never silently)."""


@dataclass
class JobResult:
    input: str
    output: str
    frames_in: int
    frames_out: int
    seconds: float
    spec: OutputSpec
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames_out / self.seconds if self.seconds > 0 else 0.0


class _Stop(Exception):
    pass


class _Stage:
    """Shared stop flag and first error of the job; a set ``cancel`` event stops it like an error."""

    def __init__(self, cancel: threading.Event | None = None, what: str = "the job") -> None:
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.cancel = cancel
        self.what = what
        self._lock = threading.Lock()

    def _check(self) -> None:
        if self.cancel is not None and self.cancel.is_set() and not self.stop.is_set():
            self.fail(Cancelled(f"{self.what}: cancelled; nothing partial was left"))
        if self.stop.is_set():
            raise _Stop

    def fail(self, err: BaseException) -> None:
        with self._lock:
            if self.error is None:
                self.error = err
        self.stop.set()

    def put(self, q: queue.Queue, item: object) -> None:
        while True:
            self._check()
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def get(self, q: queue.Queue) -> object:
        while True:
            self._check()
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                continue


def run_job(
    input_path: str | Path,
    output_path: str | Path,
    *,
    cfg: Config,
    processor: FrameProcessor | Callable[[VideoInfo], FrameProcessor],
    overwrite: bool = False,
    quiet: bool = False,
    desc: str = "vidrestore",
    reader: FrameReader | None = None,
    write_config: bool = True,
    expected_frames: Callable[[int], int | None] | None = None,
    progress: Listener | None = None,
    cancel: threading.Event | None = None,
) -> JobResult:
    """Run one job from INPUT to OUTPUT. ``processor`` may be a factory taking the probed VideoInfo.

    ``progress`` is called with a :class:`~vidrestore.pipeline.progress.Progress` after every
    output frame (from the encoder thread); a set ``cancel`` event stops the job with
    :class:`~vidrestore.pipeline.progress.Cancelled` and no output.
    """
    t0 = time.perf_counter()
    reader = reader or open_reader(input_path, cfg.io)
    info = reader.info
    proc: FrameProcessor = processor(info) if callable(processor) and not hasattr(processor, "process") else processor  # type: ignore[assignment]
    spec = proc.output_spec(info, reader.frame_size)
    reader.native = not getattr(proc, "uses_pixels", True) and cfg.encode.backend == "pyav"
    carry = 0 if cfg.io.apply_rotation else info.rotation
    writer = open_writer(output_path, spec=spec, source=info, encode=cfg.encode, overwrite=overwrite,
                         inputs=(str(input_path),), carry_rotation=carry, sidecar=write_config)
    stage = _Stage(cancel, what=str(output_path))
    in_q: queue.Queue = queue.Queue(maxsize=cfg.io.queue_size)
    out_q: queue.Queue = queue.Queue(maxsize=cfg.io.queue_size)
    counts = {"in": 0, "out": 0}
    meter = Meter(spec.num_frames, phase="process", listeners=[TqdmBar(desc, quiet=quiet), progress],
                  what=str(output_path))
    meter.begin()

    def decode() -> None:
        try:
            for frame in reader:
                stage.put(in_q, frame)
                counts["in"] += 1
            stage.put(in_q, _END)
        except _Stop:
            pass
        except BaseException as err:  # noqa: BLE001 - handed to the main thread
            stage.fail(err)
        finally:
            reader.close()

    def encode() -> None:
        try:
            while True:
                item = stage.get(out_q)
                if item is _END:
                    break
                writer.write(item)  # type: ignore[arg-type]
                counts["out"] += 1
                meter.advance(1)
        except _Stop:
            pass
        except BaseException as err:  # noqa: BLE001
            stage.fail(err)

    def frames_from_decoder() -> Iterator[Frame]:
        while True:
            item = stage.get(in_q)
            if item is _END:
                return
            yield item  # type: ignore[misc]

    dec_thread = threading.Thread(target=decode, name="vidrestore-decode", daemon=True)
    enc_thread = threading.Thread(target=encode, name="vidrestore-encode", daemon=True)
    dec_thread.start()
    enc_thread.start()
    try:
        try:
            for out_frame in proc.process(frames_from_decoder()):
                stage.put(out_q, out_frame)
            stage.put(out_q, _END)
        except _Stop:
            pass
        except BaseException as err:
            stage.fail(err)
        # wait for the encoder to drain (or for a failure)
        while enc_thread.is_alive():
            enc_thread.join(timeout=0.1)
        stage.stop.set()
        dec_thread.join(timeout=10)
        if stage.error is not None:
            raise stage.error
        expect = expected_frames(counts["in"]) if expected_frames is not None else None
        if expect is not None and counts["out"] != expect:
            raise FrameCountError(f"{input_path}: {counts['in']} frames read but {counts['out']} written "
                                  f"(expected {expect}); output not created")
        writer.close()
    except BaseException:
        stage.stop.set()
        # let the encoder thread leave the container before it is closed under it (closing an
        # FFmpeg muxer while another thread encodes into it can hang or crash)
        enc_thread.join(timeout=10)
        writer.abort()
        dec_thread.join(timeout=10)
        raise
    finally:
        meter.close()
        reader.close()
    seconds = time.perf_counter() - t0
    stats = dict(proc.stats())
    stats.setdefault("pts_repaired", reader.pts_repaired)
    result = JobResult(input=str(input_path), output=str(output_path), frames_in=counts["in"],
                       frames_out=counts["out"], seconds=seconds, spec=spec, stats=stats)
    if write_config:
        dump_config(cfg, output_path_for_config(output_path), overwrite=overwrite, inputs=(str(input_path),))
    log.debug("%s: %d frames in, %d out, %.1f s (%.2f frames/s)%s", output_path, result.frames_in, result.frames_out,
             seconds, result.fps, (" " + json.dumps(stats, default=str)) if stats else "")
    return result
