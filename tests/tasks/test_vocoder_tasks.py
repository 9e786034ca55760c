"""Vocoder tasks: losses, generation through every solver, priors, refusal of bad set-ups."""

from __future__ import annotations

import pytest
import torch

from audiogen import config as cfg
from audiogen.errors import ConfigError
from audiogen.representations import CompressedSTFT, LogMel
from audiogen.sampling.solvers import SOLVERS
from audiogen.tasks.priors import GriffinLimPrior, MelSpectralPrior
from audiogen.tasks.vocoder import GenerativeVocoder
from audiogen.train.experiment import build_task
from tests.conftest import harmonic_tone

RECIPES = "recipes/vocoder"


def tiny(path: str, *overrides: str) -> GenerativeVocoder:
    torch.manual_seed(0)
    task = build_task(cfg.load(f"{RECIPES}/{path}", list(overrides)))
    assert isinstance(task, GenerativeVocoder)
    return task


def speech_like(batch: int = 2, seconds: float = 0.5) -> torch.Tensor:
    waves = [torch.from_numpy(harmonic_tone(seconds, 16000, 120.0 + 40 * i, i))
             for i in range(batch)]
    return torch.stack(waves)[:, None]


@pytest.mark.parametrize("path", ["fm_mel/debug.yaml", "diffusion_mel/debug.yaml"])
def test_losses_are_finite_and_backpropagate(path: str) -> None:
    task = tiny(path)
    losses = task.losses({"audio": speech_like()}, "model", step=0)
    assert torch.isfinite(losses["loss"])
    losses["loss"].backward()
    grads = [p.grad for p in task.network.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_every_solver_generates_audio_of_the_right_length(solver: str) -> None:
    task = tiny("fm_mel/debug.yaml",
                "task.prior={_target_: audiogen.tasks.priors.MelSpectralPrior}")
    features = task.representation.encode(speech_like()[:, 0])
    kwargs = {"grid": "log_snr"} if solver in ("ddpm", "ddim", "dpm_solver_pp_2m") else {}
    audio = task.synthesize(features, steps=3, solver=solver, **kwargs)
    assert audio.shape == (2, features.shape[-1] * 256)
    assert torch.isfinite(audio).all()


def test_diffwave_fast_schedule_runs() -> None:
    task = tiny("diffusion_mel/debug.yaml")
    features = task.representation.encode(speech_like(1, 0.25)[:, 0])
    audio = task.synthesize(features, generator=torch.Generator().manual_seed(0))
    assert audio.shape == (1, features.shape[-1] * 256) and torch.isfinite(audio).all()


def test_untrained_velocity_model_starts_at_the_griffin_lim_estimate() -> None:
    task = tiny("fm_mel/debug.yaml", "task.prediction=velocity")
    features = task.representation.encode(speech_like(1)[:, 0])
    torch.manual_seed(1)
    audio = task.synthesize(features, steps=1, solver="euler")
    prior = task.prior
    assert isinstance(prior, GriffinLimPrior)
    torch.manual_seed(1)
    shape = torch.Size((1, task.state.dim, features.shape[-1]))
    start = prior.sample(features, shape)
    assert torch.allclose(audio, task.state.decode(start), atol=1e-5)


def test_mel_prior_std_matches_the_mel_magnitude() -> None:
    representation = LogMel(16000)
    state = CompressedSTFT(16000, alpha=0.5)
    prior = MelSpectralPrior(floor=0.0)
    prior.bind(representation, state)
    features = representation.encode(speech_like(1)[:, 0])
    std = prior.std(features, torch.Size((1, state.dim, features.shape[-1])))
    magnitude = representation.mel_to_magnitude(features)
    real_std, imag_std = std.chunk(2, dim=1)
    # E|Re|^2 + E|Im|^2 = |X|^(2 alpha) for a complex Gaussian with those per-part stds
    assert torch.allclose(real_std ** 2 + imag_std ** 2, magnitude.pow(1.0), rtol=1e-4,
                          atol=1e-8)


def test_stochastic_solver_refuses_a_mean_prior_and_unknown_names() -> None:
    task = tiny("fm_mel/debug.yaml")
    features = task.representation.encode(speech_like(1)[:, 0])
    with pytest.raises(ConfigError, match="zero-mean prior"):
        task.synthesize(features, solver="ddpm")
    with pytest.raises(ConfigError, match="unknown solver 'rk4'; choose from"):
        task.synthesize(features, solver="rk4")


def test_mismatched_state_is_refused() -> None:
    with pytest.raises(ConfigError, match="state sample_rate 22050 differs"):
        tiny("fm_mel/debug.yaml", "task.state.sample_rate=22050")


def test_spec_names_both_representations() -> None:
    spec = tiny("fm_mel/debug.yaml").spec
    assert spec["type"] == "log_mel" and spec["state"]["type"] == "compressed_stft"


def _mel_model(decoder_mel: LogMel, **options: object) -> GenerativeVocoder:
    from audiogen.generative.schedules import CondOT
    from audiogen.models.vocoders import ConditionalFlowNet
    from audiogen.tasks.griffin_lim import GriffinLim

    mel = LogMel(16000, n_fft=1280, hop_length=320, n_mels=40)
    network = ConditionalFlowNet(mel.dim, mel.dim, dim=16, intermediate_dim=32, num_layers=1)
    decoder = GriffinLim(decoder_mel, n_iter=4, method="mel_consistent", phase_init="pghi")
    return GenerativeVocoder(mel, mel, network, CondOT(), prediction="data", decoder=decoder,
                             **options)  # type: ignore[arg-type]


def test_a_two_stage_model_decodes_its_state_with_the_decoder() -> None:
    """A mel state is turned into audio by the decoder (here phase retrieval): with a zero
    network the sampled mel is exactly zero, and the audio is the decoder's for that mel."""
    mel = LogMel(16000, n_fft=1280, hop_length=320, n_mels=40)
    task = _mel_model(mel, steps=2).eval()
    features = mel.encode(torch.from_numpy(harmonic_tone(0.5, 16000, 150.0, 0))[None])
    audio = task.synthesize(features, generator=torch.Generator().manual_seed(0))
    assert audio.shape == (1, features.shape[-1] * 320)
    expected = task.decoder.synthesize(torch.zeros_like(features))  # type: ignore[union-attr]
    torch.testing.assert_close(audio, expected)


def test_a_decoder_of_other_features_or_with_spectral_losses_is_refused() -> None:
    with pytest.raises(ConfigError, match="specs must be equal"):
        _mel_model(LogMel(16000, n_fft=1024, hop_length=256, n_mels=40))
    with pytest.raises(ConfigError, match="set them to 0"):
        _mel_model(LogMel(16000, n_fft=1280, hop_length=320, n_mels=40), spectral_weight=1.0)
