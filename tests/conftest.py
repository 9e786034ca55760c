"""Shared fixtures: small on-disk corpora made by the tests themselves."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from audiogen.data import manifest

torch.set_num_threads(2)  # the container may report more CPUs than its 2-core quota

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def harmonic_tone(seconds: float, sample_rate: int, f0: float, seed: int) -> np.ndarray:
    """A voiced-speech-like test signal: harmonics of a gliding f0 plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    glide = f0 * (1 + 0.1 * np.sin(2 * math.pi * 1.5 * t))
    phase = 2 * math.pi * np.cumsum(glide) / sample_rate
    wave = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = 0.5 + 0.5 * np.sin(2 * math.pi * 3 * t) ** 2
    return (0.2 * envelope * wave + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve 16 kHz utterances by two 'speakers' with train/valid/test manifests."""
    root = tmp_path_factory.mktemp("tiny_corpus")
    rows: dict[str, list[manifest.Utterance]] = {"train": [], "valid": [], "test": []}
    for index in range(12):
        speaker = "low" if index % 2 else "high"
        seconds = 0.6 + 0.1 * (index % 4)
        wave = harmonic_tone(seconds, 16000, 110.0 if speaker == "low" else 220.0, index)
        path = root / "wavs" / speaker / f"utt{index:02d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(path, wave, 16000, subtype="PCM_16")
        split = "train" if index < 8 else ("valid" if index < 10 else "test")
        rows[split].append(manifest.Utterance(f"{speaker}/utt{index:02d}", str(path),
                                              wave.size / 16000, 16000, speaker))
    for split, utterances in rows.items():
        manifest.write(root / f"{split}.jsonl", utterances)
    return root
