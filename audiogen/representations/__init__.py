"""Waveform <-> features/tokens, each with a serialisable spec that travels with every model."""

from audiogen.representations.base import Representation, check_spec
from audiogen.representations.spectral import STFT, CompressedSTFT, LogMel, Waveform

__all__ = ["Representation", "check_spec", "STFT", "LogMel", "CompressedSTFT", "Waveform"]
