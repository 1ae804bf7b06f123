"""Config section ``decloud.*``: satellite time-series cloud/shadow detection and filling.

The knobs are grouped the way a run uses them: ``decloud.input.*`` (finding the dates and bands),
the mask-file keys and ``bands``/``buffer`` at the top (they describe the data and every final
mask, whatever made it), ``decloud.detect.*``, ``decloud.align.*``, ``decloud.fill.*`` and
``decloud.output.*``. The flat keys of earlier releases (``decloud.pattern``, ``decloud.detect:
auto`` ...) still load through :data:`RENAMES`, with one deprecation line each.

Thresholds are in reflectance units (pixel value / ``input.reflectance_scale``); distances in
pixels. Field help lives in each field's ``metadata["help"]`` (see vidrestore.sections).
"""

from __future__ import annotations

from dataclasses import dataclass

from vidrestore.sections import check, choice, knob

#: Sentinel-2 and Landsat roles a band may be mapped to; the b.. roles are s2cloudless's L1C bands.
ROLES = ("blue", "green", "red", "nir", "swir1", "swir2", "b01", "b02", "b04", "b05", "b08", "b8a", "b09",
         "b10", "b11", "b12")


@dataclass(frozen=True)
class DecloudInput:
    """How the dates and bands of the series are found and read."""

    pattern: str | None = knob(None, "per-band files: template with {date} and {band}, e.g. \"S2_{date}_{band}.tif\"")
    band_order: tuple[str, ...] = knob((), "per-band files: band names in output order (default: natural sort)")
    bands_per_date: int = knob(0, "multi-date stack: bands of one date (0 = from the dates found in tags)")
    dates_from: str = knob("auto", "auto (name, then tags) | name | tags")
    date_format: str | None = knob(None, "strptime format of the date in names, e.g. \"%Y%j\" (default: YYYYMMDD "
                                         "forms)")
    reproject: bool = knob(False, "warp dates on another CRS/grid onto the first date's grid instead of refusing them")
    resampling: str = knob("cubic", "cubic | bilinear: sub-pixel alignment and reprojection")
    reflectance_scale: float = knob(0.0, "value of reflectance 1.0 (--scale); 0 = from dtype (255, 10000, 1), or for "
                                         "csmask learned from the band statistics (learned.learn_scale)")

    def __post_init__(self) -> None:
        choice("decloud.input.dates_from", self.dates_from, ("auto", "name", "tags"))
        choice("decloud.input.resampling", self.resampling, ("bilinear", "cubic"))
        check("decloud.input.bands_per_date", self.bands_per_date >= 0, "must be >= 0")
        check("decloud.input.reflectance_scale", self.reflectance_scale >= 0, "must be >= 0 (0 = from dtype)")


@dataclass(frozen=True)
class DecloudDetect:
    """Which pixels are cloud or shadow, on dates without a mask file (or beside one)."""

    mode: str = knob("auto", "auto (dates without a mask file) | always (mask files + what detection is sure of) | "
                             "never")
    detector: str = knob("auto", "auto | spectral | csmask | s2cloudless: which detector (auto: a learned one whose "
                                 "bands are mapped and whose package is installed, else spectral; logged)")
    product_level: str = knob("l1c", "csmask model: l1c (top of atmosphere) | l2a (surface reflectance)")
    learned_probability: float = knob(0.5, "csmask: a pixel is cloud/shadow when that class is likeliest and this "
                                           "likely")
    s2cloudless_block: int = knob(1, "s2cloudless: classify the mean bands of N x N pixels and bring the probability "
                                     "back bilinearly (Sentinel Hub runs it at 160 m: 16 for 10 m bands, 256x faster); "
                                     "1 = every pixel")
    sure_area: int = knob(16, "mode=always with a mask file: detected regions smaller than this (px) are not added")
    brightness_threshold: float = knob(0.25, "spectral test: mean visible reflectance above which a pixel may be cloud")
    whiteness_threshold: float = knob(0.7, "spectral test: flatness of the visible spectrum (Fmask whiteness)")
    hot_threshold: float = knob(0.08, "haze-optimised transform offset (blue - 0.5 red - this > 0)")
    temporal_threshold: float = knob(0.04, "cloud: brighter than the clear-date background by this much")
    shadow_threshold: float = knob(0.2, "shadow: darker than the background by this fraction")
    shadow_search: int = knob(40, "shadows are looked for within this distance of a cloud (px)")
    shadow_azimuth: float | None = knob(None, "direction shadows fall from clouds, degrees clockwise from image up "
                                              "(sun azimuth + 180); None = estimated per date (all around if unclear)")
    min_dates_temporal: int = knob(3, "valid dates a pixel needs before the temporal test is used")

    def __post_init__(self) -> None:
        choice("decloud.detect.mode", self.mode, ("auto", "always", "never"))
        choice("decloud.detect.detector", self.detector, ("auto", "spectral", "csmask", "s2cloudless"))
        choice("decloud.detect.product_level", self.product_level, ("l1c", "l2a"))
        check("decloud.detect.s2cloudless_block", self.s2cloudless_block >= 1, "must be >= 1")
        check("decloud.detect.learned_probability", 0.0 < self.learned_probability <= 1.0, "must be in (0, 1]")
        check("decloud.detect.sure_area", self.sure_area >= 0, "must be >= 0 px")
        check("decloud.detect.shadow_threshold", 0.0 < self.shadow_threshold < 1.0, "must be in (0, 1)")
        check("decloud.detect.temporal_threshold", self.temporal_threshold > 0, "must be > 0")
        check("decloud.detect.min_dates_temporal", self.min_dates_temporal >= 2, "must be >= 2")
        check("decloud.detect.shadow_search", self.shadow_search >= 0, "must be >= 0")


@dataclass(frozen=True)
class DecloudAlign:
    """Sub-pixel co-registration of the dates before anything is compared or copied between them."""

    enabled: bool = knob(True, "sub-pixel co-registration by phase correlation on clear pixels")
    max_shift: float = knob(16.0, "largest shift accepted between dates (px)")
    chip: int = knob(384, "side of the full-resolution chips the shift is measured on (up to 4 chips)")

    def __post_init__(self) -> None:
        check("decloud.align.max_shift", self.max_shift >= 0, "must be >= 0")
        check("decloud.align.chip", self.chip >= 32, "must be >= 32")


@dataclass(frozen=True)
class DecloudFill:
    """Where masked pixels get their values: other dates first, inpainting for what no date sees."""

    sources_per_side: int = knob(1, "clear observations used before and after the date, per pixel")
    max_days: float = knob(0.0, "ignore sources further away in time (0 = no limit)")
    regression: str = knob("global", "global | local | none: per-band radiometric matching of each source")
    regression_radius: int = knob(10, "local regression window radius (px)")
    inpaint: str = knob("telea", "telea | navier-stokes | diffusion | none: what fills pixels no date sees clear")
    inpaint_radius: int = knob(5, "neighbourhood (px) the classical inpainting reads around each hole pixel")

    def __post_init__(self) -> None:
        choice("decloud.fill.regression", self.regression, ("local", "global", "none"))
        choice("decloud.fill.inpaint", self.inpaint, ("telea", "navier-stokes", "diffusion", "none"))
        check("decloud.fill.sources_per_side", self.sources_per_side >= 1, "must be >= 1")
        check("decloud.fill.max_days", self.max_days >= 0, "must be >= 0 (0 = no limit)")
        for key in ("regression_radius", "inpaint_radius"):
            check(f"decloud.fill.{key}", getattr(self, key) >= 0, "must be >= 0")


@dataclass(frozen=True)
class DecloudOutput:
    """What is written besides the filled dates."""

    composite: str = knob("none", "none | median | best: also write one cloud-free image")
    write_source: bool = knob(True, "<stem>_source.tif: date (YYYYMMDD) each filled pixel came from")
    write_quality: bool = knob(True, "<stem>_quality.tif: how each pixel was obtained")
    quicklook: bool = knob(True, "decloud_quicklook.png: before / mask / after per date")
    quicklook_size: int = knob(160, "thumbnail side (px)")
    cog: bool = knob(False, "image outputs as Cloud-Optimized GeoTIFFs (tiled, overviews; profile kept)")
    stac: bool = knob(False, "a STAC Item JSON per output date (<stem>.stac.json) with mask and quality assets")
    report: bool = knob(True, "decloud_report.json and .txt")
    mask_suffix: str = knob("_mask", "file-name suffix of the written masks (<stem>_mask.tif); inputs ending in it "
                                     "are taken for masks, not dates")

    def __post_init__(self) -> None:
        choice("decloud.output.composite", self.composite, ("none", "median", "best"))
        check("decloud.output.quicklook_size", 16 <= self.quicklook_size <= 2048, "must be in [16, 2048]")
        check("decloud.output.mask_suffix", bool(self.mask_suffix) and "/" not in self.mask_suffix,
              "must be a non-empty file-name suffix")


@dataclass(frozen=True)
class DecloudConfig:
    """``vidrestore decloud``: the whole section (see the module docstring for the grouping)."""

    input: DecloudInput = knob(help="finding and reading the dates and bands", factory=DecloudInput)
    bands: dict[str, str] = knob(help="role -> band, e.g. {blue: 1, green: 2, red: 3, nir: 4}", factory=dict)
    # mask files
    masks: str | None = knob(None, "folder of mask files (matched by date) or template like \"{stem}_SCL.tif\"")
    mask_type: str = knob("auto", "auto | binary | s2cloudless | scl | fmask | qa_pixel | cmask | values")
    qa_confidence: str = knob("medium", "qa_pixel: cloud/shadow confidence (bits 8-11) at or above which a pixel is "
                                        "masked")
    cloud_values: tuple[int, ...] = knob((), "mask values meaning cloud (default: per mask_type)")
    shadow_values: tuple[int, ...] = knob((), "mask values meaning cloud shadow (default: per mask_type)")
    invalid_values: tuple[int, ...] = knob((), "mask values meaning no data (default: per mask_type)")
    probability_threshold: float = knob(0.4, "s2cloudless probability at or above which a pixel is cloud")
    # every final mask
    detect: DecloudDetect = knob(help="detection of cloud and shadow", factory=DecloudDetect)
    buffer: int = knob(1, "dilation of cloud and shadow masks (px); detection grows soft edges itself")
    align: DecloudAlign = knob(help="co-registration of the dates", factory=DecloudAlign)
    fill: DecloudFill = knob(help="filling masked pixels", factory=DecloudFill)
    output: DecloudOutput = knob(help="side outputs", factory=DecloudOutput)
    # the run
    dry_run: bool = knob(False, "write only the masks and the report (what would change, and why)")
    block_size: int = knob(1024, "processing window side (px); shrunk automatically to bound memory")
    gdal_cache_mb: int = knob(128, "GDAL block cache (counts in peak memory)")

    def __post_init__(self) -> None:
        choice("decloud.mask_type", self.mask_type,
               ("auto", "binary", "s2cloudless", "scl", "fmask", "qa_pixel", "cmask", "values"))
        choice("decloud.qa_confidence", self.qa_confidence, ("low", "medium", "high"))
        check("decloud.probability_threshold", 0.0 < self.probability_threshold <= 1.0, "must be in (0, 1]")
        check("decloud.buffer", self.buffer >= 0, "must be >= 0")
        check("decloud.block_size", 64 <= self.block_size <= 8192, "must be in [64, 8192]")
        check("decloud.gdal_cache_mb", self.gdal_cache_mb >= 8, "must be >= 8")
        for role in self.bands:
            choice("decloud.bands", role, ROLES)


def _moved(section: str, *names: str) -> dict[str, str]:
    return {f"decloud.{n}": f"decloud.{section}.{n}" for n in names}


#: Flat keys of earlier releases -> their place now (read by vidrestore.config's loader).
RENAMES: dict[str, str] = {
    **_moved("input", "pattern", "band_order", "bands_per_date", "dates_from", "date_format", "reproject",
             "resampling", "reflectance_scale"),
    "decloud.detect": "decloud.detect.mode",
    **_moved("detect", "detector", "product_level", "learned_probability", "sure_area", "brightness_threshold",
             "whiteness_threshold", "hot_threshold", "temporal_threshold", "shadow_threshold", "shadow_search",
             "shadow_azimuth", "min_dates_temporal"),
    "decloud.align": "decloud.align.enabled",
    "decloud.max_shift": "decloud.align.max_shift",
    "decloud.align_chip": "decloud.align.chip",
    **_moved("fill", "sources_per_side", "max_days", "regression", "regression_radius", "inpaint", "inpaint_radius"),
    **_moved("output", "composite", "write_source", "write_quality", "quicklook", "quicklook_size", "cog", "stac",
             "report", "mask_suffix"),
}
