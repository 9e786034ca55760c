"""The Representation contract: encode waveform to features, decode where defined, carry a spec."""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from audiogen.errors import SpecMismatchError


class Representation(nn.Module):
    """Maps waveform (B, T) at ``sample_rate`` to features (B, dim, frames) or tokens.

    Subclasses define :meth:`encode` and, where the representation is invertible, :meth:`decode`.
    ``spec`` is a plain dict of every parameter that changes the features: two representations
    produce interchangeable features exactly when their specs are equal.
    """

    sample_rate: int
    hop_length: int
    dim: int

    @property
    def spec(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def frame_rate(self) -> float:
        """Feature frames per second of audio."""
        return self.sample_rate / self.hop_length

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, T) waveform -> (B, dim, frames) features."""
        raise NotImplementedError

    def decode(self, features: torch.Tensor) -> torch.Tensor:
        """(B, dim, frames) features -> (B, T) waveform, where the representation allows it."""
        raise NotImplementedError(f"{type(self).__name__} cannot decode to audio")

    def num_frames(self, num_samples: int) -> int:
        """Frames produced for ``num_samples`` of audio."""
        return num_samples // self.hop_length + 1

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.encode(wave)


def check_spec(expected: Mapping[str, Any], actual: Mapping[str, Any], what: str = "features"
               ) -> None:
    """Raise :class:`SpecMismatchError` naming every field where ``actual`` differs."""
    differences = []
    for key in sorted(set(expected) | set(actual)):
        want, got = expected.get(key, "<absent>"), actual.get(key, "<absent>")
        if _normalise(want) != _normalise(got):
            differences.append(f"{key}: model has {want!r}, {what} have {got!r}")
    if differences:
        raise SpecMismatchError(f"{what} were made with another spec than the model's: "
                                + "; ".join(differences))


def _normalise(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: _normalise(v) for k, v in value.items()}
    return value
