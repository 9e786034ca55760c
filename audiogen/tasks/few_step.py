"""Few-step generators: a trained path model's sampler unrolled into one network.

Fine-tuning the unrolled 1-2 step sampler with adversarial and mel losses (as PeriodWave-Turbo
and Flow2GAN do) turns a multi-step flow vocoder into a fast one; :class:`GANVocoder` trains it
like any generator.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from audiogen.tasks.vocoder import GenerativeVocoder


class FewStepGenerator(nn.Module):
    """features (B, C, frames) -> audio (B, frames * hop) by ``steps`` steps of ``solver``.

    The teacher's network is trained further; its prior, path and state are reused as they are.
    """

    def __init__(self, teacher: GenerativeVocoder, steps: int = 1, solver: str = "euler") -> None:
        super().__init__()
        self.teacher, self.steps, self.solver = teacher, steps, solver

    @property
    def hop_length(self) -> int:
        return self.teacher.representation.hop_length

    @property
    def spec(self) -> dict[str, Any]:
        return self.teacher.representation.spec

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.teacher.generate(features, self.steps, self.solver)
