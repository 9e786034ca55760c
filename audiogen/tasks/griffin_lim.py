"""Griffin-Lim from the representation: the untrained quality floor for vocoder tables."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from audiogen.representations.base import Representation
from audiogen.tasks.base import Task


class GriffinLim(Task):
    """Inverts features with the representation's own ``decode`` (Griffin-Lim for log-mel).

    Nothing to train; build it from a config and pass the config to ``audiogen synthesize``.
    """

    def __init__(self, representation: Representation, n_iter: int = 32) -> None:
        super().__init__()
        self.representation, self.n_iter = representation, n_iter

    def phases(self) -> dict[str, nn.Module]:
        return {}

    def losses(self, batch: dict[str, Any], phase: str, step: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError("Griffin-Lim has nothing to train")

    @torch.no_grad()
    def synthesize(self, features: torch.Tensor, steps: int | None = None,
                   solver: str | None = None, generator: torch.Generator | None = None,
                   grid: str | None = None) -> torch.Tensor:
        """(B, n_mels, frames) -> (B, frames * hop); ``steps`` overrides the iteration count."""
        if generator is not None:
            torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=generator)))
        return self.representation.decode(features, n_iter=steps or self.n_iter)  # type: ignore
