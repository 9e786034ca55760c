"""The flow vocoder on codec tokens is configuration: frames align, and a DecodedPrior path
starts at the codec decoder's output."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from audiogen import config as cfg
from audiogen.errors import ConfigError
from audiogen.generative.schedules import CondOT
from audiogen.models.codec import SEANetDecoder, SEANetEncoder
from audiogen.models.vocoders import ConditionalFlowNet
from audiogen.nn.embeddings import TokenEmbedding
from audiogen.representations import CompressedSTFT, LogMel
from audiogen.representations.codec import NeuralCodec
from audiogen.representations.quantizers import ResidualVectorQuantizer
from audiogen.tasks.priors import DecodedPrior
from audiogen.tasks.vocoder import GenerativeVocoder

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "codec" / "token_vocoder"


def tiny_codec() -> NeuralCodec:
    torch.manual_seed(0)
    codec = NeuralCodec(16000, SEANetEncoder(8, base_channels=2, strides=(4, 8)),
                        ResidualVectorQuantizer(8, n_q=2, codebook_size=8),
                        SEANetDecoder(8, base_channels=2, strides=(4, 8)))
    codec.train()
    codec.reconstruct(0.1 * torch.randn(2, 3200))  # k-means initialisation
    return codec.eval()


def vocoder(codec: NeuralCodec, prior: DecodedPrior | None) -> GenerativeVocoder:
    network = ConditionalFlowNet(2 * 65, codec.n_q, dim=16, intermediate_dim=32, num_layers=1,
                                 cond_embedding=TokenEmbedding(8, 8, levels=codec.n_q))
    state = CompressedSTFT(16000, n_fft=128, hop_length=32)
    return GenerativeVocoder(codec, state, network, CondOT(), prior=prior, steps=2)


def test_tokens_condition_the_flow_and_frames_align() -> None:
    codec = tiny_codec()
    task = vocoder(codec, None)
    wave = 0.1 * torch.randn(2, 32 * 20)
    losses = task.losses({"audio": wave[:, None]}, "model", step=0)
    assert torch.isfinite(losses["loss"])
    tokens = codec.encode(wave)
    assert tokens.shape == (2, 2, 20)
    assert task.synthesize(tokens).shape == (2, 20 * 32)


def test_decoded_prior_starts_at_the_codec_decoder() -> None:
    codec = tiny_codec()
    task = vocoder(codec, DecodedPrior(noise=0.0))  # zero-initialised output layer
    tokens = codec.tokens(0.1 * torch.randn(1, 32 * 30))
    expected = codec.decode(tokens)
    produced = task.synthesize(tokens.float())
    inner = slice(128, -128)  # away from the STFT's edge frames
    assert torch.allclose(produced[:, inner], expected[:, inner], atol=1e-4)


def test_decoded_prior_needs_a_decoder() -> None:
    from audiogen.representations.base import Representation

    class Features(Representation):
        sample_rate, hop_length, dim = 16000, 32, 4

    with pytest.raises(ConfigError, match="decodes"):
        DecodedPrior().bind(Features(), CompressedSTFT(16000, 128, 32))
    DecodedPrior().bind(LogMel(16000, 128, 32, n_mels=16), CompressedSTFT(16000, 128, 32))


def test_token_vocoder_configs_name_the_codec_settings() -> None:
    config = cfg.load(RECIPE / "config.yaml")
    embedding = config["task"]["network"]["cond_embedding"]
    assert config["task"]["state"]["hop_length"] == 320  # the rvq codec's hop
    assert (embedding["num_tokens"], embedding["levels"]) == (1024, 12)
    decoded = cfg.load(RECIPE / "decoded_prior.yaml")
    assert decoded["task"]["prior"]["_target_"].endswith("DecodedPrior")
