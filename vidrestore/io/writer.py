"""Encode frames to a video file or an image sequence, keeping timing, colour and sound.

* The source's pts and time base are kept (VFR survives); frames must come with strictly
  increasing pts.
* 10-bit output by default when the source is deeper than 8 bits; colour metadata copied.
* Odd frame sizes never crash a 4:2:0 encoder: the chroma layout switches to 4:4:4 (a warning
  says so) so that the picture keeps its exact size.
* Audio and subtitles are remuxed from the source (see :mod:`vidrestore.io.remux`).
* The file is written under a temporary name and renamed only by :meth:`close`;
  :meth:`abort` removes it.

Backends (:mod:`vidrestore.io.encoders`, one file each): PyAV (default) and the system ffmpeg
through ffmpeg-python (``encode.backend: ffmpeg``) for encoders only that ffmpeg has (NVENC, newer
AV1 encoders), with the same guarantees: frames go to ffmpeg as a NUT stream of raw video that
carries every pts; and PNG/TIFF image folders. This module checks and locks the output target
(:mod:`vidrestore.io.output`) and opens the encoder the target and ``encode.backend`` call for.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from vidrestore.io.encoders import FfmpegWriter, ImageSequenceWriter, VideoWriter
from vidrestore.io.encoders.convert import RgbToEncoder
from vidrestore.io.encoders.settings import choose_codec, choose_pix_fmt
from vidrestore.io.output import OutputTarget, discard_output, finalize_output, prepare_output
from vidrestore.types import Frame, OutputSpec, VideoInfo

if TYPE_CHECKING:
    from vidrestore.io.config import EncodeConfig

__all__ = ["FfmpegWriter", "FrameWriter", "ImageSequenceWriter", "RgbToEncoder", "VideoWriter", "choose_codec",
           "choose_pix_fmt", "finalize_output", "open_writer", "output_path_for_config"]


class FrameWriter(Protocol):
    frames_written: int

    def write(self, frame: Frame) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


def open_writer(output: str | os.PathLike[str], *, spec: OutputSpec, source: VideoInfo | None,
                encode: EncodeConfig, overwrite: bool = False, inputs: tuple[str, ...] = (),
                carry_rotation: int = 0, image_format: str = "png", sidecar: bool = False) -> FrameWriter:
    """Check OUTPUT (and its config sidecar when the run writes one), lock it and open the right
    writer for it (nothing is left behind on failure)."""
    if inputs == () and source is not None:
        inputs = (source.path,)
    target = prepare_output(output, inputs=inputs, overwrite=overwrite, sidecar=sidecar)
    try:
        return _open_target(target, spec=spec, source=source, encode=encode, carry_rotation=carry_rotation,
                            image_format=image_format)
    except BaseException:
        discard_output(target)
        raise


def _open_target(target: OutputTarget, *, spec: OutputSpec, source: VideoInfo | None, encode: EncodeConfig,
                 carry_rotation: int, image_format: str) -> FrameWriter:
    if target.kind == "images":
        return ImageSequenceWriter(target, spec=spec, image_format=image_format)
    if encode.backend == "ffmpeg":
        return FfmpegWriter(target, spec=spec, source=source, encode=encode, carry_rotation=carry_rotation)
    return VideoWriter(target, spec=spec, source=source, encode=encode, carry_rotation=carry_rotation)


def output_path_for_config(output: str | os.PathLike[str]) -> Path:
    """Where the resolved config of a run is written: ``OUTPUT.vidrestore.yaml`` beside OUTPUT."""
    from vidrestore.io.safety import sibling

    return sibling(output, ".vidrestore.yaml")
