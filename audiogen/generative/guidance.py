"""Classifier-free guidance as a wrapper of a velocity function; models never contain it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
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


def cfg_joint(prediction_fn: Callable[[Tensor, Tensor, Tensor], Tensor], scale: float,
              null: Tensor) -> Callable[[Tensor, Tensor, Tensor], Tensor]:
    """:func:`cfg` with both branches in one call on a batch twice as large.

    ``prediction_fn(x_t, t, ids)`` takes a batch of condition tensors; ``null`` (B, ...) is the
    unconditional (or negative) condition, paired row by row with ``cond``. One call of twice
    the batch keeps the matrix products larger, which on a CPU is faster than two calls, most
    of all at batch 1. Networks whose items interact across the batch (batch norm in training
    mode) must not be guided this way.
    """

    def guided(x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        if scale == 0.0:
            return prediction_fn(x_t, t, null)
        if scale == 1.0:
            return prediction_fn(x_t, t, cond)
        times = torch.cat([t, t]) if t.ndim else t
        both = prediction_fn(torch.cat([x_t, x_t]), times, torch.cat([cond, null]))
        conditional, unconditional = both.chunk(2)
        return unconditional + scale * (conditional - unconditional)

    return guided
