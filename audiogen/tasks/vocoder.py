"""Diffusion and flow-matching vocoders: one task over one generative core.

The network generates a *state* representation (the waveform for DiffWave, the compressed
complex STFT for a Vocos-style spectral flow) conditioned on features of another representation
(log-mel now; SSL features, units and codec tokens plug in the same way). Which of diffusion or
flow matching it is follows from the schedule and prediction type alone.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from audiogen.errors import ConfigError
from audiogen.generative.objective import TimeDensity, TimeWeighting, path_loss, sample_time
from audiogen.generative.paths import AffinePath, Prediction
from audiogen.generative.schedules import Schedule
from audiogen.losses.spectral import MelL1Loss, MultiResolutionSTFTLoss
from audiogen.representations.base import Representation
from audiogen.sampling.grids import GRIDS, grid_from_betas
from audiogen.sampling.solvers import SOLVERS, Field
from audiogen.tasks.base import Task
from audiogen.tasks.priors import GaussianPrior, Prior


class GenerativeVocoder(Task):
    """Learns p(state | features) along an affine path; generates with any solver.

    network(x_t, t, cond) -> prediction of kind ``prediction`` shaped like x_t, where x_t is the
    state (B, state.dim, state frames) and cond the features (B, representation.dim, frames).
    A ``_partial_`` network node is completed with ``state_channels`` and ``cond_channels``.
    ``spectral_weight`` adds a multi-resolution STFT loss on the audio decoded from the
    model's clean estimate (x1-prediction with a spectral loss, in the spirit of Flow2GAN),
    ``mel_weight`` a mel L1 on it. ``path_weight`` scales the path regression itself: with an
    informative, nearly deterministic prior (:class:`GriffinLimPrior`) and ``time_density
    "start"``, ``path_weight: 0`` makes the task a one-step refiner trained only by the spectral
    losses, which do not ask the network to guess the true phase (the regression target of the
    path does, and its conditional mean is a blurred spectrum). ``residual`` (with data
    prediction and a prior with a mean) makes the network predict the clean state minus the
    start estimate: see :meth:`predict`. ``decoder`` turns a sampled state into audio when the
    state is not a waveform code (a mel state and a mel vocoder: an acoustic model such as
    units -> mel, then phase retrieval).
    """

    def __init__(self, representation: Representation, state: Representation,
                 network: Callable[..., nn.Module] | nn.Module, schedule: Schedule,
                 prediction: Prediction = "velocity",
                 prior: Prior | None = None, time_density: TimeDensity = "uniform",
                 time_weighting: TimeWeighting = "none", spectral_weight: float = 0.0,
                 mel_weight: float = 0.0, path_weight: float = 1.0, steps: int = 4,
                 solver: str = "euler", grid: str = "uniform",
                 inference_betas: list[float] | None = None, residual: bool = False,
                 decoder: Task | None = None) -> None:
        super().__init__()
        if representation.sample_rate != state.sample_rate:
            raise ConfigError(f"state sample_rate {state.sample_rate} differs from the "
                              f"representation's {representation.sample_rate}")
        if representation.hop_length % state.hop_length:
            raise ConfigError(f"representation hop {representation.hop_length} is not a "
                              f"multiple of the state hop {state.hop_length}")
        for name, value, choices in (("solver", solver, SOLVERS), ("grid", grid, GRIDS)):
            if value not in choices and not (name == "grid" and value == "betas"):
                raise ConfigError(f"unknown {name} {value!r}; choose from {', '.join(choices)}")
        if not isinstance(network, nn.Module):  # a partial: complete it with derived sizes
            network = network(state_channels=state.dim, cond_channels=representation.dim)
        self.representation, self.state, self.network = representation, state, network
        self.path = AffinePath(schedule)
        self.prediction: Prediction = prediction
        self.prior = prior if prior is not None else GaussianPrior()
        self.prior.bind(representation, state)
        if residual and (prediction != "data" or self.prior.zero_mean):
            raise ConfigError("residual: true needs prediction: data and a prior with a mean "
                              f"(the start estimate); got prediction {prediction!r} and "
                              f"{type(self.prior).__name__}")
        self.residual = residual
        if decoder is not None and decoder.representation.spec != state.spec:
            raise ConfigError(f"the decoder reads {decoder.representation.spec.get('type')!r} "
                              f"features, not the state's ({state.spec.get('type')!r}); their "
                              "specs must be equal")
        if decoder is not None and (spectral_weight or mel_weight):
            raise ConfigError("spectral_weight and mel_weight decode the state in every "
                              "training step; with a decoder (phase retrieval, a second model) "
                              "set them to 0")
        self.decoder = decoder
        self.time_density, self.time_weighting = time_density, time_weighting
        self.spectral_weight, self.mel_weight = spectral_weight, mel_weight
        self.path_weight = path_weight
        if not (path_weight or spectral_weight or mel_weight):
            raise ConfigError("path_weight, spectral_weight and mel_weight are all zero: "
                              "nothing to train")
        self.spectral_loss = MultiResolutionSTFTLoss() if spectral_weight else None
        self.mel_loss = MelL1Loss(representation) if mel_weight else None
        self.steps, self.solver, self.grid = steps, solver, grid
        self.inference_betas = inference_betas

    multi_step = True

    def phases(self) -> dict[str, nn.Module]:
        return {"model": self.network}

    @property
    def spec(self) -> dict[str, Any]:
        return {**self.representation.spec, "state": self.state.spec}

    # ------------------------------------------------------------------ training
    def _prepare(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Trim the batch's (B, 1, T) audio to whole frames; return (audio, features, state
        x_1)."""
        hop = self.representation.hop_length
        wave = batch["audio"][:, 0]
        wave = wave[:, : (wave.shape[-1] // hop) * hop]
        with torch.no_grad():
            features = self.representation.encode(wave)
            x_1 = self.state.encode(wave)
        return wave, features, x_1

    def losses(self, batch: dict[str, Any], phase: str, step: int) -> dict[str, torch.Tensor]:
        wave, features, x_1 = self._prepare(batch)
        x_0, start = self.prior.draw(features, x_1.shape)
        t = sample_time(x_1.shape[0], self.time_density, device=x_1.device)
        x_t, _ = self.path.sample(x_1, x_0, t, self.prediction)
        output = self.predict(x_t, t, features, start)
        flow = path_loss(output.float(), self.prediction, x_1, x_0, t, self.path,
                         weighting=self.time_weighting)
        result = {"path": flow}
        total = self.path_weight * flow
        if self.spectral_loss is not None or self.mel_loss is not None:
            estimate = self.finish(self.path.to_data(output.float(), self.prediction, x_t, t),
                                   features)
            audio = self.state.decode(estimate)[..., : wave.shape[-1]]
            if self.spectral_loss is not None:
                result["mrstft"] = self.spectral_loss(audio, wave)
                total = total + self.spectral_weight * result["mrstft"]
            if self.mel_loss is not None:
                result["mel_l1"] = self.mel_loss(audio, wave)
                total = total + self.mel_weight * result["mel_l1"]
        result["loss"] = total
        return result

    def predict(self, x_t: torch.Tensor, t: torch.Tensor, features: torch.Tensor,
                start: torch.Tensor | None) -> torch.Tensor:
        """The network's prediction; with ``residual`` it writes only the correction to the
        start estimate (the prior's mean), so what the start has right (e.g. the degraded
        input's phase) passes through a trunk narrower than the state."""
        output = self.network(x_t, t, features)
        if self.residual and start is not None:
            output = output + start.to(output.dtype)
        return output

    # ------------------------------------------------------------------ generation
    def times(self, steps: int, grid: str) -> torch.Tensor:
        """The integration grid: a named grid, or DiffWave's aligned inference betas."""
        if grid == "betas":
            if not self.inference_betas:
                raise ConfigError("grid 'betas' needs the task's inference_betas")
            return grid_from_betas(self.path.schedule, self.inference_betas)
        return GRIDS[grid](steps, self.path.schedule)

    @torch.no_grad()
    def synthesize(self, features: torch.Tensor, steps: int | None = None,
                   solver: str | None = None, generator: torch.Generator | None = None,
                   grid: str | None = None) -> torch.Tensor:
        """(B, C, frames) features -> (B, frames * hop) audio."""
        return self.generate(features, steps, solver, generator, grid)

    def generate(self, features: torch.Tensor, steps: int | None = None,
                 solver: str | None = None, generator: torch.Generator | None = None,
                 grid: str | None = None, noise: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`synthesize` with gradients: the unrolled sampler is differentiable, which
        few-step adversarial fine-tuning uses. ``noise`` (B, state.dim, state frames), a
        standard normal draw, replaces the start noise drawn from ``generator`` (an ONNX
        graph takes it as an input)."""
        solver_name, grid_name = solver or self.solver, grid or self.grid
        if solver_name not in SOLVERS:
            raise ConfigError(f"unknown solver {solver_name!r}; choose from "
                              f"{', '.join(SOLVERS)}")
        frames = features.shape[-1]
        length = frames * self.representation.hop_length
        shape = torch.Size((features.shape[0], self.state.dim,
                            self.state.num_frames(length)))
        x, start = self.prior.draw(features, shape, generator, noise)
        field = Field(lambda x_t, t: self.predict(x_t, t, features, start).float(), self.path,
                      self.prediction)
        times = self.times(steps or self.steps, grid_name).to(features.device)
        run = SOLVERS[solver_name]
        extra = {}
        if "prior_std" in inspect.signature(run).parameters:
            if not self.prior.zero_mean:
                raise ConfigError(f"solver {solver_name!r} injects fresh noise, which needs a "
                                  "zero-mean prior; use euler, heun, midpoint or "
                                  "dpm_solver_pp_2m")
            extra = {"prior_std": self.prior.std(features, shape)}
        x_1 = self.finish(run(field, x, times, generator, **extra), features)
        if self.decoder is not None:  # a two-stage model: the state is, e.g., a mel
            return self.decoder.synthesize(x_1, generator=generator)[..., :length]
        return self.state.decode(x_1)[..., :length]

    def finish(self, x_1: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """The sampled state before decoding; a hook for tasks that fix part of it."""
        return x_1

    @torch.no_grad()
    def validate(self, batch: dict[str, Any]) -> dict[str, Any]:
        wave, features, _ = self._prepare(batch)
        audio = self.synthesize(features)
        mel = MelL1Loss(self.representation)(audio, wave)
        return {"mel_l1": float(mel), "audio": audio[:, None]}
