"""Training objective of every path model: time sampling, the regression loss and its weights.

One loss serves diffusion and flow matching: the model regresses the ``kind`` target of the
affine path (see :mod:`audiogen.generative.paths`) at times drawn from a chosen density, with an
optional per-time weight (min-SNR-gamma) and an optional per-element weight (e.g. spectral energy).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor

from audiogen.generative.paths import AffinePath, Prediction, check_prediction
from audiogen.generative.schedules import Schedule

TimeDensity = Literal["uniform", "logit_normal", "cosmap", "start"]
TimeWeighting = Literal["none", "min_snr"]

_DENSITIES: dict[str, Callable[[Tensor, float, float], Tensor]] = {
    "uniform": lambda u, loc, scale: u,
    "logit_normal": lambda u, loc, scale: torch.sigmoid(
        loc + scale * math.sqrt(2.0) * torch.erfinv(2 * u - 1)
    ),
    "cosmap": lambda u, loc, scale: 1 - 1 / (torch.tan(math.pi / 2 * u) + 1),
    "start": lambda u, loc, scale: torch.zeros_like(u),
}


def sample_time(
    batch: int,
    density: TimeDensity = "uniform",
    generator: torch.Generator | None = None,
    *,
    loc: float = 0.0,
    scale: float = 1.0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Draw training times t in [0, 1], shape (batch,), by inverse-CDF transform of U[0, 1).

    Densities (Esser et al. 2024, "Scaling Rectified Flow Transformers", section 3.1):
    ``"uniform"``; ``"logit_normal"``: sigmoid(N(loc, scale^2)), SD3 uses loc = 0, scale = 1
    (SD3's t runs the other way: its location m is loc = -m here, loc > 0 favours the data end);
    ``"cosmap"``: t = 1 - 1 / (tan(pi u / 2) + 1), the density matching a cosine schedule;
    ``"start"``: t = 0 always, which trains only the first step from the source (a one-step
    refiner of an informative prior).
    """
    if density not in _DENSITIES:
        raise ValueError(f"unknown time density {density!r}; expected one of {list(_DENSITIES)}")
    u = torch.rand(batch, generator=generator, device=device, dtype=dtype)
    return _DENSITIES[density](u, loc, scale)


def _min_snr_data(snr: Tensor, gamma: float, coefficients: tuple[Tensor, ...]) -> Tensor:
    return snr.clamp(max=gamma)


def _min_snr_eps(snr: Tensor, gamma: float, coefficients: tuple[Tensor, ...]) -> Tensor:
    return (gamma / snr).clamp(max=1.0)


def _min_snr_v(snr: Tensor, gamma: float, coefficients: tuple[Tensor, ...]) -> Tensor:
    alpha_t, sigma_t = coefficients[0], coefficients[1]
    return snr.clamp(max=gamma) * sigma_t**2 / (alpha_t**2 + sigma_t**2) ** 2


def _min_snr_velocity(snr: Tensor, gamma: float, coefficients: tuple[Tensor, ...]) -> Tensor:
    alpha_t, sigma_t, d_alpha_t, d_sigma_t = coefficients
    return snr.clamp(max=gamma) * sigma_t**2 / (alpha_t * d_sigma_t - sigma_t * d_alpha_t) ** 2


_MIN_SNR: dict[str, Callable[[Tensor, float, tuple[Tensor, ...]], Tensor]] = {
    "data": _min_snr_data,
    "eps": _min_snr_eps,
    "v": _min_snr_v,
    "velocity": _min_snr_velocity,
}


def min_snr_weight(kind: Prediction, t: Tensor, schedule: Schedule, gamma: float = 5.0) -> Tensor:
    """Min-SNR-gamma weight (Hang et al. 2023) for a loss on ``kind`` at times t, shape of t.

    The weighted loss equals min(SNR_t, gamma) * |data_hat - data|^2: a ``kind`` error maps to a
    data error scaled by sigma_t / |alpha_t c_eps - sigma_t c_data|, giving min(SNR, gamma) for
    "data", min(SNR, gamma) / SNR for "eps", min(SNR, gamma) / (SNR + 1) for "v" on VP schedules
    and min(SNR, gamma) sigma_t^2 / (alpha_t d_sigma_t - sigma_t d_alpha_t)^2 for "velocity".
    Written so that the SNR = 0 and SNR = inf ends give finite limits.
    """
    check_prediction(kind)
    coefficients = schedule(t)
    snr = (coefficients[0] / coefficients[1]) ** 2
    return _MIN_SNR[kind](snr, gamma, coefficients)


def _no_weight(kind: Prediction, t: Tensor, schedule: Schedule, gamma: float) -> Tensor:
    return torch.ones_like(t)


_TIME_WEIGHTS: dict[str, Callable[[Prediction, Tensor, Schedule, float], Tensor]] = {
    "none": _no_weight,
    "min_snr": min_snr_weight,
}


def path_loss(
    model_output: Tensor,
    kind: Prediction,
    x_1: Tensor,
    x_0: Tensor,
    t: Tensor,
    path: AffinePath,
    *,
    weighting: TimeWeighting = "none",
    gamma: float = 5.0,
    weight: Tensor | None = None,
    mask: Tensor | None = None,
) -> Tensor:
    """Weighted mean squared error between a ``kind`` prediction and the path's target.

    model_output, x_1, x_0: (B, C, T) (any (B, ...) works); t: (B,). ``weighting`` picks a weight
    per time ("none" or "min_snr" with ``gamma``); ``weight`` is any tensor broadcastable to the
    output (e.g. spectral-energy weights); ``mask`` (B, 1, T), 1 on valid frames, restricts the
    mean to unpadded elements. Returns a scalar.
    """
    if weighting not in _TIME_WEIGHTS:
        raise ValueError(f"unknown weighting {weighting!r}; expected one of {list(_TIME_WEIGHTS)}")
    target = path.target(kind, x_1, x_0, t)
    error = (model_output - target) ** 2
    if weight is not None:
        error = error * weight
    t = t.to(torch.promote_types(model_output.dtype, torch.float32))
    time_weight = _TIME_WEIGHTS[weighting](kind, t, path.schedule, gamma).to(error.dtype)
    error = error * time_weight.reshape(-1, *([1] * (error.ndim - 1)))
    if mask is None:
        return error.mean()
    mask = mask.to(error.dtype).expand_as(error)
    return (error * mask).sum() / mask.sum().clamp_min(1.0)
