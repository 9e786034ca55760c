"""Prompt-conditioned generation as a batch job: prompts in, one wav and one JSON per clip out.

Clip j of prompt i is named ``{i:03d}_{prompt words}_seed{seed}.wav`` with seed
``seed + j``; its JSON beside it records the prompt, the negative prompt, the seed and every
sampling setting, so ``--prompt P --seed S --n 1`` with those settings makes it again, and the
clip's peak before it is written as 16-bit PCM (clipped to full scale). Files are written
atomically.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from audiogen import audio
from audiogen.errors import AudiogenError, ConfigError
from audiogen.inference.synthesize import resolve_task_of
from audiogen.tasks.base import Task
from audiogen.tasks.generate import PromptToAudio
from audiogen.utils import atomic_write_json


@dataclass
class GenerateReport:
    """What a generation job wrote."""

    written: list[Path] = field(default_factory=list)
    audio_seconds: float = 0.0
    clipped: int = 0  # clips whose peak exceeded full scale (saved clipped to [-1, 1])


def prompt_generator(model: str | os.PathLike | Task, device: str = "cpu", ema: bool = True
                     ) -> PromptToAudio:
    """The prompt-conditioned task behind a name or folder; refuses other tasks."""
    return resolve_task_of(model, PromptToAudio, "a prompt-conditioned generator", device, ema)


def read_prompts(path: str | os.PathLike) -> list[str]:
    """One prompt per line; blank lines and ``#`` comments are skipped."""
    path = Path(path)
    if not path.is_file():
        raise AudiogenError(f"{path}: prompt file not found")
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    prompts = [line for line in lines if line]
    if not prompts:
        raise AudiogenError(f"{path}: no prompts (one per line)")
    return prompts


def slug(text: str) -> str:
    """``"digit=7 speaker=jackson"`` -> ``"digit7_speakerjackson"`` (safe in file names)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "", text.replace(" ", "_").replace("=", "")) or "uncond"


def generate_files(model: str | os.PathLike | Task, prompts: list[str], out: str | os.PathLike,
                   n: int = 1, steps: int | None = None, guidance: float | None = None,
                   seed: int = 0, negative_prompt: str | None = None, solver: str | None = None,
                   grid: str | None = None, device: str = "cpu", ema: bool = True,
                   batch_size: int = 16) -> GenerateReport:
    """Generate ``n`` clips per prompt into ``out``, ``batch_size`` clips at a time (a clip
    depends only on its seed, not on its batch). Every prompt is checked before anything is
    generated, so a bad one fails the job at once (a PromptError listing the valid labels)."""
    if n < 1 or batch_size < 1:
        raise ConfigError(f"--n and --batch-size must be at least 1, got {n} and {batch_size}")
    task = prompt_generator(model, device, ema)
    vocabulary = task.vocabulary
    parsed = [vocabulary.parse(prompt) for prompt in prompts]
    negative = None if negative_prompt is None else vocabulary.parse(negative_prompt)
    steps, solver, grid = steps or task.steps, solver or task.solver, grid or task.grid
    guidance = task.guidance if guidance is None else guidance
    settings = {"steps": steps, "cfg": guidance, "solver": solver, "grid": grid}
    out = Path(out)
    report = GenerateReport()
    jobs = [(index, labels, first) for index, labels in enumerate(parsed)
            for first in range(seed, seed + n, batch_size)]
    for index, labels, first in jobs:
        text = vocabulary.format(labels)
        seeds = list(range(first, min(first + batch_size, seed + n)))
        negative_ids = None if negative is None else vocabulary.encode([negative] * len(seeds))
        clips = task.generate_seeded(vocabulary.encode([labels] * len(seeds)), seeds, steps,
                                     solver, grid, guidance, negative_ids)
        for clip, clip_seed in zip(clips, seeds, strict=True):
            stem = f"{index:03d}_{slug(text)}_seed{clip_seed}"
            path = audio.save(out / f"{stem}.wav", clip[None].cpu(), task.sample_rate)
            atomic_write_json(out / f"{stem}.json", {
                "prompt": text, "labels": labels,
                "negative_prompt": None if negative is None else vocabulary.format(negative),
                "seed": clip_seed, **settings, "model": str(model),
                "sample_rate": task.sample_rate, "duration": task.duration,
                "peak": round(float(clip.abs().max()), 4)})
            report.written.append(path)
            report.clipped += bool(clip.abs().max() > 1.0)
            report.audio_seconds += clip.shape[-1] / task.sample_rate
    return report
