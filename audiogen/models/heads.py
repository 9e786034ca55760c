"""Heads from backbone features (B, dim, frames) to audio: an inverse-STFT head (Vocos) and a
complex-spectrum head (its packing and compression helpers live in representations.spectral)."""

from __future__ import annotations

import torch
from torch import nn

from audiogen.representations.spectral import Padding, dft_istft, istft


class Head(nn.Module):
    """Maps backbone features (B, dim, frames) to an audio-domain tensor; subclasses say which."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class ISTFTHead(Head):
    """Predicts log-magnitude and phase per STFT bin and inverts them to a waveform (Vocos,
    Siuzdak 2023).

    forward: (B, dim, frames) -> (B, frames * hop_length) for ``padding="same"``, or
    (B, (frames - 1) * hop_length) for ``padding="center"``. The magnitude is exp(log-magnitude)
    clipped at ``max_magnitude``; the phase is an unconstrained angle, used through cos and sin.
    The spectrum and inverse STFT are computed in float32 even under autocast.
    """

    window: torch.Tensor

    def __init__(self, dim: int, n_fft: int, hop_length: int, win_length: int | None = None,
                 padding: Padding = "same", max_magnitude: float = 1e2) -> None:
        super().__init__()
        self.n_fft, self.hop_length = n_fft, hop_length
        self.win_length, self.padding = win_length or n_fft, padding
        self.max_magnitude = max_magnitude
        self.projection = nn.Conv1d(dim, n_fft + 2, 1)
        self.register_buffer("window", torch.hann_window(self.win_length), persistent=False)

    def spectrum(self, x: torch.Tensor) -> torch.Tensor:
        """(B, dim, frames) -> complex spectrum (B, n_fft // 2 + 1, frames)."""
        log_magnitude, phase = self.projection(x).chunk(2, dim=1)
        with torch.autocast(x.device.type, enabled=False):
            dtype = self.window.dtype
            magnitude = log_magnitude.to(dtype).exp().clamp(max=self.max_magnitude)
            return torch.polar(magnitude, phase.to(dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():  # ONNX has no complex tensors: polar form by parts
            log_magnitude, phase = self.projection(x).chunk(2, dim=1)
            magnitude = log_magnitude.exp().clamp(max=self.max_magnitude)
            return dft_istft(magnitude * phase.cos(), magnitude * phase.sin(), self.n_fft,
                             self.hop_length, self.win_length, "hann", self.padding)
        spectrum = self.spectrum(x)
        with torch.autocast(x.device.type, enabled=False):
            return istft(spectrum, self.n_fft, self.hop_length, self.win_length, self.window,
                         self.padding)


class ComplexSpectrumHead(Head):
    """Projects features to the real and imaginary parts of a complex spectrogram.

    forward: (B, dim, frames) -> (B, 2 * (n_fft // 2 + 1), frames), real parts then imaginary
    parts: the layout of ``audiogen.representations.spectral.pack_complex`` (``unpack_complex``
    gives the complex tensor). A flow-matching vocoder on the compressed complex spectrogram
    (``CompressedSTFT``) predicts its velocity in this layout.
    """

    def __init__(self, dim: int, n_fft: int) -> None:
        super().__init__()
        self.projection = nn.Conv1d(dim, 2 * (n_fft // 2 + 1), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(x)
