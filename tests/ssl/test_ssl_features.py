"""SSLFeatures against direct transformers calls; layers, weighted sum, framing, short audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from audiogen.errors import AudioError, ConfigError
from audiogen.representations.ssl import SSLFeatures, conv_geometry
from tests.conftest import harmonic_tone


def direct(directory: Path, wave: np.ndarray) -> tuple[torch.Tensor, ...]:
    from transformers import AutoFeatureExtractor, AutoModel

    extractor = AutoFeatureExtractor.from_pretrained(directory)
    model = AutoModel.from_pretrained(directory).eval()
    inputs = extractor(wave, sampling_rate=16000, return_tensors="pt")
    with torch.no_grad():
        return model(inputs["input_values"], output_hidden_states=True).hidden_states


@pytest.mark.parametrize("layer", [0, 1, 2])
def test_features_equal_a_direct_transformers_call(tiny_hubert: Path, layer: int) -> None:
    wave = harmonic_tone(0.7, 16000, 150.0, 1)
    expected = direct(tiny_hubert, wave)[layer][0]  # (frames, dim)
    ssl = SSLFeatures(str(tiny_hubert), layer)
    got = ssl.encode(torch.from_numpy(wave)[None])[0].T
    assert got.shape == expected.shape == (ssl.num_frames(wave.size), 16)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


def test_spec_names_model_hash_layer_and_rate(tiny_hubert: Path) -> None:
    spec = SSLFeatures(str(tiny_hubert), 1).spec
    assert spec["layer"] == 1 and spec["frame_rate"] == 50.0 and spec["hop_length"] == 320
    assert spec["dim"] == 16 and spec["sample_rate"] == 16000 and spec["do_normalize"] is True
    assert spec["model"] == "hubert" and len(spec["checkpoint_sha256"]) == 64


@pytest.mark.parametrize("layer", [3, -1, "last"])
def test_layer_out_of_range_names_the_valid_range(tiny_hubert: Path, layer: object) -> None:
    with pytest.raises(ConfigError, match=r"valid layers are 0\.\.2"):
        SSLFeatures(str(tiny_hubert), layer)  # type: ignore[arg-type]


def test_weighted_sum_is_a_softmax_mix_and_trainable(tiny_hubert: Path) -> None:
    ssl = SSLFeatures(str(tiny_hubert), "weighted")
    assert list(ssl.state_dict()) == ["layer_weights"]  # the frozen model is not saved
    with torch.no_grad():
        ssl.layer_weights.copy_(torch.tensor([0.0, 1.0, -1.0]))
    wave = torch.from_numpy(harmonic_tone(0.5, 16000, 200.0, 2))[None]
    states = direct(tiny_hubert, wave[0].numpy())
    p = np.exp([0.0, 1.0, -1.0]) / np.exp([0.0, 1.0, -1.0]).sum()
    expected = sum(float(w) * s for w, s in zip(p, states))[0].T
    got = ssl.encode(wave)[0]
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    got.square().mean().backward()
    assert ssl.layer_weights.grad is not None and ssl.layer_weights.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in ssl.network.parameters())


def test_same_padding_gives_one_frame_per_hop(tiny_hubert: Path) -> None:
    ssl = SSLFeatures(str(tiny_hubert), 2, padding="same")
    for samples in (3200, 3520, 4000):
        features = ssl.encode(torch.randn(1, samples))
        assert features.shape[-1] == ssl.num_frames(samples) == samples // 320


def test_short_audio_is_padded_or_refused(tiny_hubert: Path) -> None:
    receptive, hop = conv_geometry(SSLFeatures(str(tiny_hubert), 0).network.config)
    assert (receptive, hop) == (400, 320)
    padded = SSLFeatures(str(tiny_hubert), 1)
    assert padded.encode(torch.randn(1, 100)).shape[-1] == 1
    strict = SSLFeatures(str(tiny_hubert), 1, pad_short=False)
    with pytest.raises(AudioError, match="400 samples"):
        strict.encode(torch.randn(1, 100))


def test_batches_of_different_lengths_match_single_items(tiny_wav2vec2: Path,
                                                         tiny_hubert: Path) -> None:
    waves = [torch.from_numpy(harmonic_tone(s, 16000, 120.0, i))
             for i, s in enumerate((0.4, 0.75, 0.6))]
    for directory in (tiny_wav2vec2, tiny_hubert):
        ssl = SSLFeatures(str(directory), 2)
        batched = ssl.encode_list(waves)
        for wave, features in zip(waves, batched):
            single = ssl.encode(wave[None])[0]
            assert features.shape == single.shape
            torch.testing.assert_close(features, single, atol=1e-4, rtol=1e-3)


def test_a_hub_id_missing_from_the_cache_is_refused_without_download(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    from audiogen.representations.ssl import resolve_model_dir

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    real = huggingface_hub.snapshot_download
    calls: list[dict] = []

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", recording)
    with pytest.raises(ConfigError, match="facebook/hubert-base-ls960.*nothing is downloaded"):
        resolve_model_dir("facebook/hubert-base-ls960")
    assert calls and all(call.get("local_files_only") is True for call in calls)
