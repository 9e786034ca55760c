"""``audiogen enhance`` and ``audiogen.load`` for audio-to-audio models: names mirrored, inputs
at other rates resampled, bad files reported and skipped, other model kinds refused."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import torch

import audiogen
from audiogen.cli import main
from audiogen.errors import ConfigError
from audiogen.inference.enhance import enhance
from tests.conftest import harmonic_tone

PASSTHROUGH = "recipes/enhance/passthrough.yaml"


@pytest.fixture()
def inputs(tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    soundfile.write(folder / "wide.wav", harmonic_tone(0.5, 16000, 150.0, 0), 16000)
    soundfile.write(folder / "sub" / "narrow.wav", harmonic_tone(0.5, 8000, 150.0, 1), 8000)
    (folder / "broken.wav").write_bytes(b"RIFF not really a wave file")
    return folder


def test_cli_mirrors_names_resamples_and_skips_bad_files(inputs, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    code = main(["enhance", PASSTHROUGH, "--input", str(inputs), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "wrote 2 files" in printed and "skipped broken" in printed
    wide, rate = soundfile.read(out / "wide.wav")
    narrow, narrow_rate = soundfile.read(out / "sub" / "narrow.wav")
    assert rate == narrow_rate == 16000
    assert wide.size == 8000 and narrow.size == 8000  # 0.5 s at 16 kHz either way
    original = harmonic_tone(0.5, 16000, 150.0, 0)
    assert np.abs(wide - original).max() < 1e-3  # 16-bit output of the unchanged input


def test_other_model_kinds_are_refused(inputs, tmp_path, capsys) -> None:
    code = main(["enhance", "recipes/vocoder/quickstart/griffin_lim.yaml", "--input",
                 str(inputs), "--out", str(tmp_path / "out")])
    printed = capsys.readouterr()
    assert code != 0
    assert "not an audio-to-audio model" in printed.err + printed.out
    with pytest.raises(ConfigError, match="not an audio-to-audio model"):
        enhance("recipes/vocoder/quickstart/griffin_lim.yaml", inputs, tmp_path / "x")


def test_python_api_resamples_and_chunks() -> None:
    model = audiogen.load(PASSTHROUGH)
    assert isinstance(model, audiogen.api.Enhancer) and model.sample_rate == 16000
    narrow = torch.from_numpy(harmonic_tone(1.0, 8000, 150.0, 2))
    restored = model(narrow, sample_rate=8000)
    assert restored.shape == (1, 16000)
    model.chunk_seconds = 0.3  # forces chunks (with the default 0.5 s overlap: refused)
    with pytest.raises(ConfigError, match="overlap"):
        model(narrow, sample_rate=8000)


@pytest.mark.parametrize("model", ["denoise-16k", "bwe-8to16k"])
def test_clips_shorter_than_one_window_keep_their_length(model, tmp_path, capsys) -> None:
    """A 1-sample and a 100-sample file are shorter than the STFT's reflect padding: they are
    padded to one window, enhanced, and written back at their own length."""
    folder = tmp_path / "short"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for size in (1, 100):
        soundfile.write(folder / f"n{size}.wav", 0.1 * rng.standard_normal(size), 16000)
    assert main(["enhance", model, "--input", str(folder), "--out", str(tmp_path / "out")]) == 0
    assert "skipped 0" in capsys.readouterr().out
    for size in (1, 100):
        wave, rate = soundfile.read(tmp_path / "out" / f"n{size}.wav")
        assert rate == 16000 and wave.shape == (size,) and np.isfinite(wave).all()
