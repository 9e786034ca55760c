"""GAN discriminators for vocoders: multi-period (HiFi-GAN) and multi-resolution STFT (UnivNet).

Each discriminator maps a waveform (B, T) or (B, 1, T) to (list of logits (B, n_i), list of
feature-map lists), one entry per sub-discriminator; the feature maps feed feature matching.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import weight_norm

DiscriminatorOutput = tuple[list[torch.Tensor], list[list[torch.Tensor]]]


def _as_batch_of_mono(wave: torch.Tensor) -> torch.Tensor:
    """(B, T) or (B, 1, T) -> (B, 1, T)."""
    if wave.dim() == 2:
        return wave.unsqueeze(1)
    if wave.dim() != 3 or wave.shape[1] != 1:
        raise ValueError(f"expected a waveform (B, T) or (B, 1, T), got {tuple(wave.shape)}")
    return wave


def _conv_stack(x: torch.Tensor, convs: nn.ModuleList, post: nn.Module,
                negative_slope: float) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Convs with leaky ReLU, then the output conv: (logits (B, n), every layer's output)."""
    features = []
    for conv in convs:
        x = F.leaky_relu(conv(x), negative_slope)
        features.append(x)
    x = post(x)
    features.append(x)
    return x.flatten(1), features


class PeriodDiscriminator(nn.Module):
    """HiFi-GAN period sub-discriminator (Kong et al. 2020): folds the waveform into
    (B, 1, T / period, period) and applies 2-D convs with kernels (kernel_size, 1).

    forward(wave: (B, 1, T)) -> (logits (B, n), feature maps, the last being the logits map).
    HiFi-GAN uses channels (32, 128, 512, 1024); the small default suits CPU runs.
    """

    def __init__(self, period: int, channels: Sequence[int] = (16, 32, 64, 128),
                 kernel_size: int = 5, stride: int = 3, negative_slope: float = 0.1) -> None:
        super().__init__()
        self.period, self.negative_slope = period, negative_slope
        padding = (kernel_size // 2, 0)
        widths = [1, *channels]
        convs = [weight_norm(nn.Conv2d(c_in, c_out, (kernel_size, 1), (stride, 1), padding))
                 for c_in, c_out in zip(widths[:-1], widths[1:], strict=True)]
        convs.append(weight_norm(nn.Conv2d(widths[-1], widths[-1], (kernel_size, 1), 1, padding)))
        self.convs = nn.ModuleList(convs)
        self.post = weight_norm(nn.Conv2d(widths[-1], 1, (3, 1), 1, (1, 0)))

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        remainder = wave.shape[-1] % self.period
        if remainder:
            wave = F.pad(wave, (0, self.period - remainder), mode="reflect")
        x = wave.reshape(wave.shape[0], 1, -1, self.period)
        return _conv_stack(x, self.convs, self.post, self.negative_slope)


class MultiPeriodDiscriminator(nn.Module):
    """Period sub-discriminators at prime periods (HiFi-GAN, Kong et al. 2020).

    forward(wave: (B, T) or (B, 1, T)) -> (logits per period, feature maps per period).
    """

    def __init__(self, periods: Sequence[int] = (2, 3, 5, 7, 11),
                 channels: Sequence[int] = (16, 32, 64, 128), kernel_size: int = 5,
                 stride: int = 3, negative_slope: float = 0.1) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            PeriodDiscriminator(p, channels, kernel_size, stride, negative_slope)
            for p in periods)

    def forward(self, wave: torch.Tensor) -> DiscriminatorOutput:
        wave = _as_batch_of_mono(wave)
        outputs = [discriminator(wave) for discriminator in self.discriminators]
        return [logits for logits, _ in outputs], [features for _, features in outputs]


class ResolutionDiscriminator(nn.Module):
    """Sub-discriminator on one STFT magnitude (UnivNet, Jang et al. 2021): 2-D convs over
    (frequency, time), striding along frequency.

    forward(wave: (B, 1, T)) -> (logits (B, n), feature maps, the last being the logits map).
    """

    window: torch.Tensor

    def __init__(self, n_fft: int, hop_length: int, win_length: int, channels: int = 32,
                 negative_slope: float = 0.1) -> None:
        super().__init__()
        self.n_fft, self.hop_length, self.win_length = n_fft, hop_length, win_length
        self.negative_slope = negative_slope
        self.register_buffer("window", torch.hann_window(win_length), persistent=False)
        self.convs = nn.ModuleList([
            weight_norm(nn.Conv2d(1, channels, (9, 3), padding=(4, 1))),
            *(weight_norm(nn.Conv2d(channels, channels, (9, 3), (2, 1), padding=(4, 1)))
              for _ in range(3)),
            weight_norm(nn.Conv2d(channels, channels, 3, padding=1)),
        ])
        self.post = weight_norm(nn.Conv2d(channels, 1, 3, padding=1))

    def magnitude(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, 1, T) -> STFT magnitude (B, 1, n_fft // 2 + 1, frames), computed in float32."""
        with torch.autocast(wave.device.type, enabled=False):
            spectrum = torch.stft(wave[:, 0].float(), self.n_fft, self.hop_length,
                                  self.win_length, self.window, return_complex=True)
        return spectrum.abs().unsqueeze(1)

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return _conv_stack(self.magnitude(wave), self.convs, self.post, self.negative_slope)


class MultiResolutionSTFTDiscriminator(nn.Module):
    """STFT-magnitude sub-discriminators at several resolutions (UnivNet; Vocos' defaults).

    ``resolutions`` are (n_fft, hop_length, win_length) triples.
    forward(wave: (B, T) or (B, 1, T)) -> (logits per resolution, feature maps per resolution).
    """

    def __init__(self, resolutions: Sequence[tuple[int, int, int]] = (
            (1024, 256, 1024), (2048, 512, 2048), (512, 128, 512)),
            channels: int = 32, negative_slope: float = 0.1) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            ResolutionDiscriminator(n_fft, hop, win, channels, negative_slope)
            for n_fft, hop, win in resolutions)

    def forward(self, wave: torch.Tensor) -> DiscriminatorOutput:
        wave = _as_batch_of_mono(wave)
        outputs = [discriminator(wave) for discriminator in self.discriminators]
        return [logits for logits, _ in outputs], [features for _, features in outputs]
