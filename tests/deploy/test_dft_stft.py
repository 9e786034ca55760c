"""The export-time STFT and inverse STFT (DFT-matrix convolutions) against torch.stft /
torch.istft and the eager path, at several sizes, windows and both framing conventions."""

from __future__ import annotations

import pytest
import torch

from audiogen.models.heads import ISTFTHead
from audiogen.representations.spectral import STFT, CompressedSTFT, dft_istft, dft_stft, istft

CASES = [(1024, 256, 1024, "same", "hann"), (510, 128, 510, "same", "hann"),
         (512, 128, 400, "center", "hamming"), (64, 16, 64, "center", "hann")]


@pytest.mark.parametrize(("n_fft", "hop", "win", "padding", "window"), CASES)
def test_dft_stft_matches_torch_stft(n_fft: int, hop: int, win: int, padding: str,
                                     window: str) -> None:
    stft = STFT(16000, n_fft, hop, win, window, padding)  # type: ignore[arg-type]
    wave = torch.randn(2, 4001, dtype=torch.float64)
    reference = stft.complex_stft(wave.float()).to(torch.complex128)
    real, imag = dft_stft(wave, n_fft, hop, win, window, padding)  # type: ignore[arg-type]
    assert real.shape == reference.shape
    assert torch.allclose(real, reference.real, atol=1e-4, rtol=0)
    assert torch.allclose(imag, reference.imag, atol=1e-4, rtol=0)


@pytest.mark.parametrize(("n_fft", "hop", "win", "padding", "window"), CASES)
def test_dft_istft_matches_torch_istft_and_the_eager_istft(n_fft: int, hop: int, win: int,
                                                           padding: str, window: str) -> None:
    torch.manual_seed(0)
    frames = 23
    spectrum = torch.randn(2, n_fft // 2 + 1, frames, dtype=torch.complex128)
    spectrum[:, 0].imag = 0  # a real signal's DC and Nyquist bins are real
    spectrum[:, -1].imag = 0
    make = torch.hann_window if window == "hann" else torch.hamming_window
    analysis = make(win, dtype=torch.float64)
    eager = istft(spectrum, n_fft, hop, win, analysis, padding)  # type: ignore[arg-type]
    ours = dft_istft(spectrum.real, spectrum.imag, n_fft, hop, win, window,
                     padding)  # type: ignore[arg-type]
    assert ours.shape == eager.shape
    assert torch.allclose(ours, eager, atol=1e-10, rtol=0)
    if padding == "center":
        reference = torch.istft(spectrum, n_fft, hop, win, analysis, center=True)
        assert torch.allclose(ours, reference, atol=1e-10, rtol=0)


def test_export_branches_agree_with_eager_in_float32(monkeypatch: pytest.MonkeyPatch) -> None:
    """The code paths taken while exporting (forced here) give the eager outputs: the
    compressed STFT both ways and the iSTFT head."""
    torch.manual_seed(0)
    wave = 0.3 * torch.randn(2, 3000)
    representation = CompressedSTFT(16000, 510, 128, alpha=0.5, scale=0.15)
    head = ISTFTHead(16, 64, 16)
    hidden = torch.randn(2, 16, 40)
    eager = (representation.encode(wave), head(hidden))
    eager_decoded = representation.decode(eager[0])
    monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: True)
    exported = (representation.encode(wave), head(hidden))
    assert torch.allclose(exported[0], eager[0], atol=1e-5, rtol=0)
    assert torch.allclose(exported[1], eager[1], atol=1e-5, rtol=0)
    assert torch.allclose(representation.decode(eager[0]), eager_decoded, atol=1e-5, rtol=0)
