"""Spectral distances: log-spectral distance, log-mel L1 and multi-resolution STFT distance.

All are 0 for identical signals and grow with distortion; they are computed at the pair's rate.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from audiogen.eval.base import Metric, Score, Scorer, library
from audiogen.eval.intrusive import START_ALIGNED

LSD = Metric("lsd", "Log-spectral distance: frame RMS of log10 power spectra differences, "
             "averaged over frames", False, True, None, "spectral")
LSD_HF = Metric("lsd_hf", "Log-spectral distance over the bins above lsd_cutoff_hz only (the "
                "band a bandwidth extender must create)", False, True, None, "spectral")
MEL_L1 = Metric("mel_l1", "Mean absolute difference of natural-log mel spectrograms (HiFi-GAN)",
                False, True, None, "spectral")
MSTFT = Metric("mstft", "Multi-resolution STFT distance: spectral convergence + log-magnitude "
               "L1 (Parallel WaveGAN)", False, True, None, "spectral")
METRICS = (LSD, LSD_HF, MEL_L1, MSTFT)


def log_spectral_distance(estimate: torch.Tensor, target: torch.Tensor, n_fft: int = 2048,
                          hop_length: int = 512, floor: float = 1e-8, first_bin: int = 0
                          ) -> float:
    """LSD of (T,) signals as in bandwidth-extension work (Kuleshov et al. 2017; NU-Wave 2):
    mean over frames of sqrt(mean over bins of (log10 P_target - log10 P_estimate)^2), with
    Hann-window power spectra floored at ``floor``; bins below ``first_bin`` are left out
    (the high-band LSD of AP-BWE)."""
    window = torch.hann_window(n_fft, dtype=torch.float64)

    def log_power(wave: torch.Tensor) -> torch.Tensor:
        spectrum = torch.stft(wave.double(), n_fft, hop_length, window=window,
                              return_complex=True)
        return spectrum.abs().square().clamp_min(floor).log10()

    difference = (log_power(target) - log_power(estimate))[first_bin:]
    return float(difference.square().mean(dim=0).sqrt().mean())


class Spectral(Scorer):
    """LSD, log-mel L1 (audiogen LogMel, HiFi-GAN settings) and multi-resolution STFT distance
    (audiogen.losses.MultiResolutionSTFTLoss with the Parallel WaveGAN / auraloss resolutions)."""

    def __init__(self, metrics: Sequence[Metric], lsd_n_fft: int = 2048,
                 lsd_hop_length: int = 512, lsd_cutoff_hz: float = 4000.0) -> None:
        from audiogen.losses import MultiResolutionSTFTLoss

        super().__init__(metrics)
        self.lsd_n_fft, self.lsd_hop_length = lsd_n_fft, lsd_hop_length
        self.lsd_cutoff_hz = lsd_cutoff_hz
        self.multi_resolution = MultiResolutionSTFTLoss()
        self._mel_losses: dict[int, torch.nn.Module] = {}

    def score(self, generated: np.ndarray, reference: np.ndarray | None, sample_rate: int
              ) -> Score:
        if reference is None:
            raise ValueError("spectral distances need a reference signal")
        estimate, target = torch.from_numpy(generated), torch.from_numpy(reference)
        functions = {
            "lsd": lambda: log_spectral_distance(estimate, target, self.lsd_n_fft,
                                                 self.lsd_hop_length),
            "lsd_hf": lambda: log_spectral_distance(
                estimate, target, self.lsd_n_fft, self.lsd_hop_length,
                first_bin=self._cutoff_bin(sample_rate)),
            "mel_l1": lambda: self._mel_loss(sample_rate)(estimate[None], target[None]),
            "mstft": lambda: self.multi_resolution(estimate[None], target[None]),
        }
        with torch.no_grad():
            return {name: float(functions[name]()) for name in self.names}

    def _cutoff_bin(self, sample_rate: int) -> int:
        """The first bin at or above ``lsd_cutoff_hz``; refuses a cutoff at or above Nyquist."""
        if not 0 <= self.lsd_cutoff_hz < sample_rate / 2:
            raise ValueError(f"lsd_cutoff_hz {self.lsd_cutoff_hz} is not below the Nyquist "
                             f"frequency {sample_rate / 2} of {sample_rate} Hz audio")
        return int(np.ceil(self.lsd_cutoff_hz * self.lsd_n_fft / sample_rate))

    def _mel_loss(self, sample_rate: int) -> torch.nn.Module:
        from audiogen.losses import MelL1Loss
        from audiogen.representations import LogMel

        if sample_rate not in self._mel_losses:
            self._mel_losses[sample_rate] = MelL1Loss(LogMel(sample_rate))
        return self._mel_losses[sample_rate]

    def card(self, name: str) -> dict[str, Any]:
        resolutions = ", ".join(f"(fft {n}, hop {h}, win {w})"
                                for n, h, w in self.multi_resolution.resolutions)
        modes = {
            "lsd": f"n_fft {self.lsd_n_fft}, hop {self.lsd_hop_length}, Hann, log10 power "
                   "floored at 1e-8",
            "lsd_hf": f"as lsd, bins from {self.lsd_cutoff_hz:g} Hz up only",
            "mel_l1": "audiogen LogMel(n_fft 1024, hop 256, 80 slaney mels, fmax = rate / 2, "
                      "magnitude, ln, clamp 1e-5) via audiogen.losses.MelL1Loss",
            "mstft": f"audiogen.losses.MultiResolutionSTFTLoss {resolutions}, Hann; mean of "
                     "spectral convergence and log-magnitude L1 over resolutions",
        }
        return {**library("torch"), "sample_rate": "signal's rate", "resampler": "none",
                "mode": modes[name], "alignment": START_ALIGNED}
