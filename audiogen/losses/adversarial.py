"""GAN losses over lists of discriminator outputs: least squares, hinge, feature matching.

Logits come as one tensor per sub-discriminator (any shape); each loss averages over a tensor's
elements and sums over sub-discriminators (HiFi-GAN, Kong et al. 2020).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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


GENERATOR_LOSSES = {"hinge": hinge_generator_loss, "lsgan": lsgan_generator_loss}
DISCRIMINATOR_LOSSES = {"hinge": hinge_discriminator_loss, "lsgan": lsgan_discriminator_loss}


def generator_terms(discriminators: Iterable[torch.nn.Module], real: torch.Tensor,
                    fake: torch.Tensor, kind: str = "hinge",
                    relative_features: bool = False) -> dict[str, torch.Tensor]:
    """The generator's ``adv_i`` (adversarial) and ``fm_i`` (feature matching) terms against
    each discriminator ``i``; real audio goes through without gradient."""
    generator_loss = GENERATOR_LOSSES[kind]
    terms = {}
    for index, discriminator in enumerate(discriminators):
        fake_logits, fake_features = discriminator(fake)
        with torch.no_grad():
            _, real_features = discriminator(real)
        terms[f"adv_{index}"] = generator_loss(fake_logits)
        terms[f"fm_{index}"] = feature_matching_loss(real_features, fake_features,
                                                     relative=relative_features)
    return terms


def discriminator_terms(discriminators: Iterable[torch.nn.Module], real: torch.Tensor,
                        fake: torch.Tensor, kind: str = "hinge") -> dict[str, torch.Tensor]:
    """Each discriminator's loss ``disc_i`` on real and (detached) generated audio."""
    discriminator_loss = DISCRIMINATOR_LOSSES[kind]
    terms = {}
    for index, discriminator in enumerate(discriminators):
        real_logits, _ = discriminator(real)
        fake_logits, _ = discriminator(fake.detach())
        terms[f"disc_{index}"] = discriminator_loss(real_logits, fake_logits)
    return terms


def weighted_generator_total(terms: dict[str, torch.Tensor], adversarial_weight: float,
                             feature_weight: float) -> torch.Tensor:
    """sum_i adversarial_weight * adv_i + feature_weight * fm_i."""
    return _sum([(adversarial_weight if name.startswith("adv_") else feature_weight) * value
                 for name, value in terms.items()])
