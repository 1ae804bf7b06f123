"""Diffusion restoration of video: any local diffusers model, consistent over time, tiled, guided.

* :func:`load_model` - a local diffusers folder (x4 upscaler, latent img2img, or pixel DDPM layout),
  never downloaded; incomplete folders are refused naming every missing piece.
* :class:`DDIMSampler`, :class:`DPMSolverPPSampler` - written-out samplers with diffusers' contract.
* :class:`DiffusionRestorer` / :class:`DiffusionSettings` - windows of frames with flow-warped latent
  consistency, warped noise, Gaussian-fused latent tiles, DDNM guidance and colour fix.
* :func:`inpaint` - fill masked pixels (dust, scratches, clouds), keeping every other pixel exactly.
* :mod:`.guidance` - DDNM operators (:class:`Downsample`, :class:`Mask`) for other restorers.

:data:`FAMILY` registers the family (``restorer.name: diffusion``). torch and diffusers are imported
only when a model is loaded or run.
"""

from vidrestore.restore.diffusion.guidance import Downsample, Mask, project, project_consistent
from vidrestore.restore.diffusion.inpaint import inpaint
from vidrestore.restore.diffusion.models import DiffusionModel, ModelFolderError, inspect_folder, load_model
from vidrestore.restore.diffusion.restorer import ChainState, DiffusionRestorer, DiffusionSettings
from vidrestore.restore.diffusion.samplers import DDIMSampler, DPMSolverPPSampler, build_sampler
from vidrestore.restore.diffusion.schedule import NoiseSchedule
from vidrestore.restore.registry import Capabilities, RestorerFamily

FAMILY = RestorerFamily(
    name="diffusion", build="vidrestore.restore.diffusion.processor:build_processor",
    capabilities=Capabilities(scale=True, reach="chain", can_inpaint=True),
    inpaint="vidrestore.restore.diffusion.inpaint:build_inpainter",
    description="a local diffusers model (x4 upscaler, latent img2img or pixel DDPM), windows with latent consistency",
)

__all__ = [
    "ChainState",
    "DDIMSampler",
    "DPMSolverPPSampler",
    "DiffusionModel",
    "DiffusionRestorer",
    "DiffusionSettings",
    "FAMILY",
    "Downsample",
    "Mask",
    "ModelFolderError",
    "NoiseSchedule",
    "build_sampler",
    "inpaint",
    "inspect_folder",
    "load_model",
    "project",
    "project_consistent",
]
