"""Audio-to-audio models: speech enhancement, bandwidth extension and codec repair.

Every model maps degraded audio to restored audio at one sample rate (inputs at other rates are
resampled first by the caller). :class:`GenerativeEnhancer` learns it on the generative core: the
condition is the degraded signal's representation (a compressed complex STFT, as SGMSE+ and
FlowSE use), the state the clean one, and whether it is a predictive, flow-matching or
diffusion model follows from its prior, schedule, time density and prediction, as for the
vocoders. :class:`Passthrough` and :class:`SpectralGating` are the training-free baselines a
user tries first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from audiogen.errors import ConfigError
from audiogen.generative.objective import TimeDensity, TimeWeighting
from audiogen.generative.paths import Prediction
from audiogen.generative.schedules import Schedule
from audiogen.losses.spectral import MultiResolutionSTFTLoss
from audiogen.representations.base import Representation
from audiogen.tasks.base import Task
from audiogen.tasks.priors import Prior
from audiogen.tasks.vocoder import GenerativeVocoder


class AudioToAudio(Task):
    """(B, T) degraded audio -> (B, T) restored audio, both at ``sample_rate``."""

    def enhance(self, wave: torch.Tensor, steps: int | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def encode_whole_frames(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, T) -> the representation of ``wave`` zero-padded to whole hops, and to at least
        one analysis window (a clip shorter than the STFT's reflect padding cannot be framed);
        callers trim their output to the input's length."""
        hop = self.representation.hop_length
        length = max(wave.shape[-1], int(self.representation.spec.get("n_fft", 0)))
        padding = length + (-length) % hop - wave.shape[-1]
        return self.representation.encode(torch.nn.functional.pad(wave, (0, padding)))

    @torch.no_grad()
    def validate(self, batch: dict[str, Any]) -> dict[str, Any]:
        clean, degraded = batch["audio"][:, 0], _degraded(batch)[:, 0]
        restored = self.enhance(degraded)
        distance = MultiResolutionSTFTLoss().to(clean.device)
        return {"mrstft": float(distance(restored, clean)),
                "mrstft_input": float(distance(degraded, clean)),
                "audio": restored[:, None]}


def _degraded(batch: dict[str, Any]) -> torch.Tensor:
    if "degraded" not in batch:
        raise ConfigError("an audio-to-audio task trains on degraded audio: set data.degrade "
                          "to a degradation (audiogen.data.degrade)")
    return batch["degraded"]


class GenerativeEnhancer(GenerativeVocoder, AudioToAudio):
    """p(clean state | degraded features) on an affine path; one network, three trainings.

    ``representation`` encodes the degraded input (the condition) and, unless ``state`` is
    given, the clean target too. Configurations (see ``recipes/enhance``): *predictive*:
    ``ConditionPrior(noise=0)``, ``time_density: start``, ``prediction: data`` and one step
    (regression of the clean spectrum plus the multi-resolution STFT loss); *flow*:
    ``ConditionPrior(noise=sigma)``, uniform times, ~5 Euler steps (FlowSE); *diffusion*: a
    Gaussian prior on a VP schedule, conditioned on the degraded spectrum. ``network`` is
    completed with ``state_channels`` and ``cond_channels`` like the vocoders'.
    ``keep_below_hz`` copies the input's bins below that frequency into the output (see
    :meth:`finish`).
    """

    def __init__(self, representation: Representation,
                 network: Callable[..., nn.Module] | nn.Module, schedule: Schedule,
                 state: Representation | None = None, prediction: Prediction = "velocity",
                 prior: Prior | None = None, time_density: TimeDensity = "uniform",
                 time_weighting: TimeWeighting = "none", spectral_weight: float = 1.0,
                 path_weight: float = 1.0, steps: int = 5, solver: str = "euler",
                 grid: str = "uniform", keep_below_hz: float | None = None,
                 residual: bool = False) -> None:
        super().__init__(representation, state if state is not None else representation,
                         network, schedule, prediction=prediction, prior=prior,
                         time_density=time_density, time_weighting=time_weighting,
                         spectral_weight=spectral_weight, path_weight=path_weight, steps=steps,
                         solver=solver, grid=grid, residual=residual)
        self.keep_below_hz = keep_below_hz
        if keep_below_hz is not None:
            if self.representation.spec != self.state.spec or "n_fft" not in self.state.spec:
                raise ConfigError("keep_below_hz needs the condition and the state in one "
                                  "STFT representation")
            if not 0 < keep_below_hz < self.sample_rate / 2:
                raise ConfigError(f"keep_below_hz {keep_below_hz} is not between 0 and the "
                                  f"Nyquist frequency {self.sample_rate / 2}")

    multi_step = True

    def finish(self, x_1: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """With ``keep_below_hz`` (bandwidth extension), the bins below it are the input's:
        the model only writes the band the input lacks, so what was there stays exact."""
        if self.keep_below_hz is None:
            return x_1
        bins = x_1.shape[1] // 2
        kept = int(self.keep_below_hz * self.state.spec["n_fft"] / self.sample_rate)
        out = x_1.clone()
        for part in (0, bins):  # the real, then the imaginary rows of the packed state
            out[:, part:part + kept] = features[:, part:part + kept].to(out.dtype)
        return out

    def _prepare(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        hop = self.representation.hop_length
        clean, degraded = batch["audio"][:, 0], _degraded(batch)[:, 0]
        usable = (clean.shape[-1] // hop) * hop
        clean, degraded = clean[:, :usable], degraded[:, :usable]
        with torch.no_grad():
            return clean, self.representation.encode(degraded), self.state.encode(clean)

    def enhance(self, wave: torch.Tensor, steps: int | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """(B, T) degraded -> (B, T) restored with the task's solver and ``steps``."""
        features = self.encode_whole_frames(wave)
        return self.generate(features, steps, generator=generator)[..., : wave.shape[-1]]

    @torch.no_grad()
    def validate(self, batch: dict[str, Any]) -> dict[str, Any]:
        return AudioToAudio.validate(self, batch)

    @property
    def spec(self) -> dict[str, Any]:
        return {**self.representation.spec, "task": "audio_to_audio", "state": self.state.spec}


class Passthrough(AudioToAudio):
    """The input unchanged: the "degraded input" row of every table and, for inputs below the
    model rate, the sinc-resampling baseline of bandwidth extension (the caller's resampler)."""

    def __init__(self, sample_rate: int) -> None:
        super().__init__()
        self.rate = sample_rate

    @property
    def sample_rate(self) -> int:
        return self.rate

    @property
    def spec(self) -> dict[str, Any]:
        return {"type": "waveform", "sample_rate": self.rate, "task": "audio_to_audio"}

    def enhance(self, wave: torch.Tensor, steps: int | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        return wave.clone()


class SpectralGating(Passthrough):
    """Classical denoiser: non-stationary spectral gating from the ``noisereduce`` package
    (Sainburg's implementation of the Audacity noise gate), ``strength`` = its
    ``prop_decrease`` (1: remove the estimated noise entirely)."""

    def __init__(self, sample_rate: int, strength: float = 1.0, stationary: bool = False) -> None:
        super().__init__(sample_rate)
        if not 0.0 <= strength <= 1.0:
            raise ConfigError(f"SpectralGating: strength {strength} is outside [0, 1]")
        self.strength, self.stationary = strength, stationary

    def enhance(self, wave: torch.Tensor, steps: int | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        import noisereduce

        rows = [noisereduce.reduce_noise(y=row.astype(np.float32), sr=self.rate,
                                         stationary=self.stationary,
                                         prop_decrease=self.strength)
                for row in wave.detach().cpu().float().numpy()]
        out = torch.from_numpy(np.stack(rows).astype(np.float32)).to(wave.device)
        return out[..., : wave.shape[-1]]
