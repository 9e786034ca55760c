"""Sanity checks that catch a broken vocoder field: one time convention from the training loss
to the sampler, and a memorised utterance whose sampling error falls as solver steps rise."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.tasks.test_vocoder_tasks import speech_like, tiny

GAUSSIAN = "task.prior={_target_: audiogen.tasks.priors.GaussianPrior}"
# The field alone is trained, on a small STFT (33 bins): the network's width must exceed the
# state's channels to carry x_t through, which the exact field of a point mass needs.
PATH_ONLY = ["task.spectral_weight=0", "task.mel_weight=0", "task.representation.n_fft=64",
             "task.representation.hop_length=16", "task.representation.n_mels=16",
             "task.network.dim=96", "task.network.intermediate_dim=192"]
# (config, overrides, solver, grid): the flow path (CondOT, velocity) and the diffusion path
# (discrete VP betas, eps prediction) sampled with DDIM.
PATHS = {
    "flow": ("fm_mel/debug.yaml", [GAUSSIAN, "task.time_density=uniform"], "euler",
             "uniform"),
    "diffusion": ("diffusion_mel/debug.yaml", [], "ddim", "log_snr"),
}
# The same diffusion path (VP, eps prediction, DDIM) on the spectral state, which a tiny network
# memorises in seconds (the waveform WaveNet needs minutes).
MEMORISED = {
    "flow": ("fm_mel/debug.yaml", [GAUSSIAN, "task.time_density=uniform", *PATH_ONLY],
             "euler", "uniform"),
    "diffusion": ("fm_mel/debug.yaml",
                  [GAUSSIAN, "task.time_density=uniform", "task.prediction=eps", *PATH_ONLY,
                   "task.schedule={_target_: audiogen.generative.schedules.linear_discrete_vp}"],
                  "ddim", "log_snr"),
}


class Oracle(nn.Module):
    """The exact prediction for a point mass at ``x_1``: the data estimate is x_1 everywhere,
    converted to the task's prediction kind through its own path."""

    def __init__(self, task: nn.Module, x_1: torch.Tensor, flip: bool = False) -> None:
        super().__init__()
        self.path, self.prediction, self.x_1, self.flip = task.path, task.prediction, x_1, flip

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        t = (1 - t if self.flip else t).clamp(max=1 - 1e-6).reshape(-1, *([1] * (x_t.dim() - 1)))
        return self.path.convert(self.x_1.expand_as(x_t), "data", self.prediction, x_t, t)


@pytest.mark.parametrize("name", sorted(PATHS))
def test_training_loss_and_sampler_share_one_time_convention(name: str) -> None:
    """With the exact field of a point mass the path loss is zero, and every step count lands
    on the data: t, x_t and the target follow the same convention in training and sampling."""
    path, overrides, solver, grid = PATHS[name]
    task = tiny(path, *overrides)
    wave, features, x_1 = task._prepare({"audio": speech_like(1, 0.25)})
    task.network = Oracle(task, x_1)
    losses = task.losses({"audio": wave[:, None]}, "model", step=0)
    assert float(losses["path"]) < 1e-6
    # A wrong convention (the oracle for t -> 1 - t) is caught by the same loss.
    task.network = Oracle(task, x_1, flip=True)
    assert float(task.losses({"audio": wave[:, None]}, "model", step=0)["path"]) > 1e-2
    task.network = Oracle(task, x_1)
    # A discrete VP schedule keeps its first beta's noise at t = 1: the sample lands within it.
    sigma_end = float(task.path.coefficients(torch.tensor(1.0), x_1)[1])
    for steps in (1, 2, 4, 8):
        audio = task.synthesize(features, steps=steps, solver=solver, grid=grid,
                                generator=torch.Generator().manual_seed(steps))
        error = (audio - wave).abs().max() / wave.abs().max()
        assert error < 1e-3 + sigma_end, (steps, float(error), sigma_end)


@pytest.mark.parametrize("name", sorted(MEMORISED))
def test_memorised_utterance_sampling_error_falls_as_steps_rise(name: str) -> None:
    """A tiny model trained on one short utterance: its samples get closer to that utterance
    as the number of solver steps rises (1 >= 2 >= 4 >= 8, with 5 % slack), and 8 steps land
    at most half as far from it as the prior's samples."""
    path, overrides, solver, grid = MEMORISED[name]
    task = tiny(path, *overrides)
    batch = {"audio": speech_like(1, 0.25).expand(4, 1, -1).contiguous()}
    wave, features, x_1 = task._prepare({"audio": batch["audio"][:1]})
    optimizer = torch.optim.Adam(task.network.parameters(), lr=3e-3)
    torch.manual_seed(0)
    for step in range(250):
        optimizer.zero_grad()
        task.losses(batch, "model", step)["loss"].backward()
        optimizer.step()
    task.eval()
    x_0 = task.prior.sample(features, x_1.shape, torch.Generator().manual_seed(0))
    prior_error = float((x_0 - x_1).square().mean() / x_1.square().mean())
    errors = []
    for steps in (1, 2, 4, 8):
        generator = torch.Generator().manual_seed(0)
        audio = task.synthesize(features, steps=steps, solver=solver, grid=grid,
                                generator=generator)
        state = task.state.encode(audio)[..., : x_1.shape[-1]]
        errors.append(float((state - x_1).square().mean() / x_1.square().mean()))
    for fewer, more in zip(errors, errors[1:]):
        assert more <= 1.05 * fewer, errors
    assert errors[-1] < 0.5 * prior_error, (errors, prior_error)
