"""Build a training run from a resolved config, and load trained tasks for inference.

An experiment config has four sections: ``task`` (a ``_target_`` node), ``data``, ``optimizer``
and ``trainer`` (fields of :mod:`audiogen.train.options`).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from audiogen import config as cfg
from audiogen.errors import ConfigError
from audiogen.tasks.base import Task
from audiogen.train import checkpoint
from audiogen.train.options import DataOptions, OptimizerOptions, TrainerOptions

SECTIONS = {"task": None, "data": DataOptions, "optimizer": OptimizerOptions,
            "trainer": TrainerOptions}


def check_sections(config: dict) -> None:
    """Refuse unknown top-level keys and a missing ``task``."""
    for key in config:
        if key not in SECTIONS:
            raise ConfigError(f"config: unknown section {key!r}; valid sections: "
                              f"{', '.join(SECTIONS)}")
    if "task" not in config:
        raise ConfigError("config: missing section 'task'")


def build_task(config: dict) -> Task:
    """Instantiate the task of a config."""
    task = cfg.instantiate(config["task"], where="task")
    if not isinstance(task, Task):
        raise ConfigError(f"task: {config['task'].get('_target_')} is not an audiogen Task")
    return task


def train(config: dict, exp_dir: str | os.PathLike) -> dict[str, float]:
    """Train (or resume) the experiment described by ``config`` in ``exp_dir``."""
    from audiogen.train.trainer import Trainer

    check_sections(config)
    data = cfg.build(DataOptions, dict(config.get("data") or {}), where="data")
    optim_args = dict(config.get("optimizer") or {})
    if "betas" in optim_args:
        optim_args["betas"] = tuple(optim_args["betas"])
    optimizer = cfg.build(OptimizerOptions, optim_args, where="optimizer")
    options = cfg.build(TrainerOptions, dict(config.get("trainer") or {}), where="trainer")
    exp_dir = Path(exp_dir)
    torch.manual_seed(options.seed)
    task = build_task(config)
    trainer = Trainer(task, data, optimizer, options, exp_dir, config)
    if trainer.is_main:
        exp_dir.mkdir(parents=True, exist_ok=True)
        cfg.dump(config, exp_dir / "config.yaml")
    return trainer.fit()


def load_task(path: str | os.PathLike, device: str | torch.device = "cpu",
              prefer_ema: bool = True) -> Task:
    """Rebuild a trained task from a checkpoint or experiment directory (no training stack).

    The spec stored with the weights must equal the spec of the task the config builds.
    """
    directory = checkpoint.resolve(path)
    config = checkpoint.read_config(directory)
    task = build_task(config)
    checkpoint.check_compatible(directory, task.spec)
    if task.state_dict() or (directory / "model.safetensors").is_file():
        weights = checkpoint.load_weights(directory, prefer_ema=False)
        if prefer_ema:
            weights.update(checkpoint.load_weights(directory, prefer_ema=True))
        task.load_state_dict(weights)
    # else: a task with no state (e.g. a shipped training-free inversion) is its config + spec
    return task.to(device).eval()


def few_step_generator(checkpoint: str, steps: int = 1, solver: str = "euler",
                       ema: bool = True) -> nn.Module:
    """Builder for configs: a trained flow/diffusion vocoder (its EMA weights, or the raw
    model's with ``ema: false``) as a few-step generator to fine-tune adversarially."""
    from audiogen.tasks.few_step import FewStepGenerator
    from audiogen.tasks.vocoder import GenerativeVocoder

    teacher = load_task(checkpoint, prefer_ema=ema)
    if not isinstance(teacher, GenerativeVocoder):
        raise ConfigError(f"{checkpoint}: a few-step generator needs a flow or diffusion "
                          f"vocoder, not {type(teacher).__name__}")
    return FewStepGenerator(teacher.train(), steps, solver)
