"""Residual vector quantization with EMA codebooks (SoundStream, Zeghidour et al. 2021; EnCodec).

Each level quantizes the residual left by the levels before it. Codebooks are not trained by
gradient: they follow exponential moving averages of the vectors assigned to them (van den Oord
et al. 2017, appendix; Razavi et al. 2019), start from k-means on the first training batch, and
codes that fall out of use are restarted on vectors of the current batch. Quantizer dropout
(SoundStream) trains every prefix of levels, so one model serves several bitrates. The encoder
receives the straight-through gradient and a commitment loss.

Vectors are (N, D) for one codebook and (B, D, frames) for the residual quantizer; codes are
int64 (N,) and (B, levels, frames).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
from torch import nn
from torch.nn import functional as F


def _all_reduce(tensor: torch.Tensor) -> torch.Tensor:
    """Sum over processes when running distributed (codebook statistics stay in sync)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.all_reduce(tensor)
    return tensor


def _broadcast(tensor: torch.Tensor) -> torch.Tensor:
    """Rank 0's value everywhere (k-means init and restarts draw random vectors)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.broadcast(tensor, 0)
    return tensor


def sample_vectors(vectors: torch.Tensor, count: int,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """``count`` rows of (N, D) ``vectors`` drawn at random (with replacement when N < count)."""
    n = vectors.shape[0]
    if n >= count:
        index = torch.randperm(n, generator=generator, device="cpu")[:count]
    else:
        index = torch.randint(0, n, (count,), generator=generator, device="cpu")
    return vectors[index.to(vectors.device)]


def kmeans(vectors: torch.Tensor, count: int, iterations: int = 10,
           generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Lloyd's k-means on (N, D) vectors -> (centroids (count, D), cluster sizes (count,)).

    Starts from random data points; an empty cluster keeps its previous centroid.
    """
    centroids = sample_vectors(vectors, count, generator).clone()
    sizes = torch.zeros(count, device=vectors.device)
    for _ in range(iterations):
        assignment = torch.cdist(vectors, centroids).argmin(dim=1)
        sizes = torch.bincount(assignment, minlength=count).to(vectors.dtype)
        sums = torch.zeros_like(centroids).index_add_(0, assignment, vectors)
        filled = sizes > 0
        centroids[filled] = sums[filled] / sizes[filled, None]
    return centroids, sizes


def perplexity(codes: torch.Tensor, codebook_size: int) -> torch.Tensor:
    """exp of the entropy of the code histogram: codebook_size when all are used evenly."""
    counts = torch.bincount(codes.reshape(-1), minlength=codebook_size).float()
    probabilities = counts / counts.sum().clamp_min(1)
    entropy = -(probabilities * probabilities.clamp_min(1e-12).log()).sum()
    return entropy.exp()


class VectorQuantizer(nn.Module):
    """One codebook of ``codebook_size`` vectors of size ``dim``, updated by EMA.

    After a training batch with assignment counts n_k and assigned sums s_k (vdO et al. 2017):
        N_k <- decay * N_k + (1 - decay) * n_k
        m_k <- decay * m_k + (1 - decay) * s_k
        e_k  = m_k / N~_k,  N~_k = (N_k + eps) / (sum_j N_j + K eps) * sum_j N_j  (Laplace)
    The first training batch initialises the codebook by k-means (then N_k = 1, m_k = e_k);
    a code whose N_k falls below ``dead_threshold`` is restarted on a random vector x of the
    batch (N_k = dead_threshold, m_k = dead_threshold * x, so e_k = x).
    """

    codebook: torch.Tensor
    cluster_size: torch.Tensor
    embed_sum: torch.Tensor
    initialised: torch.Tensor

    def __init__(self, dim: int, codebook_size: int, decay: float = 0.99,
                 epsilon: float = 1e-5, kmeans_iterations: int = 10,
                 dead_threshold: float = 2.0) -> None:
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"codebook decay must lie in [0, 1), got {decay}")
        self.dim, self.codebook_size = dim, codebook_size
        self.decay, self.epsilon = decay, epsilon
        self.kmeans_iterations, self.dead_threshold = kmeans_iterations, dead_threshold
        self.register_buffer("codebook", torch.randn(codebook_size, dim))
        self.register_buffer("cluster_size", torch.ones(codebook_size))
        self.register_buffer("embed_sum", self.codebook.clone())
        self.register_buffer("initialised", torch.tensor(False))

    def assign(self, vectors: torch.Tensor) -> torch.Tensor:
        """(N, D) -> nearest code ids (N,) in Euclidean distance."""
        codebook = self.codebook.to(vectors.dtype)
        distances = (vectors.square().sum(1, keepdim=True) - 2 * vectors @ codebook.t()
                     + codebook.square().sum(1)[None])
        return distances.argmin(dim=1)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """Code ids (...) -> vectors (..., D)."""
        return F.embedding(codes, self.codebook)

    @torch.no_grad()
    def initialise(self, vectors: torch.Tensor) -> None:
        """k-means on the batch's vectors (MacQueen / Lloyd), as in SoundStream."""
        centroids, _ = kmeans(vectors.float(), self.codebook_size, self.kmeans_iterations)
        self.codebook.copy_(_broadcast(centroids))
        self.embed_sum.copy_(self.codebook)
        self.cluster_size.fill_(1.0)
        self.initialised.fill_(True)

    @torch.no_grad()
    def update(self, vectors: torch.Tensor, codes: torch.Tensor) -> None:
        """One EMA step of counts, sums and codebook from (N, D) vectors and their codes."""
        vectors = vectors.float()
        counts = _all_reduce(torch.bincount(codes, minlength=self.codebook_size).float())
        sums = _all_reduce(torch.zeros_like(self.embed_sum).index_add_(0, codes, vectors))
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        total = self.cluster_size.sum()
        smoothed = ((self.cluster_size + self.epsilon)
                    / (total + self.codebook_size * self.epsilon) * total)
        self.codebook.copy_(self.embed_sum / smoothed[:, None])

    @torch.no_grad()
    def restart_dead_codes(self, vectors: torch.Tensor) -> int:
        """Replace codes used less than ``dead_threshold`` (EMA count) by batch vectors."""
        dead = self.cluster_size < self.dead_threshold
        count = int(dead.sum())
        if count:
            replacement = _broadcast(sample_vectors(vectors.float(), count).contiguous())
            self.codebook[dead] = replacement
            self.embed_sum[dead] = replacement * self.dead_threshold
            self.cluster_size[dead] = self.dead_threshold
        return count

    def forward(self, vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, D) -> (quantized (N, D), codes (N,)); learns from the batch in training mode."""
        if self.training and not bool(self.initialised):
            self.initialise(vectors.detach())
        codes = self.assign(vectors.detach())
        quantized = self.lookup(codes).to(vectors.dtype)  # the codebook before this update
        if self.training:
            self.update(vectors.detach(), codes)
            self.restart_dead_codes(vectors.detach())
        return quantized, codes


@dataclass
class QuantizerOutput:
    """What the residual quantizer returns for (B, D, frames) input.

    ``quantized`` carries the straight-through gradient to the input; ``codes`` are
    (B, levels, frames); ``commitment`` is the mean over levels of ||r_l - sg(q_l)||^2;
    ``levels`` (B,) is how many levels each example used (quantizer dropout).
    """

    quantized: torch.Tensor
    codes: torch.Tensor
    commitment: torch.Tensor
    levels: torch.Tensor


class ResidualVectorQuantizer(nn.Module):
    """``n_q`` EMA codebooks applied to successive residuals (Zeghidour et al. 2021, Alg. 1).

    With ``quantizer_dropout`` > 0, in training each example keeps, with that probability, a
    random number of levels drawn uniformly in [1, n_q] (SoundStream's "quantizer dropout";
    drawn per example as in DAC), so every prefix of the codes decodes to audio.
    """

    def __init__(self, dim: int, n_q: int = 8, codebook_size: int = 1024, decay: float = 0.99,
                 epsilon: float = 1e-5, kmeans_iterations: int = 10,
                 dead_threshold: float = 2.0, quantizer_dropout: float = 0.0) -> None:
        super().__init__()
        if n_q < 1:
            raise ValueError(f"n_q must be at least 1, got {n_q}")
        self.dim, self.n_q, self.codebook_size = dim, n_q, codebook_size
        self.quantizer_dropout = quantizer_dropout
        self.levels = nn.ModuleList(
            VectorQuantizer(dim, codebook_size, decay, epsilon, kmeans_iterations,
                            dead_threshold) for _ in range(n_q))

    def level(self, index: int) -> VectorQuantizer:
        """The codebook of level ``index``."""
        return cast(VectorQuantizer, self.levels[index])

    def _active_levels(self, batch: int, device: torch.device) -> torch.Tensor:
        levels = torch.full((batch,), self.n_q, dtype=torch.long)
        if self.training and self.quantizer_dropout > 0:
            drop = torch.rand(batch) < self.quantizer_dropout
            levels[drop] = torch.randint(1, self.n_q + 1, (int(drop.sum()),))
        return levels.to(device)

    def forward(self, z: torch.Tensor, n_q: int | None = None) -> QuantizerOutput:
        """(B, D, frames) -> :class:`QuantizerOutput`; ``n_q`` caps the levels (bitrate)."""
        n_q = self._check_levels(n_q)
        batch, dim, frames = z.shape
        vectors = z.transpose(1, 2).reshape(-1, dim)
        levels = self._active_levels(batch, z.device).clamp_max(n_q)
        mask = (torch.arange(n_q, device=z.device)[None] < levels[:, None]).to(z.dtype)
        residual = vectors
        quantized = torch.zeros_like(vectors)
        codes, commitments = [], []
        for index in range(n_q):
            q, level_codes = self.level(index)(residual)
            commitments.append(F.mse_loss(residual, q.detach()))
            keep = mask[:, index].repeat_interleave(frames)[:, None]
            quantized = quantized + keep * q.detach()
            residual = residual - q.detach()
            codes.append(level_codes.view(batch, frames))
        quantized = vectors + (quantized - vectors).detach()  # straight-through estimator
        return QuantizerOutput(quantized.view(batch, frames, dim).transpose(1, 2),
                               torch.stack(codes, dim=1), torch.stack(commitments).mean(),
                               levels)

    @torch.no_grad()
    def encode(self, z: torch.Tensor, n_q: int | None = None) -> torch.Tensor:
        """(B, D, frames) -> codes (B, n_q, frames) without learning from them."""
        n_q = self._check_levels(n_q)
        batch, dim, frames = z.shape
        residual = z.transpose(1, 2).reshape(-1, dim)
        codes = []
        for index in range(n_q):
            level_codes = self.level(index).assign(residual)
            residual = residual - self.level(index).lookup(level_codes).to(residual.dtype)
            codes.append(level_codes.view(batch, frames))
        return torch.stack(codes, dim=1)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (B, levels <= n_q, frames) -> quantized latents (B, D, frames)."""
        if codes.dim() != 3 or not 1 <= codes.shape[1] <= self.n_q:
            raise ValueError(f"codes must be (batch, 1..{self.n_q}, frames), got "
                             f"{tuple(codes.shape)}")
        codes = codes.long()
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= self.codebook_size):
            raise ValueError(f"code ids must lie in [0, {self.codebook_size})")
        total = sum(self.level(level).lookup(codes[:, level])
                    for level in range(codes.shape[1]))
        return torch.as_tensor(total).transpose(1, 2)

    def _check_levels(self, n_q: int | None) -> int:
        n_q = self.n_q if n_q is None else n_q
        if not 1 <= n_q <= self.n_q:
            raise ValueError(f"n_q must lie in [1, {self.n_q}], got {n_q}")
        return n_q
