"""Mel inversion without training: Griffin-Lim (the quality floor of vocoder tables) and the
mel-consistent variant (:mod:`audiogen.representations.mel_inversion`)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from audiogen.errors import ConfigError
from audiogen.representations.base import Representation
from audiogen.representations.mel_inversion import METHODS, PHASE_INITS, Method, PhaseInit
from audiogen.tasks.base import Task


class GriffinLim(Task):
    """Inverts features with the representation's own ``decode`` (phase retrieval for log-mel).

    ``method`` is ``"griffin_lim"`` (fixed pseudo-inverse magnitude) or ``"mel_consistent"``
    (magnitude re-fitted to the mel every iteration); ``phase_init`` ``"pghi"`` starts from
    phase gradient integration instead of random phase, ``momentum`` is fast Griffin-Lim's;
    ``gamma`` other than 1 with ``beta`` makes it accelerated Griffin-Lim (Nenov et al. 2023).
    Nothing to train; build it from a config and pass the config to ``audiogen synthesize``.
    """

    def __init__(self, representation: Representation, n_iter: int = 32,
                 method: Method = "griffin_lim", phase_init: PhaseInit = "random",
                 momentum: float = 0.99, beta: float = 0.0, gamma: float = 1.0) -> None:
        super().__init__()
        if method not in METHODS:
            raise ConfigError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
        if phase_init not in PHASE_INITS:
            raise ConfigError(f"unknown phase_init {phase_init!r}; choose from "
                              f"{', '.join(PHASE_INITS)}")
        self.representation, self.n_iter, self.method = representation, n_iter, method
        if not 0.0 < gamma < 2.0:
            raise ConfigError(f"gamma {gamma} must lie in (0, 2) (1 is fast Griffin-Lim)")
        self.phase_init, self.momentum, self.beta, self.gamma = phase_init, momentum, beta, gamma

    multi_step = True  # ``steps`` are its iterations

    def phases(self) -> dict[str, nn.Module]:
        return {}

    def losses(self, batch: dict[str, Any], phase: str, step: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError("Griffin-Lim has nothing to train")

    @torch.no_grad()
    def synthesize(self, features: torch.Tensor, steps: int | None = None,
                   solver: str | None = None, generator: torch.Generator | None = None,
                   grid: str | None = None) -> torch.Tensor:
        """(B, n_mels, frames) -> (B, frames * hop); ``steps`` overrides the iteration count."""
        return self.representation.decode(features, n_iter=steps or self.n_iter,  # type: ignore
                                          method=self.method, generator=generator,
                                          phase_init=self.phase_init, momentum=self.momentum,
                                          beta=self.beta, gamma=self.gamma)
