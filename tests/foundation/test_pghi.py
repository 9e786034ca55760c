"""Phase gradient heuristic integration: gradients against a true STFT, and as a start for
mel inversion."""

from __future__ import annotations

import math

import pytest
import torch

from audiogen.representations import STFT, LogMel
from audiogen.representations.pghi import pghi_phase, phase_gradients
from tests.conftest import harmonic_tone


def wrapped(angle: torch.Tensor) -> torch.Tensor:
    return torch.remainder(angle + math.pi, 2 * math.pi) - math.pi


def test_phase_advance_of_a_sinusoid_matches_its_true_stft() -> None:
    stft = STFT(16000, n_fft=1024, hop_length=256)
    frequency = 15.625 * 78.3  # 0.3 bins above bin 78 (bins are 15.625 Hz apart)
    time = torch.arange(16000) / 16000
    spectrum = stft.encode(torch.sin(2 * math.pi * frequency * time)[None])[0]
    per_hop, _ = phase_gradients(spectrum.abs().double().log(), 1024, 256, 1024, "hann")
    peak = int(spectrum.abs()[:, 20].argmax())
    true_advance = torch.angle(spectrum[peak, 11:50] * spectrum[peak, 10:49].conj())
    assert torch.allclose(wrapped(per_hop[peak, 10:49] - true_advance.double()),
                          torch.zeros(39, dtype=torch.float64), atol=0.05)
    # Without the log-magnitude term the bin centre's advance is off by 0.3 bins: 0.47 rad.
    bin_centre = 2 * math.pi * 256 / 1024 * peak
    assert (wrapped(bin_centre - true_advance)).abs().mean() > 0.4


def test_pghi_phase_from_the_true_magnitude_is_nearly_consistent() -> None:
    stft = STFT(16000, n_fft=1024, hop_length=256)
    wave = torch.from_numpy(harmonic_tone(1.0, 16000, 140.0, 0))[None]
    wave = wave[:, : (wave.shape[-1] // 256) * 256]
    magnitude = stft.encode(wave).abs()

    def inconsistency(phase: torch.Tensor) -> float:
        rebuilt = stft.encode(stft.decode(torch.polar(magnitude, phase))).abs()
        return float((rebuilt - magnitude).norm() / magnitude.norm())

    pghi = inconsistency(pghi_phase(magnitude, 1024, 256, 1024, "hann"))
    random = inconsistency(2 * math.pi * torch.rand(magnitude.shape,
                                                    generator=torch.Generator().manual_seed(0)))
    assert pghi < 0.5 * random, (pghi, random)
    assert pghi < 0.35


def test_pghi_start_needs_fewer_mel_consistent_iterations() -> None:
    mel = LogMel(16000)
    wave = torch.stack([torch.from_numpy(harmonic_tone(1.0, 16000, f0, seed))
                        for seed, f0 in enumerate((120.0, 210.0))])
    wave = wave[:, : (wave.shape[-1] // 256) * 256]
    features = mel.encode(wave)
    target = mel.stft.encode(wave).abs()

    def distance(phase_init: str, n_iter: int) -> float:
        estimate = mel.decode(features, n_iter, "mel_consistent",  # type: ignore[arg-type]
                              torch.Generator().manual_seed(0), phase_init, momentum=0.9)
        assert estimate.shape == wave.shape and torch.isfinite(estimate).all()
        return float((mel.stft.encode(estimate).abs() - target).norm() / target.norm())

    # Measured here: 0.36 vs 0.70 at the start, 0.24 vs 0.29 after 8, 0.18 vs 0.21 after 16.
    assert distance("pghi", 0) < 0.6 * distance("random", 0)
    for n_iter in (8, 16):
        assert distance("pghi", n_iter) < distance("random", n_iter)


def test_unknown_window_and_phase_init_are_refused() -> None:
    with pytest.raises(ValueError, match="PGHI supports windows"):
        pghi_phase(torch.ones(1, 513, 4), 1024, 256, 1024, "blackman")
    mel = LogMel(16000)
    with pytest.raises(ValueError, match="unknown phase init"):
        mel.decode(torch.zeros(1, 80, 4), 2, "mel_consistent",
                   phase_init="oracle")  # type: ignore[arg-type]
