"""Config sections of reading and writing: ``io.*`` (decoding, queues) and ``encode.*`` (the encoder).

Field help lives in each field's ``metadata["help"]`` (see vidrestore.sections).
"""

from __future__ import annotations

from dataclasses import dataclass

from vidrestore.sections import check, check_rate, choice, knob


@dataclass(frozen=True)
class IOConfig:
    reader: str = knob("pyav", "pyav | decord")
    threads: int = knob(0, "decoder threads; 0 = automatic")
    fps: str | None = knob(None, "frame rate for image-sequence input (\"24\", \"24000/1001\"); default 25")
    apply_rotation: bool = knob(True, "rotate frames by the display matrix (else carry it to the output)")
    queue_size: int = knob(8, "frames buffered between decode, processing and encode threads")

    def __post_init__(self) -> None:
        choice("io.reader", self.reader, ("pyav", "decord"))
        check("io.threads", self.threads >= 0, "must be >= 0")
        check("io.queue_size", self.queue_size >= 1, "must be >= 1")
        check_rate("io.fps", self.fps, "24 or 24000/1001")


@dataclass(frozen=True)
class EncodeConfig:
    backend: str = knob("pyav", "pyav | ffmpeg (system ffmpeg through ffmpeg-python)")
    codec: str = knob("auto", "auto = libx264 (8-bit) / libx265 or libx264 10-bit (>8-bit); or any encoder name")
    crf: int | None = knob(15, "quality for x264/x265/vp9/av1 (None = encoder default); 15 is visually lossless for "
                               "most material, 0 with libx264 is lossless")
    preset: str | None = knob("medium", "encoder speed preset where the encoder has one")
    pix_fmt: str = knob("auto", "auto = yuv420p (8-bit) / yuv420p10le (>8-bit); or any pixel format")
    audio: str = knob("copy", "copy (audio packets copied bit-exactly) | aac | none")
    subtitles: str = knob("copy", "copy (subtitle packets copied bit-exactly) | none")
    threads: int = knob(0, "encoder threads; 0 = automatic")
    options: dict[str, str] = knob(help="extra encoder options", factory=dict)

    def __post_init__(self) -> None:
        choice("encode.backend", self.backend, ("pyav", "ffmpeg"))
        choice("encode.audio", self.audio, ("copy", "aac", "none"))
        choice("encode.subtitles", self.subtitles, ("copy", "none"))
        if self.crf is not None:
            check("encode.crf", 0 <= self.crf <= 63, "must be in [0, 63]")
