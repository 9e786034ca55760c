import librosa
import numpy as np
import pytest
import torch
import torchaudio

from audiogen.errors import SpecMismatchError
from audiogen.representations import STFT, LogMel, check_spec


@pytest.mark.parametrize("padding", ["same", "center"])
def test_complex_stft_roundtrip(padding: str) -> None:
    wave = torch.randn(2, 8000, dtype=torch.float32)
    stft = STFT(16000, 512, 128, padding=padding)
    rebuilt = stft.decode(stft.encode(wave))
    n = rebuilt.shape[-1]
    assert n >= 8000 - 128
    assert torch.allclose(rebuilt, wave[:, :n], atol=1e-5)


def test_frame_counts_follow_the_convention() -> None:
    wave = torch.randn(1, 16000)
    assert STFT(16000, 1024, 256, padding="same").encode(wave).shape[-1] == 16000 // 256
    assert STFT(16000, 1024, 256, padding="center").encode(wave).shape[-1] == 16000 // 256 + 1
    mel = LogMel(16000)
    assert mel.encode(wave).shape[-1] == mel.num_frames(16000)


def test_librosa_compatible_mel() -> None:
    rng = np.random.default_rng(0)
    signal = rng.standard_normal(22050).astype(np.float32)
    ours = LogMel(22050, 1024, 256, n_mels=80, power=2.0, padding="center", pad_mode="constant")
    expected = librosa.feature.melspectrogram(y=signal, sr=22050, n_fft=1024, hop_length=256,
                                              n_mels=80)
    got = ours.mel(torch.from_numpy(signal)[None])[0].numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-6 * expected.max())


def test_htk_mel_matches_torchaudio() -> None:
    wave = torch.randn(1, 16000)
    ours = LogMel(16000, 400, 160, n_mels=40, fmin=20.0, fmax=7600.0, power=2.0,
                  mel_scale="htk", mel_norm=None, padding="center", pad_mode="reflect")
    reference = torchaudio.transforms.MelSpectrogram(16000, n_fft=400, hop_length=160,
                                                     f_min=20.0, f_max=7600.0, n_mels=40,
                                                     power=2.0, pad_mode="reflect")(wave)
    assert torch.allclose(ours.mel(wave), reference, rtol=1e-4, atol=1e-6)


def test_hifigan_style_log_mel_values() -> None:
    wave = torch.randn(1, 8192) * 0.1
    mel = LogMel(22050, 1024, 256, n_mels=80, fmax=8000.0)
    padded = torch.nn.functional.pad(wave[None], (384, 384), mode="reflect")[0]
    magnitude = torch.stft(padded, 1024, 256, window=torch.hann_window(1024), center=False,
                           return_complex=True).abs()
    basis = torch.from_numpy(librosa.filters.mel(sr=22050, n_fft=1024, n_mels=80, fmin=0,
                                                 fmax=8000)).float()
    expected = torch.log(torch.clamp(basis @ magnitude, min=1e-5))
    assert torch.allclose(mel.encode(wave), expected, atol=1e-4)


def test_griffin_lim_recovers_a_tone() -> None:
    t = torch.arange(16000) / 16000
    wave = 0.5 * torch.sin(2 * torch.pi * 500 * t)[None]
    mel = LogMel(16000, 1024, 256, n_mels=80)
    torch.manual_seed(0)
    rebuilt = mel.decode(mel.encode(wave), n_iter=16)
    spectrum = torch.fft.rfft(rebuilt[0]).abs()
    peak_hz = int(spectrum.argmax()) * 16000 / rebuilt.shape[-1]
    band_hz = 16000 / 1024 * float((mel.filters > 0).sum(dim=1)[mel.filters[:, 32].argmax()])
    assert abs(peak_hz - 500) < band_hz / 2  # within the resolution of the mel band at 500 Hz
    # consistency: the rebuilt audio has (almost) the same log-mel where there is energy
    target, got = mel.encode(wave), mel.encode(rebuilt)
    loud = target > target.max() - 4
    assert (target - got)[loud].abs().mean() < 0.5


def test_spec_mismatch_names_the_field() -> None:
    a, b = LogMel(16000, hop_length=256).spec, LogMel(16000, hop_length=200).spec
    check_spec(a, dict(a))
    with pytest.raises(SpecMismatchError, match="hop_length: model has 256, features have 200"):
        check_spec(a, b)


@pytest.mark.parametrize("n_fft,hop", [(1024, 256), (400, 160), (16, 4)])
def test_overlap_add_equals_fold(n_fft: int, hop: int) -> None:
    from audiogen.representations.spectral import overlap_add

    frames = torch.randn(3, n_fft, 7, dtype=torch.float64)
    length = 6 * hop + n_fft
    expected = torch.nn.functional.fold(frames, (1, length), (1, n_fft), stride=(1, hop))
    assert torch.allclose(overlap_add(frames, hop), expected[:, 0, 0])
