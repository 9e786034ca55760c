"""Residual vector quantization: EMA equations, k-means init, residual levels, dead codes,
quantizer dropout, straight-through gradients and code round trips."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from audiogen.eval.codec import codebook_statistics
from audiogen.representations.quantizers import (
    ResidualVectorQuantizer,
    VectorQuantizer,
    kmeans,
    perplexity,
)


def fixed_quantizer(codebook: torch.Tensor, decay: float, epsilon: float = 0.0
                    ) -> VectorQuantizer:
    quantizer = VectorQuantizer(codebook.shape[1], codebook.shape[0], decay=decay,
                                epsilon=epsilon, dead_threshold=0.0)
    quantizer.codebook.copy_(codebook)
    quantizer.embed_sum.copy_(codebook)
    quantizer.cluster_size.fill_(1.0)
    quantizer.initialised.fill_(True)
    return quantizer


def test_ema_update_follows_the_equations_on_a_toy_case() -> None:
    codebook = torch.tensor([[0.0, 0.0], [10.0, 10.0]])
    quantizer = fixed_quantizer(codebook, decay=0.5)
    x = torch.tensor([[1.0, 0.0], [3.0, 0.0], [9.0, 12.0]])  # two to code 0, one to code 1
    quantized, codes = quantizer(x)
    assert codes.tolist() == [0, 0, 1]
    assert torch.equal(quantized, codebook[[0, 0, 1]])  # output uses the codebook before update
    # N = 0.5 * 1 + 0.5 * [2, 1] = [1.5, 1.0]; m = 0.5 * e + 0.5 * sums
    assert torch.allclose(quantizer.cluster_size, torch.tensor([1.5, 1.0]))
    expected_sum = torch.tensor([[2.0, 0.0], [9.5, 11.0]])
    assert torch.allclose(quantizer.embed_sum, expected_sum)
    assert torch.allclose(quantizer.codebook, expected_sum / torch.tensor([[1.5], [1.0]]))


def test_laplace_smoothing_keeps_an_unused_code_finite() -> None:
    quantizer = fixed_quantizer(torch.tensor([[0.0], [5.0]]), decay=0.0, epsilon=1e-5)
    quantizer(torch.tensor([[0.1], [0.2]]))  # code 1 gets no vector: N_1 = 0
    assert quantizer.cluster_size.tolist() == [2.0, 0.0]
    assert torch.isfinite(quantizer.codebook).all()
    n = 2.0
    smoothed0 = (2.0 + 1e-5) / (n + 2e-5) * n
    assert quantizer.codebook[0, 0].item() == pytest.approx(0.3 / smoothed0, rel=1e-6)


def test_eval_mode_does_not_learn() -> None:
    quantizer = fixed_quantizer(torch.tensor([[0.0], [5.0]]), decay=0.5).eval()
    before = quantizer.codebook.clone()
    quantizer(torch.tensor([[1.0], [4.0]]))
    assert torch.equal(quantizer.codebook, before)


def test_kmeans_finds_separated_clusters() -> None:
    torch.manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    data = torch.cat([c + 0.1 * torch.randn(50, 2) for c in centres])
    found, sizes = kmeans(data, 3, iterations=20)
    distances = torch.cdist(centres, found).min(dim=1).values
    assert (distances < 0.2).all(), found
    assert sorted(sizes.tolist()) == [50.0, 50.0, 50.0]


def test_first_training_batch_initialises_by_kmeans() -> None:
    torch.manual_seed(0)
    quantizer = VectorQuantizer(2, 2, decay=0.99, dead_threshold=0.0)
    data = torch.cat([torch.tensor([5.0, 5.0]) + 0.01 * torch.randn(20, 2),
                      torch.tensor([-5.0, 5.0]) + 0.01 * torch.randn(20, 2)])
    quantizer(data)
    assert bool(quantizer.initialised)
    ordered = sorted(quantizer.codebook.tolist())
    assert ordered[0] == pytest.approx([-5.0, 5.0], abs=0.05)
    assert ordered[1] == pytest.approx([5.0, 5.0], abs=0.05)


def test_dead_codes_are_restarted_on_batch_vectors() -> None:
    quantizer = fixed_quantizer(torch.tensor([[0.0], [100.0], [200.0]]), decay=0.5)
    quantizer.dead_threshold = 0.6
    data = torch.tensor([[0.5], [1.0], [1.5], [-0.5]])  # all nearest to code 0
    quantizer(data)
    # codes 1 and 2 got no vectors: N = 0.5 < 0.6 -> restarted on batch vectors
    restarted = quantizer.codebook[1:, 0]
    assert all(any(math.isclose(float(v), float(d)) for d in data[:, 0]) for v in restarted)
    assert quantizer.cluster_size[1:].tolist() == pytest.approx([0.6, 0.6])
    assert torch.allclose(quantizer.embed_sum[1:] / 0.6, quantizer.codebook[1:])


def test_residual_levels_reduce_the_error_level_by_level() -> None:
    torch.manual_seed(0)
    quantizer = ResidualVectorQuantizer(dim=8, n_q=4, codebook_size=16, decay=0.9,
                                        dead_threshold=0.0)
    data = torch.randn(4, 8, 64)
    for _ in range(5):
        quantizer(data)
    quantizer.eval()
    errors = []
    for levels in range(1, 5):
        approx = quantizer.decode(quantizer.encode(data, levels))
        errors.append(float((approx - data).square().mean()))
    assert all(later < earlier for earlier, later in zip(errors, errors[1:])), errors
    assert errors[0] < float(data.square().mean())


def test_codes_round_trip_through_decode_and_encode() -> None:
    quantizer = ResidualVectorQuantizer(dim=2, n_q=2, codebook_size=4).eval()
    coarse = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    for level, book in enumerate((coarse, 0.1 * coarse)):
        quantizer.levels[level].codebook.copy_(book)
    codes = torch.randint(0, 4, (3, 2, 7))
    assert torch.equal(quantizer.encode(quantizer.decode(codes)), codes)


def test_straight_through_gradient_and_commitment() -> None:
    torch.manual_seed(0)
    quantizer = ResidualVectorQuantizer(dim=4, n_q=2, codebook_size=8)
    z = torch.randn(2, 4, 10, requires_grad=True)
    output = quantizer(z)
    output.quantized.sum().backward()
    assert torch.allclose(z.grad, torch.ones_like(z))  # identity through the quantizer
    z2 = torch.randn(2, 4, 10, requires_grad=True)
    commitment = quantizer(z2).commitment
    commitment.backward()
    assert commitment > 0 and z2.grad.abs().sum() > 0


def test_quantizer_dropout_uses_prefixes_of_levels() -> None:
    torch.manual_seed(0)
    quantizer = ResidualVectorQuantizer(dim=4, n_q=4, codebook_size=8, quantizer_dropout=1.0)
    z = torch.randn(16, 4, 5)
    quantizer(z)  # initialise
    before = copy.deepcopy(quantizer).eval()  # the codebooks this forward quantizes with
    output = quantizer(z)
    assert output.levels.min() >= 1 and output.levels.max() <= 4
    assert len(set(output.levels.tolist())) > 1
    for index in range(16):
        levels = int(output.levels[index])
        expected = before.decode(output.codes[index: index + 1, :levels])
        assert torch.allclose(output.quantized[index: index + 1], expected, atol=1e-5)


def test_decode_refuses_bad_codes() -> None:
    quantizer = ResidualVectorQuantizer(dim=2, n_q=2, codebook_size=4)
    with pytest.raises(ValueError, match="1..2"):
        quantizer.decode(torch.zeros(1, 3, 5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        quantizer.decode(torch.full((1, 2, 5), 4))


def test_perplexity_and_codebook_statistics() -> None:
    uniform = torch.arange(8).repeat(10)
    assert float(perplexity(uniform, 8)) == pytest.approx(8.0)
    assert float(perplexity(torch.zeros(50, dtype=torch.long), 8)) == pytest.approx(1.0)
    codes = [np.stack([np.arange(8), np.zeros(8, dtype=int)])]
    rows = codebook_statistics(codes, 16)
    assert rows[0]["used"] == 8 and rows[0]["usage"] == 0.5
    assert rows[0]["perplexity"] == pytest.approx(8.0) and rows[0]["bits"] == pytest.approx(3.0)
    assert rows[1]["used"] == 1 and rows[1]["perplexity"] == pytest.approx(1.0)
