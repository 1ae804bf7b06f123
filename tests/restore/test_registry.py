"""The restorer registry: names resolve through families, callers read capabilities, duplicates are refused."""

from __future__ import annotations

from fractions import Fraction

import pytest

from vidrestore.config import load_config
from vidrestore.restore import registry
from vidrestore.restore.gan.weights import gan_names
from vidrestore.types import VideoInfo


def _info() -> VideoInfo:
    return VideoInfo(path="x", container="mp4", codec="h264", width=32, height=24, pix_fmt="yuv420p", bit_depth=8,
                     avg_rate=Fraction(25), real_rate=Fraction(25), time_base=Fraction(1, 25), num_frames=3,
                     num_frames_exact=True, duration=0.12, start_time=0.0, rotation=0)


def test_names_resolve_to_their_family() -> None:
    assert registry.family_for("none").name == "none"
    assert registry.family_for("diffusion").name == "diffusion"
    for name in gan_names():
        assert registry.family_for(name).name == "gan"
    # a name no family lists: the family that recognises a network from restorer.weights
    assert registry.family_for("my-own-finetune").name == "gan"


def test_capabilities_are_what_callers_branched_on() -> None:
    none, gan, diffusion = (registry.capabilities(n) for n in ("none", "realesr-animevideov3", "diffusion"))
    assert not none.needs_pixels and not none.scale and not none.can_inpaint
    assert gan.scales_frame_by_frame and gan.needs_pixels and not gan.can_inpaint
    assert diffusion.can_inpaint and diffusion.reach == "chain" and not diffusion.scales_frame_by_frame
    with pytest.raises(ValueError, match="reach"):
        registry.Capabilities(reach="window")


def test_duplicates_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from vidrestore.restore import families

    twin = registry.RestorerFamily(name="twin", build="x:y", capabilities=registry.Capabilities(),
                                   models=lambda: ("realesr-animevideov3",))
    for extra, match in ((twin, "claimed by"), (registry.PASSTHROUGH, "registered twice")):
        monkeypatch.setattr(families, "LOADED", (*families.LOADED, extra))
        registry._registry.cache_clear()
        try:
            with pytest.raises(ValueError, match=match):
                registry.families()
        finally:
            monkeypatch.undo()
            registry._registry.cache_clear()
    assert "twin" not in registry.families()


def test_factory_builds_through_the_registry() -> None:
    from vidrestore.pipeline import factory
    from vidrestore.stage import Passthrough

    assert set(registry.families()) <= set(factory.PROCESSORS)
    cfg = load_config(preset="passthrough")
    assert factory.select_processor(cfg) == "none"
    assert isinstance(factory.build_processor(cfg, _info()), Passthrough)
    assert factory.select_processor(load_config(preset="upscale")) == "gan"
    assert factory.load_builder(factory.PROCESSORS["gan"]) is factory.build_restorer


def test_missing_optional_package_is_a_config_error() -> None:
    from vidrestore.errors import ConfigError

    with pytest.raises(ConfigError, match="not available"):
        registry.import_ref("vidrestore_not_installed_anywhere.module:build")


def test_the_family_that_can_inpaint_is_handed_out_as_a_masked_inpainter() -> None:
    """What decloud is given instead of importing a restorer: the diffusion family's masked mode, set up
    from the restorer section, refusing to run without a model, plain enough to travel to a worker."""
    import pickle

    from vidrestore.errors import ConfigError
    from vidrestore.pipeline.factory import restorer_sections

    assert registry.inpainting_family("realesr-animevideov3").name == "diffusion"  # the GAN cannot: the first that can
    assert registry.inpainting_family(None).name == "diffusion"
    cfg = load_config(overrides=["restorer.steps=3", "restorer.seed=7"])
    inpainter = registry.build_inpainter(restorer_sections(cfg))
    assert (inpainter.steps, inpainter.seed, inpainter.model_path) == (3, 7, None)
    with pytest.raises(ConfigError, match="restorer.model_path"):
        inpainter.check()
    assert pickle.loads(pickle.dumps(inpainter)) == inpainter
    with pytest.raises(ValueError, match="names no inpaint builder"):
        registry.RestorerFamily(name="x", build="m:f", capabilities=registry.Capabilities(can_inpaint=True))
