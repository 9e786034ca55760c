"""Self-supervised speech encoders built from scratch (transformers' HuBERT architecture)."""

from __future__ import annotations

from typing import Any

from torch import nn


def hubert(hidden_size: int = 256, num_hidden_layers: int = 4, num_attention_heads: int = 4,
           intermediate_size: int = 1024, conv_dim: list[int] | None = None,
           conv_kernel: list[int] | None = None, conv_stride: list[int] | None = None,
           num_conv_pos_embeddings: int = 128, num_conv_pos_embedding_groups: int = 16,
           hidden_dropout: float = 0.1, attention_dropout: float = 0.1,
           activation_dropout: float = 0.0, feat_proj_dropout: float = 0.1,
           layerdrop: float = 0.05, do_stable_layer_norm: bool = False,
           mask_prob: float = 0.8, mask_length: int = 10) -> nn.Module:
    """A randomly initialised ``transformers.HubertModel`` (Hsu et al. 2021).

    The CNN feature encoder defaults to HuBERT's (7 layers, kernels 10,3,3,3,3,2,2, strides
    5,2,2,2,2,2,2: 20 ms hop and 25 ms receptive field at 16 kHz) with ``conv_dim`` channels
    (512 each in the paper; fewer make it affordable on a CPU). Time masking is enabled but only
    stored in the config (``mask_time_prob``, ``mask_time_length``: 0.8 and 10, i.e. spans of
    10 frames starting at 8 % of the frames as in the paper, in the fairseq and transformers
    convention where the probability is divided by the span length); a pretraining task
    passes its own ``mask_time_indices``, and fine-tuning uses them as SpecAugment.
    """
    from transformers import HubertConfig, HubertModel

    kernel = conv_kernel or [10, 3, 3, 3, 3, 2, 2]
    stride = conv_stride or [5, 2, 2, 2, 2, 2, 2]
    channels = conv_dim or [512] * len(kernel)
    if not len(kernel) == len(stride) == len(channels):
        raise ValueError("conv_dim, conv_kernel and conv_stride need the same length, got "
                         f"{len(channels)}, {len(kernel)}, {len(stride)}")
    config: dict[str, Any] = {
        "hidden_size": hidden_size, "num_hidden_layers": num_hidden_layers,
        "num_attention_heads": num_attention_heads, "intermediate_size": intermediate_size,
        "conv_dim": list(channels), "conv_kernel": list(kernel), "conv_stride": list(stride),
        "num_conv_pos_embeddings": num_conv_pos_embeddings,
        "num_conv_pos_embedding_groups": num_conv_pos_embedding_groups,
        "hidden_dropout": hidden_dropout, "attention_dropout": attention_dropout,
        "activation_dropout": activation_dropout, "feat_proj_dropout": feat_proj_dropout,
        "layerdrop": layerdrop, "do_stable_layer_norm": do_stable_layer_norm,
        "feat_extract_norm": "layer" if do_stable_layer_norm else "group",
        "apply_spec_augment": True, "mask_time_prob": mask_prob, "mask_time_length": mask_length,
        "mask_feature_prob": 0.0,
    }
    return HubertModel(HubertConfig(**config))
