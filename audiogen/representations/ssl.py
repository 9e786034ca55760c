"""Self-supervised speech features from HF transformers models (wav2vec 2.0, HuBERT, WavLM,
data2vec-audio), loaded from a local folder or a hub id.

Layer ``L`` is transformers' ``hidden_states[L]``: 0 is the input of the first transformer layer
(projected CNN features plus positional convolution), ``num_hidden_layers`` the last layer's
output. ``layer="weighted"`` is a learned softmax-weighted sum of all of them (SUPERB, Yang et
al. 2021). The model's own feature-extractor config sets the sample rate and whether each
utterance is normalised to zero mean and unit variance.

Framing: the CNN encoder has a receptive field R (400 samples for the usual 7-layer encoder)
and hop H (320). With ``padding="none"`` T samples give (T - R) // H + 1 frames, exactly what
transformers computes. ``padding="same"`` zero-pads (R - H) / 2 samples on each side, so T
samples give T // H frames centred like a "same"-padded STFT with the same hop (what a vocoder
whose state is such an STFT needs). Audio shorter than R (after padding) is zero-padded to R
(one frame) when ``pad_short`` is on, and refused with an :class:`AudioError` when it is off.

The model is frozen: kept in eval mode, run without gradients, and not part of ``state_dict``
(it is identified in the spec by the sha256 of its weight files). Only the layer weights of the
weighted sum are parameters.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from audiogen.errors import AudioError, ConfigError
from audiogen.representations.base import Representation
from audiogen.utils import file_sha256

WEIGHT_SUFFIXES = (".safetensors", ".bin")


def resolve_model_dir(model: str) -> Path:
    """A local folder, or the snapshot of a hub id already in the local Hugging Face cache;
    nothing is downloaded at run time (the error names the missing model)."""
    path = Path(model)
    if path.is_dir():
        return path
    if path.exists() or model.startswith((".", "/")):
        raise ConfigError(f"ssl model {model!r}: not a model folder")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(model, allow_patterns=["*.json", "*.safetensors",
                                                             "*.bin", "*.txt"],
                                      local_files_only=True))
    except Exception as error:  # not in the cache: say which model and where to put it
        raise ConfigError(f"ssl model {model!r}: not a local folder and not in the local "
                          f"Hugging Face cache (nothing is downloaded at run time; save the "
                          f"model to a folder and pass its path) "
                          f"({type(error).__name__})") from None


def weights_sha256(directory: Path) -> str:
    """sha256 over the weight files of a model folder (names and contents, sorted by name)."""
    files = sorted(p for p in directory.iterdir() if p.suffix in WEIGHT_SUFFIXES
                   and p.is_file())
    if not files:
        raise ConfigError(f"{directory}: no weight files ({', '.join(WEIGHT_SUFFIXES)})")
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.name}:{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def conv_geometry(config: Any) -> tuple[int, int]:
    """(receptive field, hop) in samples of a wav2vec2-style CNN feature encoder."""
    receptive, hop = 1, 1
    for kernel, stride in zip(config.conv_kernel, config.conv_stride):
        receptive += (kernel - 1) * hop
        hop *= stride
    return receptive, hop


class SSLFeatures(Representation):
    """Hidden states of a frozen SSL model: (B, T) -> (B, hidden_size, frames)."""

    network: Any  # a transformers model, held outside the module tree

    def __init__(self, model: str, layer: int | Literal["weighted"],
                 padding: Literal["none", "same"] = "none", pad_short: bool = True) -> None:
        super().__init__()
        from transformers import AutoConfig, AutoFeatureExtractor, AutoModel
        from transformers.utils import logging as transformers_logging

        directory = resolve_model_dir(model)
        config = AutoConfig.from_pretrained(directory)
        if not hasattr(config, "conv_kernel"):
            raise ConfigError(f"ssl model {model!r}: {config.model_type} has no wav2vec2-style "
                              "CNN encoder (wav2vec2, hubert, wavlm, data2vec-audio are)")
        extractor = AutoFeatureExtractor.from_pretrained(directory)
        # a local folder is named by its folder name (the weight hash identifies it); a hub
        # id by itself
        self.model_name = directory.name if Path(model).is_dir() else model
        self.model_type = config.model_type
        self.num_layers = int(config.num_hidden_layers)
        if layer != "weighted" and not (isinstance(layer, int) and 0 <= layer <=
                                        self.num_layers):
            raise ConfigError(f"ssl layer {layer!r} is out of range for {model}: valid layers "
                              f"are 0..{self.num_layers} (0 = input of the first transformer "
                              "layer) or 'weighted'")
        if padding not in ("none", "same"):
            raise ConfigError(f"ssl padding {padding!r}: choose 'none' or 'same'")
        self.layer, self.padding, self.pad_short = layer, padding, pad_short
        self.sample_rate = int(extractor.sampling_rate)
        self.do_normalize = bool(getattr(extractor, "do_normalize", False))
        self.receptive_field, self.hop_length = conv_geometry(config)
        self.dim = int(config.hidden_size)
        self.sha256 = weights_sha256(directory)
        self.side = (self.receptive_field - self.hop_length) // 2 if padding == "same" else 0
        self.frame_offset = self.receptive_field / 2 - self.side
        transformers_logging.disable_progress_bar()
        network = AutoModel.from_pretrained(directory).eval()
        network.requires_grad_(False)
        object.__setattr__(self, "network", network)  # frozen: outside parameters/state_dict
        self.layer_weights = nn.Parameter(torch.zeros(self.num_layers + 1)) \
            if layer == "weighted" else None

    @property
    def spec(self) -> dict[str, Any]:
        return {"type": "ssl", "model": self.model_name, "model_type": self.model_type,
                "checkpoint_sha256": self.sha256, "layer": self.layer,
                "num_layers": self.num_layers, "sample_rate": self.sample_rate,
                "hop_length": self.hop_length, "frame_rate": self.frame_rate, "dim": self.dim,
                "do_normalize": self.do_normalize, "padding": self.padding}

    def _apply(self, fn: Any, *args: Any, **kwargs: Any) -> "SSLFeatures":
        super()._apply(fn, *args, **kwargs)
        self.network._apply(fn, *args, **kwargs)
        return self

    def train(self, mode: bool = True) -> "SSLFeatures":
        super().train(mode)
        self.network.eval()  # dropout and masking stay off whatever the task does
        return self

    def min_samples(self) -> int:
        """Shortest input that gives one frame."""
        return self.receptive_field - 2 * self.side

    def num_frames(self, num_samples: int) -> int:
        padded = max(num_samples + 2 * self.side, self.receptive_field if self.pad_short else 0)
        return max((padded - self.receptive_field) // self.hop_length + 1, 0)

    def prepare(self, wave: torch.Tensor) -> torch.Tensor:
        """The model input of (B, T) audio: normalised per utterance (when the extractor
        config says so, with its formula (x - mean) / sqrt(var + 1e-7)), padded for framing."""
        wave = wave.float()
        if self.do_normalize:
            mean = wave.mean(-1, keepdim=True)
            variance = wave.var(-1, unbiased=False, keepdim=True)
            wave = (wave - mean) / torch.sqrt(variance + 1e-7)
        if self.side:
            wave = nn.functional.pad(wave, (self.side, self.side))
        if wave.shape[-1] < self.receptive_field:
            if not self.pad_short:
                raise AudioError("<input>", f"{wave.shape[-1] - 2 * self.side} samples is "
                                 f"shorter than the receptive field of {self.model_name} "
                                 f"({self.min_samples()} samples, "
                                 f"{1000 * self.min_samples() / self.sample_rate:.0f} ms)")
            wave = nn.functional.pad(wave, (0, self.receptive_field - wave.shape[-1]))
        return wave

    def hidden_states(self, wave: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """All layers' outputs, each (B, frames, dim), for (B, T) audio."""
        with torch.no_grad():
            outputs = self.network(self.prepare(wave), output_hidden_states=True)
        return tuple(outputs.hidden_states)

    def layer_probabilities(self) -> torch.Tensor:
        """Softmax of the layer weights (num_layers + 1,), or a one-hot of the chosen layer."""
        if self.layer_weights is not None:
            return self.layer_weights.softmax(0)
        one_hot = torch.zeros(self.num_layers + 1)
        one_hot[int(self.layer)] = 1.0
        return one_hot

    def combine(self, states: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The chosen layer, or the weighted sum, of hidden states -> (B, dim, frames)."""
        if self.layer_weights is None:
            return states[int(self.layer)].transpose(1, 2)
        weights = self.layer_weights.softmax(0).to(states[0].dtype)
        mixed = sum(w * s for w, s in zip(weights, states))
        return mixed.transpose(1, 2)  # type: ignore[union-attr]

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        return self.combine(self.hidden_states(wave))

    @property
    def takes_attention_mask(self) -> bool:
        """Whether padded batches are exact: layer-norm CNN encoders take an attention mask;
        group-norm ones (HuBERT/wav2vec 2.0 Base) normalise over time, so padding would leak."""
        return getattr(self.network.config, "feat_extract_norm", "group") == "layer"

    def encode_list(self, waves: list[torch.Tensor]) -> list[torch.Tensor]:
        """Features (dim, frames_i) of utterances (T_i,) of any lengths, batched where exact."""
        lengths = [int(w.shape[-1]) for w in waves]
        if len(set(lengths)) == 1:
            return list(self.encode(torch.stack(waves)))
        if not self.takes_attention_mask:
            return [self.encode(w[None])[0] for w in waves]
        prepared = [self.prepare(w[None])[0] for w in waves]
        longest = max(p.shape[-1] for p in prepared)
        batch = torch.stack([nn.functional.pad(p, (0, longest - p.shape[-1])) for p in prepared])
        mask = torch.zeros(batch.shape, dtype=torch.long, device=batch.device)
        for row, item in enumerate(prepared):
            mask[row, : item.shape[-1]] = 1
        with torch.no_grad():
            outputs = self.network(batch, attention_mask=mask, output_hidden_states=True)
        features = self.combine(tuple(outputs.hidden_states))
        return [features[row, :, : self.num_frames(length)]
                for row, length in enumerate(lengths)]

    def __repr__(self) -> str:
        return (f"SSLFeatures({self.model_name!r}, layer={self.layer!r}, "
                f"{self.frame_rate:g} Hz, dim {self.dim})")

