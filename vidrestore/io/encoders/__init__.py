"""The encoders behind :func:`vidrestore.io.writer.open_writer`, one file each.

* :mod:`.pyav`: PyAV encoder and muxer (the default backend);
* :mod:`.ffmpeg`: the system ffmpeg (``encode.backend: ffmpeg``), for encoders only it has;
* :mod:`.images`: PNG/TIFF frames in a folder;
* :mod:`.settings`: codec and pixel-format choice shared by the two video encoders;
* :mod:`.convert`: RGB frames (or decoded pictures) to the encoder's pixel format, with the
  source's matrix, range and chroma siting.

Every encoder writes to the temporary name of an :class:`~vidrestore.io.output.OutputTarget` and
places it with :func:`~vidrestore.io.output.finalize_output` on ``close()``; ``abort()`` removes it.
"""

from __future__ import annotations

from vidrestore.io.encoders.ffmpeg import FfmpegWriter
from vidrestore.io.encoders.images import ImageSequenceWriter
from vidrestore.io.encoders.pyav import VideoWriter

__all__ = ["FfmpegWriter", "ImageSequenceWriter", "VideoWriter"]
