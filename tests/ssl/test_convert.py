"""Voice conversion by resynthesis: a unit vocoder as an audio-to-audio model, the speaker
filter of one-voice training data, and ``audiogen data select``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiogen.cli import main
from audiogen.data.dataset import AudioDataset
from audiogen.errors import ConfigError, DataError
from audiogen.generative.schedules import CondOT
from audiogen.models.vocoders import ConditionalFlowNet
from audiogen.nn.embeddings import TokenEmbedding
from audiogen.representations import CompressedSTFT, LogMel
from audiogen.representations.ssl import SSLFeatures
from audiogen.representations.units import Codebook, UnitRepresentation
from audiogen.tasks.convert import UnitConverter
from audiogen.tasks.vocoder import GenerativeVocoder


def unit_vocoder(tiny_hubert: Path, tmp_path: Path) -> GenerativeVocoder:
    features = SSLFeatures(str(tiny_hubert), layer=1, padding="same")
    rng = np.random.default_rng(0)
    Codebook(rng.standard_normal((8, features.dim)).astype(np.float32),
             features.spec).save(tmp_path / "km")
    units = UnitRepresentation(features, str(tmp_path / "km"))
    state = CompressedSTFT(16000, n_fft=1280, hop_length=320)
    torch.manual_seed(0)
    network = ConditionalFlowNet(state.dim, 1, dim=16, intermediate_dim=32, num_layers=1,
                                 cond_embedding=TokenEmbedding(8, 8))
    torch.nn.init.normal_(network.output.weight, std=0.01)  # not the silent zero init
    return GenerativeVocoder(units, state, network, CondOT(), prediction="data", steps=2)


def test_conversion_is_the_vocoder_on_the_source_units(tiny_hubert: Path, tmp_path: Path
                                                         ) -> None:
    vocoder = unit_vocoder(tiny_hubert, tmp_path).eval()
    converter = UnitConverter(vocoder).eval()
    wave = 0.1 * torch.randn(1, 16000 + 123, generator=torch.Generator().manual_seed(1))
    out = converter.enhance(wave, generator=torch.Generator().manual_seed(5))
    assert out.shape == wave.shape
    assert torch.isfinite(out).all() and out.abs().max() > 0
    padded = torch.nn.functional.pad(wave, (0, 320 - 123))  # to whole 320-sample frames
    expected = vocoder.synthesize(vocoder.representation.encode(padded),
                                  generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(out, expected[..., : wave.shape[-1]])
    assert converter.spec["task"] == "voice_conversion"
    assert converter.spec["type"] == "units"


def test_a_mel_vocoder_is_not_a_voice_converter() -> None:
    mel = LogMel(16000, n_fft=1024, hop_length=256, n_mels=80)
    state = CompressedSTFT(16000, n_fft=1024, hop_length=256)
    network = ConditionalFlowNet(state.dim, mel.dim, dim=16, intermediate_dim=32, num_layers=1)
    vocoder = GenerativeVocoder(mel, state, network, CondOT())
    with pytest.raises(ConfigError, match="log_mel.*carry the source voice"):
        UnitConverter(vocoder)


def _corpus(root: Path) -> Path:
    rows = []
    for speaker in ("anna", "bert", "carl"):
        for index in range(2):
            path = root / speaker / f"{index}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, np.zeros(1600, dtype=np.float32), 16000)
            rows.append({"id": f"{speaker}/{index}", "path": f"{speaker}/{index}.wav",
                         "duration": 0.1, "sample_rate": 16000, "speaker": speaker})
    manifest = root / "all.jsonl"
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return manifest


def test_the_dataset_keeps_only_the_named_speakers(tmp_path: Path) -> None:
    manifest = _corpus(tmp_path)
    dataset = AudioDataset(manifest, 16000, speakers=["bert"])
    assert [u.id for u in dataset.utterances] == ["bert/0", "bert/1"]
    with pytest.raises(DataError, match="no utterance of speaker.*dora.*anna, bert, carl"):
        AudioDataset(manifest, 16000, speakers=["dora"])


def test_data_select_writes_a_manifest_of_the_chosen_speakers(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture
                                                             ) -> None:
    manifest = _corpus(tmp_path)
    out = tmp_path / "sel" / "others.jsonl"
    assert main(["data", "select", "--manifest", str(manifest), "--speakers", "anna",
                 "--exclude", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in rows] == ["bert/0", "bert/1", "carl/0", "carl/1"]
    assert (out.parent / rows[0]["path"]).resolve() == (tmp_path / "bert" / "0.wav").resolve()
    assert main(["data", "select", "--manifest", str(manifest), "--speakers", "dora",
                 "--out", str(out)]) == 1
    assert "no speaker(s) dora; it has anna, bert, carl" in capsys.readouterr().err
