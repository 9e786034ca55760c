"""Time embeddings for diffusion and flow models: sinusoidal features of t, then an MLP."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def sinusoidal_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal features of scalar times (Vaswani et al. 2017, as used by Ho et al. 2020).

    t: (B,) real values (diffusion steps, or continuous times already scaled) -> (B, dim): cosines
    then sines at ``dim // 2`` frequencies spaced geometrically from 1 down to 1 / max_period.
    """
    if dim % 2:
        raise ValueError(f"sinusoidal embedding needs an even dim, got {dim}")
    half = dim // 2
    dtype = torch.float64 if t.dtype == torch.float64 else torch.float32
    exponents = torch.arange(half, device=t.device, dtype=dtype) / half
    frequencies = torch.exp(-math.log(max_period) * exponents)
    angles = t.to(dtype)[:, None] * frequencies[None, :]
    return torch.cat([angles.cos(), angles.sin()], dim=-1)


class TimeEmbedding(nn.Module):
    """Embeds times t: (B,) as vectors (B, dim): sinusoidal features, then Linear-SiLU-Linear.

    t is multiplied by ``scale`` first. The default 1000 suits continuous t in [0, 1] (the
    highest frequency then separates times 1e-3 apart, like the steps of a 1000-step DDPM);
    use ``scale=1`` for integer diffusion steps (DiffWave, Kong et al. 2021). The output has no
    final activation; consumers apply SiLU before their own projections (DiT, DiffWave).
    """

    def __init__(self, dim: int, frequency_dim: int = 256, scale: float = 1000.0,
                 max_period: float = 10000.0) -> None:
        super().__init__()
        self.frequency_dim, self.scale, self.max_period = frequency_dim, scale, max_period
        self.hidden = nn.Linear(frequency_dim, dim)
        self.output = nn.Linear(dim, dim)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        features = sinusoidal_embedding(t * self.scale, self.frequency_dim, self.max_period)
        hidden = F.silu(self.hidden(features.to(self.hidden.weight.dtype)))
        return self.output(hidden)


class TokenEmbedding(nn.Module):
    """Embeds discrete tokens (B, levels, frames) as features (B, dim, frames).

    One table per level (k-means units have one level, an RVQ codec ``n_q``); the level
    embeddings are summed, as the codec-token vocoders of MultiBand-Diffusion and Vocos do.
    Token ids may arrive as floats (features travel as float tensors); they are rounded.
    """

    def __init__(self, num_tokens: int, dim: int, levels: int = 1) -> None:
        super().__init__()
        self.num_tokens, self.dim, self.levels = num_tokens, dim, levels
        self.tables = nn.ModuleList(nn.Embedding(num_tokens, dim) for _ in range(levels))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dim() != 3 or tokens.shape[1] != self.levels:
            raise ValueError(f"tokens must be (batch, {self.levels}, frames), got "
                             f"{tuple(tokens.shape)}")
        ids = tokens.round().long() if tokens.is_floating_point() else tokens.long()
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.num_tokens):
            raise ValueError(f"token ids must lie in [0, {self.num_tokens}), got "
                             f"[{int(ids.min())}, {int(ids.max())}]")
        summed = sum(table(ids[:, level]) for level, table in enumerate(self.tables))
        return torch.as_tensor(summed).transpose(1, 2)
