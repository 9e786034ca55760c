"""Schedules against their papers' closed forms, autograd, and their own inverses."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from audiogen.generative.schedules import CondOT, DiscreteVP, Schedule, VPCosine, VPLinear

DIFFWAVE_BETAS = np.linspace(1e-4, 0.05, 50)

SCHEDULES = {
    "cond_ot": CondOT(),
    "vp_cosine": VPCosine(),
    "vp_cosine_no_offset": VPCosine(offset=0.0),
    "vp_linear": VPLinear(),
    "discrete_vp": DiscreteVP(DIFFWAVE_BETAS.tolist()),
}
VP_SCHEDULES = ["vp_cosine", "vp_cosine_no_offset", "vp_linear", "discrete_vp"]

# Interior times off DiscreteVP's knots (multiples of 1/50), where all schedules are smooth.
INTERIOR = torch.tensor([0.03, 0.17, 0.31, 0.49, 0.63, 0.77, 0.91], dtype=torch.float64)


def song_vp_alpha(t: np.ndarray, beta_min: float = 0.1, beta_max: float = 20.0) -> np.ndarray:
    """Mean coefficient of the VP SDE's perturbation kernel (Song et al. 2021), s = 1 - t."""
    s = 1 - t
    return np.exp(-0.25 * s**2 * (beta_max - beta_min) - 0.5 * s * beta_min)


@pytest.mark.parametrize("name", ["cond_ot", "vp_cosine", "vp_cosine_no_offset"])
def test_flow_and_cosine_endpoints_are_pure_noise_and_pure_data(name: str) -> None:
    alpha, sigma, _, _ = SCHEDULES[name](torch.tensor([0.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(alpha, torch.tensor([0.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(sigma, torch.tensor([1.0, 0.0], dtype=torch.float64))


def test_vp_linear_matches_the_vp_sde_marginal_and_its_endpoints() -> None:
    t = np.linspace(0.0, 1.0, 11)
    alpha, sigma, _, _ = VPLinear()(torch.from_numpy(t))
    np.testing.assert_allclose(alpha.numpy(), song_vp_alpha(t), rtol=1e-12)
    np.testing.assert_allclose(sigma.numpy(), np.sqrt(1 - song_vp_alpha(t) ** 2), rtol=1e-12)
    assert alpha[0].item() == pytest.approx(math.exp(-(20.0 + 0.1) / 4), rel=1e-12)
    assert (alpha[-1].item(), sigma[-1].item()) == (1.0, 0.0)


def test_vp_cosine_matches_nichol_dhariwal_alpha_bar() -> None:
    offset = 0.008
    t = np.linspace(0.0, 1.0, 21)

    def f(s: np.ndarray) -> np.ndarray:
        return np.cos((s + offset) / (1 + offset) * np.pi / 2) ** 2

    alpha, _, _, _ = VPCosine(offset)(torch.from_numpy(t))
    np.testing.assert_allclose(alpha.numpy() ** 2, f(1 - t) / f(np.zeros(1)), atol=1e-14)


def test_discrete_vp_knots_are_ddpm_cumulative_products() -> None:
    schedule = SCHEDULES["discrete_vp"]
    assert isinstance(schedule, DiscreteVP)
    alpha_bars = np.cumprod(1 - DIFFWAVE_BETAS)
    steps = torch.arange(50)
    times = schedule.step_to_t(steps)
    alpha, _, _, _ = schedule(times)
    np.testing.assert_allclose(alpha.numpy() ** 2, alpha_bars, rtol=1e-12)
    np.testing.assert_allclose(schedule.alpha_bars.numpy(), alpha_bars, rtol=1e-12)
    np.testing.assert_allclose(times.numpy(), 1 - (np.arange(50) + 1) / 50, atol=1e-15)
    torch.testing.assert_close(schedule.t_to_step(times), steps.double())
    torch.testing.assert_close(schedule.t_for_alpha_bar(torch.from_numpy(alpha_bars)), times)
    assert schedule(torch.tensor(1.0, dtype=torch.float64))[:2] == (1.0, 0.0)


def test_discrete_vp_with_integrated_betas_is_vp_linear_at_its_steps() -> None:
    steps = 100
    edges = np.arange(steps + 1) / steps
    integral = 0.1 * edges + 0.5 * (20.0 - 0.1) * edges**2
    betas = -np.expm1(-np.diff(integral))
    schedule = DiscreteVP(torch.from_numpy(betas))
    times = schedule.step_to_t(torch.arange(steps))
    np.testing.assert_allclose(schedule(times)[0].numpy(), song_vp_alpha(times.numpy()), rtol=1e-10)


@pytest.mark.parametrize("name", SCHEDULES)
def test_derivatives_match_autograd(name: str) -> None:
    t = INTERIOR.clone().requires_grad_(True)
    alpha, sigma, d_alpha, d_sigma = SCHEDULES[name](t)
    (grad_alpha,) = torch.autograd.grad(alpha.sum(), t, retain_graph=True)
    (grad_sigma,) = torch.autograd.grad(sigma.sum(), t)
    torch.testing.assert_close(d_alpha.detach(), grad_alpha, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(d_sigma.detach(), grad_sigma, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", SCHEDULES)
def test_derivatives_match_finite_differences(name: str) -> None:
    step = 1e-6
    _, _, d_alpha, d_sigma = SCHEDULES[name](INTERIOR)
    alpha_hi, sigma_hi, _, _ = SCHEDULES[name](INTERIOR + step)
    alpha_lo, sigma_lo, _, _ = SCHEDULES[name](INTERIOR - step)
    torch.testing.assert_close(d_alpha, (alpha_hi - alpha_lo) / (2 * step), rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(d_sigma, (sigma_hi - sigma_lo) / (2 * step), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", VP_SCHEDULES)
def test_vp_schedules_preserve_variance(name: str) -> None:
    t = torch.linspace(0.0, 1.0, 101, dtype=torch.float64)
    alpha, sigma, _, _ = SCHEDULES[name](t)
    torch.testing.assert_close(alpha**2 + sigma**2, torch.ones_like(t), rtol=0, atol=1e-14)


def test_cond_ot_log_snr_is_twice_the_logit() -> None:
    t = INTERIOR
    torch.testing.assert_close(CondOT().log_snr(t), 2 * torch.log(t / (1 - t)))


@pytest.mark.parametrize("name", SCHEDULES)
def test_log_snr_increases_and_ends_at_infinity(name: str) -> None:
    log_snr = SCHEDULES[name].log_snr(torch.linspace(0.0, 1.0, 201, dtype=torch.float64))
    assert bool((log_snr.diff() > 0).all())
    assert log_snr[-1].item() == math.inf


@pytest.mark.parametrize("name", SCHEDULES)
def test_t_for_log_snr_inverts_log_snr(name: str) -> None:
    schedule = SCHEDULES[name]
    torch.testing.assert_close(
        schedule.t_for_log_snr(schedule.log_snr(INTERIOR)), INTERIOR, rtol=0, atol=1e-10
    )


@pytest.mark.parametrize("name", SCHEDULES)
def test_bisection_fallback_agrees_with_closed_forms(name: str) -> None:
    schedule = SCHEDULES[name]
    log_snr = torch.linspace(-6.0, 6.0, 13, dtype=torch.float64)
    torch.testing.assert_close(
        Schedule.t_for_log_snr(schedule, log_snr),
        schedule.t_for_log_snr(log_snr),
        rtol=0,
        atol=1e-10,
    )


@pytest.mark.parametrize("name", SCHEDULES)
def test_alpha_bar_is_the_snr_matched_vp_alpha_bar(name: str) -> None:
    alpha, sigma, _, _ = SCHEDULES[name](INTERIOR)
    expected = alpha**2 / (alpha**2 + sigma**2)
    torch.testing.assert_close(SCHEDULES[name].alpha_bar(INTERIOR), expected)
    torch.testing.assert_close(
        SCHEDULES[name].t_for_alpha_bar(expected), INTERIOR, rtol=0, atol=1e-10
    )


def test_discrete_vp_rejects_invalid_betas() -> None:
    with pytest.raises(ValueError, match="betas"):
        DiscreteVP([0.1, 1.0])
