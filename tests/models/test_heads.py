import math

import pytest
import torch

from audiogen.models.backbones import ConvNeXtBackbone
from audiogen.models.heads import ComplexSpectrumHead, ISTFTHead
from audiogen.representations import STFT
from audiogen.representations.spectral import (
    compress_spectrum,
    decompress_spectrum,
    pack_complex,
    unpack_complex,
)


def known_signal(samples: int) -> torch.Tensor:
    torch.manual_seed(0)
    time = torch.arange(samples) / 16000
    tone = 0.3 * torch.sin(2 * math.pi * 440 * time) + 0.2 * torch.sin(2 * math.pi * 1234 * time)
    return (tone + 0.05 * torch.randn(samples))[None]


def identity_head(n_fft: int, hop_length: int) -> ISTFTHead:
    """An ISTFT head whose features are exactly [log-magnitude; phase]."""
    head = ISTFTHead(n_fft + 2, n_fft, hop_length).double()
    with torch.no_grad():
        head.projection.weight.copy_(torch.eye(n_fft + 2, dtype=torch.float64)[..., None])
        head.projection.bias.zero_()
    return head


@pytest.mark.parametrize("n_fft, hop_length", [(64, 16), (128, 32)])
def test_istft_head_reconstructs_a_known_signal(n_fft: int, hop_length: int) -> None:
    frames = 37
    wave = known_signal(frames * hop_length)
    spectrum = STFT(16000, n_fft, hop_length).encode(wave).to(torch.complex128)
    features = torch.cat([spectrum.abs().clamp_min(1e-30).log(), spectrum.angle()], dim=1)
    head = identity_head(n_fft, hop_length)
    torch.testing.assert_close(head.spectrum(features), spectrum)
    rebuilt = head(features)
    assert rebuilt.shape == (1, frames * hop_length) and rebuilt.dtype == torch.float64
    torch.testing.assert_close(rebuilt, wave.double(), atol=1e-5, rtol=0)


def test_istft_head_clips_the_magnitude() -> None:
    head = identity_head(16, 4)
    features = torch.cat([torch.full((1, 9, 3), 10.0), torch.zeros(1, 9, 3)], dim=1)
    magnitude = head.spectrum(features.double()).abs()
    torch.testing.assert_close(magnitude, torch.full_like(magnitude, 100.0))


def test_convnext_and_istft_head_make_audio_of_hop_times_frames() -> None:
    backbone = ConvNeXtBackbone(20, 16, 48, 2)
    head = ISTFTHead(16, n_fft=64, hop_length=16)
    features = torch.randn(2, 20, 13, requires_grad=True)
    wave = head(backbone(features))
    assert wave.shape == (2, 13 * 16) and wave.dtype == torch.float32
    wave.square().mean().backward()
    assert features.grad is not None and features.grad.abs().sum() > 0
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = head(backbone(features))
    assert low.dtype == torch.float32 and torch.isfinite(low).all()


def test_complex_spectrum_head_layout() -> None:
    head = ComplexSpectrumHead(16, n_fft=30)
    packed = head(torch.randn(2, 16, 9))
    assert packed.shape == (2, 32, 9)
    spectrum = unpack_complex(packed)
    assert spectrum.shape == (2, 16, 9) and spectrum.is_complex()
    torch.testing.assert_close(spectrum.real, packed[:, :16])
    torch.testing.assert_close(spectrum.imag, packed[:, 16:])


def test_pack_unpack_round_trip() -> None:
    spectrum = torch.randn(3, 17, 5, dtype=torch.complex64)
    packed = pack_complex(spectrum)
    assert packed.shape == (3, 34, 5) and packed.dtype == torch.float32
    assert torch.equal(unpack_complex(packed), spectrum)


@pytest.mark.parametrize("alpha", [0.5, 0.3])
def test_power_law_compression_round_trip_float64(alpha: float) -> None:
    torch.manual_seed(0)
    spectrum = torch.randn(2, 33, 10, dtype=torch.complex128) * torch.logspace(-4, 2, 10)
    compressed = compress_spectrum(spectrum, alpha)
    torch.testing.assert_close(compressed.abs(), spectrum.abs() ** alpha, rtol=1e-12, atol=0)
    torch.testing.assert_close(compressed.angle(), spectrum.angle(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(decompress_spectrum(compressed, alpha), spectrum,
                               rtol=1e-12, atol=1e-14)


def test_compression_has_finite_gradients_at_zero() -> None:
    spectrum = torch.zeros(1, 4, 3, dtype=torch.complex128, requires_grad=True)
    compressed = compress_spectrum(spectrum, 0.3)
    assert compressed.abs().max() == 0
    torch.view_as_real(compressed).sum().backward()
    assert spectrum.grad is not None and torch.isfinite(torch.view_as_real(spectrum.grad)).all()
