"""MFCCs with deltas: the classic 39-dimensional speech features (HuBERT's iteration-1 input).

Frames are centred (``center=True``): frame j is centred on sample j * hop, and T samples give
T // hop + 1 frames. Deltas follow the regression formula of HTK/Kaldi (window 2 each side).
"""

from __future__ import annotations

from typing import Any

import torch
import torchaudio.functional as AF
import torchaudio.transforms as AT

from audiogen.representations.base import Representation


class MFCC(Representation):
    """(B, T) -> (B, n_mfcc * (1 + 2 * with_deltas), frames) mel-frequency cepstral coefficients.

    Defaults follow speech practice at 16 kHz: 25 ms Hann windows every 10 ms (100 Hz), 23 mel
    bands (Kaldi's default), 13 coefficients, then first and second deltas: 39 dims.
    """

    def __init__(self, sample_rate: int = 16000, n_fft: int = 400, hop_length: int = 160,
                 n_mels: int = 23, n_mfcc: int = 13, deltas: bool = True) -> None:
        super().__init__()
        self.sample_rate, self.n_fft, self.hop_length = sample_rate, n_fft, hop_length
        self.n_mels, self.n_mfcc, self.deltas = n_mels, n_mfcc, deltas
        self.dim = n_mfcc * (3 if deltas else 1)
        self.frame_offset = 0  # frame 0 is centred on sample 0
        self.transform = AT.MFCC(sample_rate, n_mfcc, log_mels=True,
                                 melkwargs={"n_fft": n_fft, "hop_length": hop_length,
                                            "n_mels": n_mels, "center": True})

    @property
    def spec(self) -> dict[str, Any]:
        return {"type": "mfcc", "sample_rate": self.sample_rate, "n_fft": self.n_fft,
                "hop_length": self.hop_length, "n_mels": self.n_mels, "n_mfcc": self.n_mfcc,
                "deltas": self.deltas}

    def num_frames(self, num_samples: int) -> int:
        return num_samples // self.hop_length + 1

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        coefficients = self.transform(wave.float())
        if not self.deltas:
            return coefficients
        first = AF.compute_deltas(coefficients)
        return torch.cat([coefficients, first, AF.compute_deltas(first)], dim=1)
