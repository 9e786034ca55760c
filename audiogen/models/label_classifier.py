"""A small convolutional audio classifier with one softmax head per label.

The network maps log-mel features (B, n_mels, frames) to a pooled embedding (B, embedding_dim)
and one logit vector per label; the embedding is what the generation metrics (Fréchet distance,
diversity) measure in, as SC09 papers use the features of their trained classifier. It knows
nothing of audio files, label names or prompts.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class LabelClassifier(nn.Module):
    """Input batch norm over mel bands, ``len(channels)`` 1-D conv blocks over frames (kernel 5,
    batch norm, GELU; every block after the first halves the frame rate), a 1x1 projection to
    ``embedding_dim``, mean pooling over frames, then one linear head per entry of
    ``num_classes``.

    Args:
        n_mels: input feature bands.
        num_classes: classes of each head, in label order.
        channels: width of each conv block.
        embedding_dim: size of the pooled embedding.
        dropout: dropout on the embedding before the heads (training only).
    """

    def __init__(self, n_mels: int, num_classes: Sequence[int],
                 channels: Sequence[int] = (128, 128, 192, 192), embedding_dim: int = 128,
                 dropout: float = 0.2) -> None:
        super().__init__()
        if not num_classes or min(num_classes) < 2:
            raise ValueError(f"every head needs at least 2 classes, got {list(num_classes)}")
        self.input_norm = nn.BatchNorm1d(n_mels)
        blocks: list[nn.Module] = []
        width = n_mels
        for index, out in enumerate(channels):
            blocks += [nn.Conv1d(width, out, 5, stride=1 if index == 0 else 2, padding=2),
                       nn.BatchNorm1d(out), nn.GELU()]
            width = out
        blocks += [nn.Conv1d(width, embedding_dim, 1), nn.BatchNorm1d(embedding_dim), nn.GELU()]
        self.trunk = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleList(nn.Linear(embedding_dim, n) for n in num_classes)

    def embed(self, features: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, frames) log-mel -> (B, embedding_dim) frame-averaged embedding."""
        return self.trunk(self.input_norm(features)).mean(dim=-1)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(B, n_mels, frames) -> embedding (B, embedding_dim) and logits [(B, classes_i)]."""
        embedding = self.embed(features)
        hidden = self.dropout(embedding)
        return embedding, [head(hidden) for head in self.heads]
