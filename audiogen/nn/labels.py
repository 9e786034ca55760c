"""Embeddings of discrete labels with a learned "null" entry per label (classifier-free
guidance drops labels independently: Ho & Salimans 2022)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

NULL = -1
"""The id of a label that is left out (dropped in training, absent from a prompt)."""


class LabelEmbedding(nn.Module):
    """Sum of one embedding per label: ids (B, L) int64 -> (B, dim).

    Label k takes values 0 .. sizes[k] - 1, or :data:`NULL` (-1) when it is left out, which
    selects a learned null vector of its own (row ``sizes[k]`` of its table). With no labels
    (``sizes == []``) the output is zero. Tables start at N(0, 0.02^2), as DiT's class table.
    """

    def __init__(self, sizes: Sequence[int], dim: int) -> None:
        super().__init__()
        self.sizes, self.dim = [int(size) for size in sizes], dim
        tables = [nn.Embedding(size + 1, dim) for size in self.sizes]
        for table in tables:
            nn.init.normal_(table.weight, std=0.02)
        self.tables = nn.ModuleList(tables)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.dim() != 2 or ids.shape[1] != len(self.sizes):
            raise ValueError(f"label ids must be (batch, {len(self.sizes)}), got "
                             f"{tuple(ids.shape)}")
        total = torch.zeros(ids.shape[0], self.dim, device=ids.device)
        for k, (size, table) in enumerate(zip(self.sizes, self.tables, strict=True)):
            column = ids[:, k].long()
            if bool(((column < NULL) | (column >= size)).any()):
                raise ValueError(f"label {k} ids must lie in [-1, {size}), got "
                                 f"{column.tolist()}")
            total = total + table(torch.where(column == NULL, size, column))
        return total
