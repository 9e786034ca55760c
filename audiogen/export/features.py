"""Log-mel features from a stored spec with numpy and librosa (no torch): what
:class:`audiogen.representations.LogMel` computes, for running an exported vocoder on audio.

The STFT is framed exactly as the torch representation frames it (``padding`` ``"same"`` or
``"center"``, reflect or constant padding, a periodic window of ``win_length`` centred in
``n_fft``); the filterbank is librosa's (Slaney or HTK scale), which torchaudio's equals.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from audiogen.errors import ConfigError


def log_mel(wave: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """(T,) float audio at ``spec["sample_rate"]`` -> float32 (n_mels, frames) log mel."""
    if spec.get("type") != "log_mel":
        raise ConfigError(f"features of type {spec.get('type')!r} are not computed without "
                          "torch; extract them with 'audiogen extract features' and pass the "
                          ".npz files")
    n_fft, hop, win = int(spec["n_fft"]), int(spec["hop_length"]), int(spec["win_length"])
    magnitude = np.abs(stft(wave.astype(np.float64), n_fft, hop, win, spec["padding"],
                            spec["pad_mode"]))
    mel = mel_filters(spec) @ magnitude ** float(spec["power"])
    mel = np.maximum(mel, float(spec["clamp"]))
    if spec["log"] == "ln":
        return np.log(mel).astype(np.float32)
    scale = 10.0 if spec["log"] == "db" else 1.0
    return (scale * np.log10(mel)).astype(np.float32)


def stft(wave: np.ndarray, n_fft: int, hop_length: int, win_length: int, padding: str,
         pad_mode: str) -> np.ndarray:
    """(T,) -> complex (n_fft // 2 + 1, frames) with a periodic Hann window."""
    pad = n_fft // 2 if padding == "center" else (n_fft - hop_length) // 2
    signal = np.pad(wave, pad, mode="reflect" if pad_mode == "reflect" else "constant")
    window = np.zeros(n_fft)
    left = (n_fft - win_length) // 2
    window[left:left + win_length] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win_length)
                                                        / win_length)
    frames = np.lib.stride_tricks.sliding_window_view(signal, n_fft)[::hop_length]
    return np.fft.rfft(frames * window, axis=-1).T


def mel_filters(spec: dict[str, Any]) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) filterbank of a log-mel spec."""
    import librosa

    return librosa.filters.mel(sr=int(spec["sample_rate"]), n_fft=int(spec["n_fft"]),
                               n_mels=int(spec["n_mels"]), fmin=float(spec["fmin"]),
                               fmax=float(spec["fmax"]), htk=spec["mel_scale"] == "htk",
                               norm=spec["mel_norm"], dtype=np.float64)
