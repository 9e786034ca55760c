"""Copy-synthesis and generation from saved features with a trained vocoder, as a batch job.

Audio inputs are encoded with the model's own representation (resampled to its rate);
feature inputs must carry the model's spec. A failing item is reported and skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from tqdm import tqdm

from audiogen import audio
from audiogen.data.dataset import bucket_by_length
from audiogen.errors import AudioError, AudiogenError, ConfigError
from audiogen.inference.feature_files import FEATURE_SUFFIX, load_features, save_features
from audiogen.inference.inputs import Item, list_inputs
from audiogen.representations.base import check_spec
from audiogen.tasks.base import Task

TaskT = TypeVar("TaskT", bound=Task)


@dataclass
class SynthesisReport:
    """What a synthesis job wrote and what it skipped (with the reason)."""

    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    audio_seconds: float = 0.0


def resolve_model(model: str | os.PathLike | Task, device: str, ema: bool = True) -> Task:
    """A task object, a shipped model's name, a trained experiment/checkpoint folder, or a YAML
    config of a task that needs no training (e.g. Griffin-Lim)."""
    from audiogen.train.loading import load_task_any

    task = model if isinstance(model, Task) else load_task_any(model, device, ema)
    return task.to(device).eval()


def resolve_task_of(model: str | os.PathLike | Task, kind: type[TaskT], description: str,
                    device: str = "cpu", ema: bool = True) -> TaskT:
    """:func:`resolve_model`, refusing a task that is not a ``kind`` with "MODEL: Class is not
    ``description``"."""
    task = resolve_model(model, device, ema)
    if not isinstance(task, kind):
        raise ConfigError(f"{model}: {type(task).__name__} is not {description}")
    return task


def features_of(task: Task, item: Item, device: torch.device) -> torch.Tensor:
    """(1, dim, frames) features of an input, computed or loaded and checked."""
    if item.is_features:
        array, spec = load_features(item.path)
        check_spec(task.representation.spec, spec, what=f"features in {item.path}")
        if not np.isfinite(array).all():
            raise AudioError(item.path, "features contain NaN or Inf")
        return torch.from_numpy(np.asarray(array, dtype=np.float32))[None].to(device)
    wave, _ = audio.load(item.path, task.sample_rate)
    spec = task.representation.spec
    minimum = max(task.representation.hop_length, int(spec.get("n_fft", 0)))
    if wave.shape[-1] < minimum:  # too short to frame: zero-pad to one analysis window
        wave = audio.crop_or_pad(wave, minimum)
    with torch.no_grad():
        return task.representation.encode(wave.to(device))


def synthesize(model: str | os.PathLike | Task, inputs: str | os.PathLike,
               out: str | os.PathLike, steps: int | None = None, solver: str | None = None,
               grid: str | None = None, device: str = "cpu", batch_size: int = 1, seed: int = 0,
               progress: bool = True, limit: int | None = None, ema: bool = True
               ) -> SynthesisReport:
    """Vocode every input to ``out/<relative name>.wav``; returns what was written/skipped."""
    task = resolve_model(model, device, ema)
    out = Path(out)
    items = spread(list_inputs(inputs), limit)
    report = SynthesisReport()
    generator = torch.Generator(device=device).manual_seed(seed)
    batches = _batches(items, batch_size)
    with tqdm(total=len(items), desc="synthesize", disable=not progress) as bar:
        for batch in batches:
            loaded = []
            for item in batch:
                try:
                    loaded.append((item, features_of(task, item, torch.device(device))))
                except AudiogenError as error:
                    report.skipped.append((item.name, str(error)))
            if loaded:
                _vocode(task, loaded, out, generator, report, steps=steps, solver=solver,
                        grid=grid)
            bar.update(len(batch))
    return report


def extract_features(model: str | os.PathLike | Task, inputs: str | os.PathLike,
                     out: str | os.PathLike) -> tuple[int, list[tuple[str, str]]]:
    """Save the model's conditioning features of every audio input as ``out/<name>.npz``."""
    task = resolve_model(model, "cpu")
    skipped: list[tuple[str, str]] = []
    written = 0
    for item in tqdm(list_inputs(inputs), desc="extract"):
        try:
            features = features_of(task, item, torch.device("cpu"))
        except AudiogenError as error:
            skipped.append((item.name, str(error)))
            continue
        save_features(Path(out) / f"{item.name}{FEATURE_SUFFIX}", features[0],
                      task.representation.spec)
        written += 1
    return written, skipped


def spread(items: list[Item], limit: int | None) -> list[Item]:
    """At most ``limit`` items evenly spaced over the list (every speaker of a sorted split)."""
    if limit is None or limit >= len(items):
        return items
    return [items[(index * len(items)) // limit] for index in range(limit)]


def _batches(items: list[Item], size: int) -> list[list[Item]]:
    """Batches of similar length (audio header sizes), so equal-length groups form."""
    if size <= 1:
        return [[item] for item in items]
    lengths = []
    for item in items:
        try:
            lengths.append(0 if item.is_features else audio.info(item.path)[1])
        except AudiogenError:
            lengths.append(0)  # unreadable: it fails and is reported when loaded
    return [[items[i] for i in group] for group in bucket_by_length(lengths, size)]


def _vocode(task: Task, loaded: list[tuple[Item, torch.Tensor]], out: Path,
            generator: torch.Generator, report: SynthesisReport, **options: object) -> None:
    """Vocode a bucket: features edge-padded to the longest item, outputs trimmed back."""
    frames = [features.shape[-1] for _, features in loaded]
    longest = max(frames)
    batch = torch.cat([torch.nn.functional.pad(f, (0, longest - f.shape[-1]), mode="replicate")
                       for _, f in loaded])
    waves = task.synthesize(batch, generator=generator, **options)  # type: ignore[arg-type]
    hop = task.representation.hop_length
    for (item, _), wave, count in zip(loaded, waves, frames):
        target = out / f"{item.name}.wav"
        clip = wave[: count * hop].float().cpu().clamp(-1, 1)[None]
        audio.save(target, clip, task.sample_rate)
        report.written.append(target)
        report.audio_seconds += clip.shape[-1] / task.sample_rate
