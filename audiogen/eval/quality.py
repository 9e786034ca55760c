"""Reference-free predicted PESQ-wb, STOI and MOS from a trained quality predictor.

The checkpoint is one written by ``audiogen train`` for :class:`audiogen.tasks.quality.
QualityPrediction` (a checkpoint or experiment directory), rebuilt by the one loader
(:func:`audiogen.train.loading.load_task`): the stored feature spec is checked and the (EMA,
when saved) weights loaded. Label files and training options are not needed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from audiogen.errors import AudiogenError, ConfigError
from audiogen.eval.base import RESAMPLER, Metric, Score, Scorer, library, to_rate
from audiogen.models.quality import QualityPredictor
from audiogen.representations.base import Representation
from audiogen.tasks.quality import TARGETS, QualityPrediction
from audiogen.train import loading
from audiogen.utils import file_sha256

QP_PESQ = Metric("qp_pesq", "PESQ-wb (MOS-LQO) predicted from the audio alone by a trained "
                 "quality predictor", True, False, None, "quality", "MOS-LQO")
QP_STOI = Metric("qp_stoi", "STOI predicted from the audio alone by a trained quality predictor",
                 True, False, None, "quality")
QP_MOS = Metric("qp_mos", "MOS predicted by a trained quality predictor (its MOS head: PESQ-wb "
                "MOS-LQO unless fine-tuned on ratings)", True, False, None, "quality", "MOS")
METRICS = (QP_PESQ, QP_STOI, QP_MOS)
OUTPUTS = {"qp_pesq": TARGETS.index("pesq_wb"), "qp_stoi": TARGETS.index("stoi"),
           "qp_mos": TARGETS.index("mos")}


def load_predictor(path: str | os.PathLike) -> tuple[Representation, QualityPredictor, Path]:
    """Representation, network (eval mode) and weights file of a quality-predictor checkpoint,
    rebuilt by the one loader (:func:`~audiogen.train.loading.load_task`, EMA weights when
    saved; no label files or ``init_from`` needed); raises ConfigError when it is not one,
    SpecMismatchError when its spec disagrees."""
    try:
        weights_file = loading.weights_file(path, prefer_ema=True)
    except AudiogenError as error:
        raise ConfigError(f"quality_checkpoint: {error}") from None
    task = loading.load_task(path, prefer_ema=True)
    if not isinstance(task, QualityPrediction):
        raise ConfigError(f"{path}: not a quality-predictor checkpoint (its task is "
                          f"{type(task).__name__}, not QualityPrediction)")
    return task.representation, task.model.eval(), weights_file


class QualityPredictorScorer(Scorer):
    """Runs a trained :class:`QualityPredictor` (loaded once) on each generated signal at the
    model's rate; PESQ, STOI and MOS come from one forward pass."""

    def __init__(self, metrics: Sequence[Metric], checkpoint: str | os.PathLike | None = None
                 ) -> None:
        super().__init__(metrics)
        if checkpoint is None:
            raise ConfigError("qp_* metrics need a trained quality predictor: pass "
                              "quality_checkpoint=PATH (see recipes/eval/quality_predictor)")
        self.path = Path(checkpoint)
        self.representation, self.model, self.weights_file = load_predictor(self.path)
        self.sample_rate = self.representation.sample_rate

    def score(self, generated: np.ndarray, reference: np.ndarray | None, sample_rate: int
              ) -> Score:
        wave = to_rate(generated, sample_rate, self.sample_rate).astype(np.float32)
        with torch.inference_mode():
            features = self.representation.encode(torch.from_numpy(wave)[None])
            scores, _ = self.model(features)
        return {name: float(scores[0, OUTPUTS[name]]) for name in self.names}

    def card(self, name: str) -> dict[str, Any]:
        return {**library("torch"), "sample_rate": self.sample_rate, "resampler": RESAMPLER,
                "mode": f"output '{TARGETS[OUTPUTS[name]]}' of a QualityPredictor (log-mel "
                        "ConvNeXt + BLSTM, mean of frame scores), trained on intrusive labels "
                        "of degraded speech", "alignment": "none (reference-free)",
                "embedding_model": str(self.path),
                "checksum": f"sha256 {self.weights_file.name} {file_sha256(self.weights_file)}"}


def predict_manifest(path: str | os.PathLike, checkpoint: str | os.PathLike
                     ) -> list[dict[str, Any]]:
    """Predictions of a checkpoint for every row of a label manifest: one dict per item with
    id, speaker, condition, the labels it has (pesq_wb, stoi, mos) and qp_pesq, qp_stoi,
    qp_mos. Unreadable items are skipped."""
    from tqdm import tqdm

    from audiogen import audio
    from audiogen.data import manifest

    scorer = QualityPredictorScorer(list(METRICS), checkpoint)
    rows = []
    for row in tqdm(manifest.read(path), desc="predict", unit="item", dynamic_ncols=True):
        try:
            wave, rate = audio.load(row.path)
        except Exception:
            continue
        item = {"id": row.id, "speaker": row.speaker, "condition": row.extra.get("condition"),
                **{name: row.extra[name] for name in TARGETS if name in row.extra}}
        item.update(scorer.score(wave[0].numpy(), None, rate))
        rows.append(item)
    return rows


PAIRS = (("qp_pesq", "pesq_wb"), ("qp_stoi", "stoi"), ("qp_mos", "mos"))


def correlations(rows: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Pearson and Spearman correlation (scipy.stats), RMSE and n of each prediction with its
    label over the rows that have both (pairs with fewer than 3 rows are left out; a
    correlation with a constant input is None)."""
    import warnings

    from scipy import stats

    def finite(value: float) -> float | None:
        return float(value) if np.isfinite(value) else None

    table = {}
    for predicted, label in PAIRS:
        pairs = np.array([(row[predicted], row[label]) for row in rows
                          if row.get(label) is not None and row.get(predicted) is not None],
                         dtype=np.float64).reshape(-1, 2)
        if len(pairs) < 3:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pearson = stats.pearsonr(pairs[:, 0], pairs[:, 1])[0]
            spearman = stats.spearmanr(pairs[:, 0], pairs[:, 1])[0]
        table[f"{predicted}~{label}"] = {
            "pearson": finite(pearson), "spearman": finite(spearman),
            "rmse": float(np.sqrt(np.mean((pairs[:, 0] - pairs[:, 1]) ** 2))),
            "n": int(len(pairs))}
    return table
