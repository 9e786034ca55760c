"""Deterministic test signals for the evaluation tests."""

from __future__ import annotations

import math

import numpy as np
import scipy.signal


def speech_like(seconds: float = 2.0, sample_rate: int = 16000, f0: float = 140.0,
                seed: int = 0) -> np.ndarray:
    """Voiced syllables: a gliding-f0 pulse train through two formant resonators, with pauses."""
    rng = np.random.default_rng(seed)
    time = np.arange(int(seconds * sample_rate)) / sample_rate
    glide = f0 * (1.0 + 0.15 * np.sin(2 * math.pi * 0.7 * time))
    phase = 2 * math.pi * np.cumsum(glide) / sample_rate
    source = sum(np.cos(k * phase) / k for k in range(1, 30))
    wave = np.asarray(source, dtype=np.float64)
    for formant, bandwidth in ((700.0, 130.0), (1800.0, 200.0)):
        radius = math.exp(-math.pi * bandwidth / sample_rate)
        angle = 2 * math.pi * formant / sample_rate
        wave = scipy.signal.lfilter([1.0 - radius], [1.0, -2 * radius * math.cos(angle),
                                                     radius ** 2], wave)
    syllables = np.clip(np.sin(2 * math.pi * 2.0 * time), 0.0, None) ** 0.5
    wave = wave * syllables + 1e-3 * rng.standard_normal(time.size)
    return (0.5 * wave / np.abs(wave).max()).astype(np.float32)


def with_noise(wave: np.ndarray, snr_db: float, seed: int = 1) -> np.ndarray:
    """``wave`` plus white noise at ``snr_db`` dB SNR."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(wave.size)
    noise *= math.sqrt(np.mean(wave.astype(np.float64) ** 2) / np.mean(noise ** 2)
                       / 10 ** (snr_db / 10))
    return (wave + noise).astype(np.float32)
