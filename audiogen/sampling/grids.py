"""Time grids for the solvers: 1-D float64 tensors increasing from t_start to t = 1 (data).

Every grid ``(steps, schedule, t_start)`` has ``steps + 1`` points and ends exactly at 1, where
sigma_t = 0; the solvers never evaluate a network at that last point (their final step is first
order), so schedules whose derivative is singular at t = 1 (VP) are safe. Grids placed by noise
level map back to t through the schedule (:meth:`Schedule.t_for_log_snr`), the one place where
t and noise levels are converted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import torch
from torch import Tensor

from audiogen.generative.schedules import Schedule

DIFFWAVE_FAST_BETAS: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 5e-2, 2e-1, 5e-1)
"""DiffWave's 6-step fast inference betas (Kong et al. 2021, appendix B)."""


class Grid(Protocol):
    """A time grid: ``steps + 1`` increasing times from ``t_start`` to 1."""

    def __call__(self, steps: int, schedule: Schedule, t_start: float = 0.0) -> Tensor: ...


def uniform_grid(steps: int, schedule: Schedule, t_start: float = 0.0) -> Tensor:
    """Times equally spaced in t (the schedule is not needed)."""
    return torch.linspace(t_start, 1.0, steps + 1, dtype=torch.float64)


def quadratic_grid(steps: int, schedule: Schedule, t_start: float = 0.0) -> Tensor:
    """Times dense near the data: 1 - t_i = (1 - t_start) (1 - i / steps)^2.

    The "quadratic" time-step selection of Song et al. 2021 ("DDIM", appendix D) in this time
    convention (the schedule is not needed).
    """
    ramp = torch.linspace(0.0, 1.0, steps + 1, dtype=torch.float64)
    times = 1 - (1 - t_start) * (1 - ramp) ** 2
    times[0] = t_start
    return times


def _noise_to_signal(schedule: Schedule, t: float) -> float:
    """sigma_t / alpha_t at t (the sigma of EDM's variance-exploding view)."""
    return math.exp(-0.5 * float(schedule.log_snr(torch.tensor(t, dtype=torch.float64))))


def _times_for_noise_levels(noise_levels: Tensor, schedule: Schedule, t_start: float) -> Tensor:
    """Map decreasing sigma/alpha values to times, pin the first to t_start and append t = 1."""
    times = schedule.t_for_log_snr(-2 * torch.log(noise_levels))
    times[0] = t_start
    return torch.cat([times, times.new_ones(1)])


def _top_noise_level(
    schedule: Schedule, t_start: float, sigma_min: float, sigma_max: float
) -> float:
    """The largest sigma/alpha of a noise-level grid: sigma_max, or less where t_start is later."""
    top = min(sigma_max, _noise_to_signal(schedule, t_start))
    if top <= sigma_min:
        raise ValueError(f"t_start={t_start} is already below sigma_min={sigma_min}")
    return top


def karras_grid(
    steps: int,
    schedule: Schedule,
    t_start: float = 0.0,
    *,
    sigma_min: float = 0.002,
    sigma_max: float = 80.0,
    rho: float = 7.0,
) -> Tensor:
    """EDM's rho-spaced noise levels (Karras et al. 2022, eq. 5) mapped to t via the schedule.

    The ``steps`` levels run from min(sigma_max, sigma/alpha at t_start) down to sigma_min in
    sigma^(1/rho); the first becomes t_start exactly and the grid ends at t = 1 (sigma = 0).
    """
    top = _top_noise_level(schedule, t_start, sigma_min, sigma_max)
    ramp = torch.linspace(0.0, 1.0, steps, dtype=torch.float64)
    root_top, root_min = top ** (1 / rho), sigma_min ** (1 / rho)
    noise_levels = (root_top + ramp * (root_min - root_top)) ** rho
    return _times_for_noise_levels(noise_levels, schedule, t_start)


def log_snr_grid(
    steps: int,
    schedule: Schedule,
    t_start: float = 0.0,
    *,
    sigma_min: float = 0.002,
    sigma_max: float = 80.0,
) -> Tensor:
    """Times uniform in log-SNR, the step rule of DPM-Solver (Lu et al. 2022).

    The ``steps`` levels are uniform in log(sigma/alpha) from min(sigma_max, sigma/alpha at
    t_start) to sigma_min (the log-SNR range is clipped there as it is infinite at the ends of
    flow paths); the first becomes t_start exactly and the grid ends at t = 1.
    """
    top = _top_noise_level(schedule, t_start, sigma_min, sigma_max)
    log_levels = torch.linspace(math.log(top), math.log(sigma_min), steps, dtype=torch.float64)
    return _times_for_noise_levels(log_levels.exp(), schedule, t_start)


def grid_from_betas(
    schedule: Schedule, betas: Sequence[float] | Tensor = DIFFWAVE_FAST_BETAS
) -> Tensor:
    """Times of a short inference beta schedule, aligned to the training noise levels.

    DiffWave's fast sampling (Kong et al. 2021, appendix B, with its alignment of T_infer): the
    inference betas define alpha_bar_s = prod_{i <= s} (1 - beta_i); each is placed at the time
    where the schedule has that alpha_bar (for a :class:`DiscreteVP`, a fractional training step
    via ``t_to_step``). Returns the S + 1 times [t_{S-1}, ..., t_0, 1]; running the ``ddpm``
    solver on them is DiffWave's fast ancestral sampler.
    """
    betas = torch.as_tensor(betas, dtype=torch.float64)
    alpha_bars = torch.cumprod(1 - betas, dim=0)
    lowest = float(schedule.alpha_bar(torch.zeros((), dtype=torch.float64)))
    if float(alpha_bars.min()) < lowest * (1 - 1e-9):
        raise ValueError(
            f"inference alpha_bar {float(alpha_bars.min()):.4g} is noisier than the "
            f"schedule reaches (alpha_bar at t = 0 is {lowest:.4g})"
        )
    times = schedule.t_for_alpha_bar(alpha_bars)
    return torch.cat([times.flip(0), times.new_ones(1)])


GRIDS: dict[str, Grid] = {
    "uniform": uniform_grid,
    "quadratic": quadratic_grid,
    "karras": karras_grid,
    "log_snr": log_snr_grid,
}
