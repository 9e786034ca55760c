"""EnCodec tokens through the ``encodec`` package, with random weights saved to a file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from audiogen.errors import ConfigError
from audiogen.representations.codec import EncodecTokens, encodec_cache_path


@pytest.fixture(scope="module")
def encodec_24k(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    from encodec import EncodecModel

    torch.manual_seed(0)
    model = EncodecModel.encodec_model_24khz(pretrained=False)
    path = tmp_path_factory.mktemp("encodec") / "encodec_24khz.th"
    torch.save(model.state_dict(), path)
    return model, path


def test_tokens_equal_a_direct_encodec_call(encodec_24k: tuple) -> None:
    model, path = encodec_24k
    codec = EncodecTokens("encodec_24khz", bandwidth=3.0, checkpoint=str(path))
    wave = 0.1 * torch.randn(2, 24000 // 2)
    tokens = codec.tokens(wave)
    model.set_target_bandwidth(3.0)
    with torch.no_grad():
        (direct, scale), = model.encode(wave[:, None])
    assert scale is None
    assert torch.equal(tokens, direct)
    assert tokens.shape == (2, 4, 38) and tokens.dtype == torch.int64  # 3 kbps = 4 x 0.75
    assert codec.num_frames(12000) == 38
    assert torch.equal(codec.encode(wave), tokens.float())
    with torch.no_grad():
        expected = model.decode([(direct, None)])[:, 0]
    assert torch.allclose(codec.decode(tokens), expected)


def test_spec_and_safetensors_weights(encodec_24k: tuple, tmp_path: Path) -> None:
    model, path = encodec_24k
    other = tmp_path / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(other))
    codec = EncodecTokens("encodec_24khz", bandwidth=6.0, checkpoint=str(other))
    spec = codec.spec
    assert spec["model"] == "encodec_24khz" and spec["n_q"] == 8
    assert spec["frame_rate"] == 75 and spec["codebook_size"] == 1024
    assert spec["sample_rate"] == 24000 and spec["bandwidth"] == 6.0
    assert spec["checkpoint_sha256"] != EncodecTokens(
        "encodec_24khz", 6.0, str(path)).spec["checkpoint_sha256"]  # another file
    assert codec.bitrate == 6000


def test_bad_bandwidth_model_and_weights(encodec_24k: tuple, tmp_path: Path) -> None:
    _, path = encodec_24k
    with pytest.raises(ConfigError, match="choose from 1.5, 3, 6, 12, 24"):
        EncodecTokens("encodec_24khz", bandwidth=5.0, checkpoint=str(path))
    with pytest.raises(ConfigError, match="unknown EnCodec model"):
        EncodecTokens("encodec_96khz", checkpoint=str(path))
    with pytest.raises(ConfigError, match="do not fit"):
        EncodecTokens("encodec_48khz", bandwidth=6.0, checkpoint=str(path))
    junk = tmp_path / "junk.th"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="weights-only"):
        EncodecTokens("encodec_24khz", checkpoint=str(junk))


def test_missing_cache_names_where_weights_go(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    expected = tmp_path / "hub" / "checkpoints" / "encodec_24khz-d7cc33bc.th"
    assert encodec_cache_path("encodec_24khz") == expected
    with pytest.raises(ConfigError, match="--codec-checkpoint"):
        EncodecTokens("encodec_24khz")


def test_more_channels_than_the_model_are_downmixed(encodec_24k: tuple) -> None:
    _, path = encodec_24k
    codec = EncodecTokens("encodec_24khz", bandwidth=1.5, checkpoint=str(path))
    stereo = 0.1 * torch.randn(1, 2, 4800)
    assert torch.equal(codec.tokens(stereo), codec.tokens(stereo.mean(dim=1)))


@pytest.mark.slow
def test_stereo_48k_segments_and_scales(tmp_path: Path) -> None:
    from encodec import EncodecModel

    torch.manual_seed(0)
    model = EncodecModel.encodec_model_48khz(pretrained=False)
    path = tmp_path / "encodec_48khz.th"
    torch.save(model.state_dict(), path)
    codec = EncodecTokens("encodec_48khz", bandwidth=3.0, checkpoint=str(path))
    assert codec.channels == 2 and codec.segment_frames == 150
    wave = 0.1 * torch.randn(1, 2, int(1.5 * 48000))
    codes, scales = codec.tokens_and_scales(wave)
    model.set_target_bandwidth(3.0)
    with torch.no_grad():
        frames = model.encode(wave)
        expected = model.decode(frames)
    assert len(frames) == 2 and scales is not None and scales.shape == (1, 2)
    assert torch.equal(codes, torch.cat([c for c, _ in frames], dim=-1))
    decoded = codec.decode(codes, scales)
    assert decoded.shape[:2] == (1, 2)
    assert torch.allclose(decoded, expected, atol=1e-6)
    mono = codec.tokens(wave.mean(dim=1))  # mono input is duplicated to both channels
    assert mono.shape == codes.shape
