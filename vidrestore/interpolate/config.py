"""Config section ``interpolate.*``: frame-rate conversion (flow synthesis or RIFE).

Field help lives in each field's ``metadata["help"]`` (see vidrestore.sections).
"""

from __future__ import annotations

from dataclasses import dataclass

from vidrestore.sections import check, check_rate, choice, knob


@dataclass(frozen=True)
class InterpolateConfig:
    """``vidrestore interpolate``: frame-rate conversion by flow-based synthesis (issue 8).

    ``fps`` (when set) wins over ``factor``. See vidrestore/interpolate/timing.py for where frames go.
    """

    factor: int = knob(2, "output frames per input frame: input k becomes output factor*k, factor-1 made between")
    fps: str | None = knob(None, "target rate instead of a factor: \"60\", \"59.94\" or \"60000/1001\"")
    end: str = knob("hold", "hold (last input shown for its whole duration: audio length kept) | last (stop on it)")
    refine: bool = knob(False, "residual flow between the two warped candidates (one more flow per new frame; see "
                               "docs/BENCHMARKS.md, Frame interpolation)")
    acceleration: bool = knob(True, "quadratic motion from the frames before and after each pair (as in QVI)")
    warp: str = knob("bicubic", "colour resampling: bicubic | bilinear (softer)")
    alpha: float = knob(10.0, "splat importance: photometric error weight")
    beta: float = knob(4.0, "splat importance: (1 - forward-backward confidence) weight")
    agreement_px: float = knob(10.0, "visibility: motion disagreement (px) at which a frame's weight halves")
    agreement_rel: float = knob(1.0, "... plus this share of the motion")
    order: str = knob("auto", "with restorer.scale != 1: auto (the cheaper, timed at start-up) | interpolate-first | "
                              "upscale-first")
    method: str = knob("auto", "auto (rife when 'vidrestore weights import-rife' has stored its weights, else flow) |"
                               " rife | flow (DIS + softmax splatting)")
    rife_weights: str | None = knob(None, "explicit RIFE checkpoint (flownet.pkl, sha256-checked, or the imported "
                                          ".safetensors)")
    rife_tta: int = knob(4, "rife: mirrored passes whose flows are averaged (1, 2 or 4); 1 is upstream RIFE and the "
                            "fastest")
    rife_fallback: bool = knob(True, "rife: blend where warping makes the frames less alike, nearest frame on a cut")
    rife_ensemble: bool = knob(True, "rife: mix in the flow synthesizer's frame, weighted per pair by how well each "
                                     "rebuilds the pair's own frames from their neighbours (about 1.4x the time); "
                                     "off = RIFE alone", before=False)
    rife_precision: str = knob("auto", "rife: auto (fp16 on CUDA, fp32 on CPU) | fp32 | bf16 | fp16")
    rife_scale: float = knob(0.0, "rife: network scale (0 = 1, or 0.5 for frames over 2200 px)")

    def __post_init__(self) -> None:
        choice("interpolate.method", self.method, ("auto", "rife", "flow"))
        check("interpolate.rife_tta", self.rife_tta in (1, 2, 4), "must be 1, 2 or 4")
        choice("interpolate.rife_precision", self.rife_precision, ("auto", "fp32", "bf16", "fp16"))
        check("interpolate.rife_scale", self.rife_scale in (0.0, 0.25, 0.5, 1.0, 2.0),
              "must be 0 (auto), 0.25, 0.5, 1 or 2")
        check("interpolate.factor", 1 <= self.factor <= 64, "must be in [1, 64]")
        check_rate("interpolate.fps", self.fps, "60 or 60000/1001")
        choice("interpolate.end", self.end, ("hold", "last"))
        choice("interpolate.warp", self.warp, ("bicubic", "bilinear"))
        choice("interpolate.order", self.order, ("auto", "interpolate-first", "upscale-first"))
        check("interpolate.alpha", self.alpha >= 0, "must be >= 0")
        check("interpolate.beta", self.beta >= 0, "must be >= 0")
        check("interpolate.agreement_px", self.agreement_px > 0, "must be > 0 (pixels)")
        check("interpolate.agreement_rel", self.agreement_rel >= 0, "must be >= 0")
