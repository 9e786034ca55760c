"""FAD: the Fréchet distance against closed forms, streaming moments, embedding backends."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch

from audiogen.errors import ConfigError
from audiogen.eval import EncodecEmbedding, frechet_distance, registry
from audiogen.eval.fad import FrechetAudioDistance, GaussianStatistics, build_embedding

from .signals import speech_like, with_noise


def textbook_frechet(mean_a: np.ndarray, cov_a: np.ndarray, mean_b: np.ndarray,
                     cov_b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + tr(A + B - 2 sqrtm(A B)), with scipy's general matrix square root."""
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * root))


def random_gaussian(dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    factor = rng.standard_normal((dim, dim)) / np.sqrt(dim)
    return rng.standard_normal(dim), factor @ factor.T + 0.1 * np.eye(dim)


def test_frechet_distance_closed_form_for_diagonal_covariances() -> None:
    mean_a, mean_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var_a, var_b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    assert frechet_distance(mean_a, np.diag(var_a), mean_b, np.diag(var_b)) == pytest.approx(
        expected, rel=1e-12)


def test_fad_of_gaussian_sets_approaches_the_true_parameters_and_equals_the_sample_formula(
        ) -> None:
    dim, samples = 6, 200_000
    (mean_a, cov_a), (mean_b, cov_b) = random_gaussian(dim, 1), random_gaussian(dim, 2)
    rng = np.random.default_rng(3)
    set_a = rng.multivariate_normal(mean_a, cov_a, samples)
    set_b = rng.multivariate_normal(mean_b, cov_b, samples)
    stats_a, stats_b = GaussianStatistics(), GaussianStatistics()
    for chunk in np.array_split(set_a, 7):
        stats_a.update(chunk)
    for chunk in np.array_split(set_b, 3):
        stats_b.update(chunk)
    fad = frechet_distance(*stats_a.moments(), *stats_b.moments())
    truth = textbook_frechet(mean_a, cov_a, mean_b, cov_b)
    assert fad == pytest.approx(truth, rel=0.02)
    sample = textbook_frechet(set_a.mean(0), np.cov(set_a, rowvar=False), set_b.mean(0),
                              np.cov(set_b, rowvar=False))
    assert fad == pytest.approx(sample, rel=1e-9)


def test_streaming_moments_equal_numpy() -> None:
    data = np.random.default_rng(0).standard_normal((101, 5)) * 3 + 7
    stats = GaussianStatistics()
    for chunk in (data[:1], data[1:40], data[40:]):
        stats.update(chunk)
    mean, cov = stats.moments()
    np.testing.assert_allclose(mean, data.mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov, np.cov(data, rowvar=False), rtol=1e-10)


def test_identical_sets_have_zero_distance() -> None:
    mean, cov = random_gaussian(8, 4)
    assert frechet_distance(mean, cov, mean, cov) == pytest.approx(0.0, abs=1e-9)


def test_random_encodec_embedding_shapes_and_card() -> None:
    embedding = EncodecEmbedding(random_seed=0)
    frames = embedding(torch.from_numpy(speech_like(0.4, sample_rate=24000)))
    assert frames.shape == (30, 128)
    assert embedding.checksum == EncodecEmbedding(random_seed=0).checksum
    assert embedding.checksum != EncodecEmbedding(random_seed=1).checksum
    assert "RANDOM INIT" in embedding.name


def test_fad_scorer_ranks_noisier_sets_further() -> None:
    (scorer,) = registry.build(registry.resolve(["fad"]),
                               {"fad_embedding": LogSpectrum(), "fad_sample_rate": 16000})
    assert isinstance(scorer, FrechetAudioDistance)
    for seed in range(4):
        scorer.add_reference(speech_like(0.5, seed=seed), 16000)
        scorer.add("same", speech_like(0.5, seed=seed), 16000)
        scorer.add("noisy", with_noise(speech_like(0.5, seed=seed), 5.0), 16000)
    assert scorer.result("same")["fad"] == pytest.approx(0.0, abs=1e-6)
    assert scorer.result("noisy")["fad"] > 1.0
    assert scorer.card("fad")["embedding_model"] == "LogSpectrum"


class LogSpectrum(torch.nn.Module):
    """A tiny embedding: log power of 16 bands in 20 ms frames, (1, T) -> (1, frames, 16)."""

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        frames = wave[:, : wave.shape[-1] // 320 * 320].reshape(wave.shape[0], -1, 320)
        power = torch.fft.rfft(frames).abs().square()[..., :160]
        return power.reshape(power.shape[0], power.shape[1], 16, 10).sum(-1).clamp_min(1e-8).log()


@pytest.mark.slow
def test_fad_with_a_random_encodec_ranks_noisier_sets_further() -> None:
    scorer = FrechetAudioDistance(registry.resolve(["fad"]), EncodecEmbedding(random_seed=0))
    for seed in range(3):
        scorer.add_reference(speech_like(0.5, seed=seed), 16000)
        scorer.add("same", speech_like(0.5, seed=seed), 16000)
        scorer.add("noisy", with_noise(speech_like(0.5, seed=seed), 5.0), 16000)
    assert scorer.result("same")["fad"] < 1e-9 < scorer.result("noisy")["fad"]
    assert "RANDOM INIT" in scorer.card("fad")["embedding_model"]


def test_fad_from_a_torchscript_file(tmp_path: Path) -> None:
    path = tmp_path / "embed.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.script(LogSpectrum()).save(str(path))
    embedding = build_embedding(str(path), sample_rate=16000)
    assert embedding(torch.from_numpy(speech_like(0.2))).shape == (10, 16)
    assert "sha256" in embedding.name and embedding.checksum.startswith("sha256:")
    with pytest.raises(ConfigError, match="fad_sample_rate"):
        build_embedding(str(path))


def test_missing_encodec_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="fad_weights"):
        build_embedding("encodec", weights=tmp_path / "absent.th")
