"""Grids, solvers and guidance against analytic fields and Gaussian data in closed form.

Data x_1 ~ N(MEAN, STD^2) (1-D, one value per batch row) and Gaussian noise make every quantity
exact: the optimal denoiser is the posterior mean E[x_1 | x_t] and the probability-flow ODE maps
x_t = alpha_t MEAN + sqrt(alpha_t^2 STD^2 + sigma_t^2) z to x_1 = MEAN + STD z.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch

from audiogen.generative.guidance import cfg, cfg_joint
from audiogen.generative.paths import PREDICTIONS, AffinePath, Prediction
from audiogen.generative.schedules import CondOT, DiscreteVP, Schedule, VPCosine, VPLinear
from audiogen.sampling.grids import (
    DIFFWAVE_FAST_BETAS,
    GRIDS,
    grid_from_betas,
    karras_grid,
    log_snr_grid,
    quadratic_grid,
)
from audiogen.sampling.solvers import SOLVERS, Field, ddim, ddpm, dpm_solver_pp_2m, euler, heun

MEAN, STD = 0.7, 0.3
DIFFWAVE_TRAINING_BETAS = np.linspace(1e-4, 0.05, 50)

SCHEDULES: dict[str, Schedule] = {
    "cond_ot": CondOT(),
    "vp_cosine": VPCosine(),
    "vp_linear": VPLinear(),
    "discrete_vp": DiscreteVP(DIFFWAVE_TRAINING_BETAS.tolist()),
}
ODE_SOLVERS = ["euler", "heun", "midpoint", "dpm_solver_pp_2m", "ddim"]


def gaussian_network(
    schedule: Schedule, kind: Prediction, mean: float = MEAN, prior_std: float = 1.0
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Exact ``kind`` prediction for data N(mean, STD^2) and noise N(0, prior_std^2)."""

    def network(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        alpha, sigma, d_alpha, d_sigma = schedule(t[:1].double().reshape(1, 1, 1))
        variance = alpha**2 * STD**2 + sigma**2 * prior_std**2
        data = mean + alpha * STD**2 / variance * (x_t - alpha * mean)
        eps = (x_t - alpha * data) / sigma
        outputs = {
            "eps": eps,
            "data": data,
            "v": alpha * eps - sigma * data,
            "velocity": d_alpha * data + d_sigma * eps,
        }
        return outputs[kind]

    return network


def gaussian_field(name: str, kind: Prediction = "velocity") -> Field:
    schedule = SCHEDULES[name]
    return Field(gaussian_network(schedule, kind), AffinePath(schedule), kind)


def marginal(schedule: Schedule, t: float, z: torch.Tensor) -> torch.Tensor:
    """x_t on the exact flow from z: alpha_t MEAN + sqrt(alpha_t^2 STD^2 + sigma_t^2) z."""
    alpha, sigma, _, _ = schedule(torch.tensor(t, dtype=torch.float64))
    return alpha * MEAN + torch.sqrt(alpha**2 * STD**2 + sigma**2) * z


def quantiles(count: int = 9) -> torch.Tensor:
    return torch.linspace(-2.0, 2.0, count, dtype=torch.float64).reshape(-1, 1, 1)


def normal(count: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(count, 1, 1, generator=generator, dtype=torch.float64)


def flow_error(
    solver: Callable[..., torch.Tensor], name: str, kind: Prediction, times: torch.Tensor
) -> float:
    z = quantiles()
    x = marginal(SCHEDULES[name], float(times[0]), z)
    return (solver(gaussian_field(name, kind), x, times) - (MEAN + STD * z)).abs().max().item()


@pytest.mark.parametrize("grid", GRIDS)
@pytest.mark.parametrize("name", SCHEDULES)
def test_grids_increase_from_t_start_to_one(grid: str, name: str) -> None:
    for t_start in (0.0, 0.05):
        times = GRIDS[grid](7, SCHEDULES[name], t_start)
        assert times.shape == (8,) and times.dtype == torch.float64
        assert times[0].item() == t_start and times[-1].item() == 1.0
        assert bool((times.diff() > 0).all())


def test_quadratic_grid_is_dense_near_the_data() -> None:
    expected = 1 - 0.9 * (1 - torch.arange(5, dtype=torch.float64) / 4) ** 2
    torch.testing.assert_close(quadratic_grid(4, CondOT(), 0.1), expected)


def test_karras_grid_places_edm_noise_levels_on_cond_ot() -> None:
    steps, rho = 6, 7.0
    index = np.arange(steps)
    sigma_max, sigma_min = 80.0, 0.002
    edm = (
        sigma_max ** (1 / rho)
        + index / (steps - 1) * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))
    ) ** rho
    times = karras_grid(steps, CondOT()).numpy()
    # On CondOT sigma/alpha = (1 - t) / t, so t = 1 / (1 + sigma); the first point is t_start.
    np.testing.assert_allclose(times[1:-1], 1 / (1 + edm[1:]), rtol=1e-12)
    assert times[0] == 0.0


def test_log_snr_grid_is_uniform_in_log_snr_on_vp_linear() -> None:
    times = log_snr_grid(8, VPLinear(), 0.0).numpy()
    s = 1 - times[1:-1]
    alpha_bar = np.exp(-0.5 * s**2 * 19.9 - 0.1 * s)
    log_snr = np.log(alpha_bar / (1 - alpha_bar))
    np.testing.assert_allclose(np.diff(log_snr), np.diff(log_snr).mean(), rtol=1e-8)
    assert log_snr[-1] == pytest.approx(-2 * math.log(0.002), rel=1e-9)


def linear_ode_field() -> Field:
    """dx/dt = 2 exp(-t) x, with x(1) = x(0) exp(2 (1 - exp(-1)))."""
    return Field(lambda x, t: 2 * torch.exp(-t).reshape(-1, 1, 1) * x, AffinePath(CondOT()))


@pytest.mark.parametrize(("name", "order"), [("euler", 1), ("heun", 2), ("midpoint", 2)])
def test_ode_solvers_converge_at_their_order_on_a_linear_ode(name: str, order: int) -> None:
    x = torch.tensor([1.0, -2.0], dtype=torch.float64).reshape(2, 1, 1)
    exact = x * math.exp(2 * (1 - math.exp(-1)))

    def error(steps: int) -> float:
        times = torch.linspace(0, 1, steps + 1, dtype=torch.float64)
        return (SOLVERS[name](linear_ode_field(), x, times) - exact).abs().max().item()

    measured = math.log2(error(32) / error(64))
    assert measured == pytest.approx(order, abs=0.1)
    assert error(64) < 3 / 64**order


@pytest.mark.parametrize("name", SCHEDULES)
@pytest.mark.parametrize("kind", PREDICTIONS)
@pytest.mark.parametrize("solver", ODE_SOLVERS)
def test_every_model_kind_runs_through_every_solver_to_the_exact_flow(
    solver: str, kind: Prediction, name: str
) -> None:
    times = torch.linspace(0.01, 1.0, 65, dtype=torch.float64)
    tolerance = 0.05 if solver in ("euler", "ddim") else 0.01
    assert flow_error(SOLVERS[solver], name, kind, times) < tolerance


def test_heun_is_more_accurate_than_euler_at_equal_steps() -> None:
    for steps in (10, 20, 40):
        times = torch.linspace(0.0, 1.0, steps + 1, dtype=torch.float64)
        assert flow_error(heun, "cond_ot", "velocity", times) < 0.5 * flow_error(
            euler, "cond_ot", "velocity", times
        )


def test_dpm_solver_pp_is_more_accurate_than_ddim_at_few_steps() -> None:
    for steps in (6, 8, 10):
        times = log_snr_grid(steps, SCHEDULES["vp_linear"])
        assert flow_error(dpm_solver_pp_2m, "vp_linear", "eps", times) < 0.3 * flow_error(
            ddim, "vp_linear", "eps", times
        )


@pytest.mark.parametrize("solver", ["ddim", "dpm_solver_pp_2m"])
def test_diffusion_solvers_depend_only_on_the_noise_levels(solver: str) -> None:
    """An eps model on VP and a velocity model on CondOT are one model on the same log-SNR grid."""
    flow, diffusion = SCHEDULES["cond_ot"], SCHEDULES["vp_linear"]
    start = torch.tensor(-2 * math.log(50.0), dtype=torch.float64)
    z = quantiles()
    results = []
    models: list[tuple[Schedule, Prediction]] = [(flow, "velocity"), (diffusion, "eps")]
    for schedule, kind in models:
        t_start = float(schedule.t_for_log_snr(start))
        times = karras_grid(6, schedule, t_start)
        field = Field(gaussian_network(schedule, kind), AffinePath(schedule), kind)
        results.append(SOLVERS[solver](field, marginal(schedule, t_start, z), times))
    torch.testing.assert_close(results[0], results[1], rtol=1e-9, atol=1e-9)


def test_ddpm_chain_has_the_law_of_ho_et_al_posterior() -> None:
    """Sample mean/std after 6 ancestral steps equal the exact law of the Gaussian chain."""
    schedule = SCHEDULES["vp_linear"]
    times = log_snr_grid(6, schedule)
    s = 1 - times.numpy()
    alpha_bar = np.exp(-0.5 * s**2 * 19.9 - 0.1 * s)
    mean, variance = math.sqrt(alpha_bar[0]) * MEAN, alpha_bar[0] * STD**2 + 1 - alpha_bar[0]
    for current, previous in zip(alpha_bar[:-1], alpha_bar[1:]):
        beta = 1 - current / previous
        gain = math.sqrt(current) * STD**2 / (current * STD**2 + 1 - current)
        to_data = math.sqrt(previous) * beta / (1 - current)
        to_x = math.sqrt(1 - beta) * (1 - previous) / (1 - current)
        posterior_variance = (1 - previous) / (1 - current) * beta
        mean = to_x * mean + to_data * (MEAN + gain * (mean - math.sqrt(current) * MEAN))
        variance = (to_x + to_data * gain) ** 2 * variance + posterior_variance
    count = 40_000
    x = marginal(schedule, 0.0, normal(count, 0))
    samples = ddpm(gaussian_field("vp_linear", "eps"), x, times, torch.Generator().manual_seed(1))
    assert samples.mean().item() == pytest.approx(mean, abs=4 * math.sqrt(variance / count))
    assert samples.std().item() == pytest.approx(math.sqrt(variance), rel=0.015)
    assert math.sqrt(variance) < 0.9 * STD


@pytest.mark.parametrize("prior_std", [1.0, 0.5])
def test_ddpm_with_many_steps_samples_the_data_distribution(prior_std: float) -> None:
    schedule = CondOT()
    path = AffinePath(schedule)
    field = Field(gaussian_network(schedule, "velocity", prior_std=prior_std), path, "velocity")
    count = 10_000
    x = prior_std * normal(count, 0)
    times = torch.linspace(0.0, 1.0, 401, dtype=torch.float64)
    scale = None if prior_std == 1.0 else torch.tensor(prior_std, dtype=torch.float64)
    samples = ddpm(field, x, times, torch.Generator().manual_seed(2), prior_std=scale)
    assert samples.mean().item() == pytest.approx(MEAN, abs=0.012)
    assert samples.std().item() == pytest.approx(STD, abs=0.01)


def test_ddim_with_eta_keeps_the_marginals() -> None:
    count = 10_000
    x = normal(count, 3)
    times = torch.linspace(0.0, 1.0, 401, dtype=torch.float64)
    samples = ddim(gaussian_field("cond_ot"), x, times, torch.Generator().manual_seed(4), eta=0.5)
    assert samples.mean().item() == pytest.approx(MEAN, abs=0.012)
    assert samples.std().item() == pytest.approx(STD, abs=0.01)


def diffwave_reference(
    eps_at: Callable[[torch.Tensor, float], torch.Tensor],
    x: torch.Tensor,
    betas: np.ndarray,
    generator: torch.Generator,
) -> torch.Tensor:
    """DiffWave's fast sampler (Kong et al. 2021, Algorithm 2 with inference betas)."""
    alpha_bar = np.cumprod(1 - betas)
    for step in reversed(range(len(betas))):
        eps = eps_at(x, alpha_bar[step])
        x = (x - betas[step] / math.sqrt(1 - alpha_bar[step]) * eps) / math.sqrt(1 - betas[step])
        if step > 0:
            spread = math.sqrt((1 - alpha_bar[step - 1]) / (1 - alpha_bar[step]) * betas[step])
            x = x + spread * torch.randn(x.shape, generator=generator, dtype=x.dtype)
    return x


def test_diffwave_fast_schedule_is_ddpm_on_the_aligned_grid() -> None:
    schedule = SCHEDULES["discrete_vp"]
    assert isinstance(schedule, DiscreteVP)
    betas = np.array(DIFFWAVE_FAST_BETAS)
    times = grid_from_betas(schedule, DIFFWAVE_FAST_BETAS)
    assert times.shape == (7,) and times[-1].item() == 1.0

    training_alpha_bar = np.cumprod(1 - DIFFWAVE_TRAINING_BETAS)
    steps_seen = schedule.t_to_step(times[:-1]).flip(0).numpy()
    for alpha_bar, step in zip(np.cumprod(1 - betas), steps_seen):
        lower = int(np.floor(step))
        above = training_alpha_bar[lower] if lower >= 0 else 1.0
        assert training_alpha_bar[lower + 1] <= alpha_bar <= above

    def eps_at(x: torch.Tensor, alpha_bar: float) -> torch.Tensor:
        alpha, sigma = math.sqrt(alpha_bar), math.sqrt(1 - alpha_bar)
        data = MEAN + alpha * STD**2 / (alpha**2 * STD**2 + sigma**2) * (x - alpha * MEAN)
        return (x - alpha * data) / sigma

    x = normal(16, 5)
    expected = diffwave_reference(eps_at, x, betas, torch.Generator().manual_seed(6))
    field = gaussian_field("discrete_vp", "eps")
    samples = ddpm(field, x, times, torch.Generator().manual_seed(6))
    torch.testing.assert_close(samples, expected, rtol=1e-10, atol=1e-10)


def test_grid_from_betas_refuses_noise_beyond_the_training_schedule() -> None:
    with pytest.raises(ValueError, match="noisier"):
        grid_from_betas(SCHEDULES["discrete_vp"], [0.5] * 8)


def conditional_velocity(x: torch.Tensor, t: torch.Tensor, cond: float | None) -> torch.Tensor:
    network = gaussian_network(CondOT(), "velocity", mean=-1.0 if cond is None else cond)
    return network(x, t)


def test_cfg_scale_one_is_conditional_and_zero_is_unconditional() -> None:
    x, t = quantiles(), torch.full((9,), 0.4, dtype=torch.float64)
    conditional = conditional_velocity(x, t, 2.0)
    unconditional = conditional_velocity(x, t, None)
    torch.testing.assert_close(cfg(conditional_velocity, 1.0)(x, t, 2.0), conditional)
    torch.testing.assert_close(cfg(conditional_velocity, 0.0)(x, t, 2.0), unconditional)
    torch.testing.assert_close(
        cfg(conditional_velocity, 3.0)(x, t, 2.0),
        unconditional + 3.0 * (conditional - unconditional),
    )


def test_joint_cfg_equals_two_calls_and_calls_the_network_once() -> None:
    """cfg_joint runs both branches in one call of a doubled batch and gives cfg's result."""
    x, t = quantiles(), torch.full((9,), 0.4, dtype=torch.float64)
    cond = torch.full((9,), 2.0, dtype=torch.float64)
    null = torch.full((9,), -1.0, dtype=torch.float64)
    calls: list[int] = []

    def batched(x_t: torch.Tensor, times: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        calls.append(x_t.shape[0])  # a mean per row: the Gaussian velocity of each row's label
        return torch.stack([conditional_velocity(x_t[i:i + 1], times[i:i + 1], float(ids[i]))[0]
                            for i in range(x_t.shape[0])])

    for scale in (0.0, 1.0, 3.0):
        calls.clear()
        # conditional_velocity's unconditional branch has mean -1, the null rows' label
        expected = cfg(conditional_velocity, scale)(x, t, 2.0)
        torch.testing.assert_close(cfg_joint(batched, scale, null)(x, t, cond), expected)
        assert calls == ([18] if scale == 3.0 else [9])


def test_cfg_through_a_solver_moves_the_gaussian_mean_by_the_scale() -> None:
    """Gaussian velocities are affine in the data mean, so guidance extrapolates the mean."""
    scale, z = 2.5, quantiles()
    guided = cfg(conditional_velocity, scale)
    field = Field(lambda x, t: guided(x, t, 2.0), AffinePath(CondOT()))
    times = torch.linspace(0.0, 1.0, 65, dtype=torch.float64)
    guided_mean = -1.0 + scale * (2.0 - -1.0)
    torch.testing.assert_close(heun(field, z, times), guided_mean + STD * z, rtol=0, atol=1e-3)


def test_solvers_registry_shares_one_signature() -> None:
    z = quantiles()
    times = torch.linspace(0.0, 1.0, 9, dtype=torch.float64)
    for name, solver in SOLVERS.items():
        out = solver(
            gaussian_field("vp_cosine", "v"),
            marginal(VPCosine(), 0.0, z),
            times,
            torch.Generator().manual_seed(0),
        )
        assert out.shape == z.shape and bool(torch.isfinite(out).all()), name
