"""Spectral representations: STFT (complex or magnitude) and log-mel (HiFi-GAN, librosa).

Two framing conventions are offered because the field uses both:

- ``padding="center"`` (librosa, torchaudio): the signal is padded by n_fft // 2 on each side,
  frame k is centred on sample k * hop, and T samples give T // hop + 1 frames.
- ``padding="same"`` (HiFi-GAN, BigVGAN, Vocos): the signal is reflect-padded by
  (n_fft - hop) // 2 on each side with no centring, so T samples give T // hop frames.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Literal

import numpy as np
import torch
import torchaudio.functional as AF

from audiogen.representations.base import Representation
from audiogen.representations.mel_inversion import (
    Method,
    PhaseInit,
    invert_mel,
    invert_mel_parts,
)

Padding = Literal["center", "same"]


class STFT(Representation):
    """Short-time Fourier transform; ``mode="complex"`` is exactly invertible with :meth:`decode`.

    encode: (B, T) -> complex (B, n_fft // 2 + 1, frames), or magnitude for ``mode="magnitude"``.
    """

    window: torch.Tensor

    def __init__(self, sample_rate: int, n_fft: int = 1024, hop_length: int = 256,
                 win_length: int | None = None, window: Literal["hann", "hamming"] = "hann",
                 padding: Padding = "same", pad_mode: Literal["reflect", "constant"] = "reflect",
                 mode: Literal["complex", "magnitude"] = "complex") -> None:
        super().__init__()
        self.sample_rate, self.n_fft, self.hop_length = sample_rate, n_fft, hop_length
        self.win_length = win_length or n_fft
        if self.win_length > n_fft:
            raise ValueError(f"win_length {self.win_length} exceeds n_fft {n_fft}")
        if padding == "same" and (n_fft - hop_length) % 2:
            raise ValueError("padding='same' needs n_fft - hop_length to be even")
        self.window_name, self.padding, self.pad_mode, self.mode = window, padding, pad_mode, mode
        self.dim = n_fft // 2 + 1
        make = torch.hann_window if window == "hann" else torch.hamming_window
        self.register_buffer("window", make(self.win_length), persistent=False)

    @property
    def spec(self) -> dict[str, Any]:
        return {"type": "stft", "sample_rate": self.sample_rate, "n_fft": self.n_fft,
                "hop_length": self.hop_length, "win_length": self.win_length,
                "window": self.window_name, "padding": self.padding, "pad_mode": self.pad_mode,
                "mode": self.mode}

    def num_frames(self, num_samples: int) -> int:
        if self.padding == "center":
            return num_samples // self.hop_length + 1
        return (num_samples - self.hop_length) // self.hop_length + 1

    def complex_stft(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, T) -> complex (B, F, frames)."""
        if self.padding == "same":
            pad = (self.n_fft - self.hop_length) // 2
            wave = torch.nn.functional.pad(wave.unsqueeze(1), (pad, pad), mode=self.pad_mode)
            wave = wave.squeeze(1)
        return torch.stft(wave.float(), self.n_fft, self.hop_length, self.win_length,
                          self.window, center=self.padding == "center", pad_mode=self.pad_mode,
                          return_complex=True)

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():
            if self.mode == "complex":
                raise ValueError("a complex STFT does not export; use STFT.parts")
            real, imag = self.parts(wave)
            return (real.square() + imag.square()).sqrt()
        spectrum = self.complex_stft(wave)
        return spectrum if self.mode == "complex" else spectrum.abs()

    def parts(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T) -> real and imaginary parts (B, F, frames) of the STFT; while exporting to
        ONNX (which has no complex tensors) computed by :func:`dft_stft`."""
        if torch.onnx.is_in_onnx_export():
            return dft_stft(wave, self.n_fft, self.hop_length, self.win_length,
                            self.window_name, self.padding, self.pad_mode)
        spectrum = self.complex_stft(wave)
        return spectrum.real, spectrum.imag

    def decode(self, features: torch.Tensor) -> torch.Tensor:
        """Inverse STFT of a complex spectrogram (B, F, frames) -> (B, frames * hop)."""
        if not features.is_complex():
            raise ValueError("STFT.decode needs a complex spectrogram")
        return istft(features, self.n_fft, self.hop_length, self.win_length, self.window,
                     self.padding)

    def decode_parts(self, real: torch.Tensor, imag: torch.Tensor) -> torch.Tensor:
        """:meth:`decode` of a spectrogram given as real and imaginary parts (B, F, frames);
        while exporting to ONNX computed by :func:`dft_istft`."""
        if torch.onnx.is_in_onnx_export():
            return dft_istft(real, imag, self.n_fft, self.hop_length, self.win_length,
                             self.window_name, self.padding)
        return self.decode(torch.complex(real.float(), imag.float()))


def istft(spectrum: torch.Tensor, n_fft: int, hop_length: int, win_length: int,
          window: torch.Tensor, padding: Padding = "same") -> torch.Tensor:
    """Inverse STFT by windowed overlap-add; for ``padding="same"`` the output has frames * hop
    samples, trimmed symmetrically like the forward padding (as in Vocos' ISTFT head)."""
    if padding == "center":
        return torch.istft(spectrum, n_fft, hop_length, win_length, window, center=True)
    frames = spectrum.shape[-1]
    if win_length < n_fft:
        left = (n_fft - win_length) // 2
        window = torch.nn.functional.pad(window, (left, n_fft - win_length - left))
    frames_time = torch.fft.irfft(spectrum, n=n_fft, dim=1, norm="backward")
    frames_time = frames_time * window[None, :, None]
    wave = overlap_add(frames_time, hop_length)
    envelope = overlap_add(window.square()[None, :, None].expand(1, n_fft, frames), hop_length)
    pad = (n_fft - hop_length) // 2
    length = wave.shape[-1]
    return wave[:, pad:length - pad] / envelope[:, pad:length - pad].clamp_min(1e-11)


WINDOWS = {"hann": (0.5, 0.5), "hamming": (0.54, 0.46)}  # a - b cos(2 pi n / length)


@functools.lru_cache(maxsize=32)
def _dft_basis(n_fft: int, win_length: int, window: str, inverse: bool) -> np.ndarray:
    """Windowed real-DFT basis (2F, 1, n_fft) in float64, cosine rows then sine rows, with
    F = n_fft // 2 + 1 and the periodic window of ``win_length`` centred in n_fft samples
    (torch.stft's convention).

    Forward: X_k = sum_n w[n] x[n] e^{-2 pi i k n / N}, so the rows are w cos and -w sin.
    Inverse: the irfft of (Re X, Im X) times the synthesis window, each bin but DC and Nyquist
    counted twice (Hermitian symmetry), over N: rows c_k w cos / N and -c_k w sin / N. Made with
    numpy so that an exported graph holds it as a constant.
    """
    a, b = WINDOWS[window]
    full = np.zeros(n_fft)
    left = (n_fft - win_length) // 2
    full[left:left + win_length] = a - b * np.cos(2 * np.pi * np.arange(win_length)
                                                  / win_length)
    k, n = np.arange(n_fft // 2 + 1)[:, None], np.arange(n_fft)[None, :]
    angle = 2 * np.pi * ((k * n) % n_fft) / n_fft
    cos, sin = np.cos(angle) * full, -np.sin(angle) * full
    if inverse:
        weight = np.full((n_fft // 2 + 1, 1), 2.0 / n_fft)
        weight[0] = 1.0 / n_fft
        if n_fft % 2 == 0:  # the Nyquist bin has no mirror image
            weight[-1] = 1.0 / n_fft
        cos, sin = cos * weight, sin * weight
    return np.concatenate([cos, sin])[:, None]


def _constant(array: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    """``array`` as a tensor of ``like``'s dtype, converted before it meets the graph (so an
    export stores it in that dtype rather than casting it at run time)."""
    if like.dtype == torch.float32:
        array = array.astype(np.float32)
    return torch.from_numpy(array).to(like.dtype)


def dft_stft(wave: torch.Tensor, n_fft: int, hop_length: int, win_length: int,
             window: str = "hann", padding: Padding = "same", pad_mode: str = "reflect"
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """The STFT as one strided convolution with a windowed DFT basis: (B, T) -> real and
    imaginary parts (B, F, frames), equal to :meth:`STFT.complex_stft` up to float rounding.

    Used while exporting to ONNX (no complex tensors, no FFT op needed; the length axis stays
    dynamic)."""
    pad = n_fft // 2 if padding == "center" else (n_fft - hop_length) // 2
    signal = torch.nn.functional.pad(wave[:, None], (pad, pad), mode=pad_mode)
    basis = _constant(_dft_basis(n_fft, win_length, window, False), wave)
    real, imag = torch.nn.functional.conv1d(signal, basis, stride=hop_length).chunk(2, dim=1)
    return real, imag


def dft_istft(real: torch.Tensor, imag: torch.Tensor, n_fft: int, hop_length: int,
              win_length: int, window: str = "hann", padding: Padding = "same"
              ) -> torch.Tensor:
    """The inverse STFT as one transposed convolution (inverse DFT, synthesis window and
    overlap-add at once), divided by the overlap-added squared window (the window-sum
    normalisation of Griffin & Lim 1984): (B, F, frames) parts -> the samples :func:`istft`
    (and ``torch.istft`` for ``padding="center"``) return for the same spectrum, up to float
    rounding.

    Used while exporting to ONNX; the envelope is a second transposed convolution over a row of
    ones, so the number of frames stays a dynamic axis."""
    basis = _dft_basis(n_fft, win_length, window, True)
    wave = torch.nn.functional.conv_transpose1d(torch.cat([real, imag], dim=1),
                                                _constant(basis, real), stride=hop_length)
    full = _dft_basis(n_fft, win_length, window, False)[0, :, :]  # the window (cos row, k=0)
    square = _constant(np.square(full)[None], real)
    envelope = torch.nn.functional.conv_transpose1d(torch.ones_like(real[:1, :1]), square,
                                                    stride=hop_length)
    pad = n_fft // 2 if padding == "center" else (n_fft - hop_length) // 2
    length = wave.shape[-1]
    return (wave[:, 0, pad:length - pad]
            / envelope[:, 0, pad:length - pad].clamp_min(1e-11))


def overlap_add(frames: torch.Tensor, hop_length: int) -> torch.Tensor:
    """Sum frames (B, n_fft, frames) placed every ``hop_length`` samples -> (B, (frames - 1) *
    hop + n_fft). When hop divides n_fft this is n_fft / hop shifted adds of contiguous blocks,
    much faster than ``fold`` on CPU."""
    batch, n_fft, count = frames.shape
    length = (count - 1) * hop_length + n_fft
    if n_fft % hop_length:
        return torch.nn.functional.fold(frames, (1, length), (1, n_fft),
                                        stride=(1, hop_length))[:, 0, 0]
    parts = n_fft // hop_length
    blocks = frames.reshape(batch, parts, hop_length, count).permute(0, 1, 3, 2)
    out = frames.new_zeros(batch, length)
    for part in range(parts):
        start = part * hop_length
        out[:, start:start + count * hop_length] += blocks[:, part].reshape(batch, -1)
    return out


class LogMel(Representation):
    """Log mel spectrogram: (B, T) -> (B, n_mels, frames).

    ``mel_scale``/``mel_norm`` = "slaney" reproduce librosa's defaults (and HiFi-GAN's filters);
    ``power`` 1 is a magnitude mel (HiFi-GAN, Vocos), 2 a power mel (librosa's default);
    ``log`` picks ln(max(x, clamp)) ("ln"), log10 ("log10") or 10*log10 ("db").
    :meth:`decode` inverts approximately with Griffin-Lim (the usual quality floor).
    """

    filters: torch.Tensor

    def __init__(self, sample_rate: int, n_fft: int = 1024, hop_length: int = 256,
                 win_length: int | None = None, n_mels: int = 80, fmin: float = 0.0,
                 fmax: float | None = None, power: float = 1.0,
                 mel_scale: Literal["slaney", "htk"] = "slaney",
                 mel_norm: Literal["slaney"] | None = "slaney", padding: Padding = "same",
                 pad_mode: Literal["reflect", "constant"] = "reflect",
                 log: Literal["ln", "log10", "db"] = "ln", clamp: float = 1e-5) -> None:
        super().__init__()
        self.stft = STFT(sample_rate, n_fft, hop_length, win_length, "hann", padding, pad_mode,
                         "magnitude")
        self.sample_rate, self.hop_length, self.dim = sample_rate, hop_length, n_mels
        self.fmin, self.fmax = float(fmin), float(fmax if fmax is not None else sample_rate / 2)
        self.power, self.mel_scale, self.mel_norm = float(power), mel_scale, mel_norm
        self.log, self.clamp = log, float(clamp)
        filters = AF.melscale_fbanks(n_fft // 2 + 1, self.fmin, self.fmax, n_mels, sample_rate,
                                     norm=mel_norm, mel_scale=mel_scale)
        self.register_buffer("filters", filters.T.contiguous(), persistent=False)  # (mels, F)
        self._pseudo_inverse: torch.Tensor | None = None  # (F, mels), made on first use

    @property
    def spec(self) -> dict[str, Any]:
        stft = self.stft.spec
        return {"type": "log_mel", "sample_rate": self.sample_rate, "n_fft": stft["n_fft"],
                "hop_length": self.hop_length, "win_length": stft["win_length"],
                "n_mels": self.dim, "fmin": self.fmin, "fmax": self.fmax, "power": self.power,
                "mel_scale": self.mel_scale, "mel_norm": self.mel_norm,
                "padding": stft["padding"], "pad_mode": stft["pad_mode"], "log": self.log,
                "clamp": self.clamp}

    def num_frames(self, num_samples: int) -> int:
        return self.stft.num_frames(num_samples)

    def mel(self, wave: torch.Tensor) -> torch.Tensor:
        """Linear-amplitude mel spectrogram (B, n_mels, frames)."""
        magnitude = self.stft.encode(wave).pow(self.power)
        return torch.matmul(self.filters, magnitude)

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        return self.compress(self.mel(wave))

    def compress(self, mel: torch.Tensor) -> torch.Tensor:
        """Apply the configured log with clamping."""
        mel = mel.clamp_min(self.clamp)
        if self.log == "ln":
            return mel.log()
        if self.log == "log10":
            return mel.log10()
        return 10.0 * mel.log10()

    def expand(self, features: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`compress`: linear-amplitude mel."""
        if self.log == "ln":
            return features.exp()
        if self.log == "log10":
            return torch.pow(10.0, features)
        return torch.pow(10.0, features / 10.0)

    def mel_to_magnitude(self, features: torch.Tensor) -> torch.Tensor:
        """Least-squares non-negative estimate of the STFT magnitude (B, F, frames)."""
        mel = self.expand(features)
        if self._pseudo_inverse is None:
            inverse = np.linalg.pinv(self.filters.detach().double().cpu().numpy())
            self._pseudo_inverse = torch.from_numpy(inverse).float()
        inverse_t = self._pseudo_inverse.to(mel.device)
        magnitude = torch.matmul(inverse_t, mel).clamp_min(0.0)
        return magnitude.pow(1.0 / self.power)

    def decode(self, features: torch.Tensor, n_iter: int = 32,
               method: Method = "griffin_lim", generator: torch.Generator | None = None,
               phase_init: PhaseInit = "random", momentum: float = 0.99, beta: float = 0.0,
               gamma: float = 1.0) -> torch.Tensor:
        """Waveform by phase retrieval from the mel (:mod:`audiogen.representations.mel_inversion`):
        ``"griffin_lim"`` (Griffin & Lim 1984, momentum 0.99 as in Perraudin 2013) from the
        pseudo-inverse magnitude, or ``"mel_consistent"``, which re-fits the magnitude to the mel
        at every iteration; ``phase_init`` ``"pghi"`` starts from phase gradient integration;
        ``gamma`` other than 1 (with ``beta``) is accelerated Griffin-Lim."""
        if torch.onnx.is_in_onnx_export():  # no complex tensors: the iteration on parts
            features = features.float()
            real, imag = invert_mel_parts(self.stft, self.mel_to_magnitude(features), n_iter,
                                          method, self.filters, self.expand(features),
                                          self.power, momentum, phase_init, beta, gamma)
            return self.stft.decode_parts(real, imag)
        spectrum = self.invert(features, n_iter, method, generator, phase_init, momentum, beta,
                               gamma)
        return self.stft.decode(spectrum)

    def invert(self, features: torch.Tensor, n_iter: int = 32, method: Method = "griffin_lim",
               generator: torch.Generator | None = None, phase_init: PhaseInit = "random",
               momentum: float = 0.99, beta: float = 0.0, gamma: float = 1.0) -> torch.Tensor:
        """Complex STFT (B, F, frames) estimated from log-mel features (B, n_mels, frames)."""
        features = features.float()
        return invert_mel(self.stft, self.mel_to_magnitude(features), n_iter, method,
                          self.filters, self.expand(features), self.power, momentum=momentum,
                          phase=phase_init, generator=generator, beta=beta, gamma=gamma)


def compress_spectrum(spectrum: torch.Tensor, alpha: float, eps: float = 1e-8) -> torch.Tensor:
    """Power-law magnitude compression |X|**alpha * exp(i angle X) of a complex spectrogram
    (RFWave, BridgeVoC use alpha around 0.3-0.5); computed as X * max(|X|, eps)**(alpha - 1), so
    gradients stay finite at zero."""
    return spectrum * spectrum.abs().clamp_min(eps).pow(alpha - 1.0)


def compression_gain(real: torch.Tensor, imag: torch.Tensor, alpha: float, eps: float = 1e-8
                     ) -> torch.Tensor:
    """The factor max(|X|, eps)**(alpha - 1) by which :func:`compress_spectrum` multiplies X,
    from X's real and imaginary parts (for graphs without complex tensors)."""
    return (real.square() + imag.square()).sqrt().clamp_min(eps).pow(alpha - 1.0)


def decompress_spectrum(compressed: torch.Tensor, alpha: float, eps: float = 1e-8
                        ) -> torch.Tensor:
    """Inverse of :func:`compress_spectrum`: |Y|**(1 / alpha) * exp(i angle Y)."""
    return compress_spectrum(compressed, 1.0 / alpha, eps)


def pack_complex(spectrum: torch.Tensor) -> torch.Tensor:
    """Complex (..., F, frames) -> real (..., 2F, frames): real parts, then imaginary parts."""
    return torch.cat([spectrum.real, spectrum.imag], dim=-2)


def unpack_complex(packed: torch.Tensor) -> torch.Tensor:
    """Real (..., 2F, frames) from :func:`pack_complex` -> complex (..., F, frames)."""
    real, imag = packed.chunk(2, dim=-2)
    if real.dtype not in (torch.float32, torch.float64):  # e.g. bf16 under autocast
        real, imag = real.float(), imag.float()
    return torch.complex(real, imag)


class CompressedSTFT(Representation):
    """Real-packed, magnitude-compressed complex STFT: the state a spectral flow model evolves.

    encode: (B, T) -> (B, 2 * (n_fft // 2 + 1), frames) = [Re; Im] of |X|**alpha e^{i angle X},
    scaled by ``scale``; :meth:`decode` inverts it exactly (up to the STFT's own round trip).
    """

    def __init__(self, sample_rate: int, n_fft: int = 1024, hop_length: int = 256,
                 win_length: int | None = None, padding: Padding = "same",
                 alpha: float = 0.5, scale: float = 1.0) -> None:
        super().__init__()
        self.stft = STFT(sample_rate, n_fft, hop_length, win_length, "hann", padding, "reflect",
                         "complex")
        self.sample_rate, self.hop_length = sample_rate, hop_length
        self.alpha, self.scale = float(alpha), float(scale)
        self.dim = 2 * (n_fft // 2 + 1)

    @property
    def spec(self) -> dict[str, Any]:
        return {**self.stft.spec, "type": "compressed_stft", "alpha": self.alpha,
                "scale": self.scale}

    def num_frames(self, num_samples: int) -> int:
        return self.stft.num_frames(num_samples)

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():  # no complex tensors in ONNX: the same on parts
            real, imag = self.stft.parts(wave)
            gain = compression_gain(real, imag, self.alpha)
            return self.scale * torch.cat([real * gain, imag * gain], dim=-2)
        return self.scale * pack_complex(compress_spectrum(self.stft.encode(wave), self.alpha))

    def decode(self, features: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():
            real, imag = (features / self.scale).chunk(2, dim=-2)
            gain = compression_gain(real, imag, 1.0 / self.alpha)
            return self.stft.decode_parts(real * gain, imag * gain)
        spectrum = decompress_spectrum(unpack_complex(features / self.scale), self.alpha)
        return self.stft.decode(spectrum)

    def magnitude_to_std(self, magnitude: torch.Tensor) -> torch.Tensor:
        """Per-channel std of a complex Gaussian with expected power ``|X|**2`` per bin, in this
        representation's compressed and packed coordinates: (B, F, frames) -> (B, 2F, frames)."""
        per_part = self.scale * magnitude.pow(self.alpha) / math.sqrt(2.0)
        return torch.cat([per_part, per_part], dim=-2)


class Waveform(Representation):
    """The waveform itself as a state: (B, T) <-> (B, 1, T); one "frame" per sample."""

    def __init__(self, sample_rate: int) -> None:
        super().__init__()
        self.sample_rate, self.hop_length, self.dim = sample_rate, 1, 1

    @property
    def spec(self) -> dict[str, Any]:
        return {"type": "waveform", "sample_rate": self.sample_rate}

    def num_frames(self, num_samples: int) -> int:
        return num_samples

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        return wave.unsqueeze(1)

    def decode(self, features: torch.Tensor) -> torch.Tensor:
        return features.squeeze(1)
