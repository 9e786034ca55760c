"""GAN losses over lists of discriminator outputs: least squares, hinge, feature matching.

Logits come as one tensor per sub-discriminator (any shape); each loss averages over a tensor's
elements and sums over sub-discriminators (HiFi-GAN, Kong et al. 2020).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _sum(terms: list[torch.Tensor]) -> torch.Tensor:
    if not terms:
        raise ValueError("no discriminator outputs given")
    return torch.stack(terms).sum()


def lsgan_discriminator_loss(real_logits: Sequence[torch.Tensor],
                             fake_logits: Sequence[torch.Tensor]) -> torch.Tensor:
    """Least-squares GAN discriminator loss (Mao et al. 2017): mean (1 - D(x))^2 + D(G(z))^2."""
    return _sum([(1 - real).square().mean() + fake.square().mean()
                 for real, fake in zip(real_logits, fake_logits, strict=True)])


def lsgan_generator_loss(fake_logits: Sequence[torch.Tensor]) -> torch.Tensor:
    """Least-squares GAN generator loss (Mao et al. 2017): mean (1 - D(G(z)))^2."""
    return _sum([(1 - fake).square().mean() for fake in fake_logits])


def hinge_discriminator_loss(real_logits: Sequence[torch.Tensor],
                             fake_logits: Sequence[torch.Tensor]) -> torch.Tensor:
    """Hinge discriminator loss (Lim & Ye 2017): mean relu(1 - D(x)) + relu(1 + D(G(z)))."""
    return _sum([torch.relu(1 - real).mean() + torch.relu(1 + fake).mean()
                 for real, fake in zip(real_logits, fake_logits, strict=True)])


def hinge_generator_loss(fake_logits: Sequence[torch.Tensor]) -> torch.Tensor:
    """Hinge generator loss in the form of EnCodec and Vocos: mean relu(1 - D(G(z)))."""
    return _sum([torch.relu(1 - fake).mean() for fake in fake_logits])


def feature_matching_loss(real_features: Sequence[Sequence[torch.Tensor]],
                          fake_features: Sequence[Sequence[torch.Tensor]],
                          relative: bool = False, eps: float = 1e-8) -> torch.Tensor:
    """L1 distance between discriminator feature maps of real and generated audio (Larsen et
    al. 2016; MelGAN, HiFi-GAN), summed over sub-discriminators and layers.

    Each layer's L1 is a mean over its elements; with ``relative`` it is further divided by
    the mean magnitude of the real feature map (EnCodec), so layers of any scale weigh alike.
    Real features are targets and carry no gradient.
    """
    terms = []
    for real_maps, fake_maps in zip(real_features, fake_features, strict=True):
        for real, fake in zip(real_maps, fake_maps, strict=True):
            real = real.detach()
            distance = (real - fake).abs().mean()
            terms.append(distance / (real.abs().mean() + eps) if relative else distance)
    return _sum(terms)
