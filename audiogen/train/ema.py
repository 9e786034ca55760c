"""Exponential moving average of parameters (Polyak averaging)."""

from __future__ import annotations

import torch
from torch import nn


class EMA:
    """Keeps ``shadow = d * shadow + (1 - d) * param`` for every floating parameter.

    The decay warms up as d = min(decay, (1 + n) / (10 + n)) after n updates (as TensorFlow's
    ExponentialMovingAverage with num_updates), so a short run is not dominated by the
    initial weights: with decay 0.999, 2,000 updates would otherwise keep 13 % of them.
    """

    def __init__(self, module: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema decay must lie in (0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.shadow = {name: p.detach().clone() for name, p in module.state_dict().items()
                       if p.dtype.is_floating_point}

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        """Move the averages one step toward the module's current parameters."""
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        self.updates += 1
        for name, value in module.state_dict().items():
            if name in self.shadow:
                self.shadow[name].lerp_(value.detach(), 1.0 - decay)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return dict(self.shadow)

    def resume(self, shadow: dict[str, torch.Tensor], updates: int) -> None:
        """Restore averages and the update count of a checkpoint."""
        self.load_state_dict(shadow)
        self.updates = updates

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        missing = set(self.shadow) - set(state)
        if missing:
            raise KeyError(f"EMA state lacks {sorted(missing)[:5]}")
        for name in self.shadow:
            self.shadow[name].copy_(state[name])
