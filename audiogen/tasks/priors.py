"""Starting distributions x_0 for path models: standard Gaussian, or mel-shaped (PriorGrad)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from audiogen.errors import ConfigError
from audiogen.representations.base import Representation


class Prior(nn.Module):
    """x_0 = std * N(0, I) with a per-element ``std`` that may depend on the features."""

    def bind(self, representation: Representation, state: Representation) -> None:
        """Attach the feature and state representations (called by the task)."""

    def std(self, features: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """Per-element std broadcastable to ``shape`` (B, C, T)."""
        raise NotImplementedError


class GaussianPrior(Prior):
    """x_0 ~ N(0, I): std is one everywhere."""

    def std(self, features: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        return torch.ones((), device=features.device)


class MelSpectralPrior(Prior):
    """Complex Gaussian whose per-bin power follows the spectrum implied by the mel features.

    The idea of PriorGrad (Lee et al. 2022) moved to the complex STFT: the mel is mapped back to
    a linear magnitude by the filterbank's pseudo-inverse, and each bin's real and imaginary
    parts get the std that gives that expected magnitude in the state's compressed coordinates.
    ``floor`` (relative to the utterance's largest std) keeps quiet bins from collapsing.
    Needs a log-mel ``representation`` and a :class:`CompressedSTFT` ``state``.
    """

    def __init__(self, floor: float = 0.05) -> None:
        super().__init__()
        self.floor = floor
        self.to_magnitude: Any = None
        self.to_std: Any = None

    def bind(self, representation: Representation, state: Representation) -> None:
        to_magnitude = getattr(representation, "mel_to_magnitude", None)
        to_std = getattr(state, "magnitude_to_std", None)
        if to_magnitude is None or to_std is None:
            raise ConfigError("MelSpectralPrior needs a LogMel representation and a "
                              "CompressedSTFT state")
        self.to_magnitude, self.to_std = to_magnitude, to_std

    def std(self, features: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        if self.to_magnitude is None:
            raise RuntimeError("MelSpectralPrior used before bind()")
        with torch.autocast(features.device.type, enabled=False):
            std = self.to_std(self.to_magnitude(features.float()))
            top = std.amax(dim=(1, 2), keepdim=True)
            return std.clamp_min(self.floor * top)[..., : shape[-1]]
