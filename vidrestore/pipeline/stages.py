"""Builders that chain stages from a whole :class:`~vidrestore.config.Config` (layer 6).

The stage packages build one stage each from their own section; which stages run together, in which
order, is decided here and composed with :class:`~vidrestore.pipeline.chain.Chain`:

* ``restore --preset film``: film cleaning, then the configured restorer (:func:`build_film_chain`);
  with ``restorer.name: diffusion`` the diffusion restorer is the film stage's inpainter instead.
* ``interpolate``: interpolation alone, or with the GAN restorer before or after it
  (``interpolate.order``), and after the film stage with ``film.enabled``
  (:func:`build_interpolation`).
* ``decloud``: the decloud stage from its section, given the inpainter the restorer registry offers
  (:func:`run_decloud`, :func:`decloud_inpainter`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidrestore.errors import ConfigError
from vidrestore.pipeline.chain import Chain
from vidrestore.stage import FrameProcessor

if TYPE_CHECKING:
    from vidrestore.config import Config
    from vidrestore.decloud.engine import BlockRunner, DecloudResult
    from vidrestore.film.processor import FilmProcessor, Inpainter
    from vidrestore.interpolate.processor import InterpolationProcessor
    from vidrestore.restore.registry import MaskedInpainter
    from vidrestore.types import VideoInfo

log = logging.getLogger(__name__)


def build_film(cfg: Config, info: VideoInfo | None = None, *, inpainter: Inpainter | None = None) -> FilmProcessor:
    """The film stage alone, from ``cfg.film`` and ``cfg.flow`` (``inpainter``: see
    :func:`vidrestore.film.processor.build_processor`)."""
    from vidrestore.film.processor import build_processor

    return build_processor(cfg.film, cfg.flow, inpainter=inpainter)


def build_film_chain(cfg: Config, info: VideoInfo) -> FrameProcessor:
    """``PROCESSORS["film"]``: the film stage, then the restorer ``restorer.name`` names (none: film alone).

    The restorer is built first, so a restorer refused by its config leaves nothing behind (the mask
    folder of ``film.save_masks`` is created with the film stage).
    """
    from vidrestore.film.processor import DiffusionInpainter
    from vidrestore.pipeline import factory
    from vidrestore.restore.registry import capabilities

    name = cfg.restorer.name
    can = capabilities(name)
    if can.can_inpaint:
        restorer = factory.build_processor(cfg, info, stages=False)
        inpainter = DiffusionInpainter(restorer.restorer)  # type: ignore[attr-defined]
        if inpainter.restorer.output_size(8, 8) != (8, 8):
            raise ConfigError("film with restorer.name=diffusion inpaints dust and scratches: the diffusion model "
                              "must work at the input size (restorer.scale: 1 and a latent or pixel model)")
        return build_film(cfg, info, inpainter=inpainter)
    if not can.needs_pixels:  # no restorer: the film stage alone
        return build_film(cfg, info)
    after = factory.build_processor(cfg, info, stages=False)
    film = build_film(cfg, info)
    log.info("film: then %s", name)
    return Chain([("", film), ("restorer", after)])


class InterpolationChain(Chain):
    """A chain with an interpolation stage: the interpolate command asks it for its interpolator and
    the stage order it runs (``interpolate-first`` or ``upscale-first``)."""

    def __init__(self, stages: list[tuple[str, FrameProcessor]], *, interpolator: InterpolationProcessor,
                 order: str) -> None:
        super().__init__(stages)
        self.interpolator = interpolator
        self.order = order


def build_interpolation(cfg: Config, info: VideoInfo) -> Any:
    """``vidrestore interpolate``: interpolation, with the GAN restorer when ``restorer.scale != 1`` (in
    the order ``interpolate.order`` says), after the film stage when ``film.enabled``.

    New frames are made from their two neighbours: dust present in one of them would be warped into
    the new frame and, there in two frames out of three, survive any later cleaning; so the film stage
    runs first, on the input frames at their own rate. Whenever the interpolator sees other frames than
    the input, :class:`~vidrestore.interpolate.processor.InputSceneCuts` heads the chain so that
    scene cuts are found on the input frames.
    """
    from vidrestore.interpolate.processor import InputSceneCuts

    interp = build_interpolator(cfg)
    gan, order = _interpolation_restorer(cfg, info, interp)
    if gan is None:
        rest: list[tuple[str, Any]] = [("", interp)]
    elif order == "upscale-first":
        log.info("interpolate: upscaling x%g first, then interpolating at the output size", cfg.restorer.scale)
        rest = [("restorer", gan), ("", interp)]
    else:
        log.info("interpolate: interpolating at the input size, then upscaling x%g", cfg.restorer.scale)
        rest = [("", interp), ("restorer", gan)]
    stages = rest
    if cfg.film.enabled:
        log.info("interpolate: film cleaning first, on the input frames")
        film = build_film(cfg, info)
        stages = [("film", film), *rest]
    if len(stages) == 1:
        return interp
    return InterpolationChain([("cuts", InputSceneCuts(interp)), *stages] if stages[0][1] is not interp else stages,
                              interpolator=interp, order=order)


def build_interpolator(cfg: Config, device: str = "cpu") -> InterpolationProcessor:
    """The interpolation stage alone, from ``cfg.interpolate`` and ``cfg.flow``."""
    from vidrestore.interpolate.processor import build_processor

    return build_processor(cfg.interpolate, cfg.flow, device=device)


def wants_restorer(cfg: Config) -> bool:
    """True when ``restorer.scale`` asks for a resize (the GAN restorer stage runs with interpolation)."""
    return cfg.restorer.scale != 1.0


def _interpolation_restorer(cfg: Config, info: VideoInfo, interp: InterpolationProcessor) -> tuple[Any, str]:
    """The GAN stage ``restorer.scale`` asks for (None when it is 1) and the order to run it in."""
    from vidrestore.interpolate.processor import cheaper_order, measure_costs, outputs_per_input

    if not wants_restorer(cfg):
        return None, "interpolate-first"
    from vidrestore.restore.registry import capabilities

    if not capabilities(cfg.restorer.name).scales_frame_by_frame:
        raise ConfigError(f"restorer.name: --scale needs a GAN model (e.g. realesr-animevideov3), not "
                          f"{cfg.restorer.name!r}")
    from vidrestore.pipeline import factory

    gan = factory.build_processor(cfg, info, stages=False)
    order = cfg.interpolate.order
    if order == "auto":
        ratio = outputs_per_input(cfg.interpolate, info)
        h, w = gan.restorer.output_size(info.height, info.width)  # type: ignore[attr-defined]
        gan_cost, interp_cost = measure_costs(gan, interp, ratio=ratio)
        order = cheaper_order(ratio=ratio, area_scale=(h * w) / (info.height * info.width),
                              gan_cost=gan_cost, interp_cost=interp_cost)
        log.info("interpolate: order auto -> %s (measured per megapixel: restorer %.2f s, interpolation pair "
                 "%.2f s, %.2f frames out per frame in, x%g)", order, gan_cost * 1e6, interp_cost * 1e6, ratio,
                 cfg.restorer.scale)
    return gan, order


# --------------------------------------------------------------------------- decloud


def decloud_inpainter(cfg: Config) -> MaskedInpainter | None:
    """The masked mode ``decloud.fill.inpaint: diffusion`` hands its holes to: the restorer registry's
    family that can inpaint, set up from the ``restorer.*`` sections (None for the other fill methods,
    which never need one)."""
    if cfg.decloud.fill.inpaint != "diffusion":
        return None
    from vidrestore.pipeline.factory import restorer_sections
    from vidrestore.restore.registry import build_inpainter

    return build_inpainter(restorer_sections(cfg))


def run_decloud(inputs: Sequence[str | Path], out_dir: str | Path, *, cfg: Config, overwrite: bool = False,
                progress: Callable[[int, int], None] | None = None, block_runner: BlockRunner | None = None,
                ) -> DecloudResult:
    """``vidrestore decloud`` in one pass (the tiled job passes its ``block_runner``): the decloud stage
    reads its own section and is given its inpainter."""
    from vidrestore.decloud.engine import run_decloud as run_stage

    return run_stage(inputs, out_dir, dc=cfg.decloud, inpainter=decloud_inpainter(cfg), overwrite=overwrite,
                     progress=progress, block_runner=block_runner)
