"""Streaming benchmark rows: latency from the model's parameters, exactness, boundary clicks,
and the file front-end the CLI calls."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from audiogen import audio
from audiogen import config as cfg
from audiogen.bench.streaming import (
    bench_stream,
    boundary_jump_ratio,
    chunk_frames,
    synthesize_stream,
)
from audiogen.tasks.gan_vocoder import GANVocoder
from audiogen.train.experiment import build_task
from tests.conftest import harmonic_tone


def tiny_gan(lookahead: int) -> GANVocoder:
    torch.manual_seed(0)
    task = build_task(cfg.load("recipes/vocoder/gan_mel/debug.yaml",
                               [f"task.generator.backbone.lookahead={lookahead}"]))
    assert isinstance(task, GANVocoder)
    del task.discriminators
    return task.eval()


def test_chunk_frames_never_exceed_the_requested_duration() -> None:
    assert chunk_frames(100, 16000, 256) == 6  # 96 ms
    assert chunk_frames(16, 16000, 256) == 1
    assert chunk_frames(5, 16000, 256) == 1  # at least one frame


def test_bench_rows_give_latency_exactness_and_no_clicks() -> None:
    task = tiny_gan(lookahead=2)
    wave = torch.from_numpy(harmonic_tone(0.5, 16000, 150.0, 0))[None]
    features = task.representation.encode(wave)
    rows = bench_stream(task, features, chunk_ms=(16, 100), threads=1, repeats=1)
    assert [row["chunk_frames"] for row in rows] == [1, 6]
    for row in rows:
        parts = row["latency_parts_ms"]
        assert parts == {"chunk": row["chunk_frames"] * 16.0, "lookahead": 32.0,
                         "istft_overlap": 24.0}
        assert row["algorithmic_latency_ms"] == sum(parts.values())
        assert row["samples"] == row["offline_samples"] == features.shape[-1] * 256
        assert row["snr_db"] > 100 and row["ms_per_chunk"] > 0 and row["rtf"] > 0
        assert row["offline_rtf"] > 0
        assert row["boundary_jump_ratio"] < 1.5


def test_boundary_jump_ratio_sees_a_click() -> None:
    time = torch.arange(4000) / 16000
    smooth = torch.sin(2 * math.pi * 200 * time)[None]
    assert boundary_jump_ratio(smooth, [1000, 1000, 2000]) <= 1.0
    clicked = smooth.clone()
    clicked[:, 2000:] += 0.5  # a step where the second chunk ends
    assert boundary_jump_ratio(clicked, [1000, 1000, 2000]) > 2.0


def test_synthesize_stream_writes_the_streamed_file(tmp_path: Path) -> None:
    task = tiny_gan(lookahead=2)
    source = tmp_path / "tone.wav"
    audio.save(source, torch.from_numpy(harmonic_tone(0.4, 16000, 150.0, 1))[None], 16000)
    row = synthesize_stream(task, source, tmp_path / "out" / "tone.wav", chunk_ms=48)
    wave, rate = audio.load(tmp_path / "out" / "tone.wav")
    assert rate == 16000 and wave.shape[-1] == row["samples"] == (6400 // 256) * 256
    assert row["chunk_frames"] == 3 and row["snr_db"] > 100 and row["output"].endswith("tone.wav")
