"""The public loader: shipped names, training-free configs and trained checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import audiogen
from audiogen import api
from audiogen.errors import AudiogenError, SpecMismatchError
from tests.conftest import harmonic_tone

REPO = Path(__file__).resolve().parents[1]


def test_readme_python_example_runs() -> None:
    """The three lines the README opens its Python section with."""
    audio = torch.from_numpy(harmonic_tone(0.5, 16000, 140.0, 0))
    vocoder = audiogen.load("mel-consistent-16k")
    wave = vocoder(vocoder.encode(audio))
    assert vocoder.sample_rate == 16000 and wave.shape == (1, (audio.numel() // 256) * 256)
    reference = audio[: wave.shape[-1]]
    # A faithful inversion: the same mel back (log-mel L1 well under Griffin-Lim's usual 0.15).
    features = vocoder.encode(reference)
    assert (vocoder.encode(wave[0]) - features).abs().mean() < 0.1


def test_shipped_models_carry_spec_and_card() -> None:
    names = api.pretrained_names()
    assert "mel-consistent-16k" in names
    for name in names:
        folder = api.PRETRAINED / name
        assert (folder / "README.md").is_file(), f"{name} has no model card"
        meta = json.loads((folder / "meta.json").read_text())
        assert meta["spec"] == audiogen.load(name).spec


def test_the_24k_model_inverts_its_own_mel() -> None:
    audio = torch.from_numpy(harmonic_tone(0.5, 24000, 220.0, 2))
    vocoder = audiogen.load("mel-consistent-24k")
    features = vocoder.encode(audio)
    assert vocoder.sample_rate == 24000 and features.shape[1] == 100
    wave = vocoder(features)
    assert wave.shape == (1, features.shape[-1] * 256) and torch.isfinite(wave).all()
    assert (vocoder.encode(wave[0]) - features).abs().mean() < 0.1


def test_sampling_is_frozen_and_seeded() -> None:
    vocoder = audiogen.load("mel-consistent-16k").with_sampling(steps=4)
    features = vocoder.encode(torch.from_numpy(harmonic_tone(0.3, 16000, 150.0, 1)))
    assert torch.equal(vocoder(features), vocoder(features))
    other = vocoder(features, api.Sampling(steps=4, seed=1))
    assert not torch.equal(vocoder(features), other)
    with pytest.raises(AttributeError):
        vocoder.sampling.steps = 8  # type: ignore[misc]


def test_unknown_name_is_a_clear_error() -> None:
    with pytest.raises(AudiogenError, match="neither a shipped model"):
        audiogen.load("no-such-vocoder")


def test_a_changed_spec_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    source = api.PRETRAINED / "mel-consistent-16k"
    (folder / "config.yaml").write_text((source / "config.yaml").read_text())
    meta = json.loads((source / "meta.json").read_text())
    meta["spec"]["n_mels"] = 100
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(SpecMismatchError, match="n_mels"):
        audiogen.load(folder)


def test_trained_checkpoint_loads_without_training_parts(tmp_path: Path,
                                                         tiny_corpus: Path) -> None:
    from audiogen import config as cfg
    from audiogen.train.experiment import train

    config = cfg.load(REPO / "recipes/vocoder/gan_mel/debug.yaml",
                      [f"data.train={tiny_corpus}/train.jsonl", "data.valid=null",
                       "trainer.max_steps=1", "trainer.save_every=1"])
    train(config, tmp_path / "exp")
    vocoder = audiogen.load(tmp_path / "exp")
    assert not hasattr(vocoder.task, "discriminators")
    wave = vocoder.resynthesize(torch.from_numpy(harmonic_tone(0.25, 16000, 150.0, 0)))
    assert wave.shape[0] == 1 and torch.isfinite(wave).all()
    exported = api.export_pretrained(tmp_path / "exp", tmp_path / "shipped")
    weights = load_file(exported / "model.safetensors")
    assert all(v.dtype == torch.float16 for v in weights.values() if v.is_floating_point())
    assert audiogen.load(exported).spec == vocoder.spec


def test_synthesize_command_takes_a_shipped_name(tmp_path: Path) -> None:
    from audiogen import audio as audio_io
    from audiogen.cli import main

    source = tmp_path / "in" / "tone.wav"
    source.parent.mkdir()
    audio_io.save(source, torch.from_numpy(harmonic_tone(0.5, 16000, 150.0, 2))[None], 16000)
    code = main(["synthesize", "mel-consistent-16k", "--input", str(source), "--out",
                 str(tmp_path / "out"), "--steps", "4"])
    assert code == 0
    wave, rate = audio_io.load(tmp_path / "out" / "tone.wav")
    assert rate == 16000 and wave.shape[-1] == (8000 // 256) * 256
