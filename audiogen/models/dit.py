"""A 1-D diffusion transformer with adaLN-Zero conditioning (Peebles & Xie 2023, "Scalable
Diffusion Models with Transformers"), over a patchified (B, channels, frames) sequence.

The network maps (x_t, t, labels) to a prediction shaped like x_t; it knows nothing of paths,
schedules, guidance or prompts. Positions are rotary (Su et al. 2021, "RoFormer"), so any
number of frames works.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from audiogen.nn.embeddings import TimeEmbedding
from audiogen.nn.labels import LabelEmbedding


def patchify(x: torch.Tensor, patch_size: int) -> torch.Tensor:
    """(B, C, frames) with frames a multiple of ``patch_size`` -> tokens (B, frames / p, C p);
    token n holds frames n p .. n p + p - 1, channel-major."""
    batch, channels, frames = x.shape
    if frames % patch_size:
        raise ValueError(f"{frames} frames are not a multiple of patch_size {patch_size}")
    tokens = x.reshape(batch, channels, frames // patch_size, patch_size)
    return tokens.permute(0, 2, 1, 3).reshape(batch, frames // patch_size, channels * patch_size)


def unpatchify(tokens: torch.Tensor, channels: int) -> torch.Tensor:
    """Inverse of :func:`patchify`: (B, N, C p) -> (B, C, N p)."""
    batch, count, width = tokens.shape
    patch_size = width // channels
    x = tokens.reshape(batch, count, channels, patch_size).permute(0, 2, 1, 3)
    return x.reshape(batch, channels, count * patch_size)


def rotary(x: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """Rotary position embedding of (B, heads, N, head_dim): channel pairs (i, i + head_dim/2)
    of token n rotate by n * base^(-2i / head_dim)."""
    half = x.shape[-1] // 2
    frequencies = base ** (-torch.arange(half, device=x.device, dtype=torch.float32) / half)
    angles = torch.arange(x.shape[-2], device=x.device, dtype=torch.float32)[:, None] * frequencies
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    first, second = x[..., :half], x[..., half:]
    return torch.cat([first * cos - second * sin, first * sin + second * cos], dim=-1)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """x (B, N, dim) times (1 + scale) plus shift, both (B, dim)."""
    return x * (1 + scale[:, None]) + shift[:, None]


class Attention(nn.Module):
    """Multi-head self-attention with rotary positions: (B, N, dim) -> (B, N, dim)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads or (dim // heads) % 2:
            raise ValueError(f"dim {dim} must split into {heads} heads of even size")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.output = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, count, dim = x.shape
        qkv = self.qkv(x).reshape(batch, count, 3, self.heads, dim // self.heads)
        query, key, value = qkv.permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(rotary(query), rotary(key), value)
        return self.output(attended.transpose(1, 2).reshape(batch, count, dim))


class DiTBlock(nn.Module):
    """Transformer block with adaLN-Zero: x + gate * branch(modulate(LayerNorm(x))) for the
    attention and the MLP, with shift, scale and gate (6 vectors) projected from SiLU(c).

    forward(x: (B, N, dim), c: (B, dim)) -> (B, N, dim). The projection starts at zero, so the
    block is the identity at initialisation.
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.attention_norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attention = Attention(dim, heads)
        self.mlp_norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"),
                                 nn.Linear(hidden, dim))
        self.modulation = nn.Linear(dim, 6 * dim)
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        (shift_attention, scale_attention, gate_attention,
         shift_mlp, scale_mlp, gate_mlp) = self.modulation(F.silu(c)).chunk(6, dim=-1)
        h = modulate(self.attention_norm(x), shift_attention, scale_attention)
        x = x + gate_attention[:, None] * self.attention(h)
        h = modulate(self.mlp_norm(x), shift_mlp, scale_mlp)
        return x + gate_mlp[:, None] * self.mlp(h)


class FinalLayer(nn.Module):
    """adaLN (shift, scale) then a linear map to patches: (B, N, dim), c (B, dim) ->
    (B, N, out_dim); both projections start at zero, so the network first predicts 0."""

    def __init__(self, dim: int, out_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.modulation = nn.Linear(dim, 2 * dim)
        self.linear = nn.Linear(dim, out_dim)
        for layer in (self.modulation, self.linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.modulation(F.silu(c)).chunk(2, dim=-1)
        return self.linear(modulate(self.norm(x), shift, scale))


class DiT(nn.Module):
    """Diffusion transformer over a frame sequence, conditioned on time and labels.

    forward(x_t: (B, state_channels, frames), t: (B,) in [0, 1], labels: (B, L) int64 with -1
    for a left-out label) -> (B, state_channels, frames). Frames are zero-padded to a multiple
    of ``patch_size``, cut into patches of ``patch_size`` frames, embedded linearly, run
    through ``depth`` :class:`DiTBlock` s conditioned on c = time embedding + label embedding,
    and mapped back by :class:`FinalLayer`; the padding is trimmed. ``label_sizes`` gives the
    number of values of each label (a task derives it from its prompt vocabulary).
    """

    def __init__(self, state_channels: int, label_sizes: Sequence[int], dim: int = 256,
                 depth: int = 8, heads: int = 4, patch_size: int = 2, mlp_ratio: float = 4.0,
                 time_scale: float = 1000.0) -> None:
        super().__init__()
        self.state_channels, self.patch_size = state_channels, patch_size
        self.embed = nn.Linear(state_channels * patch_size, dim)
        self.time_embedding = TimeEmbedding(dim, scale=time_scale)
        self.label_embedding = LabelEmbedding(label_sizes, dim)
        self.blocks = nn.ModuleList(DiTBlock(dim, heads, mlp_ratio) for _ in range(depth))
        self.final = FinalLayer(dim, state_channels * patch_size)
        trunks: list[nn.Module] = [self.embed]
        for block in self.blocks:
            trunks += [block.attention, block.mlp]  # type: ignore[list-item]
        for layer in (layer for trunk in trunks for layer in trunk.modules()):
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        frames = x_t.shape[-1]
        padded = F.pad(x_t, (0, -frames % self.patch_size))
        x = self.embed(patchify(padded, self.patch_size))
        c = self.time_embedding(t) + self.label_embedding(labels).to(x.dtype)
        for block in self.blocks:
            x = block(x, c)
        return unpatchify(self.final(x, c), self.state_channels)[..., :frames]
