"""Evaluation speed: wall-clock seconds per hour of audio, per metric and for all together.

Each measurement is a full :func:`audiogen.eval.evaluate` run into a temporary folder (model
loading, worker start-up, audio reading and scoring included), repeated ``repeats`` times; the
median is reported. The machine's load average and the run's CPU seconds (all its processes)
are recorded with each measurement, since other jobs on a shared machine slow every number
down; CPU seconds divided by the cores is what a perfectly parallel run on an idle machine would
take. :func:`value_differences` compares the per-item values of two evaluations (e.g. before
and after a change to a metric).
"""

from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

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


def time_evaluation(ref: str, gen: str, metrics: Sequence[str], workers: int,
                    options: dict[str, Any] | None = None) -> tuple[float, float]:
    """Wall-clock and CPU seconds (this process and its finished worker processes, user +
    system) of one complete evaluation of ``metrics`` with metric ``options``."""
    from audiogen.eval.evaluation import evaluate

    before = _cpu_seconds()
    with tempfile.TemporaryDirectory() as folder:
        wall = elapsed_seconds(lambda: evaluate(ref, {"gen": gen}, list(metrics), Path(folder),
                                                workers=workers, **(options or {})))
    return wall, _cpu_seconds() - before


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its waited-for children."""
    import resource

    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                          resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bench_eval(ref: str, gen: str, metrics: Sequence[str], repeats: int = 1, workers: int = 2,
               options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Median seconds per hour of audio of each metric alone and of all of them together,
    with metric ``options`` (``<group>_<argument>``, as ``audiogen evaluate --option``)."""
    seconds = audio_seconds(ref, gen)
    if seconds <= 0:
        from audiogen.errors import DataError

        raise DataError(f"{gen}: no generated audio paired with {ref}")
    rows = []
    for name, chosen in [(metric, [metric]) for metric in metrics] + [("total", list(metrics))]:
        times, cpu_times, loads = [], [], []
        for _ in range(repeats):
            wall, cpu = time_evaluation(ref, gen, chosen, workers, options)
            times.append(wall)
            cpu_times.append(cpu)
            loads.append(os.getloadavg()[0])
        median = statistics.median(times)
        rows.append({"metric": name, "seconds": median, "seconds_per_hour": median / seconds
                     * 3600.0, "minutes_per_hour": median / seconds * 60.0, "runs": times,
                     "cpu_seconds": cpu_times, "load_average_1min": loads})
    return {"audio_seconds": seconds, "workers": workers, "repeats": repeats,
            "cpu_count": os.cpu_count(), "metrics": list(metrics),
            "options": {key: str(value) for key, value in (options or {}).items()},
            "rows": rows}


def format_table(result: dict[str, Any]) -> str:
    """A plain-text table of :func:`bench_eval`'s rows."""
    lines = [f"{result['audio_seconds']:.1f} s of audio, {result['workers']} worker(s), "
             f"median of {result['repeats']}",
             f"{'metric':<14}{'s':>10}{'s/hour':>12}{'min/hour':>10}{'cpu s':>8}{'load':>8}"]
    for row in result["rows"]:
        lines.append(f"{row['metric']:<14}{row['seconds']:>10.1f}{row['seconds_per_hour']:>12.1f}"
                     f"{row['minutes_per_hour']:>10.2f}{statistics.median(row['cpu_seconds']):>8.1f}"
                     f"{max(row['load_average_1min']):>8.1f}")
    return "\n".join(lines)


def value_differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``{metric: {n, mean_abs, max_abs, mean_before, mean_after}}`` over the items that both
    evaluation results (``results.json`` contents) score, for the metrics both contain."""
    def values(results: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
        return {(str(row["system"]), str(row["id"])): row for row in results["per_item"]}

    old, new = values(before), values(after)
    metrics = [name for name in before["metrics"] if name in after["metrics"]]
    table: dict[str, Any] = {}
    for name in metrics:
        pairs = [(old[key][name], new[key][name]) for key in old.keys() & new.keys()
                 if old[key].get(name) is not None and new[key].get(name) is not None]
        if not pairs:
            continue
        first, second = (np.array(side, np.float64) for side in zip(*pairs))
        difference = np.abs(second - first)
        table[name] = {"n": len(pairs), "mean_abs": float(difference.mean()),
                       "max_abs": float(difference.max()), "mean_before": float(first.mean()),
                       "mean_after": float(second.mean())}
    return table
