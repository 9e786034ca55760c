"""Reference-free set metrics of prompt-conditioned generation, judged by a held-out label
classifier (:mod:`audiogen.eval.classifier`), as SC09 papers judge generated digits:

- ``prompt_accuracy``: the fraction of clips whose every prompted label the classifier
  predicts (``prompt_accuracy.<label>`` per label). A clip's prompt is read from the JSON that
  ``audiogen generate`` writes beside it (``labels``), or from its manifest row (a real
  split: then it is the classifier's accuracy). Labels the prompt leaves out, and prompt labels
  the classifier has no head for, are not scored.
- ``classifier_fd``: Fréchet distance (:func:`audiogen.eval.fad.frechet_distance`) between the
  classifier embeddings of the set and of the reference set, one embedding per clip.
- ``inception_score``: exp(E_x KL(p(y|x) || p(y))) (Salimans et al. 2016) of the first label's
  head (``inception_score.<label>`` for every head); 1 for a constant or uniform classifier,
  at most the number of classes.
- ``diversity``: the mean over prompts (at least 2 clips each) of the mean pairwise Euclidean
  distance between embeddings of the clips of that prompt; with a labelled reference set,
  ``diversity.real`` is the same mean over the reference clips whose labels match each prompt
  and ``diversity.ratio`` the mean of generated / real per prompt.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from audiogen.errors import ConfigError, DataError
from audiogen.eval.base import Metric, PartialResult, SetScorer, library
from audiogen.eval.classifier import WEIGHTS, Classifier, Prediction, manifest_labels
from audiogen.eval.fad import GaussianStatistics, frechet_distance
from audiogen.eval.pairing import Item
from audiogen.tasks.prompts import PromptError, Vocabulary
from audiogen.utils import file_sha256

PROMPT_ACCURACY = Metric("prompt_accuracy", "Fraction of clips whose prompted labels a held-out "
                         "classifier all predicts (per label: prompt_accuracy.<label>)", True,
                         False, None, "generation")
CLASSIFIER_FD = Metric("classifier_fd", "Fréchet distance between the held-out classifier's "
                       "clip embeddings of the set and of the reference set", False, True, None,
                       "generation")
INCEPTION_SCORE = Metric("inception_score", "exp(mean KL(p(y|x) || p(y))) of the classifier's "
                         "first label (per label: inception_score.<label>)", True, False, None,
                         "generation")
DIVERSITY = Metric("diversity", "Mean pairwise embedding distance between clips of one prompt, "
                   "averaged over prompts (diversity.real and diversity.ratio with a labelled "
                   "reference)", True, False, None, "generation")
METRICS = (PROMPT_ACCURACY, CLASSIFIER_FD, INCEPTION_SCORE, DIVERSITY)


def inception_score(probabilities: np.ndarray) -> float:
    """exp(mean_x KL(p(y|x) || p(y))) of (N, classes) class probabilities, p(y) their mean."""
    p = np.asarray(probabilities, np.float64)
    marginal = p.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(marginal)), 0.0)
    return float(np.exp(terms.sum(axis=1).mean()))


def mean_pairwise_distance(embeddings: np.ndarray) -> float:
    """Mean Euclidean distance over the N (N - 1) / 2 pairs of rows of (N, dim); N >= 2."""
    x = np.asarray(embeddings, np.float64)
    if len(x) < 2:
        raise ValueError(f"need at least 2 embeddings, got {len(x)}")
    squared = (x * x).sum(axis=1)
    distances = np.sqrt(np.clip(squared[:, None] + squared[None] - 2 * x @ x.T, 0.0, None))
    upper = np.triu_indices(len(x), k=1)
    return float(distances[upper].mean())


def set_moments(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance of (N, dim) embeddings."""
    statistics = GaussianStatistics()
    statistics.update(embeddings)
    return statistics.moments()


def read_prompt(path: Path) -> dict[str, str] | None:
    """The ``labels`` of the JSON beside a generated clip (``x.wav`` -> ``x.json``), or None
    when there is no such file."""
    sidecar = path.with_suffix(".json")
    if not sidecar.is_file():
        return None
    try:
        labels = json.loads(sidecar.read_text()).get("labels")
    except (json.JSONDecodeError, AttributeError) as error:
        raise DataError(f"{sidecar}: not the JSON of a generated clip ({error})") from None
    if not isinstance(labels, dict):
        raise DataError(f"{sidecar}: no 'labels' mapping (written by 'audiogen generate')")
    return {str(name): str(value) for name, value in labels.items()}


def item_prompt(item: Item | None, vocabulary: Vocabulary) -> dict[str, str] | None:
    """A clip's prompt: its generation JSON, else its manifest row's labels, else None."""
    if item is None:
        return None
    prompt = read_prompt(item.path)
    if prompt is None and item.row is not None:
        try:
            prompt = manifest_labels(item.row, vocabulary)
        except DataError:
            return None
    return prompt


def scored_labels(prompt: dict[str, str], vocabulary: Vocabulary) -> dict[str, str]:
    """The prompt's labels that the classifier has a head for; a value the head does not
    know is a PromptError naming the valid ones."""
    scored = {}
    for name, value in prompt.items():
        if name in vocabulary.names:
            label = vocabulary.label(name)
            if value not in label.values:
                raise PromptError(f"prompt label {name}={value}: the classifier's {name} head "
                                  f"knows {', '.join(label.values)}")
            scored[name] = value
    return scored


class _Set:
    """The classifier windows and prompts of the clips of one set; the network runs over them
    in batches when the outputs are first needed."""

    def __init__(self) -> None:
        self.windows: list[torch.Tensor] = []
        self.prompts: list[dict[str, str] | None] = []
        self._prediction: Prediction | None = None

    def add(self, window: torch.Tensor, prompt: dict[str, str] | None) -> None:
        self.windows.append(window)
        self.prompts.append(prompt)
        self._prediction = None

    def prediction(self, classifier: Classifier) -> Prediction:
        if self._prediction is None:
            self._prediction = classifier.predict_windows(self.windows)
        return self._prediction

    def __len__(self) -> int:
        return len(self.windows)


class GenerationScorer(SetScorer):
    """The ``generation`` group: prompt accuracy, Fréchet distance, Inception Score and
    diversity in the space of a classifier from ``audiogen classifier fit``."""

    def __init__(self, metrics: Sequence[Metric], classifier: str | os.PathLike | None = None
                 ) -> None:
        super().__init__(metrics)
        if classifier is None:
            raise ConfigError(f"{', '.join(self.names)} need a label classifier: pass "
                              "--option generation_classifier=DIR (from 'audiogen classifier "
                              "fit')")
        self.path = Path(classifier)
        try:
            self.classifier = Classifier.load(self.path)
        except DataError as error:
            raise ConfigError(f"generation_classifier: {error}") from None
        self.reference = _Set()
        self.systems: dict[str, _Set] = {}

    def add_reference(self, wave: np.ndarray, sample_rate: int, item: Item | None = None
                      ) -> None:
        vocabulary = self.classifier.vocabulary
        prompt = item_prompt(item, vocabulary)
        self.reference.add(self.classifier.window(wave, sample_rate),
                           None if prompt is None else scored_labels(prompt, vocabulary))

    def add(self, system: str, wave: np.ndarray, sample_rate: int, item: Item | None = None
            ) -> None:
        vocabulary = self.classifier.vocabulary
        prompt = item_prompt(item, vocabulary)
        scored = None if prompt is None else scored_labels(prompt, vocabulary)
        self.systems.setdefault(system, _Set()).add(self.classifier.window(wave, sample_rate),
                                                    scored)

    def size(self, system: str) -> int:
        return len(self.systems[system]) if system in self.systems else 0

    def result(self, system: str) -> dict[str, float]:
        if system not in self.systems:
            raise ValueError(f"no clip of {system!r} could be classified")
        clips = self.systems[system]
        outputs = clips.prediction(self.classifier)
        parts = {"prompt_accuracy": lambda: self._prompt_accuracy(clips.prompts, outputs),
                 "classifier_fd": lambda: self._frechet(clips, outputs),
                 "inception_score": lambda: self._inception(outputs),
                 "diversity": lambda: self._diversity(clips.prompts, outputs.embeddings)}
        values: dict[str, float] = {}
        errors: dict[str, str] = {}
        for name, compute in parts.items():  # one metric that cannot be computed (diversity
            if name not in self.names:      # with one clip per prompt) leaves the others
                continue
            try:
                values.update(compute())
            except ValueError as error:
                errors[name] = f"ValueError: {error}"
        if errors:
            raise PartialResult(values, errors)
        return values

    def _frechet(self, clips: _Set, outputs: Prediction) -> dict[str, float]:
        if len(self.reference) < 2 or len(clips) < 2:
            raise ValueError("classifier_fd needs at least 2 clips in the set and in the "
                             "reference set")
        reference = self.reference.prediction(self.classifier)
        return {"classifier_fd": frechet_distance(*set_moments(outputs.embeddings),
                                                  *set_moments(reference.embeddings))}

    def _inception(self, outputs: Prediction) -> dict[str, float]:
        scores = {name: inception_score(outputs.probabilities[name])
                  for name in self.classifier.vocabulary.names}
        return {"inception_score": scores[self.classifier.vocabulary.names[0]],
                **{f"inception_score.{name}": v for name, v in scores.items()}}

    def _prompt_accuracy(self, prompts: list[dict[str, str] | None], outputs: Prediction
                         ) -> dict[str, float]:
        decided = self.classifier.decide(outputs)
        scored = [(prompt, choice) for prompt, choice in zip(prompts, decided) if prompt]
        if not scored:
            raise ValueError("no clip has a prompt label the classifier has a head for "
                             f"(heads: {', '.join(self.classifier.vocabulary.names)}); "
                             "prompts come from the JSON beside each generated wav or from "
                             "a manifest's fields")
        values = {"prompt_accuracy": float(np.mean([
            all(choice[name] == value for name, value in prompt.items())
            for prompt, choice in scored]))}
        for name in self.classifier.vocabulary.names:
            hits = [choice[name] == prompt[name] for prompt, choice in scored if name in prompt]
            if hits:
                values[f"prompt_accuracy.{name}"] = float(np.mean(hits))
        return values

    def _diversity(self, prompts: list[dict[str, str] | None], embeddings: np.ndarray
                   ) -> dict[str, float]:
        groups: dict[tuple[tuple[str, str], ...], list[int]] = {}
        for index, prompt in enumerate(prompts):
            groups.setdefault(tuple(sorted((prompt or {}).items())), []).append(index)
        generated, real, ratios = [], [], []
        for key, indices in groups.items():
            if len(indices) < 2:
                continue
            spread = mean_pairwise_distance(embeddings[indices])
            generated.append(spread)
            matching = [i for i, labels in enumerate(self.reference.prompts)
                        if labels is not None and all(labels.get(k) == v for k, v in key)]
            if len(matching) >= 2:
                reference = self.reference.prediction(self.classifier).embeddings
                real_spread = mean_pairwise_distance(reference[matching])
                real.append(real_spread)
                ratios.append(spread / real_spread)
        if not generated:
            raise ValueError("diversity needs at least 2 clips of one prompt")
        values = {"diversity": float(np.mean(generated))}
        if real:
            values.update({"diversity.real": float(np.mean(real)),
                           "diversity.ratio": float(np.mean(ratios))})
        return values

    def card(self, name: str) -> dict[str, Any]:
        classifier = self.classifier
        modes = {
            "prompt_accuracy": "argmax of each head against the prompt's value; labels left "
                               "out of a prompt or without a head are not scored",
            "classifier_fd": "one pooled embedding per clip; unbiased covariance; eigenvalue "
                             "form of tr((S1 S2)^(1/2)); biased upwards for small sets",
            "inception_score": "exp(mean KL(p(y|x) || p(y))) over the set, per head; headline "
                               f"= {classifier.vocabulary.names[0]!r}",
            "diversity": "mean pairwise Euclidean embedding distance within a prompt, averaged "
                         "over prompts with >= 2 clips; real: reference clips with the "
                         "prompt's labels"}
        return {**library("torch", "torchaudio", "numpy"), "sample_rate": classifier.sample_rate,
                "resampler": "none (audio at another rate is refused)",
                "mode": f"{modes[name]}; clips cut or zero-padded to {classifier.duration:g} s",
                "alignment": "none (set-level; prompts from each clip's generation JSON or "
                             "manifest row)",
                "embedding_model": f"{self.path} (labels {classifier.vocabulary.describe()})",
                "checksum": f"sha256 {WEIGHTS} {file_sha256(self.path / WEIGHTS)}",
                "classifier_test_accuracy": classifier.info.get("test_accuracy")}
