"""Whole generator networks assembled from a backbone and a head."""

from __future__ import annotations

import torch
from torch import nn

from audiogen.models.backbones import Backbone, ConvNeXtBackbone
from audiogen.models.heads import Head


class FrameVocoder(nn.Module):
    """Frame-rate vocoder (Vocos, Siuzdak 2023): features (B, C, frames) -> waveform (B, T).

    The backbone runs at frame rate; the head (e.g. :class:`ISTFTHead`) turns its output into
    audio, so the sample-rate work is one inverse FFT per frame.
    """

    def __init__(self, backbone: Backbone, head: Head) -> None:
        super().__init__()
        self.backbone, self.head = backbone, head

    @property
    def hop_length(self) -> int:
        hop: int = getattr(self.head, "hop_length")  # noqa: B009 (typed read of a head attribute)
        return hop

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(features))


class ConditionalFlowNet(nn.Module):
    """Velocity/denoiser network for a frame-rate state: (x_t, t, cond) -> same shape as x_t.

    x_t: (B, state_channels, frames), t: (B,), cond: (B, cond_channels, frames). State and
    condition are concatenated along channels, passed through a time-conditioned ConvNeXt
    backbone (adaLN) and projected back to ``state_channels`` by a zero-initialised 1x1 conv.
    ``cond_embedding`` (e.g. :class:`~audiogen.nn.embeddings.TokenEmbedding` for units or
    codec tokens) maps the condition first; its ``dim`` then replaces ``cond_channels``.
    """

    def __init__(self, state_channels: int, cond_channels: int, dim: int = 384,
                 intermediate_dim: int = 1152, num_layers: int = 8, kernel_size: int = 7,
                 cond_embedding: nn.Module | None = None) -> None:
        super().__init__()
        self.cond_embedding = cond_embedding
        if cond_embedding is not None:
            cond_channels = int(getattr(cond_embedding, "dim"))  # noqa: B009
        self.backbone = ConvNeXtBackbone(state_channels + cond_channels, dim, intermediate_dim,
                                         num_layers, time_conditioned=True,
                                         kernel_size=kernel_size)
        self.output = nn.Conv1d(dim, state_channels, 1)
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)  # type: ignore[arg-type]

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        if self.cond_embedding is not None:
            cond = self.cond_embedding(cond)
        return self.output(self.backbone(torch.cat([x_t, cond.to(x_t.dtype)], dim=1), t))
