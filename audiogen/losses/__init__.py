"""Training losses on tensors: spectral reconstruction and adversarial (GAN) losses."""

from audiogen.losses.adversarial import (
    feature_matching_loss,
    hinge_discriminator_loss,
    hinge_generator_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
)
from audiogen.losses.spectral import MelL1Loss, MultiResolutionSTFTLoss

__all__ = [
    "MelL1Loss",
    "MultiResolutionSTFTLoss",
    "feature_matching_loss",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
]
