"""Fixtures of the config tests: the deprecation lines a load prints, counted per test."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from vidrestore import config


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def deprecations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The deprecation lines logged during the test, with the once-per-run memory emptied first
    (the handler sits on the config logger itself: the CLI's setup stops propagation above it)."""
    monkeypatch.setattr(config, "_REPORTED", set())
    handler = _Lines()
    logger = logging.getLogger(config.__name__)
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
