"""Spectral reconstruction losses: multi-resolution STFT (Parallel WaveGAN) and mel L1 (HiFi-GAN).

Both take waveforms (B, T) or (B, 1, T) and return a scalar; spectra are computed in float32.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from audiogen.representations.base import Representation


def _flatten(wave: torch.Tensor) -> torch.Tensor:
    """(B, T) or (B, C, T) -> (B * C, T) in float32."""
    return wave.reshape(-1, wave.shape[-1]).float()


class MultiResolutionSTFTLoss(nn.Module):
    """Spectral convergence plus log-magnitude L1, averaged over STFT resolutions (Yamamoto et
    al. 2020, Parallel WaveGAN; spectral convergence from Arik et al. 2019).

    ``resolutions`` are (n_fft, hop_length, win_length) triples with Hann windows; the defaults
    are those of Parallel WaveGAN and auraloss. Spectral convergence ||S - S_hat||_F / ||S||_F
    is computed per example and averaged. forward(prediction, target) -> scalar.
    """

    def __init__(self, resolutions: Sequence[tuple[int, int, int]] = (
            (1024, 120, 600), (2048, 240, 1200), (512, 50, 240)), eps: float = 1e-7) -> None:
        super().__init__()
        self.resolutions = tuple((int(n), int(h), int(w)) for n, h, w in resolutions)
        self.eps = eps

    def _magnitude(self, wave: torch.Tensor, n_fft: int, hop_length: int, win_length: int
                   ) -> torch.Tensor:
        window = torch.hann_window(win_length, device=wave.device)
        spectrum = torch.stft(wave, n_fft, hop_length, win_length, window, return_complex=True)
        return torch.view_as_real(spectrum).square().sum(-1).clamp_min(self.eps).sqrt()

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with torch.autocast(prediction.device.type, enabled=False):
            prediction, target = _flatten(prediction), _flatten(target)
            total = prediction.new_zeros(())
            for n_fft, hop_length, win_length in self.resolutions:
                predicted = self._magnitude(prediction, n_fft, hop_length, win_length)
                reference = self._magnitude(target, n_fft, hop_length, win_length)
                convergence = ((reference - predicted).norm(dim=(1, 2))
                               / reference.norm(dim=(1, 2)).clamp_min(self.eps))
                log_magnitude = (reference.log() - predicted.log()).abs().mean()
                total = total + convergence.mean() + log_magnitude
            return total / len(self.resolutions)


class MelL1Loss(nn.Module):
    """Mean absolute difference of log-mel spectrograms (HiFi-GAN, Kong et al. 2020).

    ``representation`` is a log-mel :class:`Representation` (its ``encode`` maps (B, T) to
    (B, n_mels, frames)). The target's features carry no gradient. forward(prediction, target)
    -> scalar.
    """

    def __init__(self, representation: Representation) -> None:
        super().__init__()
        self.representation = representation

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with torch.autocast(prediction.device.type, enabled=False):
            predicted = self.representation.encode(_flatten(prediction))
            with torch.no_grad():
                reference = self.representation.encode(_flatten(target))
            return (predicted - reference).abs().mean()
