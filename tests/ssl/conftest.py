"""Tiny randomly initialised SSL models saved with save_pretrained (no downloads)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch


def save_tiny(root: Path, kind: str, do_normalize: bool) -> Path:
    """A 2-layer, 16-wide model of ``kind`` (hubert: group-norm CNN; wav2vec2: layer-norm CNN
    that takes attention masks) with its feature-extractor config."""
    from transformers import (
        HubertConfig,
        HubertModel,
        Wav2Vec2Config,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2Model,
    )

    torch.manual_seed(0)
    common = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=32, conv_dim=[8] * 7, num_conv_pos_embeddings=8,
                  num_conv_pos_embedding_groups=2)
    if kind == "hubert":
        model = HubertModel(HubertConfig(**common))
        attention_mask = False
    else:
        model = Wav2Vec2Model(Wav2Vec2Config(**common, feat_extract_norm="layer",
                                             do_stable_layer_norm=True))
        attention_mask = True
    directory = root / kind
    model.save_pretrained(directory)
    Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0,
                             do_normalize=do_normalize,
                             return_attention_mask=attention_mask).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_hubert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny(tmp_path_factory.mktemp("ssl"), "hubert", do_normalize=True)


@pytest.fixture(scope="session")
def tiny_wav2vec2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny(tmp_path_factory.mktemp("ssl"), "wav2vec2", do_normalize=True)
