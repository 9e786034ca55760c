"""The Task contract: a bundle of networks with its losses, used by the one trainer."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from audiogen.representations.base import Representation


class Task(nn.Module):
    """Glue between networks, a representation and the generative math.

    The trainer optimises one parameter group per *phase* (``phases()``, e.g. ``{"model": net}``
    or ``{"generator": g, "discriminator": d}``). For each phase and batch it calls
    ``losses(batch, phase, step)``, which returns named scalar tensors; the one named ``"loss"``
    is minimised, the others are logged. A phase may stash tensors in ``batch`` for a later
    phase of the same step (a GAN's generated audio).
    """

    representation: Representation
    multi_step = False  # whether synthesize() takes a number of solver steps

    def phases(self) -> dict[str, nn.Module]:
        """Trainable modules by phase name, in the order they are updated each step."""
        return {"model": self}

    def losses(self, batch: dict[str, Any], phase: str, step: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def synthesize(self, features: torch.Tensor, steps: int | None = None,
                   solver: str | None = None, generator: torch.Generator | None = None,
                   grid: str | None = None) -> torch.Tensor:
        """(B, dim, frames) features -> (B, T) audio; generative tasks honour steps, solver and
        time grid, one-step models ignore them."""
        raise NotImplementedError(f"{type(self).__name__} does not generate audio")

    @torch.no_grad()
    def validate(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Scalars (floats) and optionally ``audio``/``reference`` tensors (B, 1, T) to log."""
        losses = self.losses(batch, next(iter(self.phases())), step=-1)
        return {name: float(value) for name, value in losses.items()}

    @property
    def spec(self) -> dict[str, Any]:
        """The representation spec the task's networks were trained on."""
        return self.representation.spec

    @property
    def sample_rate(self) -> int:
        return self.representation.sample_rate
