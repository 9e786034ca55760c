"""ConvNeXt blocks for 1-D sequences (Liu et al. 2022, in the 1-D form of Vocos, Siuzdak 2023),
optionally conditioned on a vector through adaptive LayerNorm (adaLN, Peebles & Xie 2023)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channel axis of (B, C, frames)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class AdaptiveLayerNorm(nn.Module):
    """LayerNorm whose shift, scale and residual gate come from a condition vector (adaLN).

    forward(x: (B, frames, dim), condition: (B, condition_dim)) -> (normalised x times
    (1 + scale) plus shift: (B, frames, dim), gate: (B, 1, dim)), where shift, scale and gate
    are a linear projection of SiLU(condition). The projection starts at zero
    (adaLN-Zero of DiT), so at initialisation this is a plain LayerNorm with gate 0.
    """

    def __init__(self, dim: int, condition_dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=eps, elementwise_affine=False)
        self.modulation = nn.Linear(condition_dim, 3 * dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Zero the modulation projection (adaLN-Zero)."""
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)

    def forward(self, x: torch.Tensor, condition: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        shift, scale, gate = self.modulation(F.silu(condition)).unsqueeze(1).chunk(3, dim=-1)
        return self.norm(x) * (1 + scale) + shift, gate


class LookaheadConv1d(nn.Conv1d):
    """Length-keeping Conv1d with zero padding of ``lookahead`` frames on the right and
    ``history = kernel_size - 1 - lookahead`` frames on the left: output frame n sees input
    frames n - history ... n + lookahead. ``lookahead=None`` is the symmetric
    ``kernel_size // 2``. Its parameters are a plain Conv1d's (the same state-dict keys).

    forward: (B, in_channels, frames) -> (B, out_channels, frames); :meth:`valid` convolves
    input that already carries its context, (B, in_channels, history + frames + lookahead) ->
    (B, out_channels, frames), as a stream supplies it.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 lookahead: int | None = None, groups: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size, groups=groups)
        self.lookahead = kernel_size // 2 if lookahead is None else int(lookahead)
        if not 0 <= self.lookahead < kernel_size:
            raise ValueError(f"lookahead must be in [0, {kernel_size - 1}] for kernel_size "
                             f"{kernel_size}, got {lookahead}")
        self.history = kernel_size - 1 - self.lookahead

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, frames) -> (B, C, history + frames + lookahead), zeros on both sides."""
        return F.pad(x, (self.history, self.lookahead))

    def valid(self, x: torch.Tensor) -> torch.Tensor:
        """Convolution without padding: (B, C, frames) -> (B, out, frames - kernel_size + 1)."""
        return super().forward(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.valid(self.pad(x))


class ConvNeXtBlock(nn.Module):
    """ConvNeXt block: depthwise conv, LayerNorm, pointwise MLP with GELU, layer scale, residual.

    forward(x: (B, dim, frames), condition: (B, condition_dim) | None) -> (B, dim, frames).
    With ``condition_dim`` the LayerNorm is adaptive and the residual branch is multiplied by
    ``layer_scale * (1 + gate)``; the zero-initialised gate makes the conditioned block start
    out equal to the unconditioned one. ``lookahead`` is the depthwise conv's right context in
    frames (None: symmetric, ``kernel_size // 2``; 0: causal).
    """

    def __init__(self, dim: int, intermediate_dim: int, layer_scale_init: float,
                 kernel_size: int = 7, condition_dim: int | None = None,
                 lookahead: int | None = None) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd to keep the length, got {kernel_size}")
        self.depthwise = LookaheadConv1d(dim, dim, kernel_size, lookahead, groups=dim)
        self.norm: nn.Module = (AdaptiveLayerNorm(dim, condition_dim) if condition_dim
                                else nn.LayerNorm(dim, eps=1e-6))
        self.expand = nn.Linear(dim, intermediate_dim)
        self.activation = nn.GELU()
        self.contract = nn.Linear(intermediate_dim, dim)
        self.layer_scale = nn.Parameter(torch.full((dim,), float(layer_scale_init)))

    @property
    def conditioned(self) -> bool:
        return isinstance(self.norm, AdaptiveLayerNorm)

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        return self.forward_context(self.depthwise.pad(x), condition)

    def forward_context(self, context: torch.Tensor, condition: torch.Tensor | None = None
                        ) -> torch.Tensor:
        """The block on input that carries its own context: (B, dim, history + frames +
        lookahead) of the depthwise conv -> (B, dim, frames)."""
        h = self.depthwise.valid(context)
        start = self.depthwise.history
        x = context[..., start:start + h.shape[-1]]
        h = h.transpose(1, 2)
        if self.conditioned:
            if condition is None:
                raise ValueError("this ConvNeXt block is conditioned; pass a condition vector")
            h, gate = self.norm(h, condition)
            scale = self.layer_scale * (1 + gate)
        else:
            h, scale = self.norm(h), self.layer_scale
        h = self.contract(self.activation(self.expand(h)))
        return x + (scale * h).transpose(1, 2)
