"""Classifier-free guidance as a wrapper of a velocity function; models never contain it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

VelocityFn = Callable[[Tensor, Tensor, Any], Tensor]


def cfg(velocity_fn: VelocityFn, scale: float) -> VelocityFn:
    """Classifier-free guidance (Ho & Salimans 2022): u + scale * (u_cond - u).

    ``velocity_fn(x_t, t, cond)`` gives the velocity for x_t (B, ...) at t (B,); ``cond=None``
    asks for the unconditional branch. Scale 1 is the conditional field, 0 the unconditional one
    (each then costs a single call). Because every prediction type is an affine function of the
    prediction at fixed (x_t, t), guiding an eps/data/v output with the same scale is identical
    to guiding the velocity, so the wrapped function may return any one prediction type.
    """

    def guided(x_t: Tensor, t: Tensor, cond: Any) -> Tensor:
        if scale == 0.0:
            return velocity_fn(x_t, t, None)
        conditional = velocity_fn(x_t, t, cond)
        if scale == 1.0:
            return conditional
        unconditional = velocity_fn(x_t, t, None)
        return unconditional + scale * (conditional - unconditional)

    return guided
