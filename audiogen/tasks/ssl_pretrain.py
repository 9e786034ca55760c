"""HuBERT-style masked prediction (Hsu et al. 2021): predict k-means units of masked frames.

Targets come from a :class:`~audiogen.representations.units.UnitRepresentation` computed on the
fly from the batch audio: k-means on MFCCs for iteration 1, k-means on a layer of the
iteration-1 model for iteration 2. They are resampled to the encoder's frame grid by frame
centres (100 Hz MFCC frames onto 50 Hz encoder frames). Spans of ``mask_length`` frames start at
a fraction ``mask_prob / mask_length`` of the unpadded frames (fairseq's ``compute_mask_indices``;
HuBERT: 0.8 and 10); masked frames are
replaced by the model's learned mask embedding via transformers' ``mask_time_indices``.
Logits are cosine similarities between a projection of the last layer and learned unit
embeddings, divided by a temperature (0.1 in the paper); the loss is cross-entropy over masked
frames, plus ``unmasked_weight`` times that over unmasked frames (0 in the paper). Zero
padding (from ``lengths``) is never masked or scored.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn
from torch.nn import functional as F

from audiogen.representations.ssl import conv_geometry
from audiogen.representations.units import UnitRepresentation, align_frames, frame_offset
from audiogen.tasks.base import Task


def span_mask(batch: int, frames: int, prob: float, length: int, min_masks: int = 2,
              generator: torch.Generator | None = None,
              valid_frames: torch.Tensor | None = None) -> torch.Tensor:
    """Boolean (batch, frames) mask of spans (wav2vec 2.0 / HuBERT span masking).

    Row i gets int(prob * n_i / length + u), u ~ U[0, 1), span starts (at least ``min_masks``)
    drawn without replacement from the n_i - length + 1 valid starts, where n_i is
    ``valid_frames[i]`` (the unpadded frames; all ``frames`` by default). This is fairseq's
    convention: HuBERT's mask_prob 0.8 with spans of 10 starts spans at 8 % of the frames. The
    union of the spans is masked, so overlapping spans mask fewer frames; padding is never
    masked.
    """
    mask = torch.zeros(batch, frames, dtype=torch.bool)
    for row in range(batch):
        usable = frames if valid_frames is None else min(int(valid_frames[row]), frames)
        if usable <= 0:
            continue
        span = min(length, usable)
        starts_available = usable - span + 1
        count = int(prob * usable / span + float(torch.rand((), generator=generator)))
        count = min(max(count, min_masks), starts_available)
        starts = torch.randperm(starts_available, generator=generator)[:count]
        spans = (starts[:, None] + torch.arange(span)[None]).reshape(-1)
        mask[row, spans] = True
    return mask


class HubertPretrain(Task):
    """Masked prediction of unit targets with a transformers ``HubertModel``.

    network: a ``HubertModel`` (see :func:`audiogen.models.ssl.hubert`); targets: units whose
    ``sample_rate`` is the model's; ``final_dim``: size of the projection and unit embeddings;
    ``do_normalize``: whether input audio is normalised per utterance (HuBERT Base: no); it is
    exported with the model so feature extraction does the same.
    """

    representation: UnitRepresentation

    def __init__(self, network: nn.Module, targets: UnitRepresentation, final_dim: int = 256,
                 temperature: float = 0.1, unmasked_weight: float = 0.0,
                 do_normalize: bool = False) -> None:
        super().__init__()
        self.network, self.representation = network, targets
        config: Any = cast(Any, network).config
        self.mask_prob = float(config.mask_time_prob)
        self.mask_length = int(config.mask_time_length)
        self.receptive_field, self.hop_length = conv_geometry(config)
        if targets.sample_rate <= 0:
            raise ValueError("targets need a sample rate")
        self.projection = nn.Linear(config.hidden_size, final_dim)
        self.unit_embeddings = nn.Parameter(torch.randn(targets.num_units, final_dim) * 0.02)
        self.temperature, self.unmasked_weight = temperature, unmasked_weight
        self.do_normalize = do_normalize

    @property
    def spec(self) -> dict[str, Any]:
        return {"task": "hubert_pretrain", "targets": self.representation.spec,
                "do_normalize": self.do_normalize}

    def num_frames(self, num_samples: int) -> int:
        return max((num_samples - self.receptive_field) // self.hop_length + 1, 0)

    def _inputs(self, wave: torch.Tensor) -> torch.Tensor:
        if self.do_normalize:
            wave = (wave - wave.mean(-1, keepdim=True)) / torch.sqrt(
                wave.var(-1, unbiased=False, keepdim=True) + 1e-7)
        return wave

    def targets(self, wave: torch.Tensor) -> torch.Tensor:
        """Unit targets on the encoder's frame grid: (B, T) -> (B, frames) long."""
        units = self.representation.units(wave)
        return align_frames(units, self.representation.hop_length,
                            frame_offset(self.representation), self.hop_length,
                            self.receptive_field / 2, self.num_frames(wave.shape[-1]))

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Cosine similarity / temperature of projected frames (B, F, H) to each unit: (B, F, K)."""
        projected = F.normalize(self.projection(hidden).float(), dim=-1)
        embeddings = F.normalize(self.unit_embeddings.float(), dim=-1)
        return projected @ embeddings.T / self.temperature

    def forward_masked(self, wave: torch.Tensor, lengths: torch.Tensor | None = None,
                       generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Losses and accuracies of one masked forward pass on (B, T) audio.

        ``lengths`` (samples per item) marks zero padding: padded frames are neither masked
        nor scored, so silence added by batching never becomes an easy target.
        """
        target = self.targets(wave)
        batch, frames = target.shape
        valid_frames = None
        valid = torch.ones(batch, frames, dtype=torch.bool, device=wave.device)
        if lengths is not None:
            valid_frames = torch.tensor([self.num_frames(int(n)) for n in lengths])
            valid = (torch.arange(frames)[None] < valid_frames[:, None]).to(wave.device)
        mask = span_mask(batch, frames, self.mask_prob, self.mask_length,
                         generator=generator, valid_frames=valid_frames).to(wave.device)
        outputs = self.network(self._inputs(wave), mask_time_indices=mask)
        logits = self.logits(outputs.last_hidden_state)
        result: dict[str, torch.Tensor] = {}
        for name, where in (("masked", mask), ("unmasked", ~mask & valid)):
            if where.any():
                result[f"ce_{name}"] = F.cross_entropy(logits[where], target[where])
                result[f"acc_{name}"] = (logits[where].argmax(-1) == target[where]).float(
                ).mean()
            else:
                result[f"ce_{name}"] = logits.sum() * 0.0
                result[f"acc_{name}"] = torch.zeros((), device=wave.device)
        result["loss"] = result["ce_masked"] + self.unmasked_weight * result["ce_unmasked"]
        result["mask_fraction"] = mask.float().sum() / valid.float().sum().clamp(min=1.0)
        return result

    def losses(self, batch: dict[str, Any], phase: str, step: int) -> dict[str, torch.Tensor]:
        return self.forward_masked(batch["audio"][:, 0], batch.get("lengths"))

    @torch.no_grad()
    def validate(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Masked-prediction accuracy with a fixed mask per batch (seed 0), unpadded frames."""
        generator = torch.Generator().manual_seed(0)
        wave = batch["audio"][:, 0]
        if wave.shape[-1] < self.receptive_field + self.mask_length * self.hop_length:
            return {}
        result = self.forward_masked(wave, batch.get("lengths"), generator)
        return {name: float(value) for name, value in result.items()}

    def export(self, directory: str | os.PathLike) -> Path:
        """Save the encoder with ``save_pretrained`` plus its feature-extractor config, so
        :class:`~audiogen.representations.ssl.SSLFeatures` loads it like any HF model."""
        from transformers import Wav2Vec2FeatureExtractor

        directory = Path(directory)
        self.network.save_pretrained(directory)  # type: ignore[operator]
        extractor = Wav2Vec2FeatureExtractor(
            feature_size=1, sampling_rate=self.sample_rate, padding_value=0.0,
            do_normalize=self.do_normalize,
            return_attention_mask=self.network.config.feat_extract_norm == "layer")  # type: ignore
        extractor.save_pretrained(directory)
        return directory

