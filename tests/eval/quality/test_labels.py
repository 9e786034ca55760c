"""Labels equal direct pesq / pystoi calls; the labelling step writes manifest and CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
from pesq import pesq
from pystoi import stoi

from audiogen.data import degrade
from audiogen.eval.labels import CSV_COLUMNS, intrusive_labels, label_manifest
from tests.conftest import harmonic_tone


def test_labels_equal_direct_library_calls() -> None:
    clean = harmonic_tone(1.2, 16000, 150.0, 0)
    noisy = degrade.WhiteNoise().apply(clean, 16000, {"snr_db": 10.0, "noise_seed": 0})
    labels = intrusive_labels(noisy, clean, 16000)
    assert labels["pesq_wb"] == pytest.approx(pesq(16000, clean, noisy, "wb"), abs=1e-9)
    assert labels["stoi"] == pytest.approx(stoi(clean, noisy, 16000), abs=1e-12)


def test_label_manifest_in_two_processes(tiny_corpus: Path, tmp_path: Path) -> None:
    degrade.degrade_manifest(tiny_corpus / "train.jsonl", tmp_path / "deg", ["white_noise"],
                             copies=1, seed=0, max_items=3)
    short = tmp_path / "short.wav"
    soundfile.write(short, np.zeros(800, dtype=np.float32) + 0.1, 16000)
    with open(tmp_path / "deg" / "manifest.jsonl", "a") as handle:
        handle.write(json.dumps({"id": "too_short", "path": str(short), "duration": 0.05,
                                 "sample_rate": 16000, "speaker": "x",
                                 "clean_path": str(short)}) + "\n")
    report = label_manifest(tmp_path / "deg" / "manifest.jsonl", tmp_path / "labels", workers=2)
    assert report["labelled"] == 3 and [s["id"] for s in report["skipped"]] == ["too_short"]
    with open(tmp_path / "labels" / "labels.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 3
    for row in rows:
        clean, _ = soundfile.read(row["clean_path"], dtype="float32")
        noisy, _ = soundfile.read(row["degraded_path"], dtype="float32")
        assert float(row["pesq_wb"]) == pytest.approx(pesq(16000, clean, noisy, "wb"), abs=1e-6)
        assert float(row["stoi"]) == pytest.approx(stoi(clean, noisy, 16000), abs=1e-9)
