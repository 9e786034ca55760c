"""GAN vocoder (HiFi-GAN / Vocos training): mel L1 + adversarial + feature-matching losses."""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from audiogen.errors import ConfigError
from audiogen.losses import adversarial
from audiogen.losses.spectral import MelL1Loss
from audiogen.representations.base import Representation, check_spec
from audiogen.tasks.base import Task


class GANVocoder(Task):
    """Trains ``generator`` (features -> waveform) against several discriminators.

    Generator loss: ``mel_weight`` * mel L1 (Kong et al. 2020) + sum over discriminators of the
    adversarial loss + ``feature_weight`` * feature matching; the adversarial terms start at
    ``gan_start_step`` (a mel-only warm-up helps the CPU quick start).
    """

    def __init__(self, representation: Representation, generator: nn.Module,
                 discriminators: list[nn.Module], mel_weight: float = 45.0,
                 feature_weight: float = 2.0, adversarial_weight: float = 1.0,
                 loss: Literal["hinge", "lsgan"] = "hinge", gan_start_step: int = 0) -> None:
        super().__init__()
        hop = getattr(generator, "hop_length", representation.hop_length)
        if hop != representation.hop_length:
            raise ConfigError(f"generator hop_length {hop} differs from the representation's "
                              f"{representation.hop_length}")
        generator_spec = getattr(generator, "spec", None)
        if generator_spec is not None:
            check_spec(generator_spec, representation.spec, what="the task's features")
        self.representation, self.generator = representation, generator
        self.discriminators = nn.ModuleList(discriminators)
        self.mel_loss = MelL1Loss(representation)
        self.mel_weight, self.feature_weight = mel_weight, feature_weight
        self.adversarial_weight, self.loss_kind = adversarial_weight, loss
        self.gan_start_step = gan_start_step

    def phases(self) -> dict[str, nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminators}

    def synthesize(self, features: torch.Tensor, steps: int | None = None,
                   solver: str | None = None, generator: torch.Generator | None = None,
                   grid: str | None = None) -> torch.Tensor:
        """(B, C, frames) features -> (B, frames * hop) waveform (one step; no solver)."""
        return self.generator(features)

    def _prepare(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        wave = batch["audio"][:, 0]
        frames = wave.shape[-1] // self.representation.hop_length
        wave = wave[:, : frames * self.representation.hop_length]
        with torch.no_grad():
            features = self.representation.encode(wave)
        return wave, features

    def losses(self, batch: dict[str, Any], phase: str, step: int) -> dict[str, torch.Tensor]:
        adversarial_on = step < 0 or step >= self.gan_start_step
        if phase == "generator":
            wave, features = self._prepare(batch)
            fake = self.generator(features)[..., : wave.shape[-1]]
            batch["_gan_real"], batch["_gan_fake"] = wave, fake.detach()
            mel = self.mel_loss(fake, wave)
            result = {"mel_l1": mel}
            total = self.mel_weight * mel
            if adversarial_on:
                terms = adversarial.generator_terms(self.discriminators, wave, fake,
                                                    self.loss_kind)
                result.update(terms)
                total = total + adversarial.weighted_generator_total(
                    terms, self.adversarial_weight, self.feature_weight)
            result["loss"] = total
            return result
        if not adversarial_on:
            return {"loss": torch.zeros((), device=batch["audio"].device)}
        result = adversarial.discriminator_terms(self.discriminators, batch["_gan_real"],
                                                 batch["_gan_fake"], self.loss_kind)
        result["loss"] = torch.stack(list(result.values())).sum()
        return result

    @torch.no_grad()
    def validate(self, batch: dict[str, Any]) -> dict[str, Any]:
        wave, features = self._prepare(batch)
        fake = self.generator(features)[..., : wave.shape[-1]]
        return {"mel_l1": float(self.mel_loss(fake, wave)), "audio": fake[:, None]}
