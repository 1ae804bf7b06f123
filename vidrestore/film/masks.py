"""Dust and scratch masks written for review (``--save-masks DIR``): ``DIR/dust/NNNNNN.png`` and
``DIR/scratch/NNNNNN.png``, white = detected, named by frame index (after both dust passes).

A job cut into segments writes each frame's masks once, in the segment that owns the frame (the
film stage is told which frames it owns; its warm-up and look-ahead frames write nothing), so the
masks of a split or resumed job equal those of one uninterrupted run.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from vidrestore.errors import OutputError


class MaskWriter:
    """Writes ``DIR/dust/NNNNNN.png`` and ``DIR/scratch/NNNNNN.png`` (8-bit, 255 = detected), each atomically.

    The two subfolders are vidrestore's own (created with the output marker); an existing one is
    reused only when it holds nothing but masks of an earlier run, and then only with ``--overwrite``
    when it has any, or when the run continues the same job (``--resume``, or a worker process of a
    segmented job: :attr:`vidrestore.io.safety.RunContext.continuing`). Each mask goes through
    :mod:`vidrestore.io.safety`, so none lands on an input or through a link.
    """

    def __init__(self, folder: str | os.PathLike[str], *, overwrite: bool | None = None) -> None:
        from vidrestore.io import safety

        self.folder = Path(folder)
        if self.folder.is_symlink():
            raise OutputError(f"{self.folder}: --save-masks is a symbolic link; vidrestore never writes through a "
                              "link (give the real folder)")
        if self.folder.exists() and not self.folder.is_dir():
            raise OutputError(f"{self.folder}: --save-masks needs a folder, and this is a file")
        overwrite = safety.RUN.overwrite if overwrite is None else overwrite
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(f"{self.folder}: cannot create the mask folder ({err.strerror or err})") from err
        for sub in ("dust", "scratch"):
            path = self.folder / sub
            safety.check_not_input(path, (), what="--save-masks folder", folder=True)
            if not (path.exists() or path.is_symlink()):
                safety.make_folder(path, what="the mask folder")
                continue
            if path.is_symlink() or not path.is_dir() or not safety.is_vidrestore_folder(path):
                raise OutputError(f"{path}: --save-masks would write into a folder vidrestore did not create; "
                                  "choose a new folder")
            if any(p.suffix == ".png" for p in path.iterdir()) and not (overwrite or safety.RUN.continuing):
                raise OutputError(f"{path}: already holds masks (use --overwrite to replace them)")
        self.written = 0

    def write(self, index: int, dust: np.ndarray, scratch: np.ndarray) -> None:
        import cv2

        from vidrestore.io import safety

        for sub, mask in (("dust", dust), ("scratch", scratch)):
            path = self.folder / sub / f"{index:06d}.png"
            with safety.temp_target(path, overwrite=True, what="mask", suffix=".png") as tmp:
                if not cv2.imwrite(str(tmp), mask.astype(np.uint8) * 255):
                    raise OutputError(f"{path}: cannot write the mask image")
        self.written += 1
