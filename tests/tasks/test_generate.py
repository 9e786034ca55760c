"""The prompt-conditioned generation task on the generative core: label dropout in training,
classifier-free guidance (scale 1 is the conditional model; negative prompts replace the
unconditional branch), seeds, fixed-length clips and the decoder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from audiogen import config as cfg
from audiogen.errors import ConfigError
from audiogen.generative.schedules import CondOT, VPCosine
from audiogen.models.dit import DiT
from audiogen.representations.spectral import LogMel
from audiogen.tasks.generate import PromptToAudio
from audiogen.tasks.griffin_lim import GriffinLim
from audiogen.train.loading import build_task

LABELS = {"digit": {"field": "label", "values": [0, 1, 2]},
          "speaker": {"values": ["george", "jackson"]}}


def mel() -> LogMel:
    return LogMel(8000, n_fft=128, hop_length=32, n_mels=16)


def tiny_task(**changes) -> PromptToAudio:
    torch.manual_seed(0)
    arguments = dict(state=mel(), network=lambda **sizes: DiT(**sizes, dim=16, depth=1, heads=2),
                     schedule=CondOT(), labels=LABELS, duration=0.1, state_shift=-6.0,
                     state_scale=3.0, steps=3,
                     decoder=GriffinLim(mel(), n_iter=2, method="mel_consistent",
                                        phase_init="pghi"))
    task = PromptToAudio(**{**arguments, **changes})
    with torch.no_grad():  # a trained-looking network: the zero-initialised gates moved
        for parameter in task.network.parameters():
            parameter.add_(0.2 * torch.randn_like(parameter))
    return task.eval()


def batch(count: int = 4) -> dict:
    generator = torch.Generator().manual_seed(1)
    return {"audio": 0.1 * torch.randn(count, 1, 1200, generator=generator),
            "ids": [f"u{i}" for i in range(count)],
            "speakers": ["george", "jackson"] * (count // 2), "labels": [0, 1, 2, 0][:count],
            "extras": [{}] * count}


class Recorder(torch.nn.Module):
    """A network that records the label ids it sees and predicts zeros."""

    def __init__(self, state_channels: int, label_sizes: list[int]) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(()))
        self.seen: list[torch.Tensor] = []

    def forward(self, x_t, t, labels):
        self.seen.append(labels.clone())
        return x_t * self.weight


@pytest.mark.parametrize("dropout,expected", [(0.0, [[0, 0], [1, 1], [2, 0], [0, 1]]),
                                              (1.0, [[-1, -1]] * 4)])
def test_training_drops_labels_with_the_configured_probability(dropout, expected) -> None:
    task = tiny_task(network=Recorder, label_dropout=dropout)
    task.losses(batch(), "model", step=0)
    assert task.network.seen[-1].tolist() == expected


def test_labels_are_dropped_independently() -> None:
    task = tiny_task(network=Recorder, label_dropout=0.5)
    torch.manual_seed(0)
    for _ in range(50):
        task.losses(batch(), "model", step=0)
    dropped = torch.stack(task.network.seen) == -1  # (50, 4, 2)
    rate = dropped.float().mean()
    both = (dropped[..., 0] & dropped[..., 1]).float().mean()
    assert 0.4 < rate < 0.6 and 0.15 < both < 0.35  # independent: P(both) = 0.25, not 0.5


@pytest.mark.parametrize("prediction,schedule", [("velocity", CondOT()), ("eps", VPCosine()),
                                                 ("v", VPCosine())])
def test_loss_trains_the_network(prediction, schedule) -> None:
    task = tiny_task(prediction=prediction, schedule=schedule).train()
    losses = task.losses(batch(), "model", step=0)
    assert set(losses) == {"path", "loss"} and losses["loss"].ndim == 0
    losses["loss"].backward()
    assert all(p.grad is not None for p in task.network.parameters())


def euler_by_hand(task: PromptToAudio, noise, velocity, steps: int) -> torch.Tensor:
    """The Euler integration of ``velocity(x, t)`` written out, in state units."""
    x = noise.clone()
    for i in range(steps):
        t = torch.full((x.shape[0],), i / steps)
        x = x + velocity(x, t) / steps
    return x * task.state_scale + task.state_shift


def test_guidance_scale_one_is_the_conditional_model() -> None:
    task = tiny_task()
    labels = task.vocabulary.encode(["digit=2 speaker=jackson", "digit=1"])
    noise = torch.randn(2, *task.state_shape, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = euler_by_hand(task, noise, lambda x, t: task.network(x, t, labels), 3)
        sampled = task.sample(labels, noise, steps=3, solver="euler", guidance=1.0)
        guided = task.sample(labels, noise, steps=3, solver="euler", guidance=3.0)
    assert torch.allclose(sampled, expected, atol=1e-5)
    assert not torch.allclose(guided, expected, atol=1e-3)


def test_guidance_pushes_away_from_the_negative_prompt() -> None:
    task = tiny_task()
    labels = task.vocabulary.encode(["digit=2 speaker=jackson"])
    negative = task.vocabulary.encode(["digit=0 speaker=george"])
    unconditional = torch.full_like(labels, -1)
    noise = torch.randn(1, *task.state_shape, generator=torch.Generator().manual_seed(4))

    def guided_by(away):
        def velocity(x, t):
            u_away = task.network(x, t, away)
            return u_away + 2.5 * (task.network(x, t, labels) - u_away)
        return velocity

    with torch.no_grad():
        expected = euler_by_hand(task, noise, guided_by(negative), 3)
        plain = euler_by_hand(task, noise, guided_by(unconditional), 3)
        sampled = task.sample(labels, noise, steps=3, solver="euler", guidance=2.5,
                              negative=negative)
        default = task.sample(labels, noise, steps=3, solver="euler", guidance=2.5)
    assert torch.allclose(sampled, expected, atol=1e-5)
    assert torch.allclose(default, plain, atol=1e-5)
    assert not torch.allclose(sampled, default, atol=1e-3)


def test_seeds_reproduce_clips_and_fix_their_length() -> None:
    task = tiny_task()
    labels = task.vocabulary.encode(["digit=1"] * 3)
    first = task.generate_seeded(labels, [0, 1, 2], steps=2)
    again = task.generate_seeded(labels, [0, 1, 2], steps=2)
    assert first.shape == (3, 800) and torch.equal(first, again)
    assert not torch.allclose(first[0], first[1], atol=1e-4)
    alone = task.generate_seeded(labels[:1], [1], steps=2)  # clip 1 does not need its batch
    assert torch.allclose(alone[0], first[1], atol=1e-5 * float(first.abs().max()))
    with pytest.raises(ConfigError, match="2 seeds for 3 prompts"):
        task.generate_seeded(labels, [0, 1])


def test_training_clips_are_padded_or_cut_to_the_duration() -> None:
    task = tiny_task()
    short, long = torch.randn(1, 300), torch.randn(1, 2000)
    frames = task.state_shape[1]
    assert task.encode(short).shape[-1] == task.encode(long).shape[-1] == frames
    assert torch.allclose(task.encode(long), task.encode(long[:, :800]))


def test_a_decoder_must_read_the_state() -> None:
    with pytest.raises(ConfigError, match="decoder reads other features"):
        tiny_task(decoder=GriffinLim(LogMel(8000, n_fft=256, hop_length=64, n_mels=16)))
    with pytest.raises(ConfigError, match="prompts, not features"):
        tiny_task().synthesize(torch.zeros(1, 16, 10))


@pytest.mark.parametrize("variant", ["config.yaml", "diffusion.yaml", "convnext.yaml"])
def test_recipe_variants_train_and_sample(variant: str) -> None:
    """Flow matching, diffusion and the ConvNeXt baseline: the recipe's configs (at the debug
    network size) build, take a gradient and generate clips of the configured length."""
    recipe = Path(__file__).resolve().parents[2] / "recipes" / "generate" / "digits"
    config = cfg.merge(cfg.load(recipe / variant), {"task": {"decoder": {"n_iter": 2}}})
    network = config["task"]["network"]
    small = ({"dim": 16, "depth": 1, "heads": 2} if network["_target_"].endswith("DiT")
             else {"dim": 16, "intermediate_dim": 32, "num_layers": 1})
    config["task"]["network"] = {**network, **small}
    torch.manual_seed(0)
    task = build_task(config)
    assert isinstance(task, PromptToAudio) and task.state_shape == (64, 125)  # 8000 samples, hop 64
    wave = 0.1 * torch.randn(2, 1, 6000)
    batch = {"audio": wave, "ids": ["a", "b"], "speakers": ["theo", "lucas"],
             "labels": [9, 4], "extras": [{}, {}]}
    task.losses(batch, "model", step=0)["loss"].backward()
    audio = task.eval().generate_seeded(task.vocabulary.encode(["digit=4", "speaker=theo"]),
                                        [0, 1], steps=2)
    assert audio.shape == (2, 8000) and torch.isfinite(audio).all()
