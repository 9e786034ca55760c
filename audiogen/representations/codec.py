"""Discrete codec tokens: our RVQ codec and EnCodec (Défossez et al. 2022) as representations.

A codec representation maps waveform (B, T) to tokens (B, n_q, frames) and back. ``tokens()``
returns the codes as int64; ``encode()`` returns the same ids as a float tensor, the form the
feature pipeline (vocoder conditioning, saved features) carries; token embeddings round them
back. ``decode()`` accepts either. The bandwidth (kbps) fixes n_q = bandwidth / (frame rate *
log2 codebook size): the first n_q levels of the residual quantizer.

The spec names everything a token consumer must agree on: codec and model, sample rate, hop,
frame rate, n_q, codebook size, bandwidth and the SHA-256 of the weights that made them.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from audiogen.errors import ConfigError
from audiogen.representations.base import Representation
from audiogen.representations.quantizers import ResidualVectorQuantizer
from audiogen.utils import file_sha256


class CodecTokens(Representation):
    """Base of codec token representations: (B, T) <-> (B, n_q, ceil(T / hop)) ids."""

    n_q: int
    codebook_size: int
    bandwidth: float
    checkpoint_sha256: str | None = None

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.n_q

    @property
    def bits_per_level(self) -> float:
        return math.log2(self.codebook_size)

    @property
    def bitrate(self) -> float:
        """Bits per second of the tokens at the chosen bandwidth."""
        return self.frame_rate * self.n_q * self.bits_per_level

    def num_frames(self, num_samples: int) -> int:
        return -(-num_samples // self.hop_length)

    def tokens(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, T) waveform -> int64 codes (B, n_q, frames)."""
        raise NotImplementedError

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, T) -> codes as float (B, n_q, frames), for the feature pipeline."""
        return self.tokens(wave).float()

    def check_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """Refuse tokens of the wrong shape or range (naming the field); return int64 ids."""
        if tokens.dim() != 3:
            raise ValueError(f"tokens must be (batch, n_q, frames), got {tuple(tokens.shape)}")
        if tokens.shape[1] != self.n_q:
            raise ValueError(f"n_q: tokens have {tokens.shape[1]} levels, the decoder expects "
                             f"{self.n_q} (bandwidth {self.bandwidth:g} kbps)")
        ids = tokens.round().long() if tokens.is_floating_point() else tokens.long()
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.codebook_size):
            raise ValueError(f"codebook_size: token ids must lie in [0, {self.codebook_size}), "
                             f"got [{int(ids.min())}, {int(ids.max())}]")
        return ids


def levels_for_bandwidth(bandwidth: float | None, frame_rate: float, codebook_size: int,
                         max_levels: int, supported: list[float]) -> int:
    """n_q for ``bandwidth`` kbps (None: all levels); an unsupported one lists the valid ones."""
    if bandwidth is None:
        return max_levels
    levels = bandwidth * 1000 / (frame_rate * math.log2(codebook_size))
    if not any(math.isclose(bandwidth, b, rel_tol=1e-6) for b in supported):
        raise ConfigError(f"bandwidth {bandwidth:g} kbps is not supported; choose from "
                          f"{', '.join(f'{b:g}' for b in supported)}")
    return int(round(levels))


class NeuralCodec(CodecTokens):
    """Our codec: SEANet-style ``encoder`` -> residual ``quantizer`` -> ``decoder``.

    encoder: (B, 1, T) -> (B, D, T / hop); decoder: (B, D, frames) -> (B, 1, frames * hop);
    their ``hop_length`` must agree. ``bandwidth`` (kbps) picks how many levels encode and
    decode use (None: all); quantizer dropout in training makes every prefix usable.
    Audio is zero-padded on the right to whole frames.
    """

    def __init__(self, sample_rate: int, encoder: nn.Module, quantizer: ResidualVectorQuantizer,
                 decoder: nn.Module, bandwidth: float | None = None,
                 checkpoint_sha256: str | None = None) -> None:
        super().__init__()
        hops = {int(getattr(encoder, "hop_length")), int(getattr(decoder, "hop_length"))}  # noqa: B009
        if len(hops) != 1:
            raise ConfigError(f"encoder and decoder hop lengths differ: {sorted(hops)}")
        self.sample_rate, self.hop_length = sample_rate, hops.pop()
        self.encoder, self.quantizer, self.decoder = encoder, quantizer, decoder
        self.codebook_size = quantizer.codebook_size
        self.set_bandwidth(bandwidth)
        self.checkpoint_sha256 = checkpoint_sha256

    def set_bandwidth(self, bandwidth: float | None) -> None:
        """Encode and decode with the levels of ``bandwidth`` kbps (None: all); an unsupported
        one lists the valid ones."""
        self.n_q = levels_for_bandwidth(bandwidth, self.frame_rate, self.codebook_size,
                                        self.quantizer.n_q, self.supported_bandwidths)
        self.bandwidth = self.n_q * self.frame_rate * self.bits_per_level / 1000

    @property
    def supported_bandwidths(self) -> list[float]:
        """kbps of every prefix of levels, 1 .. quantizer.n_q."""
        per_level = self.frame_rate * self.bits_per_level / 1000
        return [round(level * per_level, 6) for level in range(1, self.quantizer.n_q + 1)]

    @property
    def spec(self) -> dict[str, Any]:
        return {"type": "codec_tokens", "codec": "audiogen_rvq", "sample_rate": self.sample_rate,
                "hop_length": self.hop_length, "frame_rate": self.frame_rate, "n_q": self.n_q,
                "codebook_size": self.codebook_size, "bandwidth": self.bandwidth,
                "checkpoint_sha256": self.checkpoint_sha256}

    def pad(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, T) -> (B, 1, frames * hop), zero-padded on the right."""
        frames = self.num_frames(wave.shape[-1])
        return F.pad(wave, (0, frames * self.hop_length - wave.shape[-1])).unsqueeze(1)

    def tokens(self, wave: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.quantizer.encode(self.encoder(self.pad(wave)), self.n_q)

    def decode(self, features: torch.Tensor) -> torch.Tensor:
        """(B, n_q, frames) ids (int or float) -> (B, frames * hop) audio."""
        return self.decoder(self.quantizer.decode(self.check_tokens(features)))[:, 0]

    def decode_levels(self, tokens: torch.Tensor) -> torch.Tensor:
        """Decode any prefix of levels (B, 1..quantizer.n_q, frames) -> (B, frames * hop)."""
        return self.decoder(self.quantizer.decode(tokens))[:, 0]

    def reconstruct(self, wave: torch.Tensor, n_q: int | None = None
                    ) -> tuple[torch.Tensor, Any]:
        """Training pass: (B, T) -> (audio (B, T), QuantizerOutput); gradients flow to the
        encoder through the straight-through estimator."""
        output = self.quantizer(self.encoder(self.pad(wave)), n_q)
        audio = self.decoder(output.quantized)[:, 0, : wave.shape[-1]]
        return audio, output


# ------------------------------------------------------------------------- EnCodec
ENCODEC_MODELS = {
    # name: (builder, checkpoint file the package downloads to torch.hub's checkpoints dir)
    "encodec_24khz": ("encodec_model_24khz", "encodec_24khz-d7cc33bc.th"),
    "encodec_48khz": ("encodec_model_48khz", "encodec_48khz-7e698e3e.th"),
}


def encodec_cache_path(model: str) -> Path:
    """Where the ``encodec`` package stores downloaded weights (torch.hub's checkpoints)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / ENCODEC_MODELS[model][1]


def load_state_dict_file(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A state dict from ``.safetensors`` or a torch file read with ``weights_only=True``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: codec checkpoint not found")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 (any unpickling failure is a bad file)
        raise ConfigError(f"{path}: not a weights-only state dict ({error})") from None
    if not isinstance(state, dict):
        raise ConfigError(f"{path}: expected a state dict, got {type(state).__name__}")
    return state


class EncodecTokens(CodecTokens):
    """EnCodec tokens through the ``encodec`` package (24 kHz mono causal, or 48 kHz stereo).

    Weights come from ``checkpoint`` (a state dict file) or, when None, from the package's
    download cache (:func:`encodec_cache_path`); nothing is downloaded. Tokens are the
    concatenation of the package's encoded frames: one frame at 24 kHz; at 48 kHz one per
    1 s segment (150 frames each, 1 % overlap), each with a loudness scale that
    :meth:`tokens_and_scales` returns and :meth:`decode` needs to restore the level.
    Waveforms are (B, T) mono or (B, C, T); mono is duplicated for the stereo model and more
    channels than the model's are averaged to mono first (see :meth:`match_channels`).
    """

    def __init__(self, model: str = "encodec_24khz", bandwidth: float = 6.0,
                 checkpoint: str | None = None) -> None:
        super().__init__()
        if model not in ENCODEC_MODELS:
            raise ConfigError(f"unknown EnCodec model {model!r}; choose from "
                              f"{', '.join(ENCODEC_MODELS)}")
        from encodec import EncodecModel

        builder, _ = ENCODEC_MODELS[model]
        network = getattr(EncodecModel, builder)(pretrained=False)
        source = Path(checkpoint) if checkpoint else encodec_cache_path(model)
        if not source.is_file():
            raise ConfigError(f"no weights for {model}: {source} does not exist; pass "
                              "--codec-checkpoint PATH (a state dict) or place the package's "
                              "checkpoint there")
        try:
            network.load_state_dict(load_state_dict_file(source))
        except RuntimeError as error:
            raise ConfigError(f"{source}: weights do not fit {model} ({error})") from None
        self.model_name, self.network = model, network.eval()
        self.checkpoint_sha256 = file_sha256(source)
        self.sample_rate, self.channels = int(network.sample_rate), int(network.channels)
        self.hop_length = int(math.prod(network.encoder.ratios))
        self.codebook_size = int(network.quantizer.bins)
        supported = [float(b) for b in network.target_bandwidths]
        if not any(math.isclose(bandwidth, b) for b in supported):
            raise ConfigError(f"bandwidth {bandwidth:g} kbps is not supported by {model}; "
                              f"choose from {', '.join(f'{b:g}' for b in supported)}")
        self.bandwidth = float(bandwidth)
        network.set_target_bandwidth(bandwidth)
        self.n_q = int(round(bandwidth * 1000 / (network.frame_rate * self.bits_per_level)))
        length = network.segment_length
        self.segment_frames = None if length is None else self.num_frames(length)

    @property
    def frame_rate(self) -> float:
        return float(self.network.frame_rate)

    @property
    def spec(self) -> dict[str, Any]:
        return {"type": "codec_tokens", "codec": "encodec", "model": self.model_name,
                "sample_rate": self.sample_rate, "channels": self.channels,
                "hop_length": self.hop_length, "frame_rate": self.frame_rate, "n_q": self.n_q,
                "codebook_size": self.codebook_size, "bandwidth": self.bandwidth,
                "segment_frames": self.segment_frames,
                "checkpoint_sha256": self.checkpoint_sha256}

    def match_channels(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, T) or (B, C, T) -> (B, model channels, T): mono is duplicated for a stereo
        model; more channels than the model's are averaged to mono (then duplicated)."""
        if wave.dim() == 2:
            wave = wave.unsqueeze(1)
        if wave.shape[1] > self.channels:
            wave = wave.mean(dim=1, keepdim=True)
        if wave.shape[1] < self.channels:
            wave = wave.expand(-1, self.channels, -1)
        return wave

    @torch.no_grad()
    def tokens_and_scales(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, [C,] T) -> (codes int64 (B, n_q, frames), scales (B, segments) or None)."""
        frames = self.network.encode(self.match_channels(wave).float())
        codes = torch.cat([c for c, _ in frames], dim=-1).long()
        scales = [s for _, s in frames]
        if any(s is None for s in scales):
            return codes, None
        return codes, torch.cat([s.view(-1, 1) for s in scales if s is not None], dim=1)

    def tokens(self, wave: torch.Tensor) -> torch.Tensor:
        return self.tokens_and_scales(wave)[0]

    @torch.no_grad()
    def decode(self, features: torch.Tensor, scales: torch.Tensor | None = None
               ) -> torch.Tensor:
        """(B, n_q, frames) -> audio (B, T) for a mono model, (B, 2, T) for the stereo one.

        ``scales`` (B, segments) restores the 48 kHz model's per-segment loudness; without
        them its output has the normalised level.
        """
        codes = self.check_tokens(features)
        if self.segment_frames is None:
            pieces = [codes]
        else:
            pieces = list(codes.split(self.segment_frames, dim=-1))
        if scales is not None and scales.shape[1] != len(pieces):
            raise ValueError(f"scales: {scales.shape[1]} given for {len(pieces)} segments")
        frames = [(piece, None if scales is None else scales[:, index].view(-1, 1))
                  for index, piece in enumerate(pieces)]
        audio = self.network.decode(frames)
        return audio[:, 0] if self.channels == 1 else audio
