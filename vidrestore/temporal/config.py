"""Config section ``temporal.*``: sliding windows and how aligned neighbours are blended.

Field help lives in each field's ``metadata["help"]`` (see vidrestore.sections).
"""

from __future__ import annotations

from dataclasses import dataclass

from vidrestore.sections import check, knob


@dataclass(frozen=True)
class TemporalConfig:
    enabled: bool = knob(False, "GAN restorers: blend flow-aligned neighbours into each frame (temporal consistency)")
    window: int = knob(5, "frames in a sliding window (GAN fusion: a centred window, t-2 .. t+2 for 5; diffusion: "
                          "frames denoised together)")
    overlap: int = knob(2, "frames shared by consecutive windows (diffusion: carried from the previous window, their "
                           "latents join the next)")
    strength: float = knob(0.6, "how strongly aligned neighbours are blended in: weight of a neighbour one frame away"
                                " (its square two frames away), before masks; 0 = off")
    latent_consistency: bool = knob(True, "diffusion: blend each frame's latent with its predecessor's, warped by the"
                                          " input's flow")
    error_scale: float = knob(0.05, "GAN fusion: input warp error (0..1 units) at which a neighbour's weight halves")
    noise_gate: float = knob(4.0, "GAN fusion: error_scale grows by this x the pair's residual level (grain, noise, "
                                  "sub-pixel misfit); 0 = off")
    noise_cap: float = knob(0.03, "GAN fusion: residual level at which that growth has faded to half (a cut, a flash)")
    flicker_offset: bool = knob(False, "GAN fusion: a pair's brightness offset is not warp error; each frame keeps "
                                       "its own")

    def __post_init__(self) -> None:
        check("temporal.error_scale", self.error_scale > 0, "must be > 0")
        check("temporal.noise_gate", self.noise_gate >= 0, "must be >= 0")
        check("temporal.noise_cap", self.noise_cap > 0, "must be > 0")
        check("temporal.window", self.window >= 1, "must be >= 1")
        check("temporal.overlap", 0 <= self.overlap < max(self.window, 1), "must satisfy 0 <= overlap < window")
        check("temporal.strength", 0.0 <= self.strength <= 1.0, "must be in [0, 1]")
