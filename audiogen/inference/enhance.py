"""Audio-to-audio restoration as a batch job, and chunked processing of long signals.

Inputs are read at the model's rate (a narrowband file is sinc-resampled up first, which is
what bandwidth extension starts from); outputs mirror the input names. Long signals are
restored in overlapping chunks joined by complementary fades, so memory stays bounded by the
chunk length. A failing item is reported and skipped.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from audiogen import audio
from audiogen.errors import AudiogenError, ConfigError
from audiogen.inference.inputs import list_inputs
from audiogen.inference.synthesize import resolve_model, resolve_task_of, spread
from audiogen.tasks.base import Task
from audiogen.tasks.convert import UnitConverter
from audiogen.tasks.enhance import AudioToAudio


@dataclass
class EnhanceReport:
    """What an enhancement job wrote and what it skipped (with the reason)."""

    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    audio_seconds: float = 0.0


def audio_to_audio(model: str | os.PathLike | Task, device: str = "cpu", ema: bool = True
                   ) -> AudioToAudio:
    """The audio-to-audio task behind a name, folder or YAML config; refuses other tasks."""
    return resolve_task_of(model, AudioToAudio, "an audio-to-audio model (enhancement, "
                           "bandwidth extension, codec repair)", device, ema)


@torch.no_grad()
def enhance_wave(task: AudioToAudio, wave: torch.Tensor, steps: int | None = None,
                 generator: torch.Generator | None = None, chunk_seconds: float = 10.0,
                 overlap_seconds: float = 0.5) -> torch.Tensor:
    """(B, T) -> (B, T): the whole signal when it fits in one chunk, else chunks of
    ``chunk_seconds`` overlapping by ``overlap_seconds``, cross-faded with raised-cosine fades
    (fade-out + fade-in = 1 at every overlapping sample)."""
    if overlap_seconds <= 0 or chunk_seconds <= 2 * overlap_seconds:
        raise ConfigError(f"chunk_seconds {chunk_seconds} must exceed twice overlap_seconds "
                          f"{overlap_seconds} > 0")
    rate = task.sample_rate
    chunk, overlap = int(chunk_seconds * rate), int(overlap_seconds * rate)
    length = wave.shape[-1]
    if length <= chunk:
        return task.enhance(wave, steps=steps, generator=generator)
    stride = chunk - overlap
    count = 1 + math.ceil((length - chunk) / stride)
    out = wave.new_zeros(wave.shape)
    for index in range(count):
        start = min(index * stride, length - chunk)
        piece = task.enhance(wave[..., start:start + chunk], steps=steps, generator=generator)
        weight = torch.ones(piece.shape[-1], device=wave.device)
        if index > 0:
            previous_end = min((index - 1) * stride, length - chunk) + chunk
            fade = previous_end - start  # the overlap with the previous chunk
            rising = _rising_fade(fade, wave.device)
            weight[:fade] = rising
            out[..., start:previous_end] *= 1.0 - rising
        out[..., start:start + chunk] += piece * weight
    return out


def _rising_fade(size: int, device: torch.device) -> torch.Tensor:
    """A rising raised-cosine fade of ``size`` samples (the last chunk may overlap more)."""
    return 0.5 - 0.5 * torch.cos(torch.linspace(0.0, math.pi, size, device=device))


def voice_converter(model: str | os.PathLike | Task, device: str = "cpu", ema: bool = True
                    ) -> UnitConverter:
    """The content-feature vocoder behind a name or folder, as a voice converter."""
    task = resolve_model(model, device, ema)
    return task if isinstance(task, UnitConverter) else UnitConverter(task).eval()


def enhance(model: str | os.PathLike | Task, inputs: str | os.PathLike, out: str | os.PathLike,
            steps: int | None = None, device: str = "cpu", seed: int = 0,
            chunk_seconds: float = 10.0, progress: bool = True, limit: int | None = None,
            ema: bool = True) -> EnhanceReport:
    """Restore every input to ``out/<relative name>.wav`` at the model's rate."""
    return restore_all(audio_to_audio(model, device, ema), inputs, out, steps, device, seed,
                       chunk_seconds, progress, limit, verb="enhance")


def convert(model: str | os.PathLike | Task, inputs: str | os.PathLike, out: str | os.PathLike,
            steps: int | None = None, device: str = "cpu", seed: int = 0,
            chunk_seconds: float = 10.0, progress: bool = True, limit: int | None = None,
            ema: bool = True) -> EnhanceReport:
    """Speak every input in the model's voice, to ``out/<relative name>.wav``."""
    return restore_all(voice_converter(model, device, ema), inputs, out, steps, device, seed,
                       chunk_seconds, progress, limit, verb="convert")


def restore_all(task: AudioToAudio, inputs: str | os.PathLike, out: str | os.PathLike,
                steps: int | None, device: str, seed: int, chunk_seconds: float,
                progress: bool, limit: int | None, verb: str) -> EnhanceReport:
    """Run ``task`` over every input (file, folder or manifest), mirroring names under
    ``out``; unreadable inputs are reported and skipped."""
    out = Path(out)
    report = EnhanceReport()
    generator = torch.Generator(device=device).manual_seed(seed)
    for item in tqdm(spread(list_inputs(inputs), limit), desc=verb, disable=not progress):
        if item.is_features:
            report.skipped.append((item.name, f"a feature file; {verb} reads audio"))
            continue
        try:
            wave, _ = audio.load(item.path, task.sample_rate)
        except AudiogenError as error:
            report.skipped.append((item.name, str(error)))
            continue
        try:
            restored = enhance_wave(task, wave.to(device), steps, generator, chunk_seconds)
        except AudiogenError as error:  # e.g. shorter than an SSL model's receptive field
            report.skipped.append((item.name, str(error)))
            continue
        target = out / f"{item.name}.wav"
        audio.save(target, restored.float().cpu().clamp(-1, 1), task.sample_rate)
        report.written.append(target)
        report.audio_seconds += wave.shape[-1] / task.sample_rate
    return report
