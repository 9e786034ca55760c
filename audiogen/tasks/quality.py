"""Training a non-intrusive quality predictor on labelled degraded speech, and fine-tuning its
MOS head on listening-test ratings.

Targets come from *label manifests* (``audiogen quality label`` writes them): manifest rows whose
extra fields hold ``pesq_wb``, ``stoi`` and optionally ``mos``. Batches from the common trainer
carry utterance ids; the task looks each id up. A target that an item lacks is left out of the
loss (masked), so a manifest of rated audio trains the MOS head only. Ratings come from a CSV
exported by ``audiogen listen export`` (columns rater, test_type, trial, system, item,
audio_path, score): the mean score per audio file, joined to the label manifests by path.
Before any rating is seen, ``mos_from="pesq_wb"`` trains the MOS head on the PESQ-wb MOS-LQO.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any, Literal, Sequence

import torch
from torch import nn

from audiogen.data import manifest
from audiogen.errors import ConfigError, DataError
from audiogen.models.quality import QualityPredictor
from audiogen.representations.base import Representation
from audiogen.tasks.base import Task

TARGETS = ("pesq_wb", "stoi", "mos")
RATING_TEST_TYPES = ("acr", "mos", "p800")


def read_ratings(path: str | os.PathLike, test_types: Sequence[str] = RATING_TEST_TYPES
                 ) -> dict[str, tuple[float, int]]:
    """Mean score and count per resolved ``audio_path`` of a ratings CSV (rows whose test_type
    is one of ``test_types``, case-insensitive); a bad row raises DataError naming its line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: ratings CSV not found")
    wanted = {kind.lower() for kind in test_types}
    sums: dict[str, list[float]] = {}
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"test_type", "audio_path", "score"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for number, row in enumerate(reader, 2):
            if str(row["test_type"]).strip().lower() not in wanted:
                continue
            try:
                score = float(row["score"])
            except (TypeError, ValueError):
                raise DataError(f"{path}:{number}: score {row['score']!r} is not a number"
                                ) from None
            if not math.isfinite(score):
                raise DataError(f"{path}:{number}: score {score} is not finite")
            audio_path = Path(row["audio_path"])
            if not audio_path.is_absolute():
                audio_path = path.resolve().parent / audio_path
            sums.setdefault(os.path.normpath(audio_path), []).append(score)
    if not sums:
        raise DataError(f"{path}: no ratings of test type {', '.join(sorted(wanted))}")
    return {key: (sum(values) / len(values), len(values)) for key, values in sums.items()}


class QualityPrediction(Task):
    """Regresses PESQ-wb, STOI and a MOS from the degraded audio alone.

    Loss: for each target with weight w, w * mean over labelled items of ((prediction - label)
    / range)^2, plus ``frame_weight`` times the same error of every valid frame's score
    (MOSNet's frame-level term). ``train="mos_head"`` freezes everything but the MOS head (for
    fine-tuning on few ratings); ``init_from`` (an experiment or checkpoint of a trained
    predictor) starts from its weights: :func:`audiogen.train.loading.build_task` loads them
    through the one loader when it builds the task for training.
    """

    def __init__(self, representation: Representation, model: QualityPredictor,
                 labels: str | list[str | list[str] | None] | None = None,
                 ratings: str | None = None,
                 rating_test_types: Sequence[str] = RATING_TEST_TYPES,
                 mos_from: Literal["pesq_wb"] | None = "pesq_wb",
                 weights: dict[str, float] | None = None, frame_weight: float = 0.2,
                 train: Literal["all", "mos_head"] = "all", init_from: str | None = None
                 ) -> None:
        super().__init__()
        if len(model.heads) != len(TARGETS):
            raise ConfigError(f"model must have {len(TARGETS)} heads ({', '.join(TARGETS)}), "
                              f"got {len(model.heads)}")
        self.representation, self.model = representation, model
        self.label_paths = _flatten(labels)
        self.ratings, self.rating_test_types = ratings, tuple(rating_test_types)
        self.mos_from = mos_from
        self.weights = {name: float((weights or {}).get(name, 1.0)) for name in TARGETS}
        unknown = set(weights or {}) - set(TARGETS)
        if unknown:
            raise ConfigError(f"weights: unknown target(s) {sorted(unknown)}; valid: {TARGETS}")
        self.frame_weight = frame_weight
        self._table: dict[str, list[float]] | None = None
        self.init_from = init_from  # its weights are loaded by train.loading.build_task
        if train == "mos_head":
            for parameter in self.parameters():
                parameter.requires_grad_(False)
            heads: nn.ModuleList = self.model.heads
            heads[TARGETS.index("mos")].requires_grad_(True)

    # ------------------------------------------------------------------ labels
    def labels(self) -> dict[str, list[float]]:
        """id -> targets in TARGETS order (NaN where missing); read on first use, so a trained
        model loads without its label files."""
        if self._table is None:
            self._table = self._read_labels()
        return self._table

    def _read_labels(self) -> dict[str, list[float]]:
        if not self.label_paths:
            raise ConfigError("quality task: no label manifests given (task.labels)")
        ratings = (read_ratings(self.ratings, self.rating_test_types) if self.ratings else {})
        table: dict[str, list[float]] = {}
        for path in self.label_paths:
            for row in manifest.read(path):
                values = [_number(row.extra.get(name), path, row.id, name) for name in TARGETS]
                if ratings:
                    rated = ratings.get(os.path.normpath(row.path))
                    values[2] = rated[0] if rated else math.nan
                elif self.mos_from and math.isnan(values[2]):
                    values[2] = values[TARGETS.index(self.mos_from)]
                table[row.id] = values
        if ratings and not any(not math.isnan(v[2]) for v in table.values()):
            raise DataError(f"{self.ratings}: no rated audio_path matches a path of "
                            f"{', '.join(self.label_paths)}")
        return table

    def _targets(self, batch: dict[str, Any], samples: int
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, K) targets (NaN = missing) and (B,) valid sample counts (the dataset's
        ``lengths``: a crop shorter than the training segment is zero-padded). A batch without
        ids (not from a manifest) is unlabelled; an id missing from the label manifests raises
        DataError."""
        size = batch["audio"].shape[0]
        ids = list(batch.get("ids") or [])
        table = self.labels() if ids else {}
        lengths = batch.get("lengths")
        targets, valid = [], []
        for index in range(size):
            values = [math.nan] * len(TARGETS)
            if ids:
                if ids[index] not in table:
                    raise DataError(f"item {ids[index]!r} is not in the label manifests "
                                    f"{', '.join(self.label_paths)}")
                values = table[ids[index]]
            count = samples if lengths is None else min(int(lengths[index]), samples)
            targets.append(values)
            valid.append(max(count, 1))
        return torch.tensor(targets, dtype=torch.float32), torch.tensor(valid)

    # ------------------------------------------------------------------ model
    def predict(self, wave: torch.Tensor, lengths: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, T) audio and valid sample counts -> scores (B, K), frame scores (B, K, frames),
        valid frame counts (B,)."""
        features = self.representation.encode(wave)
        frames = features.shape[-1]
        if lengths is None:
            counts = torch.full((wave.shape[0],), frames)
        else:
            counts = torch.tensor([self.representation.num_frames(int(n)) for n in lengths])
        counts = counts.clamp(1, frames)
        scores, frame_scores = self.model(features, counts)
        return scores, frame_scores, counts

    def losses(self, batch: dict[str, Any], phase: str, step: int) -> dict[str, torch.Tensor]:
        wave = batch["audio"][:, 0]
        targets, valid = self._targets(batch, wave.shape[-1])
        scores, frame_scores, counts = self.predict(wave, valid)
        targets = targets.to(scores)
        known = ~torch.isnan(targets)
        ranges: torch.Tensor = self.model.ranges
        span = (ranges[:, 1] - ranges[:, 0]).to(scores)
        error = torch.where(known, (scores - targets.nan_to_num()) / span, 0.0)
        frames = frame_scores.shape[-1]
        in_range = (torch.arange(frames, device=scores.device)[None] < counts[:, None]
                    ).to(scores)[:, None]  # (B, 1, frames)
        frame_error = (frame_scores - targets.nan_to_num()[..., None]) / span[:, None]
        frame_error = (frame_error ** 2 * in_range).sum(-1) / in_range.sum(-1)
        total = scores.sum() * 0.0
        logs: dict[str, torch.Tensor] = {}
        for k, name in enumerate(TARGETS):
            labelled = known[:, k]
            if labelled.any():
                utterance_loss = error[labelled, k].pow(2).mean()
                frame_loss = frame_error[labelled, k].mean()
                total = total + self.weights[name] * (utterance_loss
                                                      + self.frame_weight * frame_loss)
                logs[f"{name}_mae"] = (scores[labelled, k] - targets[labelled, k]).abs().mean()
        logs["labelled"] = known.any(dim=1).float().sum()
        return {"loss": total, **{k: v.detach() for k, v in logs.items()}}


def _flatten(paths: str | list[Any] | None) -> list[str]:
    """Label manifest paths from a path, a list of paths or nested lists (None entries, e.g. an
    unset ``data.valid``, are dropped)."""
    if paths is None:
        return []
    if isinstance(paths, (str, os.PathLike)):
        return [str(paths)]
    return [path for entry in paths for path in _flatten(entry)]


def _number(value: Any, path: str, key: str, name: str) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DataError(f"{path}: item {key!r} field {name!r} is not a number ({value!r})"
                        ) from None
