"""Our DDIM / DPM-Solver++ against diffusers' schedulers, step for step; contract and determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vidrestore.restore.diffusion.samplers import DDIMSampler, DPMSolverPPSampler, build_sampler
from vidrestore.restore.diffusion.schedule import NoiseSchedule, cosine_betas

SD_CONFIG = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
             "steps_offset": 1, "set_alpha_to_one": False, "clip_sample": False}


def _fake_model(x: torch.Tensor, t: int) -> torch.Tensor:
    """A smooth deterministic stand-in for a network (its output depends on x and t)."""
    return torch.tanh(x * 0.7 + math.sin(t / 97.0)) * 0.9 + 0.1 * torch.roll(x, 1, dims=-1)


def _run(sampler, x: torch.Tensor, steps: int, strength: float = 1.0) -> tuple[torch.Tensor, list[int]]:
    if strength < 1.0:
        sampler.set_timesteps(steps, strength=strength)
    else:
        sampler.set_timesteps(steps)
    for t in sampler.timesteps:
        x = sampler.step(_fake_model(x, int(t)), t, x).prev_sample
    return x, [int(t) for t in sampler.timesteps]


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
@pytest.mark.parametrize(("spacing", "beta_schedule"), [("leading", "scaled_linear"), ("trailing", "linear"),
                                                         ("leading", "squaredcos_cap_v2")])
def test_ddim_matches_diffusers(prediction_type: str, spacing: str, beta_schedule: str) -> None:
    from diffusers import DDIMScheduler

    cfg = dict(SD_CONFIG, prediction_type=prediction_type, timestep_spacing=spacing, beta_schedule=beta_schedule)
    theirs = DDIMScheduler(**cfg)
    ours = DDIMSampler(schedule=NoiseSchedule.from_config(cfg))
    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    # 10 steps: 1000 / 10 is whole, where diffusers' ``t - N // n`` is the next timestep, as ours always is
    ref, ref_ts = _run(theirs, x.clone(), 10)
    got, got_ts = _run(ours, x.clone(), 10)
    assert got_ts == ref_ts
    assert torch.allclose(got, ref, atol=1e-4, rtol=1e-4), (got - ref).abs().max()


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
@pytest.mark.parametrize(("spacing", "steps"), [("linspace", 10), ("leading", 20), ("trailing", 8)])
def test_dpmpp_2m_matches_diffusers(prediction_type: str, spacing: str, steps: int) -> None:
    from diffusers import DPMSolverMultistepScheduler

    cfg = dict(SD_CONFIG, prediction_type=prediction_type, timestep_spacing=spacing)
    theirs = DPMSolverMultistepScheduler(**{k: v for k, v in cfg.items() if k not in ("set_alpha_to_one", "clip_sample")},
                                         algorithm_type="dpmsolver++", solver_order=2)
    ours = DPMSolverPPSampler(schedule=NoiseSchedule.from_config(cfg), solver_order=2)
    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(2))
    ref, ref_ts = _run(theirs, x.clone(), steps)
    got, got_ts = _run(ours, x.clone(), steps)
    assert got_ts == ref_ts
    assert torch.allclose(got, ref, atol=2e-4, rtol=1e-4), (got - ref).abs().max()


def test_strength_runs_the_tail_of_the_trajectory() -> None:
    sched = NoiseSchedule.from_config(SD_CONFIG)
    s = DDIMSampler(schedule=sched)
    s.set_timesteps(20)
    full = [int(t) for t in s.timesteps]
    s.set_timesteps(20, strength=0.5)
    assert [int(t) for t in s.timesteps] == full[10:]
    assert s.start_timestep == full[10]
    s.set_timesteps(20, strength=0.01)  # never zero steps
    assert len(s.timesteps) == 1


def test_cosine_schedule_is_the_squaredcos_formula() -> None:
    betas = cosine_betas(1000)
    ab = np.cumprod(1 - betas)
    f = lambda s: math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    assert abs(ab[499] - f(0.5) / f(0.0)) < 1e-9
    assert betas.max() <= 0.999
    sched = NoiseSchedule.from_config({"beta_schedule": "linear"}, beta_schedule="cosine")
    assert sched.beta_schedule == "squaredcos_cap_v2"
    assert np.allclose(sched.alphas_cumprod, ab)


def test_contract_errors_are_loud() -> None:
    s = build_sampler("dpmpp", schedule=NoiseSchedule.default())
    x = torch.zeros(1, 4, 4, 4)
    with pytest.raises(ValueError, match="set_timesteps"):
        s.step(x, 999, x)
    s.set_timesteps(5)
    with pytest.raises(ValueError, match="expects timestep"):
        s.step(x, int(s.timesteps[1]), x)
    with pytest.raises(ValueError, match="num_inference_steps"):
        s.set_timesteps(0)


def test_ddim_eta_is_seed_deterministic() -> None:
    sched = NoiseSchedule.default()
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(3))
    outs = []
    for seed in (5, 5, 6):
        s = DDIMSampler(schedule=sched, eta=1.0)
        s.set_timesteps(6)
        g = torch.Generator().manual_seed(seed)
        y = x.clone()
        for t in s.timesteps:
            y = s.step(_fake_model(y, int(t)), t, y, generator=g).prev_sample
        outs.append(y)
    assert torch.equal(outs[0], outs[1])
    assert (outs[0] - outs[2]).abs().max() > 1e-3


def test_edited_denoised_drives_the_final_sample() -> None:
    """At the last step the clean end is reached: the output is exactly the (edited) x0."""
    for s in (DDIMSampler(schedule=NoiseSchedule.from_config(dict(SD_CONFIG, set_alpha_to_one=True))),
              DPMSolverPPSampler(schedule=NoiseSchedule.default())):
        s.set_timesteps(4)
        x = torch.randn(1, 4, 4, 4)
        for i, t in enumerate(s.timesteps):
            x0 = s.predict_denoised(_fake_model(x, int(t)), t, x)
            if i == len(s.timesteps) - 1:
                x0 = torch.full_like(x0, 0.25)
            x = s.step_denoised(x0, t, x).prev_sample
        assert torch.allclose(x, torch.full_like(x, 0.25), atol=1e-6)
