"""The ``film`` config section: archival film cleaning (``--preset film``), one nested section per step.

Each knob lives in the step it tunes (``film.dust.threshold``, ``film.scratch.max_width`` ...) with
its check and its help (``metadata["help"]``, :func:`vidrestore.sections.knob`). A step is switched
off with ``film.<step>.enabled: false``; the old ``--set film.<step>=false`` (deflicker, dust,
scratches, denoise) still does it. Intensities are in [0, 1] units of the frame's range; ``radius``
neighbours on each side are aligned with the ``flow`` section's estimator and
never across a scene cut. The film stage takes this section alone (never the whole config).

The flat keys of earlier releases (``film.dust_threshold``, ``film.dust: false``, ``film.regrain`` ...)
still load: :data:`RENAMES` maps each to its place here, and the loader prints one deprecation line
for each one it meets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vidrestore.sections import check, choice, knob


@dataclass(frozen=True)
class DeflickerConfig:
    """Flicker: per-frame gain/offset between motion-compensated frames, smoothed by a local line over time."""

    enabled: bool = knob(True, "false: the step is skipped")
    window: int = knob(8, "frames per side of the local-linear exposure fit: a slower fade passes, jitter is averaged "
                          "out")
    grid: int = knob(1, "1 = one gain/offset per frame; 2..4 = N x N regions, smoothly interpolated (uneven flicker)")

    def __post_init__(self) -> None:
        check("film.deflicker.window", 1 <= self.window <= 50, "must be in [1, 50]")
        check("film.deflicker.grid", 1 <= self.grid <= 16, "must be in [1, 16]")


@dataclass(frozen=True)
class DustConfig:
    """Dust and dirt: pixels every aligned neighbour disagrees with, in both directions in time."""

    enabled: bool = knob(True, "false: the step is skipped")
    threshold: float = knob(0.05, "least luma difference from every valid neighbour (raised automatically on grainy "
                                  "film)")
    sigmas: float = knob(4.0, "... and at least this many robust sigmas of the frame-to-frame differences")
    max_area: float = knob(0.01, "share of the frame above which a disagreeing region is motion, not dirt")
    max_motion: float = knob(0.03, "no detection where the picture moves faster (share of the width per frame)")
    dilate: int = knob(1, "px repaired around each blotch (its soft rim)")
    override_contrast: float = knob(0.25, "least outlier taken where a blotch broke the flow around itself (slow "
                                          "picture)")
    one_sided_contrast: float = knob(0.15, "least outlier (and >= 2x threshold) at a shot's first/last frame "
                                           "(one side in time)")
    uniform_flow: float = knob(0.5, "px/frame: flow spread around a region under which no motion edge is near; "
                                    "there a speck need only be darker (brighter) than the bright (dark) side of "
                                    "its surroundings")
    moved_flow: float = knob(1.0, "px/frame: near a motion edge (flow spread above this) a region whose content "
                                  "the nearest neighbours hold, displaced, is a limb the flow missed, not dirt "
                                  "(0 = off) ...")
    moved_ratio: float = knob(0.7, "... when a shifted match leaves under this share of the difference the flow's "
                                   "match left")
    moved_search: float = knob(0.02, "... searched within this share of the frame width around the flow's match")
    sides_agree: float = knob(0.2, "dirt hides one picture that goes on: some past and some future neighbour must "
                                   "agree under a region (their difference there, less the frame's usual one, under "
                                   "this share of the region's contrast); where they disagree the flow missed motion "
                                   "(0 = off)")
    rescue_ring: int = knob(12, "px around a blotch that broke the flow: the flow across it is filled from there ...")
    rescue_share: float = knob(0.5, "... when at least this share of that ring is reliably aligned")
    passes: int = knob(2, "2: dust found again on the cleaned frames against their cleaned neighbours and repaired "
                          "(specks the grainy first pass could not align); 1 = one pass")
    second_pass_flow: float = knob(2.5, "px/frame: the second pass leaves a region alone where the flow around it "
                                        "spreads more (a motion edge: a repair there would paste the wrong side)")
    second_pass_flows: str = knob("estimate", "estimate: flows again on the cleaned frames; reuse: the first pass's "
                                              "(less work, a few more regions left; docs/BENCHMARKS.md)")

    def __post_init__(self) -> None:
        check("film.dust.threshold", 0.0 < self.threshold < 1.0, "must be in (0, 1)")
        check("film.dust.sigmas", self.sigmas >= 0, "must be >= 0")
        check("film.dust.max_area", 0.0 < self.max_area <= 1.0, "must be in (0, 1]")
        check("film.dust.max_motion", 0.0 < self.max_motion <= 1.0, "must be in (0, 1]")
        check("film.dust.dilate", 0 <= self.dilate <= 8, "must be in [0, 8]")
        check("film.dust.override_contrast", 0.0 < self.override_contrast < 1.0, "must be in (0, 1)")
        check("film.dust.one_sided_contrast", 0.0 < self.one_sided_contrast < 1.0, "must be in (0, 1)")
        check("film.dust.uniform_flow", self.uniform_flow >= 0, "must be >= 0 (px per frame; 0 = off)")
        check("film.dust.moved_flow", self.moved_flow >= 0, "must be >= 0 (px per frame; 0 = off)")
        check("film.dust.moved_ratio", 0.0 < self.moved_ratio < 1.0, "must be in (0, 1)")
        check("film.dust.moved_search", 0.0 <= self.moved_search <= 0.25, "must be in [0, 0.25]")
        check("film.dust.sides_agree", self.sides_agree >= 0, "must be >= 0 (0 = off)")
        check("film.dust.rescue_ring", 1 <= self.rescue_ring <= 64, "must be in [1, 64] px")
        check("film.dust.rescue_share", 0.0 < self.rescue_share <= 1.0, "must be in (0, 1]")
        check("film.dust.passes", self.passes in (1, 2), "must be 1 or 2")
        check("film.dust.second_pass_flow", self.second_pass_flow > 0, "must be > 0 (px per frame)")
        choice("film.dust.second_pass_flows", self.second_pass_flows, ("estimate", "reuse"))


@dataclass(frozen=True)
class ScratchConfig:
    """Line scratches: thin vertical lines that stay put on the film for several frames."""

    enabled: bool = knob(True, "false: the step is skipped")
    threshold: float = knob(0.015, "least mean contrast of the line against its sides")
    min_length: float = knob(0.5, "share of the frame height the line spans (its visible pieces together)")
    max_width: int = knob(3, "px")
    persistence: int = knob(3, "frames of t - radius .. t + radius that show it at the same place on the film")

    def __post_init__(self) -> None:
        check("film.scratch.threshold", 0.0 < self.threshold < 1.0, "must be in (0, 1)")
        check("film.scratch.min_length", 0.0 < self.min_length <= 1.0, "must be in (0, 1]")
        check("film.scratch.max_width", 1 <= self.max_width <= 16, "must be in [1, 16]")
        # persistence is checked by FilmConfig: its bound is the neighbourhood's size (film.radius)


@dataclass(frozen=True)
class DenoiseConfig:
    """Grain and noise: temporal average of the aligned neighbours, weighted by warp error."""

    enabled: bool = knob(True, "false: the step is skipped")
    strength: float = knob(1.0, "0 = off; higher averages across larger differences (smoother, more risk of smear)")

    def __post_init__(self) -> None:
        check("film.denoise.strength", 0.0 <= self.strength <= 4.0, "must be in [0, 4]")


@dataclass(frozen=True)
class GrainConfig:
    """Re-grain: film grain added back after denoising (the grain of frame N is always the same)."""

    sigma: float = knob(0.0, "grain added back, sigma in 8-bit levels (0 = none; e.g. 3 keeps a film look)")
    size: float = knob(1.0, "grain size, px")
    seed: int = knob(0, "noise seed")

    def __post_init__(self) -> None:
        check("film.grain.sigma", 0.0 <= self.sigma <= 64.0, "must be in [0, 64] (8-bit levels)")
        check("film.grain.size", 0.5 <= self.size <= 8.0, "must be in [0.5, 8] px")


@dataclass(frozen=True)
class FilmConfig:
    """``--preset film``: archival film cleaning before any restorer (issue 6; see vidrestore/film)."""

    enabled: bool = knob(False, "run the film stage (what --preset film switches on)")
    radius: int = knob(2, "aligned neighbours per side (t - radius .. t + radius) that find, repair and denoise "
                          "a frame")
    min_confidence: float = knob(0.5, "flow confidence under which a neighbour pixel is not used "
                                      "(0.5 = occlusion test)")
    deflicker: DeflickerConfig = field(default_factory=DeflickerConfig,
                                       metadata={"help": "flicker: exposure smoothed over time"})
    dust: DustConfig = field(default_factory=DustConfig,
                             metadata={"help": "dust and dirt: found where every aligned neighbour disagrees"})
    scratch: ScratchConfig = field(default_factory=ScratchConfig,
                                   metadata={"help": "line scratches: thin lines that stay put on the film"})
    denoise: DenoiseConfig = field(default_factory=DenoiseConfig,
                                   metadata={"help": "grain and noise: temporal average of the aligned neighbours"})
    grain: GrainConfig = field(default_factory=GrainConfig, metadata={"help": "grain added back after denoising"})
    save_masks: str | None = knob(None, "or a folder: dust/ and scratch/ PNG masks for review (--save-masks DIR)")
    threads: int = knob(1, "torch threads while the film stage works (its many small operations run fastest on 1)")
    parallel: bool = knob(False, "the second dust pass in a thread beside the first: the same output on both cores, "
                                 "but up to 6 more frames held (the stage then reads ahead of its declared look-ahead)")
    device: str = knob("cpu", "cpu | cuda | auto (cuda when there is one): where the per-pixel steps run, as torch "
                              "tensors")
    torch_ops: bool = knob(False, "box means, warps and dilations with torch's kernels on the CPU too (what cuda runs)")

    def __post_init__(self) -> None:
        check("film.radius", 1 <= self.radius <= 8, "must be in [1, 8]")
        check("film.min_confidence", 0.0 <= self.min_confidence < 1.0, "must be in [0, 1)")
        check("film.scratch.persistence", 1 <= self.scratch.persistence <= 2 * self.radius + 1,
               "must be in [1, 2 * film.radius + 1]")
        check("film.threads", self.threads >= 0, "must be >= 0 (0 = leave torch's setting)")
        choice("film.device", self.device, ("cpu", "cuda", "auto"))

    @property
    def lookahead(self) -> int:
        """Frames after frame t that its output reads in one pass: its neighbours, and their deflicker window."""
        return self.radius + (self.deflicker.window if self.deflicker.enabled else 0)


#: The flat keys of earlier releases, each with its place in the nested section (one deprecation line each).
RENAMES: dict[str, str] = {
    "film.deflicker": "film.deflicker.enabled",
    "film.dust": "film.dust.enabled",
    "film.denoise": "film.denoise.enabled",
    "film.deflicker_window": "film.deflicker.window",
    "film.deflicker_grid": "film.deflicker.grid",
    "film.dust_threshold": "film.dust.threshold",
    "film.dust_sigmas": "film.dust.sigmas",
    "film.dust_max_area": "film.dust.max_area",
    "film.dust_max_motion": "film.dust.max_motion",
    "film.dust_dilate": "film.dust.dilate",
    "film.dust_override_contrast": "film.dust.override_contrast",
    "film.dust_one_sided_contrast": "film.dust.one_sided_contrast",
    "film.dust_uniform_flow": "film.dust.uniform_flow",
    "film.dust_moved_flow": "film.dust.moved_flow",
    "film.dust_moved_ratio": "film.dust.moved_ratio",
    "film.dust_moved_search": "film.dust.moved_search",
    "film.dust_sides_agree": "film.dust.sides_agree",
    "film.dust_rescue_ring": "film.dust.rescue_ring",
    "film.dust_rescue_share": "film.dust.rescue_share",
    "film.dust_passes": "film.dust.passes",
    "film.dust_second_pass_flow": "film.dust.second_pass_flow",
    "film.dust_second_pass_flows": "film.dust.second_pass_flows",
    "film.scratches": "film.scratch.enabled",
    "film.scratch_threshold": "film.scratch.threshold",
    "film.scratch_min_length": "film.scratch.min_length",
    "film.scratch_max_width": "film.scratch.max_width",
    "film.scratch_persistence": "film.scratch.persistence",
    "film.denoise_strength": "film.denoise.strength",
    "film.regrain": "film.grain.sigma",
    "film.regrain_size": "film.grain.size",
    "film.seed": "film.grain.seed",
}
