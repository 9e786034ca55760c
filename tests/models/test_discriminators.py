import pytest
import torch

from audiogen.models.discriminators import (
    MultiPeriodDiscriminator,
    MultiResolutionSTFTDiscriminator,
)


@pytest.mark.parametrize("samples", [800, 1001])
def test_multi_period_outputs_per_period(samples: int) -> None:
    periods, channels = (2, 3, 5, 7, 11), (4, 8)
    discriminator = MultiPeriodDiscriminator(periods, channels=channels)
    logits, features = discriminator(torch.randn(2, samples))
    assert len(logits) == len(features) == len(periods)
    for period, period_logits, maps in zip(periods, logits, features, strict=True):
        assert period_logits.dim() == 2 and period_logits.shape[0] == 2
        assert len(maps) == len(channels) + 2
        assert all(m.shape[-1] == period for m in maps)
        assert [m.shape[1] for m in maps] == [4, 8, 8, 1]
        assert period_logits.shape[1] == maps[-1][0].numel()


def test_multi_resolution_outputs_per_resolution() -> None:
    resolutions = ((128, 32, 128), (256, 64, 256), (64, 16, 48))
    discriminator = MultiResolutionSTFTDiscriminator(resolutions, channels=4)
    logits, features = discriminator(torch.randn(2, 1, 1999))
    assert len(logits) == len(features) == len(resolutions)
    for (n_fft, hop, _), resolution_logits, maps in zip(resolutions, logits, features, strict=True):
        assert maps[0].shape == (2, 4, n_fft // 2 + 1, 1999 // hop + 1)
        assert maps[-1].shape[1] == 1
        assert resolution_logits.shape == (2, maps[-1][0].numel())


@pytest.mark.parametrize("make", [
    lambda: MultiPeriodDiscriminator((2, 3), channels=(4, 8)),
    lambda: MultiResolutionSTFTDiscriminator(((64, 16, 64),), channels=4),
])
def test_discriminator_gradients_reach_the_waveform(make) -> None:
    torch.manual_seed(0)
    wave = torch.randn(2, 1, 640, requires_grad=True)
    logits, _ = make()(wave)
    sum(x.square().mean() for x in logits).backward()
    assert wave.grad is not None and wave.grad.abs().sum() > 0


def test_discriminators_reject_multichannel_audio() -> None:
    with pytest.raises(ValueError):
        MultiPeriodDiscriminator((2,), channels=(4,))(torch.randn(2, 2, 100))
