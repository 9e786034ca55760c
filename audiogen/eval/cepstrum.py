"""Mel-cepstral distortion (Kubichek 1993) on mel-cepstra from frequency-warped cepstra.

Mel-cepstra are obtained without SPTK: the real cepstrum of each STFT frame (Oppenheim & Schafer)
is taken in the minimum-phase convention (c_0, 2 c_1, 2 c_2, ...) and warped onto the mel-like
frequency axis of a first-order all-pass with the recursion of Oppenheim & Johnson (1972), the
algorithm of SPTK's ``freqt``. This is the mel-cepstrum of the log amplitude spectrum truncated
at ``order``; SPTK's ``mcep`` instead fits the mel-cepstrum by UELS (Tokuda et al. 1994), so
absolute values differ slightly from MCDs computed with pysptk.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Sequence

import numpy as np
import torch

from audiogen.eval.base import Metric, Score, Scorer, library

MCD = Metric("mcd", "Mel-cepstral distortion with DTW, c0 excluded", False, True, None, "mcd",
             "dB")
METRICS = (MCD,)
MCD_CONSTANT = 10.0 / math.log(10.0) * math.sqrt(2.0)
MAX_DTW_FRAMES = 8000


def allpass_alpha(sample_rate: int, points: int = 1000, step: float = 0.001) -> float:
    """All-pass constant whose warping best fits the mel scale at ``sample_rate`` (least squares
    over ``points`` frequencies, grid search with ``step``): 0.41 at 16 kHz, 0.466 at 24 kHz,
    0.554 at 48 kHz, the same fit as pysptk's ``mcepalpha`` (SPTK's table rounds to 0.42 at
    16 kHz)."""
    frequency = np.arange(points) * (sample_rate / 2.0) / points
    mel = np.log1p(frequency / 1000.0)
    mel = mel / mel[-1]
    omega = np.arange(points) * math.pi / points
    best_alpha, best_error = 0.0, math.inf
    for alpha in np.arange(0.0, 1.0, step):
        warped = warp_frequency(omega, float(alpha))
        error = float(np.sqrt(np.mean((warped / warped[-1] - mel) ** 2)))
        if error < best_error:
            best_alpha, best_error = float(alpha), error
    return round(best_alpha, 6)


def warp_frequency(omega: np.ndarray, alpha: float) -> np.ndarray:
    """Phase response of the all-pass (z^-1 - alpha) / (1 - alpha z^-1) at ``omega`` in [0, pi]:
    the warped frequency axis of the mel-cepstrum."""
    return omega + 2.0 * np.arctan2(alpha * np.sin(omega), 1.0 - alpha * np.cos(omega))


def freqt(cepstrum: np.ndarray, order: int, alpha: float) -> np.ndarray:
    """Frequency-warp cepstra (frames, N) to (frames, order + 1) by the all-pass recursion of
    Oppenheim & Johnson (1972) (SPTK ``freqt``); ``alpha`` > 0 warps towards the mel scale."""
    frames, length = cepstrum.shape
    beta = 1.0 - alpha * alpha
    warped = np.zeros((frames, order + 1))
    for index in range(length - 1, -1, -1):
        previous = warped.copy()
        warped[:, 0] = cepstrum[:, index] + alpha * previous[:, 0]
        if order >= 1:
            warped[:, 1] = beta * previous[:, 0] + alpha * previous[:, 1]
        for m in range(2, order + 1):
            warped[:, m] = previous[:, m - 1] + alpha * (previous[:, m] - warped[:, m - 1])
    return warped


@functools.lru_cache(maxsize=16)
def freqt_matrix(length: int, order: int, alpha: float) -> np.ndarray:
    """The linear map of :func:`freqt` as a (length, order + 1) matrix: warped = cepstrum @ W."""
    matrix = freqt(np.eye(length), order, alpha)
    matrix.setflags(write=False)
    return matrix


def mel_cepstrum(wave: np.ndarray, order: int, alpha: float, n_fft: int = 1024,
                 hop_length: int = 256, floor: float = 1e-5) -> np.ndarray:
    """Mel-cepstra (frames, order + 1) of a (T,) signal: Hann STFT, natural log amplitude
    floored at ``floor``, real cepstrum in minimum-phase convention, :func:`freqt`."""
    window = torch.hann_window(n_fft, dtype=torch.float64)
    spectrum = torch.stft(torch.from_numpy(np.asarray(wave, dtype=np.float64)), n_fft,
                          hop_length, window=window, return_complex=True)
    log_amplitude = spectrum.abs().clamp_min(floor).log().T.numpy()
    cepstrum = np.fft.irfft(log_amplitude, n=n_fft, axis=1)[:, : n_fft // 2 + 1]
    cepstrum[:, 1:] *= 2.0
    return cepstrum @ freqt_matrix(cepstrum.shape[1], order, alpha)


def mel_cepstral_distortion(reference: np.ndarray, generated: np.ndarray) -> float:
    """MCD in dB between mel-cepstra (frames, order + 1), c0 excluded: frames are aligned by
    DTW (librosa, Euclidean cost on c1..cM) and (10 / ln 10) sqrt(2 sum_m (c_m - c'_m)^2) is
    averaged over the warping path."""
    import librosa

    if max(len(reference), len(generated)) > MAX_DTW_FRAMES:
        raise ValueError(f"DTW over more than {MAX_DTW_FRAMES} frames needs too much memory; "
                         "split long items")
    _, path = librosa.sequence.dtw(reference[:, 1:].T, generated[:, 1:].T, metric="euclidean")
    difference = reference[path[:, 0], 1:] - generated[path[:, 1], 1:]
    return float(MCD_CONSTANT * np.sqrt((difference ** 2).sum(axis=1)).mean())


class MelCepstralDistortion(Scorer):
    """MCD with DTW at the pair's rate; the all-pass constant follows the rate unless given."""

    def __init__(self, metrics: Sequence[Metric], order: int = 24, alpha: float | None = None,
                 n_fft: int = 1024, hop_length: int = 256) -> None:
        super().__init__(metrics)
        self.order, self.alpha = order, alpha
        self.n_fft, self.hop_length = n_fft, hop_length
        self._alphas: dict[int, float] = {}

    def alpha_for(self, sample_rate: int) -> float:
        """The all-pass constant used at ``sample_rate``."""
        if self.alpha is not None:
            return self.alpha
        if sample_rate not in self._alphas:
            self._alphas[sample_rate] = allpass_alpha(sample_rate)
        return self._alphas[sample_rate]

    def score(self, generated: np.ndarray, reference: np.ndarray | None, sample_rate: int
              ) -> Score:
        if reference is None:
            raise ValueError("mcd needs a reference signal")
        alpha = self.alpha_for(sample_rate)
        cepstra = [mel_cepstrum(wave, self.order, alpha, self.n_fft, self.hop_length)
                   for wave in (reference, generated)]
        return {"mcd": mel_cepstral_distortion(*cepstra)}

    def card(self, name: str) -> dict[str, Any]:
        alpha = ("fitted to the mel scale per rate (0.41 at 16 kHz)" if self.alpha is None
                 else str(self.alpha))
        return {**library("numpy", "librosa"), "sample_rate": "signal's rate",
                "resampler": "none",
                "mode": f"order {self.order} (c1..c{self.order}, c0 excluded), alpha {alpha}, "
                        f"constant 10/ln10*sqrt(2); mel-cepstrum by all-pass warping (freqt) "
                        f"of the real cepstrum of Hann STFT frames (n_fft {self.n_fft}, hop "
                        f"{self.hop_length}, log amplitude floored at 1e-5), not SPTK mcep",
                "alignment": "DTW (librosa.sequence.dtw, Euclidean on c1..cM), mean over the "
                             "path"}
