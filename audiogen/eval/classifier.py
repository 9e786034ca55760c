"""A held-out label classifier for judging generated audio: fit on a real training split,
saved as ``classifier.json`` + ``model.safetensors`` (no pickles), checked on load.

Every clip is cut or zero-padded to ``duration`` (the generator's clip length: shorter clips
start at 0, longer ones are centre-cropped), encoded as a log-mel (:class:`LogMel`, its spec
stored and compared with the code's on load) and passed through
:class:`audiogen.models.label_classifier.LabelClassifier`: one softmax head per label (a
:class:`audiogen.tasks.prompts.Vocabulary`, so heads are named like prompt labels and read from
manifest fields like a generator's), and the pooled embedding that the set metrics of
:mod:`audiogen.eval.generation` measure in. Training places each clip at a random offset inside
the window and applies a random gain of +-10 dB; the epoch with the best mean validation
accuracy is kept, and its batch-norm statistics are recomputed over the training clips.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from audiogen import audio
from audiogen.data import manifest
from audiogen.data.manifest import Utterance
from audiogen.errors import ConfigError, DataError
from audiogen.models.label_classifier import LabelClassifier
from audiogen.representations.base import check_spec
from audiogen.representations.spectral import LogMel
from audiogen.tasks.prompts import Vocabulary, field_value
from audiogen.utils import atomic_write, atomic_write_json, file_sha256

FORMAT = "audiogen-classifier/1"
CONFIG = "classifier.json"
WEIGHTS = "model.safetensors"
GAIN_DB = 10.0


def default_features(sample_rate: int) -> LogMel:
    """64-band log-mel with a ~32 ms window (power of two) and a quarter-window hop."""
    n_fft = 2 ** round(math.log2(0.032 * sample_rate))
    return LogMel(sample_rate, n_fft=n_fft, hop_length=n_fft // 4, n_mels=64)


def features_from_spec(spec: Mapping[str, Any]) -> LogMel:
    """The :class:`LogMel` a stored spec describes; SpecMismatchError when today's code would
    compute other features from it."""
    if spec.get("type") != "log_mel":
        raise DataError(f"classifier features must be a log_mel spec, got {spec.get('type')!r}")
    features = LogMel(**{key: value for key, value in spec.items() if key != "type"})
    check_spec(spec, features.spec, "stored classifier features")
    return features


def manifest_labels(utterance: Utterance, vocabulary: Vocabulary) -> dict[str, str]:
    """The value of every label of ``vocabulary`` in a manifest row, as text."""
    batch = {"ids": [utterance.id], "speakers": [utterance.speaker],
             "labels": [utterance.label], "extras": [utterance.extra]}
    return {label.name: str(field_value(batch, 0, label.field)) for label in vocabulary.labels}


@dataclass
class Prediction:
    """Classifier outputs for a batch: embeddings (B, dim) and per-label probabilities
    ``{label: (B, classes)}``, float64."""

    embeddings: np.ndarray
    probabilities: dict[str, np.ndarray]


class Classifier:
    """The inference object: audio (B, T) at :attr:`sample_rate` -> :class:`Prediction`."""

    def __init__(self, network: LabelClassifier, features: LogMel, vocabulary: Vocabulary,
                 duration: float, info: dict[str, Any] | None = None) -> None:
        if len(network.heads) != len(vocabulary.labels):
            raise ConfigError(f"network has {len(network.heads)} heads, the vocabulary "
                              f"{len(vocabulary.labels)} labels")
        self.network, self.features, self.vocabulary = network.eval(), features, vocabulary
        self.duration, self.info = float(duration), dict(info or {})

    @property
    def sample_rate(self) -> int:
        return self.features.sample_rate

    @property
    def num_samples(self) -> int:
        return round(self.duration * self.sample_rate)

    def window(self, wave: torch.Tensor | np.ndarray, sample_rate: int) -> torch.Tensor:
        """One clip (T,) as the classifier's input window (num_samples,): zero-padded on the
        right, or centre-cropped. Audio at another rate is refused (the field is named)."""
        if sample_rate != self.sample_rate:
            raise DataError(f"sample_rate: the classifier takes {self.sample_rate} Hz audio, "
                            f"got {sample_rate} Hz")
        wave = torch.as_tensor(np.asarray(wave, dtype=np.float32)).reshape(-1)
        start = max(0, (wave.shape[-1] - self.num_samples) // 2)
        return audio.crop_or_pad(wave, self.num_samples, start)

    @torch.inference_mode()
    def predict(self, windows: torch.Tensor) -> Prediction:
        """(B, num_samples) windows -> embeddings and probabilities."""
        embeddings, logits = self.network(self.features.encode(windows))
        return Prediction(embeddings.double().numpy(), {
            label.name: F.softmax(head.double(), dim=-1).numpy()
            for label, head in zip(self.vocabulary.labels, logits)})

    def predict_files(self, paths: Sequence[str | os.PathLike], batch_size: int = 64,
                      progress: bool = False) -> Prediction:
        """Outputs for audio files (each must be at :attr:`sample_rate`)."""
        windows = [self.window(*load_mono(path)) for path in paths]
        return self.predict_windows(windows, batch_size, progress)

    def predict_windows(self, windows: Sequence[torch.Tensor], batch_size: int = 64,
                        progress: bool = False) -> Prediction:
        """Outputs for (num_samples,) windows from :meth:`window`, ``batch_size`` at a time."""
        if not windows:
            raise ValueError("no clip to classify")
        parts = [self.predict(torch.stack(list(windows[i:i + batch_size])))
                 for i in tqdm(range(0, len(windows), batch_size), desc="classify",
                               disable=not progress)]
        return Prediction(np.concatenate([p.embeddings for p in parts]), {
            name: np.concatenate([p.probabilities[name] for p in parts])
            for name in self.vocabulary.names})

    def decide(self, prediction: Prediction) -> list[dict[str, str]]:
        """The most probable value of every label, per clip."""
        return [{label.name: label.values[int(prediction.probabilities[label.name][i].argmax())]
                 for label in self.vocabulary.labels}
                for i in range(len(prediction.embeddings))]

    def accuracy(self, utterances: Sequence[Utterance], batch_size: int = 64,
                 progress: bool = False) -> dict[str, float]:
        """Per-label accuracy on a labelled manifest."""
        truth = [manifest_labels(u, self.vocabulary) for u in utterances]
        decided = self.decide(self.predict_files([u.path for u in utterances], batch_size,
                                                 progress))
        return {name: float(np.mean([d[name] == t[name] for d, t in zip(decided, truth)]))
                for name in self.vocabulary.names}

    def config(self) -> dict[str, Any]:
        """What :meth:`load` needs, plus the training record in ``info``."""
        network = self.network
        return {"format": FORMAT, "features": self.features.spec, "duration": self.duration,
                "labels": {label.name: {"field": label.field, "values": list(label.values)}
                           for label in self.vocabulary.labels},
                "network": {"n_mels": self.features.dim,
                            "num_classes": [head.out_features for head in network.heads],
                            "channels": [m.out_channels for m in network.trunk
                                         if isinstance(m, torch.nn.Conv1d)][:-1],
                            "embedding_dim": network.heads[0].in_features},
                "info": self.info}

    def save(self, folder: str | os.PathLike) -> Path:
        """Write ``classifier.json`` and ``model.safetensors`` (float32) into ``folder``."""
        from safetensors.torch import save_file

        folder = Path(folder)
        state = {name: tensor.detach().float().contiguous()
                 for name, tensor in self.network.state_dict().items()
                 if tensor.is_floating_point()}
        atomic_write(folder / WEIGHTS, lambda tmp: save_file(state, tmp))
        config = self.config()
        config["weights_sha256"] = file_sha256(folder / WEIGHTS)
        atomic_write_json(folder / CONFIG, config)
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> "Classifier":
        """A saved classifier; DataError naming the file and field when anything is off (the
        features spec, the weights' checksum, the heads against the label vocabulary)."""
        from safetensors.torch import load_file

        folder = Path(folder)
        config_path, weights_path = folder / CONFIG, folder / WEIGHTS
        if not config_path.is_file() or not weights_path.is_file():
            raise DataError(f"{folder}: not a classifier folder (needs {CONFIG} and {WEIGHTS}, "
                            "written by 'audiogen classifier fit')")
        try:
            config = json.loads(config_path.read_text())
        except json.JSONDecodeError as error:
            raise DataError(f"{config_path}: not JSON ({error})") from None
        if config.get("format") != FORMAT:
            raise DataError(f"{config_path}: format {config.get('format')!r}, expected "
                            f"{FORMAT!r}")
        if file_sha256(weights_path) != config.get("weights_sha256"):
            raise DataError(f"{weights_path}: checksum differs from weights_sha256 in "
                            f"{config_path}")
        vocabulary = Vocabulary(config["labels"])
        shape = config["network"]
        if list(shape["num_classes"]) != vocabulary.sizes:
            raise DataError(f"{config_path}: network.num_classes {shape['num_classes']} does "
                            f"not match the label values {vocabulary.sizes}")
        features = features_from_spec(config["features"])
        if shape["n_mels"] != features.dim:
            raise DataError(f"{config_path}: network.n_mels {shape['n_mels']} != features "
                            f"n_mels {features.dim}")
        network = LabelClassifier(shape["n_mels"], shape["num_classes"], shape["channels"],
                                  shape["embedding_dim"])
        state = load_file(str(weights_path))
        missing = network.load_state_dict(state, strict=False)
        floats = [key for key in missing.missing_keys
                  if network.state_dict()[key].is_floating_point()]
        if floats or missing.unexpected_keys:
            raise DataError(f"{weights_path}: missing {floats}, unexpected "
                            f"{missing.unexpected_keys}")
        return cls(network, features, vocabulary, config["duration"], config.get("info"))


def load_mono(path: str | os.PathLike) -> tuple[torch.Tensor, int]:
    """A file's audio as mono (T,) and its own rate."""
    wave, rate = audio.load(path)
    return wave[0], rate


def vocabulary_from_manifest(utterances: Sequence[Utterance], fields: Mapping[str, str]
                             ) -> Vocabulary:
    """Label name -> manifest field, with the values found in ``utterances`` (numbers sorted
    as numbers)."""
    if not fields:
        raise ConfigError("no label to classify: give --labels NAME=FIELD,...")
    probe = Vocabulary({name: {"field": field, "values": ["?"]} for name, field in
                        fields.items()})
    found: dict[str, set[str]] = {name: set() for name in fields}
    for utterance in utterances:
        for name, value in manifest_labels(utterance, probe).items():
            found[name].add(value)
    entries = {}
    for label in probe.labels:
        values = sorted(found[label.name], key=lambda v: (not _is_number(v), _number(v), v))
        if len(values) < 2:
            raise DataError(f"label {label.name!r} (field {label.field!r}) has fewer than two "
                            f"values in the training manifest: {values}")
        entries[label.name] = {"field": label.field, "values": values}
    return Vocabulary(entries)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _number(text: str) -> float:
    return float(text) if _is_number(text) else 0.0


@dataclass(frozen=True)
class FitSettings:
    """Training settings of :func:`fit_classifier`."""

    duration: float = 1.0
    epochs: int = 8
    batch_size: int = 32
    learning_rate: float = 2e-3
    weight_decay: float = 1e-2
    channels: tuple[int, ...] = (128, 128, 192, 192)
    embedding_dim: int = 128
    seed: int = 0


def fit_classifier(train: str | os.PathLike, fields: Mapping[str, str],
                   valid: str | os.PathLike | None = None,
                   settings: FitSettings = FitSettings(), sample_rate: int | None = None,
                   progress: bool = True) -> Classifier:
    """Train a classifier on a manifest's label fields (AdamW, cosine learning rate, summed
    cross-entropy over heads); with ``valid``, keep the epoch of best mean accuracy on it.
    ``sample_rate`` defaults to the first training row's; every file is resampled to it."""
    rows = manifest.read(train)
    vocabulary = vocabulary_from_manifest(rows, fields)
    rate = sample_rate or rows[0].sample_rate
    features = default_features(rate)
    generator = torch.Generator().manual_seed(settings.seed)
    torch.manual_seed(settings.seed)
    network = LabelClassifier(features.dim, vocabulary.sizes, settings.channels,
                              settings.embedding_dim)
    classifier = Classifier(network, features, vocabulary, settings.duration)
    clips = [audio.load(row.path, rate)[0][0] for row in tqdm(rows, desc="load",
                                                              disable=not progress)]
    targets = torch.tensor([vocabulary.encode([manifest_labels(row, vocabulary)])[0].tolist()
                            for row in rows])
    held_out = manifest.read(valid) if valid is not None else None
    steps_per_epoch = math.ceil(len(rows) / settings.batch_size)
    optimizer = torch.optim.AdamW(network.parameters(), settings.learning_rate,
                                  weight_decay=settings.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, settings.learning_rate, total_steps=settings.epochs * steps_per_epoch,
        pct_start=0.1)
    best: tuple[float, dict[str, torch.Tensor], int] | None = None
    history = []
    started = time.monotonic()
    for epoch in range(settings.epochs):
        network.train()
        order = torch.randperm(len(rows), generator=generator)
        losses = []
        for first in range(0, len(rows), settings.batch_size):
            index = order[first:first + settings.batch_size]
            batch = torch.stack([augment(clips[i], classifier.num_samples, generator)
                                 for i in index.tolist()])
            _, logits = network(features.encode(batch))
            loss = sum(F.cross_entropy(head, targets[index, j]) for j, head in enumerate(logits))
            optimizer.zero_grad()
            loss.backward()  # type: ignore[union-attr]
            optimizer.step()
            schedule.step()
            losses.append(float(loss.detach()))  # type: ignore[union-attr]
        network.eval()
        record: dict[str, Any] = {"epoch": epoch + 1, "loss": float(np.mean(losses))}
        if held_out is not None:
            record["valid_accuracy"] = classifier.accuracy(held_out)
            score = float(np.mean(list(record["valid_accuracy"].values())))
            if best is None or score >= best[0]:
                best = (score, {k: v.clone() for k, v in network.state_dict().items()}, epoch + 1)
        history.append(record)
        if progress:
            print(json.dumps(record), flush=True)
    if best is not None:
        network.load_state_dict(best[1])
    recalibrate_batch_norm(network, [features.encode(classifier.window(clip, rate)[None])
                                     for clip in clips], settings.batch_size)
    classifier.info = {
        "train_manifest": str(train), "train_items": len(rows),
        "valid_manifest": None if valid is None else str(valid),
        "settings": {**settings.__dict__, "channels": list(settings.channels),
                     "optimizer": "AdamW, one-cycle cosine learning rate, 10% warm-up",
                     "augmentation": f"random placement in the window, gain +-{GAIN_DB:g} dB",
                     "batch_norm": "statistics recomputed over the training windows"},
        "kept_epoch": best[2] if best is not None else settings.epochs,
        "valid_accuracy": history[(best[2] if best else settings.epochs) - 1].get(
            "valid_accuracy"),
        "history": history, "fit_seconds": round(time.monotonic() - started, 1),
        "parameters": sum(p.numel() for p in network.parameters())}
    return classifier


@torch.no_grad()
def recalibrate_batch_norm(network: torch.nn.Module, inputs: Sequence[torch.Tensor],
                           batch_size: int) -> None:
    """Set every batch norm's running statistics to the exact average over ``inputs`` (each
    (1, ...)) under the final weights, then leave the network in evaluation mode: running
    averages taken during a short training lag behind the weights."""
    norms = [m for m in network.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average
    network.train()
    for first in range(0, len(inputs), batch_size):
        network(torch.cat(list(inputs[first:first + batch_size])))
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum
    network.eval()


def augment(clip: torch.Tensor, num_samples: int, generator: torch.Generator) -> torch.Tensor:
    """A training window: a random crop of a long clip, or a short clip at a random offset in
    silence, scaled by a random gain of +-:data:`GAIN_DB` dB."""
    room = num_samples - clip.shape[-1]
    if room >= 0:
        offset = int(torch.randint(0, room + 1, (1,), generator=generator))
        window = F.pad(clip, (offset, room - offset))
    else:
        window = audio.random_crop(clip, num_samples, generator)
    gain_db = (torch.rand((), generator=generator) * 2 - 1) * GAIN_DB
    return window * 10.0 ** (gain_db / 20.0)
