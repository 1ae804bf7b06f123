"""Archival film restoration (issue 6): deflicker, dust and dirt, line scratches, grain, with motion compensation.

``vidrestore restore --preset film`` runs :class:`~vidrestore.film.processor.FilmProcessor`; the
steps live in their own modules (:mod:`.deflicker`, :mod:`.align`, :mod:`.dust`, :mod:`.scratch`,
:mod:`.denoise`) and :mod:`.damage` renders synthetic film damage with known positions for tests
and benchmarks. torch, cv2 and the flow code are imported when a stage runs.
"""

from __future__ import annotations

__all__ = ["FilmProcessor", "build_processor"]


def __getattr__(name: str):  # lazy: importing vidrestore.film stays cheap
    if name in __all__:
        from vidrestore.film import processor

        return getattr(processor, name)
    raise AttributeError(f"module 'vidrestore.film' has no attribute {name!r}")
