"""SEANet encoder/decoder shapes and causality; the NeuralCodec representation: bandwidths,
spec, token shapes and refusals; loading a trained codec checkpoint (through the one loader,
also as ``audiogen.load``); the codec task's losses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file

import audiogen
from audiogen import api
from audiogen import config as cfg
from audiogen.errors import AudiogenError, ConfigError
from audiogen.models.codec import SEANetDecoder, SEANetEncoder
from audiogen.representations.codec import NeuralCodec
from audiogen.representations.quantizers import ResidualVectorQuantizer
from audiogen.train.experiment import build_task
from audiogen.train.loading import trained_codec
from audiogen.utils import file_sha256

DEBUG = Path(__file__).resolve().parents[2] / "recipes" / "codec" / "rvq" / "debug.yaml"


def tiny_codec(causal: bool = False, bandwidth: float | None = None) -> NeuralCodec:
    strides = (2, 4)
    return NeuralCodec(8000, SEANetEncoder(6, base_channels=2, strides=strides, causal=causal),
                       ResidualVectorQuantizer(6, n_q=3, codebook_size=16),
                       SEANetDecoder(6, base_channels=2, strides=strides, causal=causal),
                       bandwidth=bandwidth)


@pytest.mark.parametrize("causal", [False, True])
def test_encoder_decoder_shapes(causal: bool) -> None:
    encoder = SEANetEncoder(8, base_channels=4, strides=(2, 4, 5), causal=causal)
    decoder = SEANetDecoder(8, base_channels=4, strides=(2, 4, 5), causal=causal)
    assert encoder.hop_length == decoder.hop_length == 40
    latents = encoder(torch.randn(3, 1, 40 * 7))
    assert latents.shape == (3, 8, 7)
    assert decoder(latents).shape == (3, 1, 40 * 7)


def test_causal_encoder_ignores_the_future() -> None:
    torch.manual_seed(0)
    encoder = SEANetEncoder(4, base_channels=2, strides=(2, 4), causal=True)
    wave = torch.randn(1, 1, 8 * 10)
    changed = wave.clone()
    changed[..., 8 * 6:] = torch.randn(1, 1, 8 * 4)
    a, b = encoder(wave), encoder(changed)
    assert torch.allclose(a[..., :6], b[..., :6])
    assert not torch.allclose(a[..., 6:], b[..., 6:])
    centred = SEANetEncoder(4, base_channels=2, strides=(2, 4), causal=False)
    assert not torch.allclose(centred(wave)[..., :6], centred(changed)[..., :6])


def test_codec_tokens_shapes_and_odd_lengths() -> None:
    codec = tiny_codec().eval()
    wave = torch.randn(2, 8 * 5 + 3)
    tokens = codec.tokens(wave)
    assert tokens.dtype == torch.int64 and tokens.shape == (2, 3, 6)
    assert codec.num_frames(wave.shape[-1]) == 6
    assert torch.equal(codec.encode(wave), tokens.float())
    assert codec.decode(tokens).shape == (2, 6 * 8)
    assert torch.equal(codec.decode(tokens), codec.decode(tokens.float()))


def test_bandwidths_and_spec() -> None:
    codec = tiny_codec()  # 8000 / 8 = 1000 frames/s, 4 bits: 4 kbps per level
    assert codec.n_q == 3 and codec.bandwidth == 12.0
    assert codec.frame_rate == 1000 and codec.bits_per_level == 4
    assert codec.supported_bandwidths == [4.0, 8.0, 12.0]
    with pytest.raises(ConfigError, match="choose from 4, 8, 12"):
        tiny_codec(bandwidth=5.0)
    codec = tiny_codec(bandwidth=8.0)
    assert codec.n_q == 2 and codec.bitrate == 8000
    spec = codec.spec
    assert spec["n_q"] == 2 and spec["codebook_size"] == 16 and spec["frame_rate"] == 1000
    assert spec["bandwidth"] == 8.0 and spec["sample_rate"] == 8000


def test_decode_refuses_wrong_levels_and_ids() -> None:
    codec = tiny_codec(bandwidth=8.0).eval()
    with pytest.raises(ValueError, match="n_q"):
        codec.decode(torch.zeros(1, 3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="codebook_size"):
        codec.decode(torch.full((1, 2, 4), 16))


def test_codec_task_losses_and_gradients() -> None:
    torch.manual_seed(0)
    task = build_task(cfg.load(DEBUG))
    batch = {"audio": 0.1 * torch.randn(2, 1, 16000 // 2)}
    losses = task.losses(batch, "generator", step=10)
    assert {"mrstft", "mel_l1", "commitment", "adv_0", "fm_0", "loss"} <= set(losses)
    losses["loss"].backward()
    first_conv = task.representation.encoder.layers[0].conv
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in first_conv.parameters())
    disc = task.losses(batch, "discriminator", step=10)
    disc["loss"].backward()
    assert all(torch.isfinite(v) for v in disc.values())
    early = task.losses({"audio": batch["audio"]}, "generator", step=0)
    assert "adv_0" not in early  # gan_start_step = 2
    task.eval()
    result = task.validate(batch)
    assert result["audio"].shape == (2, 1, 8000)
    assert any(key.startswith("mel_l1_") for key in result)


@pytest.fixture(scope="module")
def codec_experiment(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    """A codec experiment of the debug recipe (k-means initialised, one checkpoint)."""
    tmp_path = tmp_path_factory.mktemp("codec")
    torch.manual_seed(0)
    config = cfg.load(DEBUG)
    task = build_task(config)
    task.train()
    task.losses({"audio": 0.1 * torch.randn(2, 1, 8000)}, "generator", step=0)  # k-means init
    step = tmp_path / "exp" / "checkpoints" / "step_00000004"
    step.mkdir(parents=True)
    (step / "config.yaml").write_text(yaml.safe_dump(config))
    (step / "meta.json").write_text(json.dumps({"step": 4, "spec": task.spec}))
    save_file({k: v.contiguous() for k, v in task.state_dict().items()},
              str(step / "model.safetensors"))
    (tmp_path / "exp" / "checkpoints" / "latest").write_text("step_00000004\n")
    return tmp_path / "exp", task.eval()


def hand_loaded_codec(exp: Path, bandwidth: float | None) -> NeuralCodec:
    """The codec as the former hand-written loader built it: ``task.representation`` of the
    stored config and the ``representation.*`` tensors of model.safetensors."""
    step = exp / "checkpoints" / "step_00000004"
    node = yaml.safe_load((step / "config.yaml").read_text())["task"]["representation"]
    codec = cfg.instantiate({**node, "bandwidth": bandwidth})
    codec.load_state_dict({k.removeprefix("representation."): v for k, v in
                           load_file(str(step / "model.safetensors")).items()
                           if k.startswith("representation.")})
    codec.checkpoint_sha256 = file_sha256(step / "model.safetensors")
    return codec.eval()


def test_trained_codec_loads_an_experiment(codec_experiment, tmp_path: Path) -> None:
    exp, task = codec_experiment
    codec = trained_codec(str(exp), bandwidth=None)
    assert len(codec.spec["checkpoint_sha256"]) == 64
    wave = 0.1 * torch.randn(1, 3200)
    assert torch.equal(codec.tokens(wave), task.representation.tokens(wave))
    low = trained_codec(str(exp), bandwidth=codec.supported_bandwidths[0])
    assert low.n_q == 1
    with pytest.raises(AudiogenError, match="no checkpoint found"):
        trained_codec(str(tmp_path))


@pytest.mark.parametrize("bandwidth", [None, "lowest"])
def test_the_one_loader_gives_the_hand_loaded_codec(codec_experiment, bandwidth) -> None:
    exp, _ = codec_experiment
    kbps = None if bandwidth is None else hand_loaded_codec(exp, None).supported_bandwidths[0]
    before = hand_loaded_codec(exp, kbps)
    codec = trained_codec(exp, kbps)
    assert codec.spec == before.spec and codec.spec["checkpoint_sha256"] is not None
    wave = 0.1 * torch.randn(2, 3200)
    tokens = codec.tokens(wave)
    assert torch.equal(tokens, before.tokens(wave))
    with torch.no_grad():
        assert torch.equal(codec.decode(tokens), before.decode(tokens))


def test_audiogen_load_returns_a_codec(codec_experiment) -> None:
    exp, _ = codec_experiment
    loaded = audiogen.load(exp)
    assert isinstance(loaded, api.Codec)
    before = hand_loaded_codec(exp, None)
    assert loaded.spec == before.spec and loaded.sample_rate == before.sample_rate
    wave = 0.1 * torch.randn(3200)
    tokens = loaded.encode(wave)
    assert tokens.dtype == torch.int64 and torch.equal(tokens, before.tokens(wave[None]))
    with torch.no_grad():
        assert torch.equal(loaded.decode(tokens), before.decode(tokens))
    assert loaded.resynthesize(wave).shape == (1, 3200)
    low = loaded.with_bandwidth(before.supported_bandwidths[0])
    assert low.encode(wave).shape[1] == 1 and loaded.encode(wave).shape[1] == before.n_q
    assert low.spec["checkpoint_sha256"] == before.spec["checkpoint_sha256"]


def test_folding_weight_norm_keeps_the_output() -> None:
    from audiogen.models.codec import remove_weight_norm

    torch.manual_seed(0)
    codec = tiny_codec().eval()
    wave = torch.randn(1, 8 * 9)
    tokens = codec.tokens(wave)
    audio = codec.decode(tokens)
    remove_weight_norm(codec)
    assert not any("parametrizations" in name for name, _ in codec.named_parameters())
    assert torch.equal(codec.tokens(wave), tokens)
    assert torch.allclose(codec.decode(tokens), audio, atol=1e-6)
