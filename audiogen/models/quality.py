"""A non-intrusive speech quality predictor: frame features -> frame scores -> utterance scores.

In the spirit of MOSNet (Lo et al. 2019), UTMOS (Saeki et al. 2022) and TorchAudio-SQUIM (Kumar
et al. 2023): a convolutional trunk (ConvNeXt blocks) and a bidirectional LSTM give per-frame
scores, one linear head per target, each squashed into that target's range; the utterance score
is the mean of the frame scores over the valid (unpadded) frames.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from audiogen.nn.convnext import ChannelLayerNorm, ConvNeXtBlock


def frame_mask(lengths: torch.Tensor | None, frames: int, batch: int, device: torch.device
               ) -> torch.Tensor:
    """(B, frames) boolean mask of valid frames; all valid when ``lengths`` is None."""
    if lengths is None:
        return torch.ones(batch, frames, dtype=torch.bool, device=device)
    positions = torch.arange(frames, device=device)[None]
    return positions < lengths.to(device).clamp(1, frames)[:, None]


class QualityPredictor(nn.Module):
    """Predicts bounded quality scores from (B, in_channels, frames) features.

    forward(features, lengths=None) -> (scores (B, K), frame_scores (B, K, frames)), K =
    ``len(output_ranges)``; target k lies in ``output_ranges[k]`` (a sigmoid scaled to the
    range). ``lengths`` (B,) counts valid frames: frames beyond it never change the output
    (they are zeroed before every convolution and left out of the LSTM and the mean).
    """

    def __init__(self, in_channels: int, dim: int = 128, intermediate_dim: int = 384,
                 num_layers: int = 4, kernel_size: int = 7, lstm: bool = True,
                 output_ranges: Sequence[Sequence[float]] = ((1.0, 4.64), (0.0, 1.0),
                                                             (1.0, 5.0))) -> None:
        super().__init__()
        self.input = nn.Conv1d(in_channels, dim, kernel_size=3, padding=1)
        self.norm = ChannelLayerNorm(dim)
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(dim, intermediate_dim, 1.0 / num_layers, kernel_size)
            for _ in range(num_layers))
        self.lstm = nn.LSTM(dim, dim // 2, batch_first=True, bidirectional=True) if lstm else None
        width = 2 * (dim // 2) if lstm else dim
        self.heads = nn.ModuleList(nn.Linear(width, 1) for _ in output_ranges)
        ranges = torch.tensor([[float(low), float(high)] for low, high in output_ranges])
        if (ranges[:, 1] <= ranges[:, 0]).any():
            raise ValueError(f"each output range must be (low, high) with low < high, got "
                             f"{output_ranges}")
        self.ranges: torch.Tensor
        self.register_buffer("ranges", ranges)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        batch, _, frames = features.shape
        mask = frame_mask(lengths, frames, batch, features.device)
        keep = mask[:, None].to(features.dtype)
        h = self.norm(self.input(features * keep))
        for block in self.blocks:
            h = block(h * keep)
        h = (h * keep).transpose(1, 2)  # (B, frames, dim)
        if self.lstm is not None:
            valid = mask.sum(dim=1).cpu()
            packed = pack_padded_sequence(h, valid, batch_first=True, enforce_sorted=False)
            h, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True,
                                       total_length=frames)
        logits = torch.cat([head(h) for head in self.heads], dim=-1).transpose(1, 2)
        low, high = self.ranges[:, 0, None], self.ranges[:, 1, None]
        frame_scores = low + (high - low) * torch.sigmoid(logits)  # (B, K, frames)
        weights = keep / keep.sum(dim=-1, keepdim=True)
        scores = (frame_scores * weights).sum(dim=-1)
        return scores, frame_scores
