"""Vocoder backbones: a ConvNeXt stack at frame rate (Vocos) and a WaveNet denoiser (DiffWave)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from audiogen.nn.convnext import (
    AdaptiveLayerNorm,
    ChannelLayerNorm,
    ConvNeXtBlock,
    LookaheadConv1d,
)
from audiogen.nn.embeddings import TimeEmbedding


class Backbone(nn.Module):
    """Maps frame-rate features (B, in_channels, frames) and optional times t: (B,) to hidden
    features (B, dim, frames) that a head turns into audio."""

    dim: int

    def forward(self, x: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError


class ConvNeXtBackbone(Backbone):
    """Vocos backbone (Siuzdak 2023): input conv, LayerNorm, ConvNeXt blocks, LayerNorm.

    forward(x: (B, in_channels, frames), t: (B,) | None) -> (B, dim, frames). With
    ``time_conditioned`` every block is modulated by a time embedding through adaLN (DiT), as a
    flow-matching velocity network; the caller then concatenates the conditioning features and
    the current state x_t along channels, so ``in_channels`` counts both.

    ``lookahead`` is the right context of the whole stack in frames: output frame n depends on
    input frames up to n + lookahead. It is spread as evenly as possible over the
    ``num_layers + 1`` convolutions (the earlier ones take the remainder), each padded
    asymmetrically; None keeps every convolution symmetric (``(num_layers + 1) *
    (kernel_size // 2)`` frames), and 0 makes the backbone causal. The weights do not depend on
    it, so a checkpoint loads under any lookahead (and computes something else under another).
    """

    def __init__(self, in_channels: int, dim: int, intermediate_dim: int, num_layers: int,
                 time_conditioned: bool = False, kernel_size: int = 7,
                 layer_scale_init: float | None = None, time_scale: float = 1000.0,
                 lookahead: int | None = None) -> None:
        super().__init__()
        self.dim = dim
        per_conv = conv_lookaheads(lookahead, num_layers + 1, kernel_size)
        self.lookahead = sum(per_conv)
        self.embed = LookaheadConv1d(in_channels, dim, kernel_size, per_conv[0])
        self.input_norm = ChannelLayerNorm(dim, eps=1e-6)
        self.time_embedding = TimeEmbedding(dim, scale=time_scale) if time_conditioned else None
        layer_scale = layer_scale_init if layer_scale_init is not None else 1.0 / num_layers
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(dim, intermediate_dim, layer_scale, kernel_size,
                          condition_dim=dim if time_conditioned else None,
                          lookahead=block_lookahead)
            for block_lookahead in per_conv[1:])
        self.output_norm = ChannelLayerNorm(dim, eps=1e-6)
        self.apply(_init_weights)
        for module in self.modules():
            if isinstance(module, AdaptiveLayerNorm):
                module.reset_parameters()

    def forward(self, x: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
        if (t is None) != (self.time_embedding is None):
            state = "is" if self.time_embedding is not None else "is not"
            raise ValueError(f"this backbone {state} time-conditioned; t must match")
        condition = self.time_embedding(t) if self.time_embedding is not None else None
        x = self.input_norm(self.embed(x))
        for block in self.blocks:
            x = block(x, condition)
        return self.output_norm(x)


def conv_lookaheads(lookahead: int | None, convs: int, kernel_size: int) -> list[int]:
    """Right context of each of ``convs`` stacked length-keeping convolutions so that they sum
    to ``lookahead`` (None: ``kernel_size // 2`` each), spread evenly, earlier ones first."""
    if lookahead is None:
        return [kernel_size // 2] * convs
    if not 0 <= lookahead <= convs * (kernel_size - 1):
        raise ValueError(f"lookahead must be in [0, {convs * (kernel_size - 1)}] frames for "
                         f"{convs} convolutions of kernel_size {kernel_size}, got {lookahead}")
    share, remainder = divmod(int(lookahead), convs)
    return [share + (index < remainder) for index in range(convs)]


def _init_weights(module: nn.Module) -> None:
    """Truncated-normal (std 0.02) convolution and linear weights, zero biases (ConvNeXt)."""
    if isinstance(module, (nn.Conv1d, nn.Linear)):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class ConditionUpsampler(nn.Module):
    """Upsamples conditioning from frame rate to sample rate by transposed convolutions, each
    followed by LeakyReLU(0.4) (DiffWave): (B, C, frames) -> (B, C, frames * prod(factors))."""

    def __init__(self, channels: int, factors: Sequence[int]) -> None:
        super().__init__()
        if not factors or min(factors) < 1:
            raise ValueError(f"upsample factors must be positive integers, got {factors}")
        self.factors = tuple(int(f) for f in factors)
        self.layers = nn.ModuleList(nn.ConvTranspose1d(channels, channels, 2 * f, stride=f)
                                    for f in self.factors)

    def forward(self, cond: torch.Tensor) -> torch.Tensor:
        for factor, layer in zip(self.factors, self.layers, strict=True):
            length = cond.shape[-1] * factor
            start = factor // 2
            cond = F.leaky_relu(layer(cond)[..., start:start + length], 0.4)
        return cond


class WaveNetLayer(nn.Module):
    """One DiffWave residual layer: add the projected time embedding, dilated conv plus projected
    conditioner, gated tanh unit, 1x1 conv split into residual and skip.

    forward(x: (B, C, T), time: (B, time_dim), cond: (B, cond_channels, T)) ->
    (residual output (B, C, T), skip (B, C, T)).
    """

    def __init__(self, channels: int, cond_channels: int, dilation: int, time_dim: int) -> None:
        super().__init__()
        self.time_projection = nn.Linear(time_dim, channels)
        self.dilated = nn.Conv1d(channels, 2 * channels, 3, padding=dilation, dilation=dilation)
        self.cond_projection = nn.Conv1d(cond_channels, 2 * channels, 1)
        self.output = nn.Conv1d(channels, 2 * channels, 1)

    def forward(self, x: torch.Tensor, time: torch.Tensor, cond: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.dilated(x + self.time_projection(time)[..., None]) + self.cond_projection(cond)
        filter_, gate = h.chunk(2, dim=1)
        residual, skip = self.output(torch.tanh(filter_) * torch.sigmoid(gate)).chunk(2, dim=1)
        return (x + residual) / math.sqrt(2.0), skip


class WaveNetBackbone(nn.Module):
    """DiffWave denoiser (Kong et al. 2021): a non-causal WaveNet over the noisy waveform.

    forward(x_t: (B, 1, T), t: (B,), cond: (B, cond_channels, frames)) -> (B, 1, T) with
    T = frames * hop_length, hop_length = prod(upsample_factors). Dilations cycle through
    1, 2, ..., 2**(dilation_cycle_length - 1). t is continuous in [0, 1] with the default
    ``time_scale``; pass ``time_scale=1`` for integer diffusion steps. The output projection
    starts at zero, as in DiffWave.
    """

    def __init__(self, cond_channels: int, upsample_factors: Sequence[int],
                 residual_channels: int = 64, residual_layers: int = 30,
                 dilation_cycle_length: int = 10, time_embedding_dim: int = 512,
                 time_scale: float = 1000.0, state_channels: int = 1) -> None:
        super().__init__()
        if state_channels != 1:
            raise ValueError(f"WaveNetBackbone generates mono audio (state_channels=1), got "
                             f"{state_channels}")
        self.hop_length = math.prod(upsample_factors)
        self.input = nn.Conv1d(1, residual_channels, 1)
        self.time_embedding = TimeEmbedding(time_embedding_dim, frequency_dim=128,
                                            scale=time_scale)
        self.upsampler = ConditionUpsampler(cond_channels, upsample_factors)
        self.layers = nn.ModuleList(
            WaveNetLayer(residual_channels, cond_channels, 2 ** (i % dilation_cycle_length),
                         time_embedding_dim)
            for i in range(residual_layers))
        self.skip = nn.Conv1d(residual_channels, residual_channels, 1)
        self.output = nn.Conv1d(residual_channels, 1, 1)
        for parameter in self.output.parameters():
            nn.init.zeros_(parameter)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        if x_t.shape[-1] != cond.shape[-1] * self.hop_length:
            raise ValueError(f"x_t has {x_t.shape[-1]} samples but cond has {cond.shape[-1]} "
                             f"frames of hop {self.hop_length}")
        x = F.relu(self.input(x_t))
        time = F.silu(self.time_embedding(t))
        cond = self.upsampler(cond)
        skips = torch.zeros_like(x)
        for layer in self.layers:
            x, skip = layer(x, time, cond)
            skips = skips + skip
        h = F.relu(self.skip(skips / math.sqrt(len(self.layers))))
        return self.output(h)
