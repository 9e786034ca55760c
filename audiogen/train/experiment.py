"""Build a training run from a resolved config and train it.

An experiment config has four sections: ``task`` (a ``_target_`` node), ``data``, ``optimizer``
and ``trainer`` (fields of :mod:`audiogen.train.options`), and optionally ``vars``: free values
that other sections reference as ``${vars.name}`` (a path a recipe overrides once, such as the
noise corpus that a degradation deep inside ``data.degrade`` reads). Trained tasks are loaded
back by :mod:`audiogen.train.loading`, which also builds the task (:func:`build_task`,
re-exported here).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from audiogen import config as cfg
from audiogen.errors import ConfigError
from audiogen.train.loading import build_task
from audiogen.train.options import DataOptions, OptimizerOptions, TrainerOptions

__all__ = ["SECTIONS", "build_task", "check_sections", "train"]

SECTIONS = {"task": None, "data": DataOptions, "optimizer": OptimizerOptions,
            "trainer": TrainerOptions, "vars": None}


def check_sections(config: dict) -> None:
    """Refuse unknown top-level keys and a missing ``task``."""
    for key in config:
        if key not in SECTIONS:
            raise ConfigError(f"config: unknown section {key!r}; valid sections: "
                              f"{', '.join(SECTIONS)}")
    if "task" not in config:
        raise ConfigError("config: missing section 'task'")


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
