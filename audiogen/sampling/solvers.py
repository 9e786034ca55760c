"""Samplers for every path model, as plain functions with one signature.

``solver(field, x, times, generator=None) -> x_1`` integrates from x at ``times[0]`` to
``times[-1]`` (t = 0 noise, t = 1 data). A :class:`Field` bundles the network with the path and
prediction type it was trained with, so any model (eps, data, v or velocity prediction; diffusion
or flow) runs through any solver. Solvers never call the network at a time where sigma_t = 0:
their last step there is first order, as in Algorithm 1 of Karras et al. 2022. Run them under
``torch.inference_mode()`` when no gradients are wanted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from audiogen.generative.paths import AffinePath, Prediction

Network = Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class Field:
    """A network bound to its path and prediction type: the one interface all solvers use.

    ``network(x_t, t)`` maps x_t (B, ...) and t (B,) in [0, 1] (dtype of x_t) to a ``kind``
    prediction shaped like x_t. Conditioning, classifier-free guidance
    (:func:`audiogen.generative.guidance.cfg`) and a network's own time input (e.g. DiffWave's
    step index, ``DiscreteVP.t_to_step(t)``) belong in that closure.
    """

    network: Network
    path: AffinePath
    kind: Prediction = "velocity"

    def __call__(self, x_t: Tensor, t: Tensor | float) -> Tensor:
        """Raw network output at x_t (B, ...) and a scalar time t."""
        batch_t = torch.as_tensor(t, dtype=x_t.dtype, device=x_t.device).expand(x_t.shape[0])
        return self.network(x_t, batch_t)

    def predict(self, x_t: Tensor, t: Tensor | float, kind: Prediction) -> Tensor:
        """Network output converted to a ``kind`` prediction through the path."""
        return self.path.convert(self(x_t, t), self.kind, kind, x_t, t)

    def velocity(self, x_t: Tensor, t: Tensor | float) -> Tensor:
        """Velocity d x_t / dt of the probability-flow ODE."""
        return self.predict(x_t, t, "velocity")

    def data(self, x_t: Tensor, t: Tensor | float) -> Tensor:
        """Denoised estimate of the clean sample x_1."""
        return self.predict(x_t, t, "data")


class Solver(Protocol):
    """Integrates a :class:`Field` from x (B, ...) at times[0] along increasing ``times``."""

    def __call__(
        self, field: Field, x: Tensor, times: Tensor, generator: torch.Generator | None = None
    ) -> Tensor: ...


def _steps(times: Tensor) -> list[tuple[Tensor, Tensor]]:
    """Consecutive (t, t_next) as 0-d float64 CPU tensors, so step logic never syncs a device."""
    times = times.detach().to("cpu", torch.float64)
    return list(zip(times[:-1], times[1:]))


def _at_data(field: Field, t: Tensor) -> bool:
    """Whether sigma_t = 0 at t (the data end), where no network may be evaluated."""
    return bool(field.path.schedule(t)[1] == 0)


def euler(
    field: Field, x: Tensor, times: Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """Explicit Euler on the probability-flow ODE dx/dt = u(x, t)."""
    for t, t_next in _steps(times):
        x = x + (t_next - t) * field.velocity(x, t)
    return x


def heun(
    field: Field, x: Tensor, times: Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """Heun's 2nd-order method in t, Algorithm 1 of Karras et al. 2022 (Euler where sigma = 0)."""
    for t, t_next in _steps(times):
        step = t_next - t
        slope = field.velocity(x, t)
        x_euler = x + step * slope
        if _at_data(field, t_next):
            x = x_euler
        else:
            x = x + step / 2 * (slope + field.velocity(x_euler, t_next))
    return x


def midpoint(
    field: Field, x: Tensor, times: Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """Explicit midpoint rule (2nd-order Runge-Kutta) on dx/dt = u(x, t)."""
    for t, t_next in _steps(times):
        step = t_next - t
        x_half = x + step / 2 * field.velocity(x, t)
        x = x + step * field.velocity(x_half, t + step / 2)
    return x


def dpm_solver_pp_2m(
    field: Field, x: Tensor, times: Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """DPM-Solver++(2M), Algorithm 2 of Lu et al. 2022, in data prediction for any affine path.

    With lambda_t = log(alpha_t / sigma_t) (log(t / (1 - t)) for CondOT) and h = lambda_next -
    lambda_t, x_next = (sigma_next / sigma_t) x - alpha_next (e^-h - 1) D, where D is the data
    prediction extrapolated from the last two steps. The first step, and a last step to
    sigma = 0, are first order (DDIM).
    """
    half_log_snr = 0.5 * field.path.schedule.log_snr(times.detach().to("cpu", torch.float64))
    previous: tuple[Tensor, Tensor] | None = None
    for index, (t, t_next) in enumerate(_steps(times)):
        alpha_t, sigma_t, _, _ = field.path.coefficients(t, x)
        alpha_next, sigma_next, _, _ = field.path.coefficients(t_next, x)
        data = field.data(x, t)
        step = half_log_snr[index + 1] - half_log_snr[index]
        extrapolated = data
        if previous is not None and not _at_data(field, t_next):
            previous_data, previous_step = previous
            ratio = previous_step / step
            extrapolated = data + (data - previous_data) / (2 * ratio)
        x = sigma_next / sigma_t * (x - alpha_t * extrapolated) + alpha_next * extrapolated
        previous = (data, step)
    return x


def _gaussian(x: Tensor, generator: torch.Generator | None, prior_std: Tensor | None) -> Tensor:
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return noise if prior_std is None else prior_std * noise


def ddim(
    field: Field,
    x: Tensor,
    times: Tensor,
    generator: torch.Generator | None = None,
    *,
    eta: float = 0.0,
    prior_std: Tensor | None = None,
) -> Tensor:
    """DDIM (Song et al. 2021, eq. 12) for any affine path; eta = 0 is deterministic.

    x_next = alpha_next D + sqrt(sigma_next^2 - s^2) E + s z, with D, E the data and noise
    predictions and s^2 = eta^2 times the DDPM posterior variance
    sigma_next^2 (sigma_t^2 - (alpha_t / alpha_next)^2 sigma_next^2) / sigma_t^2.
    ``prior_std`` (broadcastable to x) scales z for a non-standard Gaussian prior (PriorGrad).
    """
    for t, t_next in _steps(times):
        alpha_t, sigma_t, _, _ = field.path.coefficients(t, x)
        alpha_next, sigma_next, _, _ = field.path.coefficients(t_next, x)
        output = field(x, t)
        data = field.path.convert(output, field.kind, "data", x, t)
        eps = field.path.convert(output, field.kind, "eps", x, t)
        transition = (sigma_t**2 - (alpha_t / alpha_next * sigma_next) ** 2).clamp_min(0)
        variance = eta**2 * sigma_next**2 * transition / sigma_t**2
        x = alpha_next * data + (sigma_next**2 - variance).clamp_min(0).sqrt() * eps
        if eta > 0 and not _at_data(field, t_next):
            x = x + variance.sqrt() * _gaussian(x, generator, prior_std)
    return x


def ddpm(
    field: Field,
    x: Tensor,
    times: Tensor,
    generator: torch.Generator | None = None,
    *,
    prior_std: Tensor | None = None,
) -> Tensor:
    """Ancestral sampling from the DDPM posterior q(x_next | x_t, D) (Ho et al. 2020, eq. 7).

    Equal to :func:`ddim` with eta = 1. On the times of
    :func:`audiogen.sampling.grids.grid_from_betas` it is DiffWave's fast sampler.
    """
    return ddim(field, x, times, generator, eta=1.0, prior_std=prior_std)


SOLVERS: dict[str, Solver] = {
    "euler": euler,
    "heun": heun,
    "midpoint": midpoint,
    "dpm_solver_pp_2m": dpm_solver_pp_2m,
    "ddim": ddim,
    "ddpm": ddpm,
}
