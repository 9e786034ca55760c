import pytest
import torch
from torch import nn

from audiogen.models.backbones import ConditionUpsampler, ConvNeXtBackbone, WaveNetBackbone
from audiogen.nn.convnext import AdaptiveLayerNorm, ConvNeXtBlock
from audiogen.nn.embeddings import TimeEmbedding, sinusoidal_embedding


def randomise_zero_initialised(model: nn.Module) -> None:
    """Give adaLN and output projections (zero at initialisation) random weights."""
    for module in model.modules():
        if isinstance(module, AdaptiveLayerNorm):
            nn.init.normal_(module.modulation.weight)
    if isinstance(model, WaveNetBackbone):
        nn.init.normal_(model.output.weight, std=0.1)


def test_sinusoidal_embedding_is_cos_then_sin_of_scaled_time() -> None:
    t = torch.tensor([0.0, 3.0], dtype=torch.float64)
    embedding = sinusoidal_embedding(t, 8, max_period=10000.0)
    frequencies = 10000.0 ** (-torch.arange(4, dtype=torch.float64) / 4)
    assert embedding.shape == (2, 8) and embedding.dtype == torch.float64
    torch.testing.assert_close(embedding[1, :4], torch.cos(3.0 * frequencies))
    torch.testing.assert_close(embedding[1, 4:], torch.sin(3.0 * frequencies))
    torch.testing.assert_close(embedding[0], torch.tensor([1.0] * 4 + [0.0] * 4,
                                                          dtype=torch.float64))
    with pytest.raises(ValueError):
        sinusoidal_embedding(t, 7)


def test_time_embedding_accepts_continuous_and_integer_times() -> None:
    continuous = TimeEmbedding(16)
    close_times = continuous(torch.tensor([0.500, 0.501]))
    assert close_times.shape == (2, 16)
    assert not torch.allclose(close_times[0], close_times[1])
    steps = TimeEmbedding(16, scale=1.0)(torch.tensor([0, 49]))
    assert steps.shape == (2, 16) and steps.dtype == torch.float32


def test_convnext_block_keeps_shape_and_odd_kernel_required() -> None:
    block = ConvNeXtBlock(8, 24, layer_scale_init=0.5)
    x = torch.randn(3, 8, 11)
    assert block(x).shape == x.shape
    with pytest.raises(ValueError):
        ConvNeXtBlock(8, 24, 0.5, kernel_size=6)


@pytest.mark.parametrize("frames", [1, 17, 64])
def test_convnext_backbone_shapes(frames: int) -> None:
    backbone = ConvNeXtBackbone(in_channels=10, dim=16, intermediate_dim=48, num_layers=2)
    out = backbone(torch.randn(2, 10, frames))
    assert out.shape == (2, 16, frames) and out.dtype == torch.float32
    assert backbone.dim == 16


def test_convnext_backbone_checks_time_argument() -> None:
    plain = ConvNeXtBackbone(4, 8, 24, 1)
    timed = ConvNeXtBackbone(4, 8, 24, 1, time_conditioned=True)
    x = torch.randn(1, 4, 5)
    with pytest.raises(ValueError):
        plain(x, torch.rand(1))
    with pytest.raises(ValueError):
        timed(x)


def test_adaln_starts_neutral_then_conditions_on_time() -> None:
    torch.manual_seed(0)
    backbone = ConvNeXtBackbone(6, 16, 48, 2, time_conditioned=True)
    x = torch.randn(1, 6, 9).expand(2, -1, -1)
    t = torch.tensor([0.1, 0.9])
    out = backbone(x, t)
    torch.testing.assert_close(out[0], out[1])
    randomise_zero_initialised(backbone)
    for parameter in backbone.time_embedding.parameters():
        nn.init.normal_(parameter, std=0.5)
    out = backbone(x, t)
    assert (out[0] - out[1]).abs().max() > 1e-2


def test_convnext_backbone_gradients_reach_every_parameter() -> None:
    torch.manual_seed(0)
    backbone = ConvNeXtBackbone(6, 16, 48, 2, time_conditioned=True)
    randomise_zero_initialised(backbone)
    x = torch.randn(2, 6, 13, requires_grad=True)
    backbone(x, torch.rand(2)).square().mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, parameter in backbone.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_convnext_backbone_bf16_autocast_on_cpu() -> None:
    torch.manual_seed(0)
    backbone = ConvNeXtBackbone(6, 32, 96, 2, time_conditioned=True)
    randomise_zero_initialised(backbone)
    x, t = torch.randn(2, 6, 21), torch.rand(2)
    reference = backbone(x, t)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = backbone(x, t)
    assert low.shape == reference.shape and torch.isfinite(low).all()
    assert not torch.equal(low.float(), reference)
    torch.testing.assert_close(low.float(), reference, atol=0.1, rtol=0.05)


@pytest.mark.parametrize("factors", [(4, 4), (3, 5), (1, 2)])
def test_condition_upsampler_length(factors: tuple[int, int]) -> None:
    upsampler = ConditionUpsampler(3, factors)
    assert upsampler(torch.randn(2, 3, 7)).shape == (2, 3, 7 * factors[0] * factors[1])


@pytest.mark.parametrize("frames", [1, 7])
def test_wavenet_output_length_is_hop_times_frames(frames: int) -> None:
    model = WaveNetBackbone(cond_channels=5, upsample_factors=(3, 4), residual_channels=8,
                            residual_layers=4, dilation_cycle_length=2, time_embedding_dim=32)
    assert model.hop_length == 12
    out = model(torch.randn(2, 1, 12 * frames), torch.rand(2), torch.randn(2, 5, frames))
    assert out.shape == (2, 1, 12 * frames) and out.dtype == torch.float32
    with pytest.raises(ValueError):
        model(torch.randn(2, 1, 12 * frames + 1), torch.rand(2), torch.randn(2, 5, frames))


def test_wavenet_integer_steps_and_gradients() -> None:
    torch.manual_seed(0)
    model = WaveNetBackbone(4, (2, 2), residual_channels=8, residual_layers=3,
                            dilation_cycle_length=3, time_embedding_dim=16, time_scale=1.0)
    cond, x_t = torch.randn(2, 4, 5), torch.randn(2, 1, 20)
    assert model(x_t, torch.tensor([3, 40]), cond).abs().max() == 0
    randomise_zero_initialised(model)
    out = model(x_t, torch.tensor([3, 40]), cond)
    assert not torch.allclose(out, model(x_t, torch.tensor([3, 41]), cond))
    out.square().mean().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
