"""Neural codec training (SoundStream / EnCodec recipe): reconstruction + GAN + commitment.

Generator loss = ``stft_weight`` * multi-resolution STFT + ``mel_weight`` * mel L1
+ ``commitment_weight`` * commitment + (from ``gan_start_step``) the adversarial and
feature-matching terms of every discriminator (relative feature matching, as EnCodec).
The codebooks learn by EMA inside the quantizer, not from the loss.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from audiogen.errors import ConfigError
from audiogen.losses import adversarial
from audiogen.losses.spectral import MelL1Loss, MultiResolutionSTFTLoss
from audiogen.representations.base import Representation
from audiogen.representations.codec import NeuralCodec
from audiogen.representations.quantizers import perplexity
from audiogen.tasks.base import Task


class CodecTask(Task):
    """Trains ``representation`` (a :class:`NeuralCodec`) against ``discriminators``.

    ``mel`` is the log-mel representation of the mel L1 term (at the codec's sample rate).
    Phases: ``generator`` (the codec) then ``discriminator``. ``synthesize`` decodes tokens.
    """

    representation: NeuralCodec

    def __init__(self, representation: NeuralCodec, discriminators: list[nn.Module],
                 mel: Representation, stft_weight: float = 1.0, mel_weight: float = 15.0,
                 commitment_weight: float = 1.0, adversarial_weight: float = 1.0,
                 feature_weight: float = 3.0, loss: Literal["hinge", "lsgan"] = "hinge",
                 gan_start_step: int = 0) -> None:
        super().__init__()
        if mel.sample_rate != representation.sample_rate:
            raise ConfigError(f"mel sample_rate {mel.sample_rate} differs from the codec's "
                              f"{representation.sample_rate}")
        self.representation = representation
        self.discriminators = nn.ModuleList(discriminators)
        self.stft_loss = MultiResolutionSTFTLoss()
        self.mel_loss = MelL1Loss(mel)
        self.stft_weight, self.mel_weight = stft_weight, mel_weight
        self.commitment_weight, self.adversarial_weight = commitment_weight, adversarial_weight
        self.feature_weight, self.loss_kind, self.gan_start_step = (feature_weight, loss,
                                                                    gan_start_step)

    def phases(self) -> dict[str, nn.Module]:
        return {"generator": self.representation, "discriminator": self.discriminators}

    def synthesize(self, features: torch.Tensor, steps: int | None = None,
                   solver: str | None = None, generator: torch.Generator | None = None,
                   grid: str | None = None) -> torch.Tensor:
        """Tokens (B, n_q, frames) -> audio (B, frames * hop) with the codec's decoder."""
        return self.representation.decode(features)

    def _generator_losses(self, wave: torch.Tensor, adversarial_on: bool,
                          batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        fake, quantized = self.representation.reconstruct(wave)
        batch["_gan_real"], batch["_gan_fake"] = wave, fake.detach()
        result = {"mrstft": self.stft_loss(fake, wave), "mel_l1": self.mel_loss(fake, wave),
                  "commitment": quantized.commitment,
                  "perplexity_0": perplexity(quantized.codes[:, 0],
                                             self.representation.codebook_size).detach()}
        total = (self.stft_weight * result["mrstft"] + self.mel_weight * result["mel_l1"]
                 + self.commitment_weight * result["commitment"])
        if adversarial_on:
            terms = adversarial.generator_terms(self.discriminators, wave, fake, self.loss_kind,
                                                relative_features=True)
            result.update(terms)
            total = total + adversarial.weighted_generator_total(
                terms, self.adversarial_weight, self.feature_weight)
        result["loss"] = total
        return result

    def losses(self, batch: dict[str, Any], phase: str, step: int) -> dict[str, torch.Tensor]:
        adversarial_on = bool(self.discriminators) and (step < 0 or step >= self.gan_start_step)
        if phase == "generator":
            return self._generator_losses(batch["audio"][:, 0], adversarial_on, batch)
        zero = torch.zeros((), device=batch["audio"].device)
        if not adversarial_on:
            return {"loss": zero}
        result = adversarial.discriminator_terms(self.discriminators, batch["_gan_real"],
                                                 batch["_gan_fake"], self.loss_kind)
        result["loss"] = torch.stack(list(result.values())).sum()
        return result

    @torch.no_grad()
    def validate(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Mel L1 at every supported bandwidth prefix ending in full n_q; audio at full n_q."""
        wave = batch["audio"][:, 0]
        codec = self.representation
        codes = codec.tokens(wave)
        result: dict[str, Any] = {}
        audio = wave
        for levels in sorted({max(1, codec.n_q // 4), max(1, codec.n_q // 2), codec.n_q}):
            audio = codec.decode_levels(codes[:, :levels])[..., : wave.shape[-1]]
            kbps = levels * codec.frame_rate * codec.bits_per_level / 1000
            result[f"mel_l1_{kbps:g}kbps"] = float(self.mel_loss(audio, wave))
        result["audio"] = audio[:, None]
        return result
