"""SEANet convolutional encoder and decoder of neural audio codecs (SoundStream, EnCodec).

The encoder maps a waveform (B, 1, T) to latents (B, dim, T / hop) through residual units and
strided convolutions (hop = product of ``strides``); the decoder mirrors it with transposed
convolutions. With ``causal=True`` every convolution pads on the left only, so an output frame
depends on past samples alone (streaming; EnCodec's 24 kHz model is causal). T must be a
multiple of the hop; the codec representation pads to one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import weight_norm


class PaddedConv1d(nn.Module):
    """Conv1d whose output has ceil(T / stride) frames: zero padding of kernel - stride
    samples in total, all on the left when causal, split evenly otherwise."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 dilation: int = 1, causal: bool = False) -> None:
        super().__init__()
        self.conv = weight_norm(nn.Conv1d(in_channels, out_channels, kernel_size, stride,
                                          dilation=dilation))
        self.padding = dilation * (kernel_size - 1) + 1 - stride
        self.causal = causal

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left = self.padding if self.causal else self.padding // 2
        return self.conv(F.pad(x, (left, self.padding - left)))


class PaddedConvTranspose1d(nn.Module):
    """ConvTranspose1d producing exactly T * stride samples: the kernel - stride extra samples
    are cut from the right when causal, from both sides otherwise."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 causal: bool = False) -> None:
        super().__init__()
        self.conv = weight_norm(nn.ConvTranspose1d(in_channels, out_channels, kernel_size,
                                                   stride))
        self.trim = kernel_size - stride
        self.causal = causal

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        left = 0 if self.causal else self.trim // 2
        return y[..., left: y.shape[-1] - (self.trim - left)]


class ResidualUnit(nn.Module):
    """ELU, dilated conv (k=3) to half width, ELU, 1x1 conv back, plus the input (SEANet)."""

    def __init__(self, channels: int, dilation: int, kernel_size: int = 3,
                 causal: bool = False) -> None:
        super().__init__()
        hidden = max(1, channels // 2)
        self.inner = PaddedConv1d(channels, hidden, kernel_size, dilation=dilation,
                                  causal=causal)
        self.outer = PaddedConv1d(hidden, channels, 1, causal=causal)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.outer(F.elu(self.inner(F.elu(x))))


class SEANetEncoder(nn.Module):
    """Waveform (B, channels, T) -> latents (B, dim, T / hop), hop = prod(strides).

    Channels double at each downsampling (starting from ``base_channels``); every stage has a
    residual unit per entry of ``dilations`` (EnCodec: (1,), SoundStream: (1, 3, 9)).
    """

    def __init__(self, dim: int = 128, channels: int = 1, base_channels: int = 32,
                 strides: Sequence[int] = (2, 4, 5, 8), dilations: Sequence[int] = (1,),
                 kernel_size: int = 7, causal: bool = False) -> None:
        super().__init__()
        self.strides, self.dim = tuple(strides), dim
        self.hop_length = math.prod(self.strides)
        layers: list[nn.Module] = [PaddedConv1d(channels, base_channels, kernel_size,
                                                causal=causal)]
        width = base_channels
        for stride in self.strides:
            layers += [ResidualUnit(width, d, causal=causal) for d in dilations]
            layers += [nn.ELU(), PaddedConv1d(width, 2 * width, 2 * stride, stride,
                                              causal=causal)]
            width *= 2
        layers += [nn.ELU(), PaddedConv1d(width, dim, kernel_size, causal=causal)]
        self.layers = nn.Sequential(*layers)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if wave.dim() == 2:
            wave = wave.unsqueeze(1)
        return self.layers(wave)


class SEANetDecoder(nn.Module):
    """Latents (B, dim, frames) -> waveform (B, channels, frames * hop): the encoder's mirror,
    upsampling by ``strides`` in reverse order with transposed convolutions."""

    def __init__(self, dim: int = 128, channels: int = 1, base_channels: int = 32,
                 strides: Sequence[int] = (2, 4, 5, 8), dilations: Sequence[int] = (1,),
                 kernel_size: int = 7, causal: bool = False) -> None:
        super().__init__()
        self.strides, self.dim = tuple(strides), dim
        self.hop_length = math.prod(self.strides)
        width = base_channels * 2 ** len(self.strides)
        layers: list[nn.Module] = [PaddedConv1d(dim, width, kernel_size, causal=causal)]
        for stride in reversed(self.strides):
            layers += [nn.ELU(), PaddedConvTranspose1d(width, width // 2, 2 * stride, stride,
                                                       causal=causal)]
            width //= 2
            layers += [ResidualUnit(width, d, causal=causal) for d in dilations]
        layers += [nn.ELU(), PaddedConv1d(width, channels, kernel_size, causal=causal)]
        self.layers = nn.Sequential(*layers)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return self.layers(latents)


def remove_weight_norm(module: nn.Module) -> nn.Module:
    """Fold every weight-norm parametrization under ``module`` into a plain weight (for
    inference: the weight is no longer recomputed on each call). Returns ``module``."""
    from torch.nn.utils import parametrize

    for child in module.modules():
        if parametrize.is_parametrized(child, "weight"):
            parametrize.remove_parametrizations(child, "weight", leave_parametrized=True)
    return module
