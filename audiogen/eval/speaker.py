"""Closed-set speaker identification, and the reference-free metrics ``speaker_match`` and
``speaker_prob``: does converted speech sound like the target voice to a speaker classifier?

The classifier is the MFCC baseline of :mod:`audiogen.eval.probe`: each utterance is summarised
by the mean and standard deviation of its MFCC frames, and a standardised multinomial logistic
regression (scikit-learn) is fit on a manifest's ``speaker`` field. It is saved without pickles:
``classifier.safetensors`` holds float32 ``mean`` and ``scale`` (dim,) of the standardiser,
``coef`` (classes, dim) and ``intercept`` (classes,); ``classifier.json`` the class names in
order, the MFCC spec, the training manifest, counts and accuracies. Prediction is NumPy:
``softmax(((x - mean) / scale) @ coef.T + intercept)``. scikit-learn fits two classes as one
logistic regression, p(class 1) = sigmoid(w.z + b); it is stored as the rows (-w/2, w/2) and
biases (-b/2, b/2), whose softmax is the same probability.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from audiogen import audio
from audiogen.data import manifest
from audiogen.data.manifest import Utterance
from audiogen.errors import AudiogenError, ConfigError, DataError
from audiogen.eval.base import RESAMPLER, Metric, Score, Scorer, Undefined, library, to_rate
from audiogen.eval.mos import REFERENCE_FREE
from audiogen.eval.probe import fit_probe, mfcc_statistics, pooled_mfcc
from audiogen.representations.base import Representation
from audiogen.representations.cepstral import MFCC
from audiogen.representations.units import features_from_spec
from audiogen.utils import atomic_write, atomic_write_json, file_sha256

WEIGHTS = "classifier.safetensors"
META = "classifier.json"

SPEAKER_MATCH = Metric("speaker_match", "1 when a speaker classifier (pooled MFCCs, logistic "
                       "regression) assigns the audio to speaker_target, else 0; the mean is "
                       "the target-speaker accuracy (0-1)", True, False, None, "speaker")
SPEAKER_PROB = Metric("speaker_prob", "The speaker classifier's probability of speaker_target "
                      "(0-1)", True, False, None, "speaker")
METRICS = (SPEAKER_MATCH, SPEAKER_PROB)


@dataclass
class SpeakerClassifier:
    """A standardised linear softmax classifier over pooled MFCC statistics (2 * mfcc.dim,)."""

    classes: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    mfcc: Representation
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_sklearn(cls, model: Any, mfcc: Representation, info: dict[str, Any] | None = None
                     ) -> "SpeakerClassifier":
        """The arrays of a fitted StandardScaler + LogisticRegression pipeline."""
        scaler, regression = model[0], model[-1]
        coef = np.asarray(regression.coef_, dtype=np.float64)
        intercept = np.asarray(regression.intercept_, dtype=np.float64)
        if len(regression.classes_) == 2:  # one logistic row -> the equivalent softmax pair
            coef = np.concatenate([-coef, coef]) / 2
            intercept = np.concatenate([-intercept, intercept]) / 2

        def float32(array: Any) -> np.ndarray:
            return np.asarray(array, dtype=np.float32)

        return cls(tuple(str(c) for c in regression.classes_), float32(scaler.mean_),
                   float32(scaler.scale_), float32(coef), float32(intercept), mfcc,
                   dict(info or {}))

    def logits(self, features: np.ndarray) -> np.ndarray:
        """(N, dim) pooled features -> (N, classes) logits (float64)."""
        standard = (np.asarray(features, np.float64) - self.mean) / self.scale.astype(np.float64)
        return standard @ self.coef.T.astype(np.float64) + self.intercept

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """(N, dim) pooled features -> (N, classes) softmax probabilities."""
        logits = self.logits(features)
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, features: np.ndarray) -> list[str]:
        """(N, dim) pooled features -> N class names."""
        return [self.classes[k] for k in self.logits(features).argmax(axis=1)]

    def accuracy(self, features: np.ndarray, speakers: Sequence[str]) -> float:
        """Fraction of rows predicted as their speaker (unknown speakers count as errors)."""
        return float(np.mean([a == b for a, b in zip(self.predict(features), speakers)]))

    def features(self, wave: np.ndarray, sample_rate: int) -> np.ndarray:
        """(2 * mfcc.dim,) pooled MFCC statistics of a (T,) signal at ``sample_rate``."""
        wave = to_rate(np.asarray(wave, dtype=np.float32), sample_rate, self.mfcc.sample_rate)
        with torch.no_grad():
            return mfcc_statistics(self.mfcc, torch.from_numpy(np.ascontiguousarray(wave))[None])

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``PATH/classifier.safetensors`` and ``PATH/classifier.json`` atomically."""
        from safetensors.numpy import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        arrays = {name: np.ascontiguousarray(getattr(self, name), dtype=np.float32)
                  for name in ("mean", "scale", "coef", "intercept")}
        atomic_write(path / WEIGHTS, lambda tmp: save_file(arrays, tmp))
        atomic_write_json(path / META, {"classes": list(self.classes),
                                        "features": self.mfcc.spec,
                                        "pooling": "mean and standard deviation of frames",
                                        **self.info})
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SpeakerClassifier":
        """Read a saved classifier; :class:`DataError` names the file and field that is
        missing or inconsistent."""
        path = Path(path)
        if not path.is_dir():
            raise DataError(f"{path}: speaker classifier folder not found")
        for name in (META, WEIGHTS):
            if not (path / name).is_file():
                raise DataError(f"{path / name}: missing (a speaker classifier folder holds "
                                f"{WEIGHTS} and {META}, from 'audiogen speaker fit')")
        meta = _read_meta(path / META)
        classes, mfcc = meta.pop("classes"), meta.pop("features")
        arrays = _read_arrays(path / WEIGHTS, len(classes), 2 * mfcc.dim)
        return cls(tuple(classes), arrays["mean"], arrays["scale"], arrays["coef"],
                   arrays["intercept"], mfcc, meta)


def _read_meta(file: Path) -> dict[str, Any]:
    """classifier.json with ``classes`` checked and ``features`` rebuilt as an MFCC."""
    try:
        meta = json.loads(file.read_text())
    except json.JSONDecodeError as error:
        raise DataError(f"{file}: invalid JSON ({error.msg})") from None
    if not isinstance(meta, dict):
        raise DataError(f"{file}: must hold a JSON object")
    classes = meta.get("classes")
    if not (isinstance(classes, list) and len(classes) >= 2
            and all(isinstance(c, str) for c in classes) and len(set(classes)) == len(classes)):
        raise DataError(f"{file}: field 'classes' must list at least 2 distinct speaker names")
    spec = meta.get("features")
    if not isinstance(spec, dict) or spec.get("type") != "mfcc":
        raise DataError(f"{file}: field 'features' must be the spec of the MFCCs the "
                        "classifier was fit on (type 'mfcc')")
    try:
        meta["features"] = features_from_spec(spec)
    except (KeyError, TypeError, ValueError) as error:
        raise DataError(f"{file}: field 'features' is not a valid MFCC spec ({error!r})"
                        ) from None
    return meta


def _read_arrays(file: Path, classes: int, dim: int) -> dict[str, np.ndarray]:
    """The four arrays of classifier.safetensors, shapes and values checked."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        arrays = load_file(str(file))
    except (SafetensorError, OSError) as error:
        raise DataError(f"{file}: cannot read safetensors ({error})") from None
    shapes = {"mean": (dim,), "scale": (dim,), "coef": (classes, dim), "intercept": (classes,)}
    for name, shape in shapes.items():
        if name not in arrays:
            raise DataError(f"{file}: tensor {name!r} is missing")
        if arrays[name].shape != shape:
            raise DataError(f"{file}: tensor {name!r} has shape {arrays[name].shape}, expected "
                            f"{shape} ({classes} classes in {META}, {dim} pooled MFCC "
                            "statistics)")
        if not np.isfinite(arrays[name]).all():
            raise DataError(f"{file}: tensor {name!r} has non-finite values")
    if (arrays["scale"] <= 0).any():
        raise DataError(f"{file}: tensor 'scale' must be positive")
    return arrays


def read_speakers(path: str | os.PathLike) -> list[Utterance]:
    """A manifest whose every utterance has a speaker label (else :class:`DataError`)."""
    utterances = manifest.read(path)
    unlabelled = [u.id for u in utterances if not u.speaker.strip()]
    if unlabelled:
        raise DataError(f"{path}: {len(unlabelled)} of {len(utterances)} utterances have no "
                        f"speaker label (field 'speaker' is empty, e.g. {unlabelled[0]!r})")
    if not utterances:
        raise DataError(f"{path}: manifest is empty")
    return utterances


def limit_per_speaker(utterances: list[Utterance], limit: int | None) -> list[Utterance]:
    """At most ``limit`` utterances of each speaker, evenly spaced over that speaker's list."""
    if limit is None:
        return utterances
    if limit < 1:
        raise ConfigError(f"max_per_speaker must be at least 1, got {limit}")
    by_speaker: dict[str, list[Utterance]] = {}
    for utterance in utterances:
        by_speaker.setdefault(utterance.speaker, []).append(utterance)
    return [rows[(i * len(rows)) // limit] for rows in by_speaker.values()
            for i in range(min(limit, len(rows)))]


def fit_speaker_classifier(train: str | os.PathLike, valid: str | os.PathLike | None = None,
                           max_per_speaker: int | None = None, seed: int = 0,
                           mfcc: Representation | None = None, progress: bool = True
                           ) -> SpeakerClassifier:
    """Fit on the ``speaker`` labels of the ``train`` manifest (at most ``max_per_speaker``
    utterances each); the info records counts, training accuracy and, with a ``valid``
    manifest, held-out accuracy (utterances of speakers not in training count as errors)."""
    mfcc = mfcc if mfcc is not None else MFCC()
    utterances = limit_per_speaker(read_speakers(train), max_per_speaker)
    counts = Counter(u.speaker for u in utterances)
    if len(counts) < 2:
        raise DataError(f"{train}: a speaker classifier needs at least 2 speakers, found "
                        f"{len(counts)} ({', '.join(map(repr, counts))})")
    features = pooled_mfcc(mfcc, utterances, progress)
    speakers = [u.speaker for u in utterances]
    classifier = SpeakerClassifier.from_sklearn(fit_probe(features, speakers, seed), mfcc, {
        "train_manifest": str(train), "train_counts": dict(sorted(counts.items())),
        "max_per_speaker": max_per_speaker, "seed": seed})
    classifier.info["train_accuracy"] = classifier.accuracy(features, speakers)
    if valid is not None:
        held_out = read_speakers(valid)
        valid_speakers = [u.speaker for u in held_out]
        valid_counts = Counter(valid_speakers)
        classifier.info.update(
            valid_manifest=str(valid), valid_counts=dict(sorted(valid_counts.items())),
            valid_accuracy=classifier.accuracy(pooled_mfcc(mfcc, held_out, progress),
                                               valid_speakers),
            valid_unseen_speakers=sorted(set(valid_counts) - set(counts)))
    return classifier


class SpeakerScorer(Scorer):
    """Scores generated audio against one target speaker of a saved classifier (loaded once):
    ``speaker_match`` (prediction == target) and ``speaker_prob`` (probability of the target)."""

    def __init__(self, metrics: Sequence[Metric], classifier: str | os.PathLike | None = None,
                 target: str | None = None) -> None:
        super().__init__(metrics)
        if classifier is None:
            raise ConfigError("speaker_* metrics need a speaker classifier: pass "
                              "speaker_classifier=DIR (from 'audiogen speaker fit') and "
                              "speaker_target=NAME")
        self.path = Path(classifier)
        try:
            self.classifier = SpeakerClassifier.load(self.path)
        except DataError as error:
            raise ConfigError(f"speaker_classifier: {error}") from None
        classes = self.classifier.classes
        if target is None or str(target) not in classes:
            given = "no speaker_target given" if target is None else \
                f"speaker_target {str(target)!r} is not a class of {self.path}"
            raise ConfigError(f"{given}; its classes: {', '.join(classes)}")
        self.target = str(target)
        self.index = classes.index(self.target)

    def score(self, generated: np.ndarray, reference: np.ndarray | None, sample_rate: int
              ) -> Score:
        features = self.classifier.features(generated, sample_rate)
        if not np.isfinite(features).all():
            reason = Undefined("non-finite MFCC statistics (audio too short?)")
            return {name: reason for name in self.names}
        probabilities = self.classifier.probabilities(features[None])[0]
        values = {"speaker_match": float(probabilities.argmax() == self.index),
                  "speaker_prob": float(probabilities[self.index])}
        return {name: values[name] for name in self.names}

    def card(self, name: str) -> dict[str, Any]:
        classes = self.classifier.classes
        spec = self.classifier.mfcc.spec
        return {**library("torchaudio", "numpy"), "sample_rate": self.classifier.mfcc.sample_rate,
                "resampler": RESAMPLER,
                "mode": f"target {self.target!r} of {len(classes)} speakers "
                        f"({', '.join(classes)}); softmax of a standardised logistic "
                        f"regression over the mean and std of MFCC frames ({spec})",
                "alignment": REFERENCE_FREE, "embedding_model": str(self.path),
                "checksum": f"sha256 {WEIGHTS} {file_sha256(self.path / WEIGHTS)}",
                "train_manifest": self.classifier.info.get("train_manifest"),
                "valid_accuracy": self.classifier.info.get("valid_accuracy")}


def predict_files(classifier: SpeakerClassifier, paths: Sequence[str | os.PathLike]
                  ) -> list[tuple[str, float] | AudiogenError]:
    """(predicted speaker, its probability) of each audio file, or the error that file gave."""
    results: list[tuple[str, float] | AudiogenError] = []
    for path in paths:
        try:
            wave, _ = audio.load(path, classifier.mfcc.sample_rate)
        except AudiogenError as error:
            results.append(error)
            continue
        window = int(classifier.mfcc.spec["n_fft"])
        if wave.shape[-1] < window:  # nothing to pool (and too short to pad for the STFT)
            results.append(DataError(f"{path}: {wave.shape[-1]} samples, shorter than one MFCC "
                                     f"window ({window} samples at "
                                     f"{classifier.mfcc.sample_rate} Hz)"))
            continue
        features = classifier.features(wave[0].numpy(), classifier.mfcc.sample_rate)
        probabilities = classifier.probabilities(features[None])[0]
        best = int(probabilities.argmax())
        results.append((classifier.classes[best], float(probabilities[best])))
    return results
