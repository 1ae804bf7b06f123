"""DDIM and DPM-Solver++ (2M) samplers, written out, with diffusers' scheduler contract.

Contract (that of ``diffusers`` schedulers): ``set_timesteps(n, device)`` then, for each ``t`` in
``sampler.timesteps``, ``sampler.step(model_output, t, sample).prev_sample``. Misuse fails loudly.
Two additions make restoration and video consistency possible without touching the math:

* ``set_timesteps(n, strength=s)`` keeps only the last ``s`` part of the trajectory (img2img /
  SDEdit): the input is noised to ``sampler.start_timestep`` with :meth:`Sampler.add_noise` and
  ``int(n * s)`` steps (at least one) are run, so structure survives.
* Each step is split in two: :meth:`Sampler.predict_denoised` turns the model output into the
  predicted clean sample ``x0`` (data prediction), the caller may change ``x0`` (temporal
  consistency, DDNM range-null-space projection, tile fusion), and :meth:`Sampler.step_denoised`
  moves ``x_t`` to the next timestep from that ``x0``. ``step`` is the two in a row.

All coefficients are Python floats computed in float64; tensors keep their dtype (run the sampler
on float32 latents even when the network runs in half precision). Both samplers are deterministic:
DDIM with ``eta=0`` and DPM-Solver++ use no noise after the start; DDIM with ``eta>0`` takes noise
from the ``noise`` argument or the given ``torch.Generator``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from vidrestore.errors import ConfigError
from vidrestore.restore.diffusion.schedule import NoiseSchedule

if TYPE_CHECKING:
    import torch

SAMPLERS = ("ddim", "dpmpp")


@dataclass
class SamplerOutput:
    """What ``step`` returns: the sample at the next timestep and the ``x0`` it was computed from."""

    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


class Sampler(ABC):
    """Shared bookkeeping: timesteps, img2img strength, step counting, x0 conversion."""

    name: str = ""
    order: int = 1

    def __init__(self, *, schedule: NoiseSchedule) -> None:
        self.schedule = schedule
        self._timesteps: list[int] = []
        self._index = 0
        self.num_inference_steps: int | None = None
        self.timesteps: torch.Tensor | None = None

    # ------------------------------------------------------------------ timesteps
    @abstractmethod
    def _full_timesteps(self, n: int) -> list[int]:
        """The ``n`` descending training timesteps of a full (strength 1) run."""

    def set_timesteps(self, num_inference_steps: int, device: str | torch.device | None = None, *,
                      strength: float = 1.0) -> None:
        import torch

        n_train = self.schedule.num_train_timesteps
        if not 1 <= num_inference_steps <= n_train:
            raise ValueError(f"num_inference_steps must be in [1, {n_train}], got {num_inference_steps}")
        if not 0.0 < strength <= 1.0:
            raise ValueError(f"strength must be in (0, 1], got {strength}")
        full = self._full_timesteps(num_inference_steps)
        keep = min(max(int(num_inference_steps * strength), 1), num_inference_steps)
        self._timesteps = full[num_inference_steps - keep:]
        self._on_timesteps(full, num_inference_steps - keep)
        self.num_inference_steps = len(self._timesteps)
        self.timesteps = torch.tensor(self._timesteps, dtype=torch.int64, device=device)
        self._index = 0

    def _on_timesteps(self, full: list[int], skipped: int) -> None:
        """Hook for samplers that keep per-step state (sigmas)."""

    @property
    def start_timestep(self) -> int:
        """The timestep the start sample must be noised to (the first of ``timesteps``)."""
        self._check_ready()
        return self._timesteps[0]

    @property
    def step_index(self) -> int:
        return self._index

    def _check_ready(self) -> None:
        if not self._timesteps:
            raise ValueError("Number of inference steps is not set: call set_timesteps() before sampling")

    def _enter_step(self, timestep: int | torch.Tensor) -> int:
        self._check_ready()
        if self._index >= len(self._timesteps):
            raise ValueError(f"all {len(self._timesteps)} steps were already taken; call set_timesteps() again")
        t = int(timestep)
        expected = self._timesteps[self._index]
        if t != expected:
            raise ValueError(f"step {self._index} expects timestep {expected}, got {t}")
        return t

    # ------------------------------------------------------------------ noise
    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, timestep: int | None = None) -> torch.Tensor:
        """Noise a clean sample to ``timestep`` (default: the start timestep)."""
        t = self.start_timestep if timestep is None else int(timestep)
        return self.schedule.add_noise(x0, noise, t)

    # ------------------------------------------------------------------ model output -> x0
    def predict_denoised(self, model_output: torch.Tensor, timestep: int | torch.Tensor,
                         sample: torch.Tensor) -> torch.Tensor:
        """Predicted clean sample ``x0`` for this step's model output (clipped when the config says so)."""
        t = int(timestep)
        ab = self.schedule.alpha_bar(t)
        a, s = math.sqrt(ab), math.sqrt(1.0 - ab)
        kind = self.schedule.prediction_type
        if kind == "epsilon":
            x0 = (sample - model_output * s) / a
        elif kind == "v_prediction":
            x0 = sample * a - model_output * s
        else:
            x0 = model_output
        if self.schedule.clip_sample:
            r = self.schedule.clip_sample_range
            x0 = x0.clamp(-r, r)
        return x0

    def epsilon_from(self, denoised: torch.Tensor, timestep: int, sample: torch.Tensor) -> torch.Tensor:
        """The noise that takes ``denoised`` to ``sample`` at ``timestep``."""
        ab = self.schedule.alpha_bar(int(timestep))
        return (sample - denoised * math.sqrt(ab)) / math.sqrt(1.0 - ab)

    # ------------------------------------------------------------------ stepping
    @abstractmethod
    def step_denoised(self, denoised: torch.Tensor, timestep: int | torch.Tensor, sample: torch.Tensor, *,
                      noise: torch.Tensor | None = None,
                      generator: torch.Generator | None = None) -> SamplerOutput:
        """Move ``sample`` from ``timestep`` to the next one, given the (possibly edited) ``x0``."""

    def step(self, model_output: torch.Tensor, timestep: int | torch.Tensor, sample: torch.Tensor, *,
             noise: torch.Tensor | None = None, generator: torch.Generator | None = None,
             return_dict: bool = True) -> SamplerOutput | tuple[torch.Tensor]:
        """diffusers-style step: model output in, ``SamplerOutput`` (or ``(prev_sample,)``) out."""
        x0 = self.predict_denoised(model_output, timestep, sample)
        out = self.step_denoised(x0, timestep, sample, noise=noise, generator=generator)
        return out if return_dict else (out.prev_sample,)


class DDIMSampler(Sampler):
    """DDIM (Song et al. 2021): ``x_prev = sqrt(ab_prev) x0 + sqrt(1 - ab_prev - s^2) eps + s z``.

    ``eta`` scales ``s`` (0 = deterministic DDIM, 1 = DDPM-like ancestral noise). The previous
    timestep is the next one in ``timesteps`` (``-1`` after the last: the clean end).
    """

    name = "ddim"
    order = 1

    def __init__(self, *, schedule: NoiseSchedule, eta: float = 0.0) -> None:
        super().__init__(schedule=schedule)
        if eta < 0:
            raise ValueError(f"eta must be >= 0, got {eta}")
        self.eta = float(eta)

    def _full_timesteps(self, n: int) -> list[int]:
        n_train = self.schedule.num_train_timesteps
        spacing = self.schedule.timestep_spacing
        if spacing == "leading":
            ratio = n_train // n
            ts = (np.arange(0, n) * ratio)[::-1] + self.schedule.steps_offset
        elif spacing == "trailing":
            ts = np.round(np.arange(n_train, 0, -n_train / n)).astype(np.int64) - 1
        else:  # linspace
            ts = np.linspace(0, n_train - 1, n).round()[::-1]
        return [int(min(max(t, 0), n_train - 1)) for t in ts]

    def _prev_timestep(self) -> int:
        nxt = self._index + 1
        return self._timesteps[nxt] if nxt < len(self._timesteps) else -1

    def step_denoised(self, denoised: torch.Tensor, timestep: int | torch.Tensor, sample: torch.Tensor, *,
                      noise: torch.Tensor | None = None,
                      generator: torch.Generator | None = None) -> SamplerOutput:
        t = self._enter_step(timestep)
        prev_t = self._prev_timestep()
        ab, ab_prev = self.schedule.alpha_bar(t), self.schedule.alpha_bar(prev_t)
        eps = self.epsilon_from(denoised, t, sample)
        variance = (1.0 - ab_prev) / (1.0 - ab) * (1.0 - ab / ab_prev)
        std = self.eta * math.sqrt(max(variance, 0.0))
        prev = denoised * math.sqrt(ab_prev) + eps * math.sqrt(max(1.0 - ab_prev - std * std, 0.0))
        if std > 0:
            if noise is None:
                import torch

                noise = torch.randn(sample.shape, generator=generator, dtype=torch.float32,
                                    device=generator.device if generator is not None else sample.device)
                noise = noise.to(device=sample.device, dtype=sample.dtype)
            prev = prev + noise * std
        self._index += 1
        return SamplerOutput(prev_sample=prev, pred_original_sample=denoised)


class DPMSolverPPSampler(Sampler):
    """DPM-Solver++ (Lu et al. 2022), multistep, data prediction, order 1 or 2 ("2M", midpoint).

    With ``alpha_t = 1/sqrt(1 + sigma^2)``, ``sigma_t = sigma alpha_t`` and ``lambda = log(alpha_t / sigma_t)``,
    a first-order step is ``x_t = (sigma_t / sigma_s) x_s - alpha_t (exp(-h) - 1) x0`` with ``h = lambda_t - lambda_s``;
    the second-order step adds ``-0.5 alpha_t (exp(-h) - 1) (x0_s - x0_{s-1}) / r`` with ``r = h_prev / h``.
    The first step, and the last (whose sigma is 0), are first order, as in diffusers.
    """

    name = "dpmpp"

    def __init__(self, *, schedule: NoiseSchedule, solver_order: int = 2) -> None:
        super().__init__(schedule=schedule)
        if solver_order not in (1, 2):
            raise ValueError(f"solver_order must be 1 or 2, got {solver_order}")
        self.order = solver_order
        self._sigmas: list[float] = []
        self._history: list[torch.Tensor] = []

    def _full_timesteps(self, n: int) -> list[int]:
        n_train = self.schedule.num_train_timesteps
        spacing = self.schedule.timestep_spacing
        if spacing == "leading":
            ratio = n_train // (n + 1)
            ts = (np.arange(0, n + 1) * ratio).round()[::-1][:-1] + self.schedule.steps_offset
        elif spacing == "trailing":
            ts = np.arange(n_train, 0, -n_train / n).round() - 1
        else:  # linspace
            ts = np.linspace(0, n_train - 1, n + 1).round()[::-1][:-1]
        return [int(min(max(t, 0), n_train - 1)) for t in ts]

    def _on_timesteps(self, full: list[int], skipped: int) -> None:
        ab = self.schedule.alphas_cumprod
        sig = [math.sqrt((1.0 - ab[t]) / ab[t]) for t in full[skipped:]]
        self._sigmas = sig + [0.0]
        self._history = []

    @staticmethod
    def _alpha_sigma_lambda(sigma: float) -> tuple[float, float, float]:
        alpha = 1.0 / math.sqrt(sigma * sigma + 1.0)
        sig = sigma * alpha
        lam = math.log(alpha) - math.log(sig) if sig > 0 else math.inf
        return alpha, sig, lam

    def step_denoised(self, denoised: torch.Tensor, timestep: int | torch.Tensor, sample: torch.Tensor, *,
                      noise: torch.Tensor | None = None,
                      generator: torch.Generator | None = None) -> SamplerOutput:
        self._enter_step(timestep)
        i = self._index
        a_s, s_s, lam_s = self._alpha_sigma_lambda(self._sigmas[i])
        a_t, s_t, lam_t = self._alpha_sigma_lambda(self._sigmas[i + 1])
        self._history = (self._history + [denoised])[-2:]
        last = i == len(self._timesteps) - 1
        # exp(-h) - 1 with h = lam_t - lam_s; at the clean end (sigma_t = 0) h is infinite
        expm = -1.0 if math.isinf(lam_t) else math.expm1(-(lam_t - lam_s))
        ratio = s_t / s_s
        prev = sample * ratio - denoised * (a_t * expm)
        if self.order == 2 and i >= 1 and not last and len(self._history) == 2:
            _, _, lam_p = self._alpha_sigma_lambda(self._sigmas[i - 1])
            r = (lam_s - lam_p) / (lam_t - lam_s)
            d1 = (self._history[1] - self._history[0]) / r
            prev = prev - d1 * (0.5 * a_t * expm)
        self._index += 1
        return SamplerOutput(prev_sample=prev, pred_original_sample=denoised)


def build_sampler(name: str, *, schedule: NoiseSchedule, eta: float = 0.0) -> Sampler:
    """``ddim`` or ``dpmpp`` (DPM-Solver++ 2M)."""
    if name == "ddim":
        return DDIMSampler(schedule=schedule, eta=eta)
    if name in ("dpmpp", "dpmpp_2m", "dpm-solver++"):
        return DPMSolverPPSampler(schedule=schedule, solver_order=2)
    raise ConfigError(f"sampler {name!r} is not one of {', '.join(SAMPLERS)}")
