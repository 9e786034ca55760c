"""The quality task: labels by id, masked missing targets, ratings CSV, MOS-head fine-tuning."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import torch

from audiogen.data import manifest
from audiogen.errors import DataError
from audiogen.models.quality import QualityPredictor
from audiogen.representations.spectral import LogMel
from audiogen.tasks.quality import QualityPrediction, read_ratings
from audiogen.train import checkpoint
from audiogen.train.experiment import build_task

TASK = {"_target_": "audiogen.tasks.quality.QualityPrediction",
        "representation": {"_target_": "audiogen.representations.spectral.LogMel",
                           "sample_rate": 16000, "n_fft": 512, "hop_length": 160,
                           "n_mels": 16},
        "model": {"_target_": "audiogen.models.quality.QualityPredictor", "in_channels": 16,
                  "dim": 16, "intermediate_dim": 24, "num_layers": 1}}


def labelled(tiny_corpus: Path, tmp_path: Path, with_labels: bool = True) -> Path:
    rows = manifest.read(tiny_corpus / "train.jsonl")
    for index, row in enumerate(rows):
        if with_labels:
            row.extra.update(pesq_wb=1.5 + 0.3 * index, stoi=0.5 + 0.05 * index)
    path = tmp_path / "labels.jsonl"
    manifest.write(path, rows, relative=False)
    return path


def make_task(labels: Path | None, **options: object) -> QualityPrediction:
    torch.manual_seed(0)
    representation = LogMel(16000, n_fft=512, hop_length=160, n_mels=16)
    model = QualityPredictor(16, dim=16, intermediate_dim=24, num_layers=1)
    return QualityPrediction(representation, model, str(labels) if labels else None,
                             **options)  # type: ignore[arg-type]


def batch_of(tiny_corpus: Path, count: int = 3) -> dict:
    from audiogen.data.dataset import AudioDataset, collate

    dataset = AudioDataset(tiny_corpus / "train.jsonl", 16000, segment_seconds=1.0)
    return collate([dataset[i] for i in range(count)])


def test_loss_uses_the_labels_of_the_batch_ids(tiny_corpus: Path, tmp_path: Path) -> None:
    task = make_task(labelled(tiny_corpus, tmp_path))
    batch = batch_of(tiny_corpus)
    losses = task.losses(batch, "model", 0)
    scores, _, _ = task.predict(batch["audio"][:, 0])
    table = task.labels()
    targets = torch.tensor([table[i] for i in batch["ids"]])
    assert targets[:, 2].tolist() == targets[:, 0].tolist()  # mos_from pesq_wb
    assert float(losses["pesq_wb_mae"]) > 0 and float(losses["labelled"]) == 3
    losses["loss"].backward()
    assert all(p.grad is not None for p in task.model.parameters())


def test_missing_targets_are_masked_and_unknown_ids_refused(tiny_corpus: Path,
                                                             tmp_path: Path) -> None:
    task = make_task(labelled(tiny_corpus, tmp_path, with_labels=False), mos_from=None)
    losses = task.losses(batch_of(tiny_corpus), "model", 0)
    assert float(losses["loss"].detach()) == 0.0 and float(losses["labelled"]) == 0
    batch = batch_of(tiny_corpus)
    batch["ids"][0] = "nobody/nothing"
    with pytest.raises(DataError, match="nobody/nothing"):
        make_task(labelled(tiny_corpus, tmp_path)).losses(batch, "model", 0)


def test_crops_shorter_than_the_segment_are_masked_by_their_length(tiny_corpus: Path,
                                                              tmp_path: Path) -> None:
    task = make_task(labelled(tiny_corpus, tmp_path))
    batch = batch_of(tiny_corpus, 1)  # 0.6 s utterance zero-padded to 1 s
    targets, valid = task._targets(batch, batch["audio"].shape[-1])
    assert int(valid[0]) == round(manifest.read(tiny_corpus / "train.jsonl")[0].duration
                                  * 16000) < batch["audio"].shape[-1]
    assert not math.isnan(float(targets[0, 0]))


def write_ratings(path: Path, rows: list[tuple[str, str, float]]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rater", "test_type", "trial", "system", "item", "audio_path",
                         "score"])
        for index, (kind, audio_path, score) in enumerate(rows):
            writer.writerow([f"r{index % 2}", kind, index, "sys", "item", audio_path, score])


def test_ratings_csv_gives_mean_scores_per_file(tiny_corpus: Path, tmp_path: Path) -> None:
    """Simulated ratings (test only)."""
    paths = [row.path for row in manifest.read(tiny_corpus / "train.jsonl")]
    write_ratings(tmp_path / "ratings.csv", [("acr", paths[0], 4), ("acr", paths[0], 2),
                                             ("acr", paths[1], 5), ("mushra", paths[1], 90)])
    ratings = read_ratings(tmp_path / "ratings.csv")
    assert ratings[paths[0]] == (3.0, 2) and ratings[paths[1]] == (5.0, 1)
    write_ratings(tmp_path / "bad.csv", [("acr", paths[0], float("nan"))])
    with pytest.raises(DataError, match="bad.csv:2"):
        read_ratings(tmp_path / "bad.csv")


def test_mos_head_fine_tuning_on_ratings(tiny_corpus: Path, tmp_path: Path) -> None:
    """Simulated ratings (test only): only the MOS head learns, from the trained weights."""
    paths = [row.path for row in manifest.read(tiny_corpus / "train.jsonl")]
    write_ratings(tmp_path / "ratings.csv", [("acr", p, 1 + i % 5) for i, p in
                                             enumerate(paths[:3])])
    unrated = tmp_path / "rated.jsonl"
    manifest.write(unrated, manifest.read(tiny_corpus / "train.jsonl"), relative=False)
    trained = make_task(None)
    with torch.no_grad():
        trained.model.input.weight.add_(1.0)
    checkpoint.save(tmp_path / "trained" / "checkpoints", 1, {"task": TASK}, trained.spec,
                    trained.state_dict(), None, {})
    # init_from is loaded by the one loader when the task is built from its config
    task = build_task({"task": {**TASK, "labels": str(unrated),
                                "ratings": str(tmp_path / "ratings.csv"), "train": "mos_head",
                                "init_from": str(tmp_path / "trained"), "mos_from": None}})
    assert isinstance(task, QualityPrediction)
    assert torch.equal(task.model.input.weight, trained.model.input.weight)
    batch = batch_of(tiny_corpus, 4)
    losses = task.losses(batch, "model", 0)
    assert float(losses["labelled"]) == 3 and "pesq_wb_mae" not in losses
    losses["loss"].backward()
    trainable = {name for name, p in task.named_parameters() if p.grad is not None}
    assert trainable == {"model.heads.2.weight", "model.heads.2.bias"}
    json.dumps({k: float(v.detach()) for k, v in losses.items()})
