"""Mel inversion by alternating projections: Griffin-Lim and the mel-consistent variant."""

from __future__ import annotations

import pytest
import torch

from audiogen import config as cfg
from audiogen.errors import ConfigError
from audiogen.representations import LogMel
from audiogen.representations.mel_inversion import (
    Consistency,
    band_spread,
    complex_magnitude,
    invert_mel,
    invert_mel_parts,
    mel_band_gain,
)
from audiogen.representations.spectral import STFT
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
    # FFTs along another axis round differently; the phase of the smallest coefficients moves
    torch.testing.assert_close(result, spectrum, rtol=1e-4, atol=1e-5 * float(magnitude.max()))


def test_mel_consistent_follows_its_update_rule_for_a_batch() -> None:
    """Three iterations for two items against the update written out with the dense gain:
    c_k = P(X_k), a = c_k + momentum * (c_k - c_{k-1}), X_{k+1} = a * gain(|a|)."""
    mel = LogMel(16000, n_fft=512, hop_length=128, n_mels=40)
    stft = mel.stft
    waves = torch.stack([torch.from_numpy(harmonic_tone(0.4, 16000, f0, 3)) for f0 in (120, 210)])
    features = mel.encode(waves)
    magnitude, target = mel.mel_to_magnitude(features), mel.expand(features)
    phase = torch.rand(magnitude.shape, generator=torch.Generator().manual_seed(2)) * 6.283
    spectrum = torch.polar(magnitude, phase)
    previous = torch.zeros_like(spectrum)
    for _ in range(3):
        rebuilt = stft.complex_stft(stft.decode(spectrum))
        accelerated = rebuilt + 0.9 * (rebuilt - previous)
        previous = rebuilt
        spectrum = accelerated * mel_band_gain(accelerated.abs(), mel.filters, target)
    result = invert_mel(stft, magnitude, 3, "mel_consistent", mel.filters, target,
                        momentum=0.9, phase=phase)
    assert result.shape == spectrum.shape
    torch.testing.assert_close(result, spectrum, rtol=1e-4, atol=1e-5 * float(spectrum.abs().max()))


def test_accelerated_griffin_lim_follows_its_update_rule() -> None:
    """Four iterations against accelerated Griffin-Lim written out (Nenov et al. 2023):
    t = P(X); t <- (1 - gamma) d_prev + gamma t; c = t + alpha (t - t_prev);
    d = t + beta (t - t_prev); X = |S| c / |c|, with c = d = t at the first iteration."""
    mel = LogMel(16000, n_fft=256, hop_length=64, n_mels=32)
    stft = mel.stft
    magnitude = stft.encode(torch.from_numpy(harmonic_tone(0.3, 16000, 150.0, 0))[None]).abs()
    phase = torch.rand(magnitude.shape, generator=torch.Generator().manual_seed(5)) * 6.283
    alpha, beta, gamma = 0.99, 1.5, 1.05
    spectrum = torch.polar(magnitude, phase)
    t_previous = d = torch.zeros_like(spectrum)
    for iteration in range(4):
        t = stft.complex_stft(stft.decode(spectrum))
        if iteration == 0:
            c = d = t
        else:
            t = (1 - gamma) * d + gamma * t
            c, d = t + alpha * (t - t_previous), t + beta * (t - t_previous)
        t_previous = t
        spectrum = magnitude * c / c.abs().clamp_min(1e-8)
    result = invert_mel(stft, magnitude, 4, "griffin_lim", momentum=alpha, phase=phase,
                        beta=beta, gamma=gamma)
    torch.testing.assert_close(result, spectrum, rtol=1e-4, atol=1e-5 * float(magnitude.max()))
    fast = invert_mel(stft, magnitude, 4, "griffin_lim", momentum=alpha, phase=phase)
    assert not torch.allclose(fast, spectrum, atol=1e-2)  # gamma != 1 changed the iteration


@pytest.mark.parametrize("method", ["griffin_lim", "mel_consistent"])
def test_the_graph_form_on_parts_equals_the_complex_iteration(method: str) -> None:
    """invert_mel_parts (the ONNX form) and invert_mel give the same spectrogram, accelerated."""
    mel = LogMel(16000, n_fft=256, hop_length=64, n_mels=32)
    features = mel.encode(torch.from_numpy(harmonic_tone(0.3, 16000, 180.0, 2))[None])
    magnitude, target = mel.mel_to_magnitude(features), mel.expand(features)
    settings = {"momentum": 0.99, "beta": 1.5, "gamma": 1.05}
    real, imag = invert_mel_parts(mel.stft, magnitude, 6, method, mel.filters, target,  # type: ignore[arg-type]
                                  phase="zero", **settings)
    spectrum = invert_mel(mel.stft, magnitude, 6, method, mel.filters, target,  # type: ignore[arg-type]
                          phase="zero", **settings)
    # relative error over the whole spectrogram: the phase of near-zero coefficients (zero start
    # phase on a harmonic tone makes many) follows the rounding of either form
    assert float((torch.complex(real, imag) - spectrum).norm() / spectrum.norm()) < 1e-3
    real, imag = invert_mel_parts(mel.stft, magnitude, 6, method, mel.filters, target,  # type: ignore[arg-type]
                                  phase="zero", momentum=0.99)
    assert float((torch.complex(real, imag) - spectrum).norm() / spectrum.norm()) > 1e-2


@pytest.mark.parametrize("settings", [
    {"padding": "same", "pad_mode": "reflect"},
    {"padding": "center", "pad_mode": "reflect"},
    {"padding": "same", "pad_mode": "constant"},
    {"padding": "same", "pad_mode": "reflect", "win_length": 200},
    {"padding": "same", "pad_mode": "reflect", "hop_length": 96},  # hop does not divide n_fft
])
def test_consistency_projection_equals_stft_of_istft(settings: dict) -> None:
    """The fused, buffered projection gives STFT(iSTFT(X)) of the representation itself, for
    every padding, a shorter window, and (by the unfused path) a hop that does not divide n_fft."""
    stft = STFT(16000, **{"n_fft": 256, "hop_length": 64, **settings})
    waves = torch.randn(2, 4000, generator=torch.Generator().manual_seed(3))
    spectrum = stft.complex_stft(waves)
    noisy = spectrum + 0.5 * torch.randn(spectrum.shape, dtype=torch.cfloat,
                                         generator=torch.Generator().manual_seed(4))
    expected = stft.complex_stft(stft.decode(noisy))
    projection = Consistency(stft, 2, spectrum.shape[-1])
    assert projection.fused == (settings.get("hop_length", 64) == 64)
    out = torch.empty_like(noisy.transpose(1, 2))
    for _ in range(2):  # the buffers are reused: a second call gives the same answer
        result = projection(noisy.transpose(1, 2).contiguous(), out=out)
        torch.testing.assert_close(result.transpose(1, 2), expected, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(expected, noisy, atol=1e-2)  # the projection did something


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
