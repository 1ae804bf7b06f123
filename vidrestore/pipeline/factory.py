"""Which processor ``vidrestore restore`` runs for a config.

PROCESSORS maps a key to ``"module:function"`` where ``function(cfg: Config, info: VideoInfo) ->
FrameProcessor``. Modules are imported only when chosen, so start-up stays light.
``select_processor`` picks the key: ``restorer.name`` when it is a key here (``none``,
``diffusion``), else the GAN restorer for any other model name; ``PRE_STAGES`` (film cleaning,
...) can wrap it when their section is enabled.
"""

from __future__ import annotations

import importlib
from typing import Any

from vidrestore.config import Config
from vidrestore.errors import ConfigError
from vidrestore.stage import FrameProcessor, Passthrough
from vidrestore.types import VideoInfo

PROCESSORS: dict[str, str] = {
    "none": "vidrestore.pipeline.factory:build_passthrough",
    "gan": "vidrestore.restore.gan_processor:build_processor",
    "diffusion": "vidrestore.restore.diffusion.processor:build_processor",
    "film": "vidrestore.pipeline.stages:build_film_chain",  # film cleaning, then the restorer (issue 6)
}


def build_passthrough(cfg: Config, info: VideoInfo) -> FrameProcessor:
    return Passthrough()


def select_processor(cfg: Config, *, stages: bool = True) -> str:
    """The PROCESSORS key for ``cfg``; ``stages=False`` ignores pre-stages (film) and gives the restorer alone."""
    if stages and cfg.film.enabled:
        return "film"
    name = cfg.restorer.name
    if name in PROCESSORS and name != "film":
        return name
    return "gan"


def _load(ref: str) -> Any:
    module_name, func_name = ref.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and module_name.startswith(err.name):
            raise ConfigError(f"restorer {ref!r} is not available in this installation") from err
        raise
    return getattr(module, func_name)


def build_processor(cfg: Config, info: VideoInfo, *, stages: bool = True) -> FrameProcessor:
    key = select_processor(cfg, stages=stages)
    return _load(PROCESSORS[key])(cfg, info)
