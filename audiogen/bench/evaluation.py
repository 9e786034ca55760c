"""Evaluation speed: wall-clock seconds per hour of audio, per metric and for all together.

Each measurement is a full :func:`audiogen.eval.evaluate` run into a temporary folder (model
loading, worker start-up, audio reading and scoring included), repeated ``repeats`` times; the
median is reported. The machine's load average is recorded with each measurement, since other
jobs on a shared machine slow every number down.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path
from typing import Any, Sequence

from audiogen import audio
from audiogen.bench.timing import elapsed_seconds
from audiogen.eval import pairing


def audio_seconds(ref: str, gen: str) -> float:
    """Seconds of generated audio that have a reference (what an evaluation scores)."""
    pairs = pairing.pair(pairing.collect(gen), pairing.collect(ref))
    total = 0.0
    for item in pairs:
        if item.generated is not None and item.reference is not None:
            rate, frames, _ = audio.info(item.generated.path)
            total += frames / rate
    return total


def time_evaluation(ref: str, gen: str, metrics: Sequence[str], workers: int) -> float:
    """Wall-clock seconds of one complete evaluation of ``metrics``."""
    from audiogen.eval.evaluation import evaluate

    with tempfile.TemporaryDirectory() as folder:
        return elapsed_seconds(lambda: evaluate(ref, {"gen": gen}, list(metrics), Path(folder),
                                                workers=workers))


def bench_eval(ref: str, gen: str, metrics: Sequence[str], repeats: int = 1, workers: int = 2
               ) -> dict[str, Any]:
    """Median seconds per hour of audio of each metric alone and of all of them together."""
    seconds = audio_seconds(ref, gen)
    if seconds <= 0:
        from audiogen.errors import DataError

        raise DataError(f"{gen}: no generated audio paired with {ref}")
    rows = []
    for name, chosen in [(metric, [metric]) for metric in metrics] + [("total", list(metrics))]:
        times, loads = [], []
        for _ in range(repeats):
            times.append(time_evaluation(ref, gen, chosen, workers))
            loads.append(os.getloadavg()[0])
        median = statistics.median(times)
        rows.append({"metric": name, "seconds": median, "seconds_per_hour": median / seconds
                     * 3600.0, "minutes_per_hour": median / seconds * 60.0, "runs": times,
                     "load_average_1min": loads})
    return {"audio_seconds": seconds, "workers": workers, "repeats": repeats,
            "cpu_count": os.cpu_count(), "metrics": list(metrics), "rows": rows}


def format_table(result: dict[str, Any]) -> str:
    """A plain-text table of :func:`bench_eval`'s rows."""
    lines = [f"{result['audio_seconds']:.1f} s of audio, {result['workers']} worker(s), "
             f"median of {result['repeats']}",
             f"{'metric':<14}{'s':>10}{'s/hour':>12}{'min/hour':>10}{'load':>8}"]
    for row in result["rows"]:
        lines.append(f"{row['metric']:<14}{row['seconds']:>10.1f}{row['seconds_per_hour']:>12.1f}"
                     f"{row['minutes_per_hour']:>10.2f}{max(row['load_average_1min']):>8.1f}")
    return "\n".join(lines)
