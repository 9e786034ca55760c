"""Prompt-conditioned generation: learn p(state | labels) on the generative core, sample with
classifier-free guidance, decode the state to audio.

The state is any :class:`Representation` (a log-mel now, decoded by a training-free mel
inversion or a trained vocoder; an autoencoder latent plugs in the same way). Diffusion or flow
matching follows from the schedule and prediction type alone; the network sees
(x_t, t, label ids) and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from audiogen.audio import crop_or_pad
from audiogen.errors import ConfigError
from audiogen.generative.guidance import cfg_joint
from audiogen.generative.objective import TimeDensity, TimeWeighting, path_loss, sample_time
from audiogen.generative.paths import AffinePath, Prediction
from audiogen.generative.schedules import Schedule
from audiogen.nn.labels import NULL
from audiogen.representations.base import Representation
from audiogen.sampling.grids import GRIDS
from audiogen.sampling.solvers import SOLVERS, Field
from audiogen.tasks.base import Task
from audiogen.tasks.prompts import Vocabulary


def check_sampling(solver: str, grid: str) -> None:
    """ConfigError unless ``solver`` and ``grid`` are known, listing the valid ones."""
    for name, value, choices in (("solver", solver, SOLVERS), ("grid", grid, GRIDS)):
        if value not in choices:
            raise ConfigError(f"unknown {name} {value!r}; choose from {', '.join(choices)}")


class PromptToAudio(Task):
    """Generates fixed-length clips of ``duration`` seconds from label prompts.

    ``network(x_t, t, labels) -> prediction`` with x_t (B, state.dim, frames), t (B,) and
    labels (B, L) int64 (-1: left out); a ``_partial_`` network node is completed with
    ``state_channels`` and ``label_sizes`` (from the vocabulary). The state is normalised as
    (state - state_shift) / state_scale before the path. In training each label is dropped
    (set to its null embedding) independently with probability ``label_dropout``, which
    trains the unconditional and the partially conditioned models used by guidance and by
    prompts that leave labels out. ``decoder`` turns the state into audio (a
    :class:`~audiogen.tasks.griffin_lim.GriffinLim` or a trained vocoder whose
    representation spec equals the state's); without one, ``state.decode`` does.
    ``steps``, ``solver``, ``grid`` and ``guidance`` are the default sampling settings.
    """

    multi_step = True

    def __init__(self, state: Representation, network: Callable[..., nn.Module] | nn.Module,
                 schedule: Schedule, labels: dict[str, dict], duration: float,
                 prediction: Prediction = "velocity", label_dropout: float = 0.1,
                 state_shift: float = 0.0, state_scale: float = 1.0,
                 time_density: TimeDensity = "uniform", time_weighting: TimeWeighting = "none",
                 steps: int = 16, solver: str = "euler", grid: str = "uniform",
                 guidance: float = 1.0, decoder: Task | None = None) -> None:
        super().__init__()
        check_sampling(solver, grid)
        if not 0.0 <= label_dropout <= 1.0:
            raise ConfigError(f"label_dropout must lie in [0, 1], got {label_dropout}")
        if duration <= 0 or state_scale <= 0:
            raise ConfigError("duration and state_scale must be positive")
        if decoder is not None and decoder.representation.spec != state.spec:
            raise ConfigError("the decoder reads other features than the state: their specs "
                              "must be equal")
        self.vocabulary = Vocabulary(labels)
        if not isinstance(network, nn.Module):  # a partial: complete it with derived sizes
            network = network(state_channels=state.dim, label_sizes=self.vocabulary.sizes)
        self.representation, self.state, self.network = state, state, network
        self.decoder = decoder
        self.path = AffinePath(schedule)
        self.prediction: Prediction = prediction
        self.label_dropout, self.duration = label_dropout, float(duration)
        self.state_shift, self.state_scale = state_shift, state_scale
        self.time_density, self.time_weighting = time_density, time_weighting
        self.steps, self.solver, self.grid, self.guidance = steps, solver, grid, guidance

    def phases(self) -> dict[str, nn.Module]:
        return {"model": self.network}

    @property
    def spec(self) -> dict[str, Any]:
        return {**self.state.spec, "labels": self.vocabulary.spec, "duration": self.duration}

    @property
    def num_samples(self) -> int:
        """Samples of every generated clip."""
        return round(self.duration * self.state.sample_rate)

    @property
    def state_shape(self) -> tuple[int, int]:
        """(channels, frames) of one clip's state."""
        return self.state.dim, self.state.num_frames(self.num_samples)

    # ------------------------------------------------------------------ training
    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, T) audio -> normalised state (B, dim, frames) of its first ``duration`` seconds
        (zero-padded when shorter)."""
        wave = crop_or_pad(wave, self.num_samples)
        return (self.state.encode(wave) - self.state_shift) / self.state_scale

    def losses(self, batch: dict[str, Any], phase: str, step: int) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            x_1 = self.encode(batch["audio"][:, 0])
        labels = self.vocabulary.encode_batch(batch).to(x_1.device)
        dropped = torch.rand(labels.shape, device=labels.device) < self.label_dropout
        labels = labels.masked_fill(dropped, NULL)
        x_0 = torch.randn_like(x_1)
        t = sample_time(x_1.shape[0], self.time_density, device=x_1.device)
        x_t, _ = self.path.sample(x_1, x_0, t, self.prediction)
        output = self.network(x_t, t, labels)
        loss = path_loss(output.float(), self.prediction, x_1, x_0, t, self.path,
                         weighting=self.time_weighting)
        return {"path": loss, "loss": loss}

    @torch.no_grad()
    def validate(self, batch: dict[str, Any]) -> dict[str, Any]:
        """The path loss, and audio generated for the batch's own labels."""
        losses = self.losses(batch, "model", step=-1)
        labels = self.vocabulary.encode_batch(batch).to(batch["audio"].device)
        audio = self.generate(labels)
        return {"path": float(losses["path"]), "audio": audio[:, None]}

    def synthesize(self, features: torch.Tensor, steps: int | None = None,
                   solver: str | None = None, generator: torch.Generator | None = None,
                   grid: str | None = None) -> torch.Tensor:
        raise ConfigError("a prompt-conditioned generator takes prompts, not features: use "
                          "'audiogen generate MODEL --prompt ...' or audiogen.load(...).generate")

    # ------------------------------------------------------------------ generation
    def sample(self, labels: torch.Tensor, noise: torch.Tensor | None = None,
               steps: int | None = None, solver: str | None = None, grid: str | None = None,
               guidance: float | None = None, negative: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Integrate from noise to a state (B, dim, frames), in the state's own units.

        labels: (B, L) ids (-1 left out). ``noise`` (B, dim, frames), standard normal, is the
        start (else drawn from ``generator``). Classifier-free guidance with scale
        ``guidance`` (:func:`audiogen.generative.guidance.cfg`) pushes away from the
        prediction for ``negative`` (B, L), a negative prompt; by default every label left out
        (the unconditional model). Scale 1 is the conditional model alone.
        """
        solver, grid = solver or self.solver, grid or self.grid
        check_sampling(solver, grid)
        device = next(self.network.parameters()).device
        labels = labels.to(device)
        if noise is None:
            noise = torch.randn((labels.shape[0], *self.state_shape), generator=generator,
                                device=device)
        away = torch.full_like(labels, NULL) if negative is None else negative.to(device)

        def prediction(x_t: torch.Tensor, t: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
            return self.network(x_t, t, ids).float()

        # both branches of the guidance in one network call of twice the batch
        guided = cfg_joint(prediction, self.guidance if guidance is None else guidance, away)
        field = Field(lambda x_t, t: guided(x_t, t, labels), self.path, self.prediction)
        times = GRIDS[grid](steps or self.steps, self.path.schedule).to(device)
        x_1 = SOLVERS[solver](field, noise.to(device).float(), times, generator)
        return x_1 * self.state_scale + self.state_shift

    def decode(self, state: torch.Tensor, generator: torch.Generator | None = None
               ) -> torch.Tensor:
        """State (B, dim, frames) -> audio (B, num_samples)."""
        if self.decoder is not None:
            audio = self.decoder.synthesize(state, generator=generator)
        else:
            audio = self.state.decode(state)
        return crop_or_pad(audio, self.num_samples)

    @torch.no_grad()
    def generate(self, labels: torch.Tensor, noise: torch.Tensor | None = None,
                 steps: int | None = None, solver: str | None = None, grid: str | None = None,
                 guidance: float | None = None, negative: torch.Tensor | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """:meth:`sample` then :meth:`decode`: labels (B, L) -> audio (B, num_samples)."""
        state = self.sample(labels, noise, steps, solver, grid, guidance, negative, generator)
        return self.decode(state, generator)

    @torch.no_grad()
    def generate_seeded(self, labels: torch.Tensor, seeds: Iterable[int],
                        steps: int | None = None, solver: str | None = None,
                        grid: str | None = None, guidance: float | None = None,
                        negative: torch.Tensor | None = None) -> torch.Tensor:
        """One clip per row of labels (B, L), clip i from ``seeds[i]`` alone: its start noise
        is drawn from that seed and it is decoded with it, so a clip does not depend on the
        others in the batch (up to float rounding; ddpm's fresh noise comes from the first
        seed) -> audio (B, num_samples)."""
        seeds = [int(seed) for seed in seeds]
        if len(seeds) != labels.shape[0]:
            raise ConfigError(f"{len(seeds)} seeds for {labels.shape[0]} prompts")
        noise = torch.stack([torch.randn(self.state_shape,
                                         generator=torch.Generator().manual_seed(seed))
                             for seed in seeds])
        device = next(self.network.parameters()).device
        state = self.sample(labels, noise, steps, solver, grid, guidance, negative,
                            torch.Generator(device).manual_seed(seeds[0]))
        return torch.cat([self.decode(state[i:i + 1],
                                      torch.Generator(state.device).manual_seed(seed))
                          for i, seed in enumerate(seeds)])
