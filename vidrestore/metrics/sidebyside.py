"""The ``compare`` job: a restoration next to its input, as a video (side by side, stacked or a wipe)
or as a PNG/JPEG sheet of chosen frames, built from the pictures of :mod:`vidrestore.metrics.compare`.

The job reads both clips, pairs their frames (by index, or by time for clips of different rates) and
writes the output through the io layer (atomic, never onto an input); :func:`vidrestore.api.compare`
runs it and ``vidrestore compare`` only parses its arguments into :class:`CompareOptions`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidrestore.errors import ConfigError

SHEET_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class CompareOptions:
    """What ``vidrestore compare`` asks for (its flags, same names); checked once, with the CLI's messages."""

    layout: str = "side"
    position: float = 0.5
    sweep: bool = False
    labels: str | None = None
    height: int | None = None
    filt: str = "bicubic"
    match: str = "index"
    partial: bool = False
    frames: str | None = None
    count: int = 4
    crop: str | None = None
    max_frames: int | None = None
    crf: int = 18
    fps: str | None = None
    overwrite: bool = False

    def __post_init__(self) -> None:
        if self.labels is not None:
            _labels("", "", self.labels)  # refused first, as the command line always did
        if not 0.0 <= self.position <= 1.0:
            raise ConfigError(f"--position must be in [0, 1], got {self.position}")
        if self.count < 1:
            raise ConfigError(f"--count must be >= 1, got {self.count}")
        if self.max_frames is not None and self.max_frames < 1:
            raise ConfigError(f"--max-frames must be >= 1, got {self.max_frames}")


@dataclass
class CompareResult:
    """What was written: ``frames`` (video: every pair; sheet: the rows' OUTPUT frame indices) and the size."""

    output: str
    kind: str  # "video" or "sheet"
    frames: list[int]
    width: int
    height: int


def compare(input_path: str, restored: str, output: str, options: CompareOptions) -> CompareResult:
    """A video (or image folder) of every frame pair, or a sheet when ``output`` ends in .png/.jpg."""
    from vidrestore.io.config import IOConfig

    labels = _labels(input_path, restored, options.labels)
    io_cfg = IOConfig(fps=options.fps)
    if Path(output).suffix.lower() in SHEET_SUFFIXES:
        return _sheet(input_path, restored, output, options, labels, io_cfg)
    return _video(input_path, restored, output, options, labels, io_cfg)


def _labels(input_path: str, restored: str, text: str | None) -> tuple[str, str]:
    if text is None:
        return _short(Path(input_path).name or str(input_path)), _short(Path(restored).name or str(restored))
    parts = [s.strip() for s in text.split(",")]
    if len(parts) != 2:
        raise ConfigError(f"--labels: expected two comma-separated labels, got {text!r}")
    return parts[0], parts[1]


def _short(name: str, limit: int = 28) -> str:
    return name if len(name) <= limit else name[: limit - 3] + "..."


def _pairs(input_path: str, restored: str, options: CompareOptions, reader_a: Any, reader_b: Any) -> Iterator[Any]:
    from vidrestore.metrics.compare import pair_hold, pair_index

    if options.match == "time":
        rate = reader_a.info.avg_rate or reader_a.info.real_rate
        tol = 0.25 / float(rate) if rate else 0.01
        return pair_hold(reader_a, reader_b, tolerance=tol)
    return pair_index(reader_a, reader_b, partial=options.partial, name_a=str(input_path), name_b=str(restored))


def _video(input_path: str, restored: str, output: str, options: CompareOptions, labels: tuple[str, str],
           io_cfg: Any) -> CompareResult:
    from vidrestore.io.config import EncodeConfig
    from vidrestore.io.reader import open_reader
    from vidrestore.metrics.compare import compose, plan_layout, sweep_position
    from vidrestore.types import Frame, OutputSpec

    with open_reader(input_path, io_cfg) as ra, open_reader(restored, io_cfg) as rb:
        layout = plan_layout(ra.frame_size, rb.frame_size, mode=options.layout, height=options.height)
        info = rb.info
        count = info.num_frames
        if options.max_frames is not None and count is not None:
            count = min(count, options.max_frames)
        spec = OutputSpec(width=layout.width, height=layout.height, time_base=info.time_base,
                          rate=info.avg_rate or info.real_rate, num_frames=count, bit_depth=8)
        from vidrestore.io.writer import open_writer

        writer = open_writer(output, spec=spec, source=info, encode=EncodeConfig(crf=options.crf),
                             overwrite=options.overwrite, inputs=(str(input_path), str(restored)))
        n = 0
        try:
            for fa, fb in _pairs(input_path, restored, options, ra, rb):
                pos = sweep_position(n, count) if options.sweep else options.position
                rgb = compose(fa.rgb, fb.rgb, layout, labels=labels, position=pos, filt=options.filt)
                writer.write(Frame(index=n, pts=fb.pts, time_base=fb.time_base, rgb=rgb, duration=fb.duration))
                n += 1
                if options.max_frames is not None and n >= options.max_frames:
                    break
            if n == 0:
                from vidrestore.errors import MediaError

                raise MediaError(restored, "no frame pairs to compare")
        except BaseException:
            writer.abort()
            raise
        writer.close()
    return CompareResult(output=str(output), kind="video", frames=list(range(n)), width=layout.width,
                         height=layout.height)


def _sheet(input_path: str, restored: str, output: str, options: CompareOptions, labels: tuple[str, str],
           io_cfg: Any) -> CompareResult:
    import cv2

    from vidrestore.errors import MediaError, OutputError
    from vidrestore.io.reader import open_reader
    from vidrestore.metrics.compare import Crop, choose_frames, make_sheet, parse_frames
    from vidrestore.metrics.evaluate import atomic_write

    out = Path(output)
    for inp in (input_path, restored):
        if Path(inp).resolve() == out.resolve():
            raise OutputError(f"{out}: output is an input; choose another file name")
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise OutputError(f"{out}: folder {out.parent} does not exist")
    from vidrestore.io import safety

    safety.check_target(out, overwrite=options.overwrite, inputs=(input_path, restored), what="sheet")
    crop = Crop.parse(options.crop) if options.crop else None
    with open_reader(input_path, io_cfg) as ra, open_reader(restored, io_cfg) as rb:
        if options.frames:
            wanted = parse_frames(options.frames)
        else:
            count = rb.info.num_frames
            if options.match == "index" and ra.info.num_frames is not None and count is not None:
                count = min(count, ra.info.num_frames)
            if count is None:
                raise ConfigError(f"{restored}: frame count unknown; pass --frames")
            wanted = choose_frames(count, options.count)
        picked = []
        last = max(wanted)
        for fa, fb in _pairs(input_path, restored, options, ra, rb):
            if fb.index in wanted:
                picked.append((fb.index, fa.rgb, fb.rgb))
            if fb.index >= last:
                break
    missing = sorted(set(wanted) - {i for i, _, _ in picked})
    if missing:
        raise MediaError(restored, f"has no frame {missing[0]} (asked for by --frames/--count)")
    sheet = make_sheet(picked, labels=labels, height=options.height, crop=crop, filt=options.filt)
    ok, buf = cv2.imencode(out.suffix.lower(), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OutputError(f"{out}: could not encode the sheet")
    atomic_write(out, buf.tobytes(), overwrite=options.overwrite, inputs=(input_path, restored))
    return CompareResult(output=str(out), kind="sheet", frames=[i for i, _, _ in picked], width=int(sheet.shape[1]),
                         height=int(sheet.shape[0]))
