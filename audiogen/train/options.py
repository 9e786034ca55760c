"""Typed option groups of a training run; their fields are the config schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class DataOptions:
    """Training and validation data; audio is read at the task representation's sample rate."""

    train: str | list[str]
    valid: str | list[str] | None = None
    segment_seconds: float = 1.0
    batch_size: int = 16
    num_workers: int = 0
    valid_items: int = 8
    degrade: dict | None = None  # a Degradation node: audio-to-audio tasks train on its output
    speakers: list[str] | None = None  # only these speakers' utterances (one-voice models)


@dataclass(frozen=True)
class OptimizerOptions:
    """AdamW and its learning-rate schedule (linear warm-up, then constant/cosine/exponential)."""

    lr: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    warmup_steps: int = 0
    schedule: Literal["constant", "cosine", "exponential"] = "constant"
    decay_per_step: float = 0.99999
    min_lr_ratio: float = 0.0
    phase_lr: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainerOptions:
    """Loop control, precision, EMA, logging and checkpoint cadence."""

    max_steps: int = 1000
    max_minutes: float | None = None
    grad_accum: int = 1
    clip_grad_norm: float | None = 1.0
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    ema_decay: float | None = None
    log_every: int = 10
    valid_every: int = 500
    save_every: int = 500
    keep_last: int = 3
    seed: int = 0
    num_threads: int | None = None
    progress: bool = True
