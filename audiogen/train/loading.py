"""Build tasks and rebuild trained ones: a shipped model by name, an experiment or checkpoint
folder, or the YAML config of a task that needs no training.

This is the one loader of trained things: :func:`audiogen.load` (which wraps the task for
inference), the batch front-ends (synthesis, codec tokens), the quality predictor, the
benchmarks, a task's ``init_from`` and config builders such as :func:`trained_codec` and
:func:`few_step_generator` all call :func:`load_task`. A *name* is a folder of
:data:`PRETRAINED`; the spec stored with the weights must equal the spec of the task the stored
config builds.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from audiogen import config as cfg
from audiogen.errors import AudiogenError, ConfigError
from audiogen.representations.codec import NeuralCodec
from audiogen.tasks.base import Task
from audiogen.train import checkpoint
from audiogen.utils import file_sha256

PRETRAINED = Path(__file__).resolve().parents[1] / "pretrained"

TRAINING_ONLY = ("init_from",)
"""Task arguments that only matter when training starts; a trained task is rebuilt with them
set to None (its own weights replace whatever they would load)."""


def build_task(config: dict, inference: bool = False) -> Task:
    """Instantiate the task of a config.

    A task constructed with ``init_from`` (a checkpoint or experiment path, kept as the
    attribute ``init_from``) starts from that trained task's weights, loaded by
    :func:`load_task`. ``inference=True`` builds a task whose weights come from its own
    checkpoint: the :data:`TRAINING_ONLY` arguments are set to None first.
    """
    node = config["task"]
    if inference and isinstance(node, dict):
        node = {**node, **{key: None for key in TRAINING_ONLY if key in node}}
    task = cfg.instantiate(node, where="task")
    if not isinstance(task, Task):
        raise ConfigError(f"task: {config['task'].get('_target_')} is not an audiogen Task")
    init_from = getattr(task, "init_from", None)
    if init_from is not None:
        task.load_state_dict(load_task(init_from).state_dict())
    return task


def weights_file(path: str | os.PathLike, prefer_ema: bool = True) -> Path:
    """The weights file :func:`load_task` reads (the EMA copy when saved and preferred)."""
    return checkpoint.weights_file(checkpoint.resolve(path), prefer_ema)


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
    task = build_task(config, inference=True)
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
        return build_task(cfg.load(path), inference=True).to(device).eval()
    return load_task(path, device, prefer_ema=ema)


def stored_task_class(name_or_path: str | os.PathLike) -> type | None:
    """The class of the task a name, experiment, checkpoint or YAML config builds, read from
    its config without building anything (None when the target is not a class)."""
    path = resolve(name_or_path)
    config = (cfg.load(path) if path.suffix in (".yaml", ".yml")
              else checkpoint.read_config(checkpoint.resolve(path)))
    target = (config.get("task") or {}).get("_target_")
    found = None if target is None else cfg.locate(target, "task._target_")
    return found if isinstance(found, type) else None


def trained_codec(path: str | os.PathLike, bandwidth: float | None = None,
                  device: str | torch.device = "cpu") -> NeuralCodec:
    """Loader and config builder: the codec of a trained codec experiment (or checkpoint).

    ``task.representation`` of :func:`load_task` with the raw model's weights (not an EMA
    copy: the EMA codebooks already average), at ``bandwidth`` kbps (None: all levels); its
    spec records the SHA-256 of the weights file.
    """
    task = load_task(path, device, prefer_ema=False)
    codec = getattr(task, "representation", None)
    if not isinstance(codec, NeuralCodec):
        raise ConfigError(f"{path}: task.representation is not a NeuralCodec; is this a codec "
                          "experiment?")
    codec.set_bandwidth(bandwidth)
    codec.checkpoint_sha256 = file_sha256(weights_file(path, prefer_ema=False))
    return codec.eval()


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
