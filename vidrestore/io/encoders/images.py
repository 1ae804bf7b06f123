"""Image-sequence output: one PNG (or TIFF) per frame in a folder placed whole on close."""

from __future__ import annotations

from vidrestore.io.images import write_image
from vidrestore.io.output import OutputTarget, create_temp, discard_output, finalize_output
from vidrestore.types import Frame, OutputSpec


class ImageSequenceWriter:
    """PNG (or TIFF) frames in a folder: ``frame_000000.png``...; 16-bit when frames are uint16."""

    def __init__(self, target: OutputTarget, *, spec: OutputSpec, image_format: str = "png") -> None:
        self.target = target
        self.spec = spec
        self.ext = ".tif" if image_format in ("tif", "tiff") else ".png"
        self.frames_written = 0
        self._closed = False
        create_temp(target)

    def write(self, frame: Frame) -> None:
        rgb = frame.rgb
        if rgb is None:  # a decoded picture (native mode): to RGB at its own depth
            from vidrestore.io.reader import decoded_to_rgb

            deep = max((c.bits for c in frame.native.format.components), default=8) > 8
            rgb = decoded_to_rgb(frame.native, "rgb48le" if deep else "rgb24")
        write_image(self.target.temp / f"frame_{self.frames_written:06d}{self.ext}", rgb)
        self.frames_written += 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        finalize_output(self.target, self.frames_written)

    def abort(self) -> None:
        self._closed = True
        discard_output(self.target)
