"""Restorer families: which code builds the restorer that ``restorer.name`` asks for, and what it can do.

A family (Real-ESRGAN networks, diffusion models, the passthrough ``none`` ...) is one
:class:`RestorerFamily` value in its own module, listed once in :mod:`vidrestore.restore.families`. It names its
builder as ``"module:function"``, imported only when the family is chosen, so that looking a name
up stays cheap. Callers ask a family's :class:`Capabilities` (does it change the frame size, does
it carry state from frame to frame, can it fill masked pixels, does it read pixels at all) instead
of testing model names.

A name resolves, in order, to the family of that name, to the family that lists it among its
models, or to the one family that ``takes_any_name`` (a network recognised from the
``restorer.weights`` file, whatever it is called). Two families claiming one name is a
programming error, raised when the registry is first read.

Builders take :class:`RestorerSections`, the config sections a restorer reads, never the whole
config: the pipeline (a higher layer) fills them.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from vidrestore.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from vidrestore.config import DiffusionConfig, FlowConfig, RestorerConfig, TemporalConfig
    from vidrestore.stage import FrameProcessor
    from vidrestore.types import VideoInfo

REACHES = ("frame", "chain")


@dataclass(frozen=True)
class Capabilities:
    """What callers may rely on without knowing the family.

    * ``scale``: the output size is the input size times ``restorer.scale``; the processor's
      ``restorer.output_size(h, w)`` says it before the first frame.
    * ``reach``: ``frame`` when each output depends on a bounded window of input frames (its declared
      warmup/look-ahead, bit-exact in segments); ``chain`` when state is carried from frame to frame
      and only fades out (segments within a tolerance).
    * ``can_inpaint``: it fills masked pixels at the input size (film's dust and scratch repair).
    * ``needs_pixels``: it reads the decoded pictures; False for a family that passes frames through
      untouched, which therefore has nothing to add after another stage.
    """

    scale: bool = False
    reach: str = "frame"
    can_inpaint: bool = False
    needs_pixels: bool = True

    def __post_init__(self) -> None:
        if self.reach not in REACHES:
            raise ValueError(f"Capabilities.reach must be one of {', '.join(REACHES)}, got {self.reach!r}")

    @property
    def scales_frame_by_frame(self) -> bool:
        """Resizes each frame on its own: it can stand before or after frame interpolation."""
        return self.scale and self.reach == "frame"


@dataclass(frozen=True)
class RestorerSections:
    """The config sections restorer builders read (the pipeline fills them from the whole config)."""

    restorer: RestorerConfig
    temporal: TemporalConfig
    flow: FlowConfig
    diffusion: DiffusionConfig


@dataclass(frozen=True)
class RestorerFamily:
    """One family: its name, its builder, its capabilities and the model names it answers to.

    ``build`` is ``"module:function"`` with ``function(sections: RestorerSections, info: VideoInfo)
    -> FrameProcessor``. ``models`` returns the model names of the family (cheap: no torch).
    ``inpaint`` (families that ``can_inpaint``) is ``"module:function"`` with ``function(sections:
    RestorerSections) -> MaskedInpainter``: how a stage that is not a video chain (decloud) gets the
    family's masked mode handed to it, without importing the family.
    """

    name: str
    build: str
    capabilities: Capabilities
    models: Callable[[], Iterable[str]] = tuple
    takes_any_name: bool = False
    description: str = ""
    inpaint: str = ""

    def __post_init__(self) -> None:
        if self.capabilities.can_inpaint and not self.inpaint:
            raise ValueError(f"restorer family {self.name!r} can_inpaint but names no inpaint builder")


def build_passthrough(sections: RestorerSections, info: VideoInfo) -> FrameProcessor:
    """``restorer.name: none``: every frame unchanged."""
    from vidrestore.stage import Passthrough

    return Passthrough()


PASSTHROUGH = RestorerFamily(
    name="none", build="vidrestore.restore.registry:build_passthrough",
    capabilities=Capabilities(needs_pixels=False), description="no restorer: frames pass through unchanged",
)


def import_ref(ref: str) -> Any:
    """The object a ``"module:function"`` reference names; a missing optional package is a config error."""
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and module_name.startswith(err.name):
            raise ConfigError(f"restorer {ref!r} is not available in this installation") from err
        raise
    return getattr(module, attr)


@functools.cache
def _registry() -> tuple[dict[str, RestorerFamily], dict[str, RestorerFamily], RestorerFamily | None]:
    """(families by name, families by model name, the family taking any name), checked once."""
    from vidrestore.restore.families import LOADED

    by_name: dict[str, RestorerFamily] = {}
    by_model: dict[str, RestorerFamily] = {}
    fallback = None
    for family in LOADED:
        if family.name in by_name:
            raise ValueError(f"restorer family {family.name!r} is registered twice")
        by_name[family.name] = family
        if family.takes_any_name:
            if fallback is not None:
                raise ValueError(f"restorer families {fallback.name!r} and {family.name!r} both take any name")
            fallback = family
    for family in by_name.values():
        for model in family.models():
            other = by_model.get(model) or (by_name.get(model) if model != family.name else None)
            if other is not None and other is not family:
                raise ValueError(f"model name {model!r} is claimed by restorer families {other.name!r} "
                                 f"and {family.name!r}")
            by_model[model] = family
    return by_name, by_model, fallback


def families() -> dict[str, RestorerFamily]:
    """Every registered family, by name, in registry order."""
    return dict(_registry()[0])


def family_for(name: str) -> RestorerFamily:
    """The family that builds restorer ``name`` (see the module docstring for the order)."""
    by_name, by_model, fallback = _registry()
    found = by_name.get(name) or by_model.get(name) or fallback
    if found is None:
        known = sorted({*by_name, *by_model})
        raise ConfigError(f"restorer.name: unknown restorer {name!r}; known: {', '.join(known)}")
    return found


def known_names() -> tuple[str, ...]:
    """Every name ``restorer.name`` resolves without ``restorer.weights``: family names, then model names."""
    by_name, by_model, _ = _registry()
    return tuple(dict.fromkeys([*by_name, *by_model]))


def capabilities(name: str) -> Capabilities:
    """Shorthand: the capabilities of the family behind restorer ``name``."""
    return family_for(name).capabilities


class MaskedInpainter(Protocol):
    """Fills masked pixels: ``(T, 3, H, W)`` frames in [0, 1] and ``(T, 1, H, W)`` masks (nonzero = fill)
    in, the frames out with every unmasked pixel unchanged. Picklable, so it can travel to a worker
    process; it loads its model there, on the first call."""

    def check(self) -> None:
        """Raise a ConfigError naming the fix when it cannot run (no model configured), before any work."""

    def __call__(self, frames: torch.Tensor, masks: torch.Tensor) -> torch.Tensor: ...


def inpainting_family(preferred: str | None = None) -> RestorerFamily:
    """The family that fills masked pixels: the one ``preferred`` names when it can, else the first
    registered family that can (a config error when none is installed)."""
    if preferred:
        try:
            family = family_for(preferred)
        except ConfigError:
            family = None
        if family is not None and family.capabilities.can_inpaint:
            return family
    for family in _registry()[0].values():
        if family.capabilities.can_inpaint:
            return family
    raise ConfigError("no registered restorer can inpaint masked pixels")


def build_inpainter(sections: RestorerSections) -> MaskedInpainter:
    """The masked mode of :func:`inpainting_family` (``sections.restorer.name`` preferred), set up from
    ``sections``."""
    family = inpainting_family(sections.restorer.name)
    return import_ref(family.inpaint)(sections)  # type: ignore[no-any-return]


def build_restorer(sections: RestorerSections, info: VideoInfo) -> FrameProcessor:
    """Build the processor for ``sections.restorer.name`` through its family's builder."""
    family = family_for(sections.restorer.name)
    return import_ref(family.build)(sections, info)
