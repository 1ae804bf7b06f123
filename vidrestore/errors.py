"""Error types.

Every error a user can cause (bad input, bad config, missing weights) derives from
:class:`VidrestoreError`; the CLI prints its message on one line and exits with code 2.
Messages name the file (or key) and say what was received and what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence


class VidrestoreError(Exception):
    """Base class of all errors the CLI reports as one line with exit code 2."""


class ConfigError(VidrestoreError, ValueError):
    """A config file, preset or ``--set`` override is invalid."""


class MediaError(VidrestoreError):
    """A media file cannot be read or written. The message names the path."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class UnsupportedMediaError(MediaError):
    """The file is readable but holds nothing we can process (no video stream, ...)."""


class OutputError(VidrestoreError):
    """The output path is refused (exists, equals the input, unwritable)."""


class WeightsNotFoundError(VidrestoreError, FileNotFoundError):
    """Model weights could not be located offline."""


class ChecksumMismatchError(VidrestoreError):
    """A weights file does not have the sha256 its registry entry promises."""

    def __init__(self, path: object, expected: str, actual: str) -> None:
        self.path = str(path)
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{self.path}: sha256 mismatch (expected {expected}, got {actual}); "
            "the file is corrupt or not the checkpoint it claims to be"
        )


class ShapeError(VidrestoreError, ValueError):
    """A tensor does not have the expected shape."""

    def __init__(self, name: str, actual: Sequence[int], expected: str) -> None:
        self.actual_shape = tuple(int(s) for s in actual)
        self.expected_shape = expected
        super().__init__(f"{name}: expected shape {expected}, got {self.actual_shape}")


class ResumeError(VidrestoreError):
    """``--resume`` was asked for a work directory that does not match the job."""
