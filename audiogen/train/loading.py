"""Rebuild trained tasks: a shipped model by name, an experiment or checkpoint folder, or the
YAML config of a task that needs no training.

This is the loader under :func:`audiogen.load` (which wraps the task for inference), the batch
front-ends, the benchmarks and config builders such as :func:`few_step_generator`. A *name* is a
folder of :data:`PRETRAINED`; the spec stored with the weights must equal the spec of the task
the stored config builds.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from audiogen import config as cfg
from audiogen.errors import AudiogenError, ConfigError
from audiogen.tasks.base import Task
from audiogen.train import checkpoint
from audiogen.train.experiment import build_task

PRETRAINED = Path(__file__).resolve().parents[1] / "pretrained"


def pretrained_names() -> list[str]:
    """Names of the models shipped in the package."""
    if not PRETRAINED.is_dir():
        return []
    return sorted(p.name for p in PRETRAINED.iterdir() if (p / "config.yaml").is_file())


def resolve(name_or_path: str | os.PathLike) -> Path:
    """A shipped model's folder for a name, else the path itself (which must exist)."""
    text = str(name_or_path)
    if text in pretrained_names():
        return PRETRAINED / text
    path = Path(name_or_path)
    if path.exists():
        return path
    raise AudiogenError(f"{text}: neither a shipped model ({', '.join(pretrained_names())}) "
                        f"nor an existing path")


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


def load_task_any(name_or_path: str | os.PathLike, device: str = "cpu", ema: bool = True
                  ) -> Task:
    """The task behind a name, experiment, checkpoint or training-free YAML config."""
    path = resolve(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        return build_task(cfg.load(path)).to(device).eval()
    return load_task(path, device, prefer_ema=ema)


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
