"""Audio-to-audio tasks: the untrained residual model is the identity, a predictive denoiser
learns, chunked restoration joins chunks without seams, degraded batches are reproducible, and
the baselines do what they claim."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiogen import config as cfg
from audiogen.data.dataset import AudioDataset, collate
from audiogen.data.degrade import WhiteNoise
from audiogen.errors import ConfigError
from audiogen.inference.enhance import enhance_wave
from audiogen.representations import CompressedSTFT, LogMel
from audiogen.tasks.enhance import AudioToAudio, GenerativeEnhancer, Passthrough, SpectralGating
from audiogen.tasks.priors import ConditionPrior
from audiogen.train.experiment import build_task
from tests.tasks.test_vocoder_tasks import speech_like

RECIPES = "recipes/enhance"


def enhancer(path: str, *overrides: str) -> GenerativeEnhancer:
    torch.manual_seed(0)
    task = build_task(cfg.load(f"{RECIPES}/{path}", [*overrides]))
    assert isinstance(task, GenerativeEnhancer)
    return task


def noisy_pair(seconds: float = 0.5, snr_db: float = 5.0) -> dict[str, torch.Tensor]:
    clean = speech_like(2, seconds)
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(1))
    gain = clean.pow(2).mean().sqrt() / noise.pow(2).mean().sqrt() * 10 ** (-snr_db / 20)
    return {"audio": clean, "degraded": clean + gain * noise}


@pytest.mark.parametrize("config,steps", [("denoise/predictive.yaml", 1),
                                          ("bwe/predictive.yaml", 1), ("denoise/flow.yaml", 1),
                                          ("denoise/flow.yaml", 5)])
def test_untrained_residual_model_returns_its_input(config: str, steps: int) -> None:
    """Zero-initialised velocity at t = 0 without prior noise (predictive), or a zero
    correction to the noisy spectrum (flow: the Euler steps remove the path noise exactly,
    at any number of steps): the output is the input, up to the STFT round trip."""
    task = enhancer(config, "task.network.dim=32", "task.network.num_layers=1")
    degraded = noisy_pair(0.4)["degraded"][:, 0, :6000]
    restored = task.enhance(degraded, steps=steps, generator=torch.Generator().manual_seed(0))
    assert restored.shape == degraded.shape
    assert torch.allclose(restored, degraded, atol=1e-4)


def test_a_residual_needs_data_prediction_and_a_start_estimate() -> None:
    with pytest.raises(ConfigError, match="residual: true needs prediction: data"):
        enhancer("denoise/flow.yaml", "task.network.dim=32", "task.prediction=velocity")
    with pytest.raises(ConfigError, match="GaussianPrior"):
        enhancer("denoise/diffusion.yaml", "task.network.dim=32", "task.prior=null")


@pytest.mark.parametrize("config", ["denoise/flow.yaml", "denoise/predictive.yaml",
                                    "denoise/diffusion.yaml"])
def test_every_training_backpropagates_and_enhances_at_length(config: str) -> None:
    task = enhancer(config, "task.network.dim=32", "task.network.num_layers=1")
    losses = task.losses(noisy_pair(), "model", step=0)
    assert torch.isfinite(losses["loss"]) and {"path", "mrstft"} <= set(losses)
    losses["loss"].backward()
    assert all(torch.isfinite(p.grad).all() for p in task.network.parameters()
               if p.grad is not None)
    out = task.enhance(noisy_pair()["degraded"][:, 0, :7777], steps=2,
                       generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 7777) and torch.isfinite(out).all()


def test_a_predictive_denoiser_learns_to_remove_noise() -> None:
    """A small predictive model trained for 60 steps on one noisy pair brings the multi-
    resolution STFT distance to the clean signal well below the noisy input's."""
    from audiogen.losses import MultiResolutionSTFTLoss

    task = enhancer("denoise/predictive.yaml", "task.network.dim=64",
                    "task.network.intermediate_dim=128", "task.network.num_layers=2")
    batch = noisy_pair(0.5, snr_db=0.0)
    optimizer = torch.optim.Adam(task.network.parameters(), lr=3e-3)
    for step in range(60):
        loss = task.losses(batch, "model", step)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    distance = MultiResolutionSTFTLoss()
    clean, degraded = batch["audio"][:, 0], batch["degraded"][:, 0]
    with torch.no_grad():
        before = float(distance(degraded, clean))
        after = float(distance(task.enhance(degraded), clean))
    assert after < 0.6 * before, (before, after)


def test_training_without_degraded_audio_is_refused() -> None:
    task = enhancer("denoise/flow.yaml", "task.network.dim=32", "task.network.num_layers=1")
    with pytest.raises(ConfigError, match="data.degrade"):
        task.losses({"audio": speech_like()}, "model", step=0)


def test_condition_prior_needs_one_representation() -> None:
    with pytest.raises(ConfigError, match="one representation"):
        ConditionPrior(0.5).bind(LogMel(16000), CompressedSTFT(16000))
    with pytest.raises(ConfigError, match="negative"):
        ConditionPrior(-1.0)


class Gain(Passthrough):
    """A stand-in model that halves its input and records the chunk lengths it saw."""

    def __init__(self) -> None:
        super().__init__(16000)
        self.seen: list[int] = []

    def enhance(self, wave: torch.Tensor, steps: int | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        self.seen.append(wave.shape[-1])
        return 0.5 * wave


@pytest.mark.parametrize("seconds", [2.0, 7.3, 12.0])
def test_chunked_restoration_has_no_seams(seconds: float) -> None:
    """Chunks of 2 s with 0.25 s overlaps: complementary fades reproduce a sample-wise model
    exactly, every chunk is at most the chunk length, and the whole signal is covered."""
    model = Gain()
    wave = torch.randn(1, int(seconds * 16000), generator=torch.Generator().manual_seed(0))
    out = enhance_wave(model, wave, chunk_seconds=2.0, overlap_seconds=0.25)
    assert torch.allclose(out, 0.5 * wave, atol=1e-6)
    assert max(model.seen) <= 32000
    assert len(model.seen) == (1 if seconds <= 2.0 else 1 + int(np.ceil((seconds - 2) / 1.75)))
    with pytest.raises(ConfigError, match="overlap"):
        enhance_wave(model, wave, chunk_seconds=0.4, overlap_seconds=0.25)


def test_degraded_items_are_reproducible_from_their_seed(tiny_corpus) -> None:
    dataset = AudioDataset(tiny_corpus / "train.jsonl", 16000, 0.5,
                           degradation=WhiteNoise(snr_db=(5.0, 5.0)))
    first, again, other = dataset[(0, 123)], dataset[(0, 123)], dataset[(0, 124)]
    assert torch.equal(first["degraded"], again["degraded"])
    assert not torch.equal(first["degraded"], other["degraded"])
    noise = first["degraded"] - first["audio"]
    snr = 10 * torch.log10(first["audio"].pow(2).mean() / noise.pow(2).mean())
    assert float(snr) == pytest.approx(5.0, abs=0.05)
    batch = collate([dataset[(0, 1)], dataset[(1, 2)]])
    assert batch["degraded"].shape == batch["audio"].shape == (2, 1, 8000)


def test_spectral_gating_removes_noise_where_there_is_no_speech() -> None:
    """1.5 s of voice, then 1.5 s of silence, in white noise at 5 dB SNR: the gate lowers the
    silent half by more than 10 dB, at least 3 dB more than it lowers the voiced half."""
    clean = torch.cat([speech_like(1, 1.5)[:, 0], torch.zeros(1, 24000)], dim=-1)
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(1))
    noisy = clean + clean.pow(2).mean().sqrt() / noise.pow(2).mean().sqrt() * 10 ** -0.25 * noise
    gated = SpectralGating(16000).enhance(noisy)

    def drop(part: slice) -> float:
        return float(10 * torch.log10(noisy[:, part].pow(2).mean() / gated[:, part].pow(2).mean()))

    assert gated.shape == noisy.shape and isinstance(SpectralGating(16000), AudioToAudio)
    silence, voice = drop(slice(25000, None)), drop(slice(0, 23000))
    assert silence > 10.0 and silence > voice + 3.0, (silence, voice)
    with pytest.raises(ConfigError, match="strength"):
        SpectralGating(16000, strength=2.0)
