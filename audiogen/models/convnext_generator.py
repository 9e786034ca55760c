"""A ConvNeXt denoiser conditioned on time and labels: the convolutional baseline the DiT is
compared with (same interface, same conditioning vector, adaLN in every block)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from audiogen.nn.convnext import ChannelLayerNorm, ConvNeXtBlock
from audiogen.nn.embeddings import TimeEmbedding
from audiogen.nn.labels import LabelEmbedding


class ConvNeXtGenerator(nn.Module):
    """Label-conditioned ConvNeXt over a frame sequence (Vocos-style blocks with adaLN).

    forward(x_t: (B, state_channels, frames), t: (B,) in [0, 1], labels: (B, L) int64 with -1
    for a left-out label) -> (B, state_channels, frames). Every block is modulated by
    c = time embedding + label embedding (:class:`~audiogen.nn.convnext.AdaptiveLayerNorm`,
    zero-initialised), and the output projection starts at zero.
    """

    def __init__(self, state_channels: int, label_sizes: Sequence[int], dim: int = 256,
                 intermediate_dim: int = 768, num_layers: int = 8, kernel_size: int = 7,
                 time_scale: float = 1000.0) -> None:
        super().__init__()
        self.embed = nn.Conv1d(state_channels, dim, kernel_size, padding=kernel_size // 2)
        self.input_norm = ChannelLayerNorm(dim, eps=1e-6)
        self.time_embedding = TimeEmbedding(dim, scale=time_scale)
        self.label_embedding = LabelEmbedding(label_sizes, dim)
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(dim, intermediate_dim, 1.0 / num_layers, kernel_size, condition_dim=dim)
            for _ in range(num_layers))
        self.output_norm = ChannelLayerNorm(dim, eps=1e-6)
        self.output = nn.Conv1d(dim, state_channels, 1)
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)  # type: ignore[arg-type]

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        condition = self.time_embedding(t) + self.label_embedding(labels)
        x = self.input_norm(self.embed(x_t))
        for block in self.blocks:
            x = block(x, condition)
        return self.output(self.output_norm(x))
