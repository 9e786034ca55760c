"""The public Python API: ``audiogen.load(name_or_path)`` returns an inference object.

```python
import audiogen
vocoder = audiogen.load("mel-consistent-16k")
wave = vocoder(vocoder.encode(audio))
```

A *name* is a folder of :data:`PRETRAINED` (``config.yaml``, ``meta.json`` with the feature
spec, and for trained models an fp16 ``model.safetensors``, with a ``README.md`` model card);
a *path* is an experiment folder, a checkpoint folder, or the YAML config of a model that needs
no training (resolved and rebuilt by :mod:`audiogen.train.loading`). Only the parts that
generate audio are kept: a GAN's discriminators are dropped. A codec experiment loads as a
:class:`Codec` (tokens and back) and a quality-predictor checkpoint as a
:class:`QualityEstimator` (audio -> predicted PESQ-wb, STOI, MOS).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from audiogen.representations.codec import NeuralCodec
from audiogen.representations.units import META as KMEANS_META
from audiogen.representations.units import UnitRepresentation, load_units
from audiogen.tasks.base import Task
from audiogen.tasks.codec import CodecTask
from audiogen.tasks.enhance import AudioToAudio
from audiogen.tasks.generate import PromptToAudio
from audiogen.tasks.quality import TARGETS, QualityPrediction
from audiogen.train.loading import (
    PRETRAINED,
    load_task_any,
    pretrained_names,
    resolve,
    stored_task_class,
    trained_codec,
)

__all__ = ["PRETRAINED", "Codec", "Enhancer", "Generator", "InferenceModel", "QualityEstimator",
           "Sampling", "Units", "Vocoder", "export_pretrained", "load", "load_converter",
           "load_task_any", "pretrained_names", "resolve"]


@dataclass(frozen=True)
class Sampling:
    """How a generative model samples: solver steps, solver, time grid and seed (None keeps
    the model's own settings)."""

    steps: int | None = None
    solver: str | None = None
    grid: str | None = None
    seed: int = 0


class InferenceModel:
    """What every object :func:`load` returns shares: the wrapped module (in eval mode), its
    :attr:`sample_rate` and its feature :attr:`spec`."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.module = module.eval()

    @property
    def sample_rate(self) -> int:
        return int(self.module.sample_rate)  # type: ignore[arg-type]

    @property
    def spec(self) -> dict[str, Any]:
        return dict(self.module.spec)  # type: ignore[arg-type]


def _batch(wave: torch.Tensor) -> torch.Tensor:
    wave = torch.as_tensor(wave, dtype=torch.float32)
    return wave[None] if wave.dim() == 1 else wave


class Vocoder(InferenceModel):
    """Inference wrapper around a trained (or training-free) vocoder task.

    ``encode(wave)``: (T,) or (B, T) audio at :attr:`sample_rate` -> (B, dim, frames) features;
    ``__call__(features, sampling)``: features -> (B, frames * hop) audio;
    ``resynthesize(wave)``: both in one call.
    """

    def __init__(self, task: Task, sampling: Sampling = Sampling()) -> None:
        super().__init__(task)
        self.task = task
        self.sampling = sampling

    @torch.no_grad()
    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        return self.task.representation.encode(_batch(wave))

    @torch.no_grad()
    def __call__(self, features: torch.Tensor, sampling: Sampling | None = None
                 ) -> torch.Tensor:
        sampling = sampling or self.sampling
        generator = torch.Generator(device=features.device).manual_seed(sampling.seed)
        return self.task.synthesize(features, steps=sampling.steps, solver=sampling.solver,
                                    generator=generator, grid=sampling.grid)

    def resynthesize(self, wave: torch.Tensor, sampling: Sampling | None = None
                     ) -> torch.Tensor:
        return self(self.encode(wave), sampling)

    def with_sampling(self, **changes: Any) -> Vocoder:
        """The same model with other sampling settings (fields of :class:`Sampling`)."""
        return Vocoder(self.task, replace(self.sampling, **changes))

    def stream(self, chunks: Iterable[torch.Tensor]) -> Iterator[torch.Tensor]:
        """Streaming synthesis (:mod:`audiogen.inference.streaming`): feature chunks
        (B, dim, n_i) -> audio chunks (B, samples), one per chunk and a last one at the end,
        together equal to ``self(features)`` up to float rounding. Only one-step frame
        vocoders stream; any other model raises an :class:`AudiogenError` saying why."""
        from audiogen.inference.streaming import stream, streamable_generator

        return stream(streamable_generator(self.task), chunks)


class Enhancer(InferenceModel):
    """Inference wrapper around an audio-to-audio model (denoiser, bandwidth extender, codec
    repair): ``__call__(wave, sample_rate=None)`` with (T,) or (B, T) audio -> (B, T) restored
    audio at :attr:`sample_rate`; input at another ``sample_rate`` is resampled first (sinc).
    Signals longer than ``chunk_seconds`` are restored in overlapping chunks."""

    def __init__(self, task: AudioToAudio, sampling: Sampling = Sampling(),
                 chunk_seconds: float = 10.0) -> None:
        super().__init__(task)
        self.task, self.sampling, self.chunk_seconds = task, sampling, chunk_seconds

    @torch.no_grad()
    def __call__(self, wave: torch.Tensor, sample_rate: int | None = None) -> torch.Tensor:
        from audiogen.audio import resample
        from audiogen.inference.enhance import enhance_wave

        wave = _batch(wave)
        if sample_rate is not None and sample_rate != self.sample_rate:
            wave = resample(wave, sample_rate, self.sample_rate)
        generator = torch.Generator(device=wave.device).manual_seed(self.sampling.seed)
        return enhance_wave(self.task, wave, self.sampling.steps, generator, self.chunk_seconds)


class Generator(InferenceModel):
    """Inference wrapper around a prompt-conditioned generator (:class:`PromptToAudio`).

    ``generate(prompt, n, steps, cfg, seed, negative_prompt)`` -> (n, T) audio at
    :attr:`sample_rate`, T = the model's clip length. A prompt is ``"digit=7 speaker=jackson"``
    (labels may be left out; :attr:`labels` lists the valid ones). Clip i starts from noise
    drawn from seed ``seed + i`` alone and is decoded with that seed, so ``seed=s + i, n=1``
    reproduces it (up to float rounding, with the deterministic solvers: all but ddpm).
    """

    def __init__(self, task: PromptToAudio, sampling: Sampling = Sampling()) -> None:
        super().__init__(task)
        self.task, self.sampling = task, sampling

    @property
    def labels(self) -> dict[str, list[str]]:
        """Label name -> its valid values."""
        return self.task.vocabulary.spec

    def parse(self, prompt: str | dict[str, Any] | None) -> dict[str, str]:
        """The checked ``{label: value}`` of a prompt (PromptError lists the valid ones)."""
        return self.task.vocabulary.parse(prompt)

    @torch.no_grad()
    def generate(self, prompt: str | dict[str, Any] | None = None, n: int = 1,
                 steps: int | None = None, cfg: float | None = None, seed: int | None = None,
                 negative_prompt: str | dict[str, Any] | None = None,
                 solver: str | None = None, grid: str | None = None) -> torch.Tensor:
        vocabulary = self.task.vocabulary
        labels = vocabulary.encode([prompt] * n)
        negative = None if negative_prompt is None else vocabulary.encode([negative_prompt] * n)
        first = self.sampling.seed if seed is None else seed
        return self.task.generate_seeded(labels, range(first, first + n),
                                         steps or self.sampling.steps,
                                         solver or self.sampling.solver,
                                         grid or self.sampling.grid, cfg, negative)


class Codec(InferenceModel):
    """Inference wrapper around a trained codec (:class:`NeuralCodec`, raw weights, the spec
    naming the weights file's SHA-256, as ``audiogen extract tokens`` writes it).

    ``encode(wave)``: (T,) or (B, T) audio at :attr:`sample_rate` -> int64 tokens
    (B, n_q, frames); ``decode(tokens)`` -> (B, frames * hop) audio; ``resynthesize(wave)``:
    both, trimmed to the input's length; :meth:`with_bandwidth` picks another number of levels.
    """

    def __init__(self, codec: NeuralCodec) -> None:
        super().__init__(codec)
        self.codec = codec

    @property
    def bandwidth(self) -> float:
        return float(self.codec.bandwidth)

    @torch.no_grad()
    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        return self.codec.tokens(_batch(wave))

    @torch.no_grad()
    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.codec.decode(tokens)

    def resynthesize(self, wave: torch.Tensor) -> torch.Tensor:
        wave = _batch(wave)
        return self.decode(self.encode(wave))[:, : wave.shape[-1]]

    def with_bandwidth(self, bandwidth: float | None) -> Codec:
        """The same codec at ``bandwidth`` kbps (None: all levels); shares the weights."""
        codec = copy.copy(self.codec)  # a shallow copy: the same submodules, its own n_q
        codec.set_bandwidth(bandwidth)
        return Codec(codec)


class QualityEstimator(InferenceModel):
    """Inference wrapper around a trained quality predictor: ``__call__(wave)`` with (T,) or
    (B, T) audio at :attr:`sample_rate` -> ``{"pesq_wb", "stoi", "mos"}``, each (B,)."""

    def __init__(self, task: QualityPrediction) -> None:
        super().__init__(task)
        self.task = task

    @torch.no_grad()
    def __call__(self, wave: torch.Tensor) -> dict[str, torch.Tensor]:
        scores, _ = self.task.model(self.task.representation.encode(_batch(wave)))
        return {name: scores[:, k] for k, name in enumerate(TARGETS)}


class Units(InferenceModel):
    """Inference wrapper around an SSL-unit (or MFCC-unit) model: a k-means folder from
    ``audiogen units fit`` and the features it was fit on, rebuilt from the spec the folder
    stores (an SSL model stored under a hub id is read from the local hub cache; one saved in a
    folder is named only by the folder's name, so pass the folder as ``ssl_model``; either way
    its checkpoint hash is checked). ``encode(wave)``: (T,) or (B, T) audio at
    :attr:`sample_rate` -> int64 unit ids (B, frames)."""

    def __init__(self, units: UnitRepresentation) -> None:
        super().__init__(units)
        self.units = units

    @property
    def num_units(self) -> int:
        return int(self.units.num_units)

    @torch.no_grad()
    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        return self.units.encode(_batch(wave))[:, 0].round().long()


def load(name_or_path: str | os.PathLike, device: str = "cpu",
         sampling: Sampling = Sampling(), ssl_model: str | os.PathLike | None = None
         ) -> Vocoder | Codec | QualityEstimator | Units | Enhancer | Generator:
    """Load a shipped or trained model for inference (no training-only parts): a
    :class:`Codec` for a codec experiment, a :class:`QualityEstimator` for a quality
    predictor, :class:`Units` for a k-means folder (``ssl_model``: where its SSL model is,
    when that is a local folder), an :class:`Enhancer` for an audio-to-audio model, a
    :class:`Generator` for a prompt-conditioned generator, else a :class:`Vocoder`."""
    path = Path(name_or_path)
    if (path / KMEANS_META).is_file():
        return Units(load_units(path, ssl_model).to(device))
    kind = stored_task_class(name_or_path)
    if kind is not None and issubclass(kind, CodecTask):
        return Codec(trained_codec(resolve(name_or_path), device=device))
    task = load_task_any(name_or_path, device)
    if isinstance(task, QualityPrediction):
        return QualityEstimator(task)
    if isinstance(task, AudioToAudio):
        return Enhancer(task, sampling)
    if isinstance(task, PromptToAudio):
        return Generator(task, sampling)
    if hasattr(task, "discriminators"):  # the GAN vocoder's critics: training only
        del task.discriminators
    return Vocoder(task, sampling)


def load_converter(name_or_path: str | os.PathLike, device: str = "cpu",
                   sampling: Sampling = Sampling(), chunk_seconds: float = 10.0) -> Enhancer:
    """A voice converter: the unit (or SSL-feature) vocoder trained on the target voice, called
    like an enhancer, ``converter(wave, sample_rate=None)`` -> the same words in that voice."""
    from audiogen.inference.enhance import voice_converter

    return Enhancer(voice_converter(name_or_path, device), sampling, chunk_seconds)


def export_pretrained(source: str | os.PathLike, out: str | os.PathLike,
                      card: str | os.PathLike | None = None) -> Path:
    """Write a shipped-model folder from a checkpoint or experiment: its config, its spec
    (``meta.json``) and the EMA weights (else the raw ones) in fp16."""
    from safetensors.torch import save_file

    from audiogen import config as cfg
    from audiogen.train import checkpoint

    directory = checkpoint.resolve(source)
    weights = checkpoint.load_weights(directory, prefer_ema=True)
    out = Path(out)
    meta = checkpoint.read_meta(directory)
    half = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in weights.items()}
    with checkpoint.staged_folder(out) as staging:
        cfg.dump(checkpoint.read_config(directory), staging / "config.yaml")
        (staging / "meta.json").write_text(json.dumps(
            {"step": meta["step"], "spec": meta["spec"]}, indent=2) + "\n")
        save_file(half, str(staging / "model.safetensors"))
        if card is not None:
            shutil.copyfile(card, staging / "README.md")
    return out
