"""Starting distributions x_0 for path models: standard Gaussian, or mel-shaped (PriorGrad)."""

from __future__ import annotations

import torch
from torch import nn

from audiogen.errors import ConfigError
from audiogen.representations.base import Representation


class GaussianPrior(nn.Module):
    """x_0 ~ N(0, I): std is one everywhere."""

    def std(self, features: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """Per-element std broadcastable to ``shape`` (B, C, T)."""
        return torch.ones((), device=features.device)


class MelSpectralPrior(nn.Module):
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
        self.representation: Representation | None = None
        self.state: Representation | None = None

    def bind(self, representation: Representation, state: Representation) -> None:
        """Attach the feature and state representations (done by the task)."""
        if not hasattr(representation, "mel_to_magnitude") or \
                not hasattr(state, "magnitude_to_std"):
            raise ConfigError("MelSpectralPrior needs a LogMel representation and a "
                              "CompressedSTFT state")
        self.representation, self.state = representation, state

    def std(self, features: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        assert self.representation is not None and self.state is not None
        with torch.autocast(features.device.type, enabled=False):
            magnitude = self.representation.mel_to_magnitude(features.float())  # type: ignore
            std = self.state.magnitude_to_std(magnitude)  # type: ignore
            top = std.amax(dim=(1, 2), keepdim=True)
            return std.clamp_min(self.floor * top)[..., : shape[-1]]
