"""Mel inversion by alternating projections: Griffin-Lim and the mel-consistent variant."""

from __future__ import annotations

import pytest
import torch

from audiogen import config as cfg
from audiogen.errors import ConfigError
from audiogen.representations import LogMel
from audiogen.representations.mel_inversion import (
    band_spread,
    complex_magnitude,
    invert_mel,
    mel_band_gain,
)
from audiogen.train.experiment import build_task
from tests.conftest import harmonic_tone


def spectral_distance(mel: LogMel, estimate: torch.Tensor, reference: torch.Tensor) -> float:
    """Relative error of the linear STFT magnitude (spectral convergence)."""
    predicted = mel.stft.encode(estimate)
    target = mel.stft.encode(reference)
    return float((predicted - target).norm() / target.norm())


def test_band_gain_is_one_when_the_mel_already_matches_and_scales_a_band() -> None:
    mel = LogMel(16000)
    magnitude = torch.rand(1, 513, 10) + 0.1
    covered = mel.filters.sum(dim=0) > 0  # DC and Nyquist lie in no band: gain 0 there
    assert not covered[0] and covered[1:-1].all()
    target = mel.filters @ magnitude
    gain = mel_band_gain(magnitude, mel.filters, target)
    assert torch.allclose(gain[:, covered], torch.ones(1), atol=1e-5)
    assert (gain[:, ~covered] == 0).all()
    gain = mel_band_gain(magnitude, mel.filters, 4.0 * target)[:, covered]
    assert torch.allclose(gain, torch.full_like(gain, 4.0), rtol=1e-4)
    # For a power mel the gain on the magnitude is the square root of the mel's.
    power_target = mel.filters @ magnitude.square()
    gain = mel_band_gain(magnitude, mel.filters, 4.0 * power_target, power=2.0)[:, covered]
    assert torch.allclose(gain, torch.full_like(gain, 2.0), rtol=1e-4)


def test_mel_consistent_beats_griffin_lim_from_the_same_mel() -> None:
    mel = LogMel(16000)
    wave = torch.stack([torch.from_numpy(harmonic_tone(1.0, 16000, f0, seed))
                        for seed, f0 in enumerate((110.0, 190.0))])
    wave = wave[:, : (wave.shape[-1] // 256) * 256]
    features = mel.encode(wave)
    distances = {}
    for method in ("griffin_lim", "mel_consistent"):
        generator = torch.Generator().manual_seed(0)
        estimate = mel.decode(features, n_iter=32, method=method, generator=generator)
        distances[method] = spectral_distance(mel, estimate, wave)
        assert estimate.shape == wave.shape and torch.isfinite(estimate).all()
    assert distances["mel_consistent"] < 0.8 * distances["griffin_lim"], distances
    # More iterations bring the mel-consistent estimate closer.
    longer = mel.decode(features, n_iter=96, method="mel_consistent",
                        generator=torch.Generator().manual_seed(0))
    assert spectral_distance(mel, longer, wave) < distances["mel_consistent"]


def test_the_generator_makes_the_inversion_reproducible() -> None:
    mel = LogMel(16000)
    features = mel.encode(torch.from_numpy(harmonic_tone(0.5, 16000, 150.0, 0))[None])
    first, second = (mel.decode(features, 4, "mel_consistent",
                                torch.Generator().manual_seed(3)) for _ in range(2))
    assert torch.equal(first, second)
    other = mel.decode(features, 4, "mel_consistent", torch.Generator().manual_seed(4))
    assert not torch.equal(first, other)


def test_bad_methods_are_refused() -> None:
    mel = LogMel(16000)
    magnitude = torch.ones(1, 513, 4)
    with pytest.raises(ValueError, match="unknown mel inversion method"):
        invert_mel(mel.stft, magnitude, 2, method="admm")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs filters and target_mel"):
        invert_mel(mel.stft, magnitude, 2, method="mel_consistent")
    config = cfg.load("recipes/vocoder/mel_inversion/mel_consistent.yaml",
                      ["task.method=admm"])
    with pytest.raises(ConfigError, match="task.method: expected one of"):
        build_task(config)


def test_complex_magnitude_equals_abs() -> None:
    spectrum = torch.randn(2, 513, 40, dtype=torch.cfloat) * 3.0
    torch.testing.assert_close(complex_magnitude(spectrum), spectrum.abs(), rtol=1e-6, atol=1e-7)


def test_fast_griffin_lim_follows_its_update_rule() -> None:
    """Two iterations against the update written out: c_k = P(X_k), X_{k+1} = |S| * a / |a| with
    a = c_k + momentum * (c_k - c_{k-1}) and c_{-1} = 0 (Perraudin et al. 2013)."""
    mel = LogMel(16000, n_fft=256, hop_length=64, n_mels=32)
    stft = mel.stft
    magnitude = stft.encode(torch.from_numpy(harmonic_tone(0.3, 16000, 150.0, 0))[None]).abs()
    phase = torch.rand(magnitude.shape, generator=torch.Generator().manual_seed(1)) * 6.283
    spectrum, previous = torch.polar(magnitude, phase), torch.zeros(magnitude.shape,
                                                                    dtype=torch.cfloat)
    for _ in range(2):
        rebuilt = stft.complex_stft(stft.decode(spectrum))
        accelerated = rebuilt + 0.9 * (rebuilt - previous)
        previous = rebuilt
        spectrum = magnitude * accelerated / accelerated.abs().clamp_min(1e-8)
    result = invert_mel(stft, magnitude, 2, "griffin_lim", momentum=0.9, phase=phase)
    torch.testing.assert_close(result, spectrum, rtol=1e-4, atol=1e-5)


def test_sparse_filterbank_gives_the_dense_gain() -> None:
    """The iteration applies the filterbank as a sparse CSR matrix; its gain equals the dense
    product's for a batch of two."""
    mel = LogMel(16000, n_fft=512, hop_length=128, n_mels=40)
    waves = torch.stack([torch.from_numpy(harmonic_tone(0.4, 16000, f0, 3)) for f0 in (120, 210)])
    magnitude = mel.stft.encode(waves).abs()
    target = mel.expand(mel.encode(waves)) * 1.3
    dense = mel_band_gain(magnitude, mel.filters, target)
    sparse = mel_band_gain(magnitude, mel.filters.to_sparse_csr(), target,
                           spread=band_spread(mel.filters).to_sparse_csr())
    torch.testing.assert_close(sparse, dense, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(dense, torch.ones_like(dense))
