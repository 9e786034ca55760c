"""Spectral distances and MCD: zero for identity, growing with noise; the mel-cepstral warping
against a direct evaluation on the warped frequency axis; the all-pass constants of SPTK."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiogen.eval.cepstrum import (
    MCD_CONSTANT,
    allpass_alpha,
    freqt,
    mel_cepstral_distortion,
    warp_frequency,
)
from audiogen.losses import MultiResolutionSTFTLoss

from .signals import speech_like, with_noise
from .test_intrusive import SNRS, value


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return speech_like()


@pytest.mark.parametrize("name", ["mstft", "lsd", "mel_l1", "mcd"])
def test_identity_is_zero_and_noise_is_monotonically_worse(name: str, clean: np.ndarray) -> None:
    assert value(name, clean, clean) == pytest.approx(0.0, abs=1e-6)
    scores = [value(name, with_noise(clean, level), clean) for level in SNRS]
    assert scores[0] > 0
    assert all(a < b for a, b in zip(scores, scores[1:])), scores


def test_mstft_is_the_training_loss_with_auraloss_resolutions(clean: np.ndarray) -> None:
    noisy = with_noise(clean, 10.0)
    loss = MultiResolutionSTFTLoss()
    assert loss.resolutions == ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))
    direct = loss(torch.from_numpy(noisy)[None], torch.from_numpy(clean)[None]).item()
    assert value("mstft", noisy, clean) == pytest.approx(direct, rel=1e-6)


@pytest.mark.parametrize("rate, alpha", [(8000, 0.312), (16000, 0.41), (22050, 0.455),
                                         (44100, 0.544), (48000, 0.554)])
def test_allpass_constant_matches_the_sptk_fit(rate: int, alpha: float) -> None:
    assert allpass_alpha(rate) == pytest.approx(alpha, abs=1e-9)


def test_freqt_equals_the_cosine_series_on_the_warped_axis() -> None:
    rng = np.random.default_rng(0)
    cepstrum = rng.standard_normal(12) * 0.5 ** np.arange(12)
    alpha, points = 0.41, 8192
    theta = 2 * np.pi * np.arange(points) / points
    folded = np.where(theta <= np.pi, theta, 2 * np.pi - theta)
    omega = warp_frequency(folded, -alpha)
    log_amplitude = cepstrum[0] + sum(cepstrum[m] * np.cos(m * omega) for m in range(1, 12))
    direct = [np.mean(log_amplitude * np.cos(m * theta)) * (1 if m == 0 else 2)
              for m in range(25)]
    np.testing.assert_allclose(freqt(cepstrum[None], 24, alpha)[0], direct, atol=1e-12)


def test_warping_is_inverted_by_the_negative_constant() -> None:
    omega = np.linspace(0, np.pi, 50)
    np.testing.assert_allclose(warp_frequency(warp_frequency(omega, 0.42), -0.42), omega,
                               atol=1e-12)


def test_mcd_of_a_constant_offset_is_the_closed_form() -> None:
    rng = np.random.default_rng(1)
    reference = rng.standard_normal((40, 25))
    offset = np.zeros(25)
    offset[1:] = 0.1
    generated = reference + offset
    expected = MCD_CONSTANT * np.sqrt(np.sum(offset[1:] ** 2))
    assert mel_cepstral_distortion(reference, generated) == pytest.approx(expected, rel=1e-9)
    generated[:, 0] += 5.0
    assert mel_cepstral_distortion(reference, generated) == pytest.approx(expected, rel=1e-9)


def test_mcd_aligns_a_delayed_copy_by_dtw(clean: np.ndarray) -> None:
    delayed = np.concatenate([np.zeros(1024, np.float32), clean])[: len(clean)]
    aligned = value("mcd", delayed, clean)
    assert aligned < 0.5 * value("mcd", with_noise(clean, 20.0), clean)


def test_high_band_lsd_sees_only_the_removed_band(clean: np.ndarray) -> None:
    """Removing everything above 4 kHz leaves the low half of the bins exact, so the full-band
    LSD (RMS over all bins) is the high-band one times sqrt(1/2); a change below 4 kHz only
    leaves the high-band LSD at zero."""
    from audiogen.data.degrade import band_limit
    from audiogen.eval.spectral import LSD, LSD_HF, Spectral

    scorer = Spectral([LSD, LSD_HF], lsd_cutoff_hz=4000.0)
    lowpassed = band_limit(clean, 16000, 0.0, 4000.0)
    scores = scorer.score(lowpassed, clean, 16000)
    assert scores["lsd"] > 1.0
    assert scores["lsd_hf"] / scores["lsd"] == pytest.approx(np.sqrt(2.0), rel=0.02)
    quieter_low = band_limit(clean, 16000, 0.0, 3000.0) * 0.5 + band_limit(clean, 16000, 3000.0,
                                                                          8000.0)
    assert scorer.score(quieter_low.astype(np.float32), clean, 16000)["lsd_hf"] < 0.05
    with pytest.raises(ValueError, match="Nyquist"):
        Spectral([LSD_HF], lsd_cutoff_hz=8000.0).score(clean, clean, 16000)
