"""The shipped audio-to-audio models load by name and do their job on a real voice they were
never trained on (the LJSpeech sample beside the repository)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import audiogen
from audiogen import audio
from audiogen.api import Enhancer
from audiogen.cli import main
from tests.conftest import SHARED_DATA

WAVS = SHARED_DATA / "ljspeech_mini" / "LJSpeech-1.1" / "wavs"


def speech(seconds: float = 3.0) -> torch.Tensor:
    first = sorted(WAVS.glob("*.wav"))[0]
    wave, _ = audio.load(first, 16000)
    return wave[0, : int(seconds * 16000)]


def si_sdr(estimate: torch.Tensor, reference: torch.Tensor) -> float:
    scale = (estimate @ reference) / (reference @ reference)
    target = scale * reference
    return float(10 * torch.log10(target.square().sum() / (estimate - target).square().sum()))


def band_energy(wave: torch.Tensor, low_hz: float) -> float:
    spectrum = torch.fft.rfft(wave).abs().square()
    freqs = torch.fft.rfftfreq(wave.shape[-1], 1 / 16000)
    return float(spectrum[freqs >= low_hz].sum() / spectrum.sum())


needs_ljspeech = pytest.mark.skipif(not WAVS.is_dir(), reason="no LJSpeech sample beside the "
                                    "repository")


@needs_ljspeech
def test_the_shipped_denoiser_removes_white_noise_from_an_unseen_voice() -> None:
    clean = speech()
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
    noisy = clean + noise * clean.square().mean().sqrt() / 10 ** (5 / 20)  # 5 dB SNR
    denoiser = audiogen.load("denoise-16k")
    assert isinstance(denoiser, Enhancer) and denoiser.sample_rate == 16000
    restored = denoiser(noisy)[0]
    assert restored.shape == clean.shape
    assert si_sdr(restored, clean) > si_sdr(noisy, clean) + 3.0


@needs_ljspeech
def test_the_shipped_extender_writes_the_missing_band() -> None:
    wide = speech()
    narrow = audio.resample(wide[None], 16000, 8000)[0]
    extender = audiogen.load("bwe-8to16k")
    restored = extender(narrow, sample_rate=8000)[0]
    sinc = audio.resample(narrow[None], 8000, 16000)[0]
    assert restored.shape == sinc.shape
    assert band_energy(sinc, 4200) < 1e-4  # nothing above the narrowband Nyquist...
    assert band_energy(restored, 4200) > 10 * band_energy(sinc, 4200)  # ...until extended
    assert band_energy(restored, 4200) < 2 * band_energy(wide, 4200) + 1e-3


@needs_ljspeech
def test_enhance_runs_a_shipped_model_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    audio.save(folder / "a.wav", speech(1.0)[None], 16000)
    assert main(["enhance", "denoise-16k", "--input", str(folder), "--out",
                 str(tmp_path / "out")]) == 0
    restored, rate = audio.load(tmp_path / "out" / "a.wav", 16000)
    assert rate == 16000 and restored.shape[-1] == 16000
    assert np.isfinite(restored.numpy()).all()
