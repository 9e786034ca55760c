import math

import pytest
import torch

from audiogen.losses import (
    MelL1Loss,
    MultiResolutionSTFTLoss,
    feature_matching_loss,
    hinge_discriminator_loss,
    hinge_generator_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
)
from audiogen.representations import LogMel


def tone(samples: int = 8000) -> torch.Tensor:
    time = torch.arange(samples) / 16000
    return (0.4 * torch.sin(2 * math.pi * 220 * time) + 0.1 * torch.sin(2 * math.pi * 3000 * time)
            )[None].repeat(2, 1)


def test_mr_stft_loss_zero_for_identical_and_grows_with_noise() -> None:
    torch.manual_seed(0)
    loss = MultiResolutionSTFTLoss()
    target = tone()
    assert loss(target, target).item() == pytest.approx(0.0, abs=1e-6)
    noise = torch.randn_like(target)
    values = [loss(target + level * noise, target).item() for level in (1e-3, 1e-2, 0.1, 1.0)]
    assert all(a < b for a, b in zip(values, values[1:], strict=False)), values


def test_mr_stft_loss_accepts_channel_axis_and_gives_gradients() -> None:
    loss = MultiResolutionSTFTLoss(((64, 16, 48), (128, 32, 128)))
    target = tone(1001)[:, None]
    prediction = (target + 0.1 * torch.randn_like(target)).requires_grad_()
    value = loss(prediction, target)
    assert value.dim() == 0 and value > 0
    value.backward()
    assert prediction.grad is not None and prediction.grad.abs().sum() > 0


def test_mel_l1_loss() -> None:
    torch.manual_seed(0)
    loss = MelL1Loss(LogMel(16000, n_fft=256, hop_length=64, n_mels=20))
    target = tone() + 0.05 * torch.randn(2, 8000)
    assert loss(target, target).item() == 0.0
    prediction = (0.5 * target).requires_grad_()
    value = loss(prediction, target)
    assert value.item() == pytest.approx(math.log(2.0), rel=0.05)
    value.backward()
    assert prediction.grad is not None and prediction.grad.abs().sum() > 0


def test_least_squares_losses_vanish_at_their_targets() -> None:
    ones, zeros = [torch.ones(2, 5), torch.ones(2, 3)], [torch.zeros(2, 5), torch.zeros(2, 3)]
    assert lsgan_discriminator_loss(ones, zeros).item() == 0.0
    assert lsgan_generator_loss(ones).item() == 0.0
    assert lsgan_discriminator_loss(zeros, ones).item() == pytest.approx(4.0)
    assert lsgan_generator_loss(zeros).item() == pytest.approx(2.0)


def test_hinge_losses() -> None:
    confident_real, confident_fake = [torch.full((2, 4), 3.0)], [torch.full((2, 4), -2.0)]
    assert hinge_discriminator_loss(confident_real, confident_fake).item() == 0.0
    assert hinge_discriminator_loss([torch.zeros(2, 4)], [torch.zeros(2, 4)]).item() == 2.0
    assert hinge_generator_loss(confident_real).item() == 0.0
    assert hinge_generator_loss([torch.full((3,), -1.0)]).item() == pytest.approx(2.0)


def test_feature_matching() -> None:
    torch.manual_seed(0)
    real = [[torch.randn(2, 4, 10), torch.randn(2, 1, 5)], [torch.randn(2, 3, 7)]]
    assert feature_matching_loss(real, real).item() == 0.0
    fake = [[(m + 0.5).requires_grad_() for m in maps] for maps in real]
    value = feature_matching_loss(real, fake)
    assert value.item() == pytest.approx(1.5)
    value.backward()
    assert all(m.grad is not None for maps in fake for m in maps)
    scaled_real = [[10 * m for m in maps] for maps in real]
    scaled_fake = [[10 * m.detach() for m in maps] for maps in fake]
    torch.testing.assert_close(feature_matching_loss(scaled_real, scaled_fake, relative=True),
                               feature_matching_loss(real, fake, relative=True))
    with pytest.raises(ValueError):
        feature_matching_loss(real, fake[:1])


class _TwoLayerCritic(torch.nn.Module):
    """A tiny discriminator: returns ([logits], [[feature maps]]) like the real ones."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.first = torch.nn.Conv1d(1, 4, 5, padding=2)
        self.second = torch.nn.Conv1d(4, 1, 5, padding=2)

    def forward(self, wave: torch.Tensor):
        hidden = torch.tanh(self.first(wave[:, None]))
        logits = self.second(hidden)
        return [logits], [[hidden, logits]]


def test_generator_and_discriminator_terms_match_the_per_critic_losses() -> None:
    from audiogen.losses import adversarial

    critics = [_TwoLayerCritic(0), _TwoLayerCritic(1)]
    real = torch.randn(2, 400)
    fake = torch.randn(2, 400, requires_grad=True)
    terms = adversarial.generator_terms(critics, real, fake, "lsgan", relative_features=True)
    assert sorted(terms) == ["adv_0", "adv_1", "fm_0", "fm_1"]
    for index, critic in enumerate(critics):
        fake_logits, fake_maps = critic(fake)
        _, real_maps = critic(real)
        expected_adv = ((1 - fake_logits[0]) ** 2).mean()
        expected_fm = sum(((r - f).abs().mean() / (r.abs().mean() + 1e-8))
                          for r, f in zip(real_maps[0], fake_maps[0]))
        assert torch.allclose(terms[f"adv_{index}"], expected_adv)
        assert torch.allclose(terms[f"fm_{index}"], expected_fm)
    total = adversarial.weighted_generator_total(terms, adversarial_weight=2.0, feature_weight=3.0)
    expected_total = 2 * (terms["adv_0"] + terms["adv_1"]) + 3 * (terms["fm_0"] + terms["fm_1"])
    assert torch.allclose(total, expected_total)
    total.backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0

    disc = adversarial.discriminator_terms(critics, real, fake, "hinge")
    for index, critic in enumerate(critics):
        expected = (torch.relu(1 - critic(real)[0][0]).mean()
                    + torch.relu(1 + critic(fake)[0][0]).mean())
        assert torch.allclose(disc[f"disc_{index}"], expected)
    assert disc["disc_0"].grad_fn is not None
    fake.grad = None
    disc["disc_0"].backward()
    assert fake.grad is None
