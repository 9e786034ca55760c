"""Vocoder speed benchmark: real-time factor, parameters and MACs, side by side with peers.

xRT is seconds of audio generated per wall-clock second (warm-up excluded, median of repeats).
MACs are counted during one generation (:mod:`audiogen.bench.timing`); parameters are those of
the modules that ran. The machine's fp32 matmul throughput is measured in the same run, so each
system's MAC-bound xRT can be compared with its measured one.
Peers (random weights; speed only): the ``diffwave`` package's model with its 6-step fast
schedule, and the ``vocos`` package's model at the same sample rate and hop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from audiogen.bench.timing import matmul_gflops, median_seconds, params_and_gmacs
from audiogen.tasks.base import Task


def row(system: str, steps: int, seconds_audio: float, wall: float, params: int, gmacs: float,
        device: str, threads: int, batch_size: int, peak_gflops: float) -> dict[str, Any]:
    """One JSON row of the benchmark."""
    per_second = gmacs / (seconds_audio * batch_size)
    return {"system": system, "steps": steps, "xrt": seconds_audio * batch_size / wall,
            "params": params, "gmacs_per_audio_second": per_second, "device": device,
            "threads": threads, "batch_size": batch_size,
            "mac_bound_xrt": peak_gflops / (2 * per_second) if per_second else None}


def bench_task(name: str, task: Task, steps: list[int], seconds: float, batch_size: int,
               repeats: int, device: str, threads: int, peak: float) -> list[dict[str, Any]]:
    """Rows for one of our tasks at each step count (one-step models report steps=1 once)."""
    samples = int(seconds * task.sample_rate)
    wave = 0.1 * torch.randn(batch_size, samples, generator=torch.Generator().manual_seed(0))
    features = task.representation.encode(wave).to(device)
    rows = []
    for step_count in steps:
        def run(n: int = step_count) -> torch.Tensor:
            return task.synthesize(features, steps=n)
        wall = median_seconds(run, repeats)
        params, gmacs = params_and_gmacs(run, task)
        rows.append(row(name, step_count, seconds, wall, params, gmacs, device, threads,
                        batch_size, peak))
    return rows


def diffwave_peer(sample_rate: int, hop_length: int, n_mels: int) -> tuple[nn.Module, Callable]:
    """The ``diffwave`` package's model (base size) and its 6-step fast sampling loop."""
    from diffwave.model import DiffWave
    from diffwave.params import AttrDict, params

    settings = AttrDict({**params, "sample_rate": sample_rate, "hop_samples": hop_length,
                         "n_mels": n_mels})
    model = DiffWave(settings).eval()
    betas = torch.tensor(settings.inference_noise_schedule)
    alpha_bars = torch.cumprod(1 - betas, 0)

    def generate(mel: torch.Tensor) -> torch.Tensor:
        audio = torch.randn(mel.shape[0], mel.shape[-1] * hop_length)
        for n in range(len(betas) - 1, -1, -1):
            eps = model(audio, mel, torch.tensor([n])).squeeze(1)
            audio = (audio - betas[n] / (1 - alpha_bars[n]).sqrt() * eps) / (1 - betas[n]).sqrt()
            if n > 0:
                audio = audio + betas[n].sqrt() * torch.randn_like(audio)
        return audio

    return model, generate


def vocos_peer(sample_rate: int, hop_length: int, n_mels: int) -> tuple[nn.Module, Callable]:
    """The ``vocos`` package's model (its published 24 kHz sizes: dim 512, 8 layers)."""
    from vocos import Vocos
    from vocos.feature_extractors import MelSpectrogramFeatures
    from vocos.heads import ISTFTHead
    from vocos.models import VocosBackbone

    model = Vocos(MelSpectrogramFeatures(sample_rate, 1024, hop_length, n_mels),
                  VocosBackbone(n_mels, 512, 1536, 8), ISTFTHead(512, 1024, hop_length)).eval()
    return model, model.decode


PEERS = {"diffwave": (diffwave_peer, 6), "vocos": (vocos_peer, 1)}


def bench_peer(name: str, sample_rate: int, hop_length: int, n_mels: int, seconds: float,
               batch_size: int, repeats: int, threads: int, peak: float) -> dict[str, Any]:
    """One row for a peer architecture at our sample rate and hop."""
    make, steps = PEERS[name]
    model, generate = make(sample_rate, hop_length, n_mels)
    frames = int(seconds * sample_rate) // hop_length
    mel = torch.randn(batch_size, n_mels, frames)
    wall = median_seconds(lambda: generate(mel), repeats)
    params, gmacs = params_and_gmacs(lambda: generate(mel), model)
    return row(name, steps, frames * hop_length / sample_rate, wall, params, gmacs, "cpu",
               threads, batch_size, peak)


def bench_vocoder(configs: dict[str, str], checkpoint: str | None, steps: list[int],
                  seconds: float, batch_size: int, threads: int, peers: list[str],
                  repeats: int = 10) -> list[dict[str, Any]]:
    """Benchmark our vocoders (configs, or one trained ``checkpoint``) and the named peers."""
    from audiogen import config as cfg
    from audiogen.errors import ConfigError
    from audiogen.train.experiment import build_task
    from audiogen.train.loading import load_task

    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        raise ConfigError(f"unknown peer {unknown[0]!r}; choose from {', '.join(PEERS)}")
    torch.set_num_threads(threads)
    peak = matmul_gflops()
    rows: list[dict[str, Any]] = []
    tasks = {name: build_task(cfg.load(path)) for name, path in configs.items()}
    if checkpoint:
        tasks[checkpoint] = load_task(checkpoint)
    reference = None
    for name, task in tasks.items():
        torch.manual_seed(0)
        task.eval()
        rows += bench_task(name, task, steps if task.multi_step else [1], seconds, batch_size,
                           repeats, "cpu", threads, peak)
        reference = reference or task
    if reference is not None:
        spec = reference.representation.spec
        for peer in peers:
            rows.append(bench_peer(peer, spec["sample_rate"], spec["hop_length"],
                                   spec.get("n_mels", 80), seconds, batch_size,
                                   max(2, repeats // 5) if peer == "diffwave" else repeats,
                                   threads, peak))
    for entry in rows:
        entry["machine_gflops"] = peak
    return rows
