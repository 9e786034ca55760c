"""Layer-wise linear probes: how much of a label (speaker, digit) each layer makes linearly
decodable, against an MFCC baseline (the SUPERB-style sanity check of an SSL model).

Each utterance is summarised by the mean of a layer's frames (MFCCs: mean and standard
deviation); a standardised multinomial logistic regression is fit on the training utterances
and scored by accuracy on the test utterances.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from tqdm import tqdm

from audiogen import audio
from audiogen.data.manifest import Utterance
from audiogen.representations.base import Representation
from audiogen.representations.cepstral import MFCC
from audiogen.representations.ssl import SSLFeatures


def label_of(utterance: Utterance, name: str) -> Any:
    """A manifest field: ``speaker``, ``label`` or an extra field."""
    if name in ("speaker", "label", "text"):
        return getattr(utterance, name)
    return utterance.extra.get(name)


def pooled_layers(ssl: SSLFeatures, utterances: list[Utterance], progress: bool = True
                  ) -> np.ndarray:
    """(utterances, layers + 1, dim) frame means of every hidden layer."""
    rows = []
    for utterance in tqdm(utterances, desc="ssl layers", disable=not progress):
        wave, _ = audio.load(utterance.path, ssl.sample_rate)
        states = ssl.hidden_states(wave)
        rows.append(torch.stack([s[0].mean(0) for s in states]).numpy())
    return np.stack(rows)


def mfcc_statistics(mfcc: Representation, wave: torch.Tensor) -> np.ndarray:
    """(2 * dim,) mean and standard deviation over frames of the MFCCs of (1, T) audio at
    ``mfcc.sample_rate``."""
    features = mfcc.encode(wave)[0]
    return torch.cat([features.mean(-1), features.std(-1)]).numpy()


def pooled_mfcc(mfcc: Representation, utterances: list[Utterance], progress: bool = True
                ) -> np.ndarray:
    """(utterances, 2 * dim) mean and standard deviation of MFCC frames."""
    rows = []
    for utterance in tqdm(utterances, desc="mfcc", disable=not progress):
        wave, _ = audio.load(utterance.path, mfcc.sample_rate)
        rows.append(mfcc_statistics(mfcc, wave))
    return np.stack(rows)


def fit_probe(features: np.ndarray, labels: list[Any], seed: int = 0) -> Any:
    """A scikit-learn pipeline, StandardScaler then LogisticRegression (lbfgs, C = 1:
    multinomial for more than two classes), fit on (N, dim) features and N labels (as str)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0,
                                                               random_state=seed))
    return model.fit(features, [str(y) for y in labels])


def probe_accuracy(train_x: np.ndarray, train_y: list[Any], test_x: np.ndarray,
                   test_y: list[Any], seed: int = 0) -> float:
    """Test accuracy of a standardised logistic regression fit on the training pairs."""
    model = fit_probe(train_x, train_y, seed)
    return float(model.score(test_x, [str(y) for y in test_y]))


def probe(train: list[Utterance], test: list[Utterance], labels: list[str],
          models: dict[str, str], progress: bool = True,
          make_mfcc: Callable[[], Representation] = MFCC) -> list[dict[str, Any]]:
    """Rows ``{system, layer, <label>: accuracy, ...}``: an MFCC baseline, then every layer of
    every SSL model (name -> folder or hub id)."""
    rows: list[dict[str, Any]] = []
    targets = {name: ([label_of(u, name) for u in train], [label_of(u, name) for u in test])
               for name in labels}
    mfcc = make_mfcc()
    train_x, test_x = pooled_mfcc(mfcc, train, progress), pooled_mfcc(mfcc, test, progress)
    rows.append({"system": "mfcc", "layer": "-", **{
        name: probe_accuracy(train_x, y[0], test_x, y[1]) for name, y in targets.items()}})
    for system, model in models.items():
        ssl = SSLFeatures(model, layer=0)
        train_layers = pooled_layers(ssl, train, progress)
        test_layers = pooled_layers(ssl, test, progress)
        for layer in range(train_layers.shape[1]):
            rows.append({"system": system, "layer": layer, **{
                name: probe_accuracy(train_layers[:, layer], y[0], test_layers[:, layer], y[1])
                for name, y in targets.items()}})
    return rows


def markdown_table(rows: list[dict[str, Any]], labels: list[str]) -> str:
    """Probe rows as a markdown table (accuracy in %)."""
    lines = ["| system | layer | " + " | ".join(f"{n} acc. (%)" for n in labels) + " |",
             "|---|---|" + "---|" * len(labels)]
    for row in rows:
        lines.append(f"| {row['system']} | {row['layer']} | "
                     + " | ".join(f"{100 * row[n]:.1f}" for n in labels) + " |")
    return "\n".join(lines) + "\n"
