"""Which processor ``vidrestore restore`` runs for a config.

PROCESSORS maps a key to ``"module:function"`` where ``function(cfg: Config, info: VideoInfo) ->
FrameProcessor``: the form segment workers rebuild a processor from. Every restorer family of
:mod:`vidrestore.restore.registry` has a key (its family name), served by :func:`build_restorer`,
which hands the family's builder the config sections it reads; ``film`` runs film cleaning first,
then the restorer. ``select_processor`` picks the key: a key named by ``restorer.name`` itself
(``none``, ``diffusion``, or one added to the table), else the family the registry resolves the
name to. Modules are imported only when chosen, so start-up stays light.
"""

from __future__ import annotations

from typing import Any

from vidrestore.config import Config
from vidrestore.restore import registry
from vidrestore.stage import FrameProcessor
from vidrestore.types import VideoInfo

RESTORER = "vidrestore.pipeline.factory:build_restorer"

PROCESSORS: dict[str, str] = {
    **{name: RESTORER for name in registry.families()},
    "film": "vidrestore.pipeline.stages:build_film_chain",  # film cleaning, then the restorer (issue 6)
}


def restorer_sections(cfg: Config) -> registry.RestorerSections:
    """The sections a restorer builder reads, taken from the whole config."""
    return registry.RestorerSections(restorer=cfg.restorer, temporal=cfg.temporal, flow=cfg.flow,
                                     diffusion=cfg.diffusion)


def build_restorer(cfg: Config, info: VideoInfo) -> FrameProcessor:
    """The restorer ``cfg.restorer.name`` alone, built by its registered family."""
    return registry.build_restorer(restorer_sections(cfg), info)


def select_processor(cfg: Config, *, stages: bool = True) -> str:
    """The PROCESSORS key for ``cfg``; ``stages=False`` ignores pre-stages (film) and gives the restorer alone."""
    if stages and cfg.film.enabled:
        return "film"
    name = cfg.restorer.name
    if name in PROCESSORS and name != "film":
        return name
    return registry.family_for(name).name


def load_builder(ref: str) -> Any:
    """The ``(cfg, info) -> FrameProcessor`` function a PROCESSORS value (``"module:function"``) names."""
    return registry.import_ref(ref)


def build_processor(cfg: Config, info: VideoInfo, *, stages: bool = True) -> FrameProcessor:
    key = select_processor(cfg, stages=stages)
    return load_builder(PROCESSORS[key])(cfg, info)
