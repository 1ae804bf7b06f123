"""The training noise schedule of a diffusion model, read from a diffusers ``scheduler_config.json``.

Conventions (those of DDPM/diffusers): ``alphas_cumprod[t] = prod_{i<=t} (1 - beta_i)`` for the
training timesteps ``t = 0 .. N-1``; a noisy sample is ``x_t = sqrt(ab_t) x_0 + sqrt(1 - ab_t) eps``.
The model predicts ``eps`` (``prediction_type="epsilon"``), ``v = sqrt(ab_t) eps - sqrt(1 - ab_t) x_0``
(``"v_prediction"``) or ``x_0`` itself (``"sample"``).

Beta schedules: ``linear``, ``scaled_linear`` (Stable Diffusion) and the cosine schedule of
Nichol & Dhariwal, named ``squaredcos_cap_v2`` by diffusers (``cosine`` is accepted as an alias).
Arrays are float64 numpy: every per-step coefficient is a Python float, so the samplers work the
same for float32, float16 or bfloat16 latents.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from vidrestore.errors import ConfigError

BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")
PREDICTION_TYPES = ("epsilon", "v_prediction", "sample")
TIMESTEP_SPACINGS = ("leading", "trailing", "linspace")


def cosine_betas(num_train_timesteps: int, max_beta: float = 0.999) -> np.ndarray:
    """Betas of the cosine schedule: ``ab(s) = cos^2((s + 0.008) / 1.008 * pi / 2)``, ``s = t / N``."""

    def alpha_bar(s: float) -> float:
        return math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2

    n = num_train_timesteps
    return np.array([min(1.0 - alpha_bar((i + 1) / n) / alpha_bar(i / n), max_beta) for i in range(n)])


def make_betas(name: str, num_train_timesteps: int, beta_start: float, beta_end: float) -> np.ndarray:
    """Training betas for one of :data:`BETA_SCHEDULES` (float64)."""
    if name == "linear":
        return np.linspace(beta_start, beta_end, num_train_timesteps, dtype=np.float64)
    if name == "scaled_linear":
        return np.linspace(beta_start**0.5, beta_end**0.5, num_train_timesteps, dtype=np.float64) ** 2
    if name in ("squaredcos_cap_v2", "cosine"):
        return cosine_betas(num_train_timesteps)
    raise ConfigError(f"beta schedule {name!r} is not supported (use one of {', '.join(BETA_SCHEDULES)} or cosine)")


def rescale_zero_terminal_snr(alphas_cumprod: np.ndarray) -> np.ndarray:
    """Shift and scale ``sqrt(ab)`` so the last timestep has zero SNR (Lin et al. 2023)."""
    root = np.sqrt(alphas_cumprod)
    first, last = root[0], root[-1]
    root = (root - last) * first / (first - last)
    out = root**2
    out[-1] = 2.0**-24  # keep x_0 = (x_t - sigma eps) / alpha finite at the last timestep
    return out


@dataclass(frozen=True)
class NoiseSchedule:
    """A model's training schedule and the conventions its scheduler config states."""

    alphas_cumprod: np.ndarray  # (N,) float64
    prediction_type: str = "epsilon"
    timestep_spacing: str = "leading"
    steps_offset: int = 0
    set_alpha_to_one: bool = True
    clip_sample: bool = False
    clip_sample_range: float = 1.0
    beta_schedule: str = "linear"

    def __post_init__(self) -> None:
        if self.prediction_type not in PREDICTION_TYPES:
            raise ConfigError(f"prediction_type {self.prediction_type!r} is not one of {', '.join(PREDICTION_TYPES)}")
        if self.timestep_spacing not in TIMESTEP_SPACINGS:
            raise ConfigError(f"timestep_spacing {self.timestep_spacing!r} is not one of {', '.join(TIMESTEP_SPACINGS)}")

    @property
    def num_train_timesteps(self) -> int:
        return int(self.alphas_cumprod.shape[0])

    def alpha_bar(self, t: int) -> float:
        """``ab_t`` for a training timestep; ``t < 0`` is the clean end (1, or ab_0 without set_alpha_to_one)."""
        if t < 0:
            return 1.0 if self.set_alpha_to_one else float(self.alphas_cumprod[0])
        return float(self.alphas_cumprod[t])

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, beta_schedule: str | None = None,
                    prediction_type: str | None = None) -> NoiseSchedule:
        """Build from a diffusers scheduler config (any of DDPM/DDIM/DPM-Solver/PNDM/Euler's keys).

        ``beta_schedule`` overrides the config's schedule (``cosine`` = ``squaredcos_cap_v2``): only
        meaningful for a model trained with that schedule.
        """
        n = int(config.get("num_train_timesteps", 1000))
        name = beta_schedule or str(config.get("beta_schedule", "linear"))
        if name == "cosine":
            name = "squaredcos_cap_v2"
        trained = config.get("trained_betas")
        if trained is not None and beta_schedule is None:
            betas = np.asarray(trained, dtype=np.float64)
            n = int(betas.shape[0])
        else:
            betas = make_betas(name, n, float(config.get("beta_start", 1e-4)), float(config.get("beta_end", 0.02)))
        alphas_cumprod = np.cumprod(1.0 - betas)
        if config.get("rescale_betas_zero_snr", False):
            alphas_cumprod = rescale_zero_terminal_snr(alphas_cumprod)
        spacing = str(config.get("timestep_spacing", "leading"))
        if spacing not in TIMESTEP_SPACINGS:
            spacing = "leading"
        return cls(
            alphas_cumprod=alphas_cumprod,
            prediction_type=prediction_type or str(config.get("prediction_type", "epsilon")),
            timestep_spacing=spacing,
            steps_offset=int(config.get("steps_offset", 0)),
            set_alpha_to_one=bool(config.get("set_alpha_to_one", True)),
            clip_sample=bool(config.get("clip_sample", False)),
            clip_sample_range=float(config.get("clip_sample_range", 1.0)),
            beta_schedule=name,
        )

    @classmethod
    def default(cls, *, beta_schedule: str = "scaled_linear", prediction_type: str = "epsilon") -> NoiseSchedule:
        """Stable Diffusion's schedule (scaled_linear 0.00085 .. 0.012, 1000 steps)."""
        return cls.from_config({"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": beta_schedule,
                                "prediction_type": prediction_type, "steps_offset": 1})

    def add_noise(self, x0: Any, noise: Any, t: int) -> Any:
        """``sqrt(ab_t) x0 + sqrt(1 - ab_t) noise`` (tensors of any dtype, one timestep for the batch)."""
        ab = self.alpha_bar(t)
        return x0 * math.sqrt(ab) + noise * math.sqrt(1.0 - ab)
