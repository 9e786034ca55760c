"""Streaming benchmark: latency, compute per chunk, real-time factor, and exactness against
offline synthesis (:mod:`audiogen.inference.streaming`).

One row per (model, chunk size):

- ``algorithmic_latency_ms``: the worst wait of a sample when mel frames arrive in real time,
  from the model's parameters alone: chunk (``chunk_frames * hop``) + lookahead
  (``lookahead_frames * hop``, the backbone's right context) + iSTFT overlap
  (``(n_fft - hop) / 2``: a sample is final once every frame whose window covers it is added).
  Compute time comes on top of it (``ms_per_chunk``).
- ``ms_per_chunk``: median wall-clock time of one ``push`` of a full chunk once the stream is
  filled (warm-up pass excluded); ``rtf``: wall-clock time of the whole stream (pushes and
  flush) over the audio's duration, median of repeats (< 1 is faster than real time), on
  ``threads`` CPU threads; :func:`bench_stream` adds ``offline_rtf``, the same for one
  offline call over the whole utterance.
- ``snr_db``: streamed against offline output of the same features (inf when identical).
- ``boundary_jump_ratio``: the largest sample-to-sample step |x[n] - x[n-1]| across a chunk
  boundary over the largest one elsewhere; a click at the joins would make it exceed 1.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from audiogen import audio
from audiogen.bench.timing import median_seconds
from audiogen.inference.inputs import Item
from audiogen.inference.streaming import (
    FrameStreamer,
    algorithmic_latency_samples,
    streamable_generator,
)
from audiogen.inference.synthesize import features_of
from audiogen.models.vocoders import FrameVocoder
from audiogen.tasks.base import Task

__all__ = ["StreamRun", "bench_stream", "chunk_frames", "run_stream", "stream_row",
           "synthesize_stream"]


@dataclass
class StreamRun:
    """One utterance streamed: the audio (B, T), each push's wall-clock seconds and output
    length (the flush last), and the total wall-clock seconds."""

    audio: torch.Tensor
    push_seconds: list[float]
    push_samples: list[int]
    seconds: float


def chunk_frames(chunk_ms: float, sample_rate: int, hop_length: int) -> int:
    """Frames per chunk for a chunk of at most ``chunk_ms`` (at least one frame)."""
    return max(1, int(chunk_ms * sample_rate / (1000 * hop_length) + 1e-9))


@torch.inference_mode()
def run_stream(generator: FrameVocoder, features: torch.Tensor, frames: int) -> StreamRun:
    """Stream ``features`` (B, C, N) through ``generator`` in chunks of ``frames``, timed."""
    streamer = FrameStreamer(generator)
    outputs, seconds = [], []
    start = time.perf_counter()
    for chunk in [*features.split(frames, dim=-1), None]:
        before = time.perf_counter()
        outputs.append(streamer.flush() if chunk is None else streamer.push(chunk))
        seconds.append(time.perf_counter() - before)
    total = time.perf_counter() - start
    return StreamRun(torch.cat(outputs, dim=-1), seconds, [o.shape[-1] for o in outputs], total)


def snr_db(reference: torch.Tensor, estimate: torch.Tensor) -> float:
    """10 log10 of reference energy over error energy (inf when equal)."""
    error = float((reference.double() - estimate.double()).square().sum())
    energy = float(reference.double().square().sum())
    return math.inf if error == 0 else 10 * math.log10(energy / error)


def boundary_jump_ratio(wave: torch.Tensor, push_samples: Sequence[int]) -> float:
    """Largest |x[n] - x[n-1]| with n a chunk boundary over the largest elsewhere (B, T)."""
    steps = (wave[..., 1:] - wave[..., :-1]).abs().amax(dim=0)  # steps[n - 1]: x[n] - x[n-1]
    boundaries = torch.tensor(sorted({n for n in _cumulative(push_samples)
                                      if 0 < n < wave.shape[-1]}), dtype=torch.long)
    inside = torch.ones_like(steps, dtype=torch.bool)
    inside[boundaries - 1] = False
    at_boundaries = float(steps[boundaries - 1].max()) if len(boundaries) else 0.0
    elsewhere = float(steps[inside].max())
    return at_boundaries / elsewhere if elsewhere > 0 else math.inf


def _cumulative(values: Sequence[int]) -> list[int]:
    total, out = 0, []
    for value in values:
        total += value
        out.append(total)
    return out


def stream_row(system: str, generator: FrameVocoder, sample_rate: int, frames: int,
               runs: Sequence[StreamRun], offline: torch.Tensor, threads: int
               ) -> dict[str, Any]:
    """One benchmark row from timed runs of the same stream (the first run is a warm-up
    when there are several) and the offline output."""
    head, lookahead = generator.head, getattr(generator.backbone, "lookahead")  # noqa: B009
    n_fft, hop = int(getattr(head, "n_fft")), generator.hop_length  # noqa: B009
    timed = runs[1:] if len(runs) > 1 else runs
    streamed = runs[-1].audio
    duration = offline.shape[-1] / sample_rate
    fills = -(-lookahead // frames) + 1  # pushes before a full chunk's worth comes out
    steady = [s for run in timed for s in run.push_seconds[fills:-2]] or \
        [s for run in timed for s in run.push_seconds[:-1]]
    ms = 1000.0 / sample_rate
    return {
        "system": system, "lookahead_frames": lookahead, "chunk_frames": frames,
        "chunk_ms": frames * hop * ms,
        "algorithmic_latency_ms": algorithmic_latency_samples(frames, lookahead, hop, n_fft) * ms,
        "latency_parts_ms": {"chunk": frames * hop * ms, "lookahead": lookahead * hop * ms,
                             "istft_overlap": (n_fft - hop) // 2 * ms},
        "ms_per_chunk": 1000.0 * statistics.median(steady),
        "rtf": statistics.median(run.seconds for run in timed) / duration,
        "threads": threads,
        "snr_db": snr_db(offline, streamed),
        "boundary_jump_ratio": boundary_jump_ratio(streamed, runs[-1].push_samples),
        "samples": streamed.shape[-1], "offline_samples": offline.shape[-1],
        "audio_seconds": duration,
    }


def bench_stream(task: Task, features: torch.Tensor, chunk_ms: Sequence[float] = (16, 64, 96),
                 threads: int = 1, repeats: int = 3, system: str = "model"
                 ) -> list[dict[str, Any]]:
    """Rows of :func:`stream_row` for ``task`` (a streamable vocoder task) on ``features``
    (B, C, N), one per chunk size, with torch limited to ``threads`` CPU threads."""
    generator = streamable_generator(task).eval()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            offline = generator(features)
        offline_rtf = median_seconds(lambda: generator(features), repeats, warmup=1) / (
            offline.shape[-1] / task.sample_rate)
        rows = []
        for milliseconds in chunk_ms:
            frames = chunk_frames(milliseconds, task.sample_rate, generator.hop_length)
            runs = [run_stream(generator, features, frames) for _ in range(1 + repeats)]
            row = stream_row(system, generator, task.sample_rate, frames, runs, offline, threads)
            rows.append({**row, "offline_rtf": offline_rtf})
        return rows
    finally:
        torch.set_num_threads(previous)


def synthesize_stream(task: Task, source: str | os.PathLike, out: str | os.PathLike,
                      chunk_ms: float = 100.0, threads: int = 1, system: str = "model"
                      ) -> dict[str, Any]:
    """Stream the features of one input (a wav, encoded with the task's representation, or an
    ``.npz`` feature file with the task's spec) in chunks of ``chunk_ms``, write the streamed
    audio to ``out`` (wav) and return its :func:`stream_row` (one timed run, measured against
    offline synthesis of the same features)."""
    generator = streamable_generator(task).eval()
    features = features_of(task, Item(Path(source), Path(source).stem),
                           next(generator.parameters()).device)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        frames = chunk_frames(chunk_ms, task.sample_rate, generator.hop_length)
        run = run_stream(generator, features, frames)
        with torch.inference_mode():
            offline = generator(features)
    finally:
        torch.set_num_threads(previous)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    audio.save(out, run.audio[0].float().cpu()[None], task.sample_rate)
    row = stream_row(system, generator, task.sample_rate, frames, [run], offline, threads)
    return {**row, "input": str(source), "output": str(out)}


@dataclass
class StreamReport:
    """What a streaming job wrote, what it skipped (with the reason) and one measurement row
    per written file."""

    written: list[Path]
    skipped: list[tuple[str, str]]
    rows: list[dict[str, Any]]

    def summary(self) -> list[str]:
        """Algorithmic latency, median RTF and the worst SNR against offline, for the job line."""
        if not self.rows:
            return []
        latency = self.rows[0]["algorithmic_latency_ms"]
        rtf = statistics.median(row["rtf"] for row in self.rows)
        snr = min(row["snr_db"] for row in self.rows)
        return [f"latency {latency:.0f} ms", f"median RTF {rtf:.3f}",
                f"worst SNR vs offline {snr:.1f} dB"]


def stream_files(model: str | os.PathLike | Task, inputs: str | os.PathLike,
                 out: str | os.PathLike, chunk_ms: float = 100.0, threads: int = 1,
                 device: str = "cpu", limit: int | None = None, ema: bool = True
                 ) -> StreamReport:
    """:func:`synthesize_stream` for every input (file, folder, manifest or ``.npz`` features)
    to ``out/<relative name>.wav``; rows also go to ``out/streaming.json``. An input that fails
    is reported and skipped; a model that cannot stream fails before any input is read."""
    from audiogen.errors import AudiogenError
    from audiogen.inference.inputs import list_inputs
    from audiogen.inference.synthesize import resolve_model, spread
    from audiogen.utils import atomic_write_json

    task = resolve_model(model, device, ema)
    streamable_generator(task)  # refuse a model that cannot stream, by name, up front
    out = Path(out)
    report = StreamReport([], [], [])
    for item in spread(list_inputs(inputs), limit):
        target = out / f"{item.name}.wav"
        try:
            row = synthesize_stream(task, item.path, target, chunk_ms, threads, item.name)
        except AudiogenError as error:
            report.skipped.append((item.name, str(error)))
            continue
        report.written.append(target)
        report.rows.append(row)
    if report.rows:
        atomic_write_json(out / "streaming.json", report.rows)
    return report
