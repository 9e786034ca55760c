"""The affine path x_t = alpha_t x_1 + sigma_t x_0 and conversions between prediction types.

Convention: t in [0, 1], t = 0 noise, t = 1 data; x_1 is the data, x_0 the noise drawn from
whatever prior the caller uses (standard normal, or a mel-derived prior as in PriorGrad). Nothing
here assumes the noise distribution.

Prediction types (every one is a fixed linear combination c_data * x_1 + c_eps * x_0):

- ``"eps"``: the noise x_0 (DDPM's epsilon).
- ``"data"``: the clean sample x_1 (what diffusion papers call "x0"; named "data" here because
  x_0 is the noise in this convention).
- ``"v"``: v = alpha_t * eps - sigma_t * data (Salimans & Ho 2022, "Progressive Distillation"),
  used with the same formula for any schedule; for VP schedules it is their v.
- ``"velocity"``: u = d x_t / dt = d_alpha_t * data + d_sigma_t * eps (flow matching).

Since x_t and any prediction determine (data, eps) through a 2x2 linear system, one function
converts any type into any other for any schedule, wherever that system is not singular.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

import torch
from torch import Tensor

from audiogen.generative.schedules import Coefficients, Schedule

Prediction = Literal["eps", "data", "v", "velocity"]
PREDICTIONS: tuple[Prediction, ...] = get_args(Prediction)

_Mixture = Callable[[Tensor, Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]

_MIXTURES: dict[str, _Mixture] = {
    "eps": lambda alpha_t, *_: (torch.zeros_like(alpha_t), torch.ones_like(alpha_t)),
    "data": lambda alpha_t, *_: (torch.ones_like(alpha_t), torch.zeros_like(alpha_t)),
    "v": lambda alpha_t, sigma_t, *_: (-sigma_t, alpha_t),
    "velocity": lambda alpha_t, sigma_t, d_alpha_t, d_sigma_t: (d_alpha_t, d_sigma_t),
}


def check_prediction(kind: str) -> None:
    """Raise ValueError unless ``kind`` is one of :data:`PREDICTIONS`."""
    if kind not in _MIXTURES:
        raise ValueError(
            f"unknown prediction kind {kind!r}; expected one of {PREDICTIONS} "
            "(diffusion's 'x0' is 'data' here)"
        )


def mixture(kind: Prediction, coefficients: Coefficients) -> tuple[Tensor, Tensor]:
    """(c_data, c_eps) such that a ``kind`` prediction equals c_data * x_1 + c_eps * x_0."""
    check_prediction(kind)
    return _MIXTURES[kind](*coefficients)


class AffinePath:
    """Interpolation x_t = alpha_t x_1 + sigma_t x_0 under a :class:`Schedule`.

    Tensors x_1, x_0, x_t and predictions share a shape (B, ...); t is a float, a 0-d tensor or a
    (B,) tensor. Schedule coefficients are computed in at least float32 (float64 if t or x is)
    and cast to the dtype of x.
    """

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule

    def coefficients(self, t: Tensor | float, x: Tensor) -> Coefficients:
        """(alpha_t, sigma_t, d_alpha_t, d_sigma_t) at t, shaped to broadcast against x (B, ...)."""
        t = torch.as_tensor(t, device=x.device)
        t = t.to(torch.promote_types(torch.promote_types(t.dtype, x.dtype), torch.float32))
        if t.ndim == 1:
            t = t.reshape(-1, *([1] * (x.ndim - 1)))
        alpha_t, sigma_t, d_alpha_t, d_sigma_t = self.schedule(t)
        return (
            alpha_t.to(x.dtype),
            sigma_t.to(x.dtype),
            d_alpha_t.to(x.dtype),
            d_sigma_t.to(x.dtype),
        )

    def sample(
        self, x_1: Tensor, x_0: Tensor, t: Tensor | float, kind: Prediction = "velocity"
    ) -> tuple[Tensor, Tensor]:
        """Return (x_t, target): the interpolant and the training target of ``kind`` at t."""
        coefficients = self.coefficients(t, x_1)
        alpha_t, sigma_t = coefficients[0], coefficients[1]
        c_data, c_eps = mixture(kind, coefficients)
        return alpha_t * x_1 + sigma_t * x_0, c_data * x_1 + c_eps * x_0

    def target(self, kind: Prediction, x_1: Tensor, x_0: Tensor, t: Tensor | float) -> Tensor:
        """Training target of ``kind`` for data x_1 and noise x_0 at t, shaped like x_1."""
        c_data, c_eps = mixture(kind, self.coefficients(t, x_1))
        return c_data * x_1 + c_eps * x_0

    def convert(
        self, prediction: Tensor, kind: Prediction, to: Prediction, x_t: Tensor, t: Tensor | float
    ) -> Tensor:
        """Convert a ``kind`` prediction at (x_t, t) into a ``to`` prediction.

        Solves x_t = alpha_t data + sigma_t eps, prediction = c_data data + c_eps eps for
        (data, eps) and recombines them. Singular where the prediction carries no information
        beyond x_t: "eps" at alpha_t = 0 and "data" at sigma_t = 0.
        """
        check_prediction(to)
        if kind == to:
            check_prediction(kind)
            return prediction
        coefficients = self.coefficients(t, x_t)
        alpha_t, sigma_t = coefficients[0], coefficients[1]
        c_data, c_eps = mixture(kind, coefficients)
        determinant = alpha_t * c_eps - sigma_t * c_data
        data = (c_eps * x_t - sigma_t * prediction) / determinant
        eps = (alpha_t * prediction - c_data * x_t) / determinant
        to_data, to_eps = mixture(to, coefficients)
        return to_data * data + to_eps * eps

    def to_velocity(
        self, prediction: Tensor, kind: Prediction, x_t: Tensor, t: Tensor | float
    ) -> Tensor:
        """Velocity d x_t / dt implied by a ``kind`` prediction."""
        return self.convert(prediction, kind, "velocity", x_t, t)

    def to_data(
        self, prediction: Tensor, kind: Prediction, x_t: Tensor, t: Tensor | float
    ) -> Tensor:
        """Clean-sample estimate (posterior mean of x_1 for an optimal model)."""
        return self.convert(prediction, kind, "data", x_t, t)

    def to_eps(
        self, prediction: Tensor, kind: Prediction, x_t: Tensor, t: Tensor | float
    ) -> Tensor:
        """Noise estimate (posterior mean of x_0 for an optimal model)."""
        return self.convert(prediction, kind, "eps", x_t, t)

    def to_v(self, prediction: Tensor, kind: Prediction, x_t: Tensor, t: Tensor | float) -> Tensor:
        """v-prediction alpha_t eps - sigma_t data implied by a ``kind`` prediction."""
        return self.convert(prediction, kind, "v", x_t, t)
