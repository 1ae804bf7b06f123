"""Archival film restoration (issue 6): deflicker, dust and dirt, line scratches, grain, with motion compensation.

``vidrestore restore --preset film`` runs :class:`~vidrestore.film.processor.FilmProcessor`, which
only orchestrates. Data flows through: :mod:`.flows` (flow on normalised luma) and
:mod:`.window` (the frames held) -> :mod:`.deflicker` -> :mod:`.align` -> :mod:`.dust` (a package:
params, evidence, regions, detect, repair) and :mod:`.scratch` -> :mod:`.inpaint` (optional) ->
:mod:`.denoise`; :mod:`.masks` writes masks for review and :mod:`.stats` counts and times. The
``film`` config section with every knob is :mod:`.config`. :mod:`.damage` renders synthetic film
damage with known positions for tests and benchmarks. torch, cv2 and the flow code are imported
when a stage runs.
"""

from __future__ import annotations

__all__ = ["FilmProcessor", "build_processor"]


def __getattr__(name: str):  # lazy: importing vidrestore.film stays cheap
    if name in __all__:
        from vidrestore.film import processor

        return getattr(processor, name)
    raise AttributeError(f"module 'vidrestore.film' has no attribute {name!r}")
