"""Config section ``flow.*``: which optical-flow estimator, at what cost, and where scenes cut.

Field help lives in each field's ``metadata["help"]`` (see vidrestore.sections).
"""

from __future__ import annotations

from dataclasses import dataclass

from vidrestore.sections import check, choice, knob


@dataclass(frozen=True)
class FlowConfig:
    method: str = knob("auto", "auto (RAFT when its weights are present offline, else DIS) | dis | raft-small | raft-"
                               "large | farneback")
    weights: str | None = knob(None, "RAFT checkpoint path (else resolved from the registry)")
    iterations: int = knob(12, "RAFT update iterations")
    dis_preset: str = knob("medium", "DIS preset: fast | medium (ultrafast allowed)")
    dis_finest_scale: int | None = knob(None, "DIS: pyramid level where patch search stops (None: the preset's; 0 = "
                                              "full res)")
    downscale: float = knob(1.0, "estimate flow at 1/downscale resolution, then upsample")
    occlusion_threshold: float = knob(1.0, "forward-backward consistency tolerance (px, plus a relative term)")
    scene_cut: bool = knob(True, "detect scene cuts so alignment never crosses one (interpolation repeats the nearest"
                                 " frame at a cut)")
    scene_cut_threshold: float = knob(0.2, "histogram distance (0..1) above which a cut may be declared (see "
                                           "flow/scenecut.py)")

    def __post_init__(self) -> None:
        choice("flow.method", self.method, ("auto", "dis", "raft-small", "raft-large", "farneback"))
        choice("flow.dis_preset", self.dis_preset, ("ultrafast", "fast", "medium"))
        check("flow.dis_finest_scale", self.dis_finest_scale is None or 0 <= self.dis_finest_scale <= 4,
              "must be null or in [0, 4]")
        check("flow.iterations", self.iterations >= 1, "must be >= 1")
        check("flow.downscale", self.downscale >= 1.0, "must be >= 1")
        check("flow.occlusion_threshold", self.occlusion_threshold > 0, "must be > 0 (pixels)")
        check("flow.scene_cut_threshold", 0.0 < self.scene_cut_threshold < 1.0, "must be in (0, 1)")
