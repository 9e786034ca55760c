"""The results file: metric cards, per-system summaries with 95% confidence intervals, per-item
rows; written atomically as ``results.json`` and ``per_item.csv``.

Per-item rows are ``{"id", "system", "<metric>": value or null, ..., "notes": [...],
"errors": {"<metric>" or "item": message}}`` plus the audio paths used. A summary entry is
``{"mean", "std", "ci95": [low, high], "n", "n_failed"}``: ``std`` has ddof 1 and ``ci95`` is the
two-sided Student-t interval of the mean (mean +- t_{0.975, n-1} std / sqrt(n)); with n < 2 they
are null. Failed items are left out of the mean and counted in ``n_failed``. Set metrics (FAD)
have one value per system: mean = value, std and ci95 null, n = items in the set.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from audiogen.errors import DataError
from audiogen.utils import atomic_write_json, atomic_write_text

FORMAT = "audiogen-eval/1"
CI95_METHOD = ("two-sided Student-t 95% interval of the mean: mean +- t(0.975, n-1) * std / "
               "sqrt(n), std with ddof 1")
RESULTS_NAME = "results.json"
CSV_NAME = "per_item.csv"


def mean_ci95(values: Sequence[float]) -> dict[str, Any]:
    """Mean, std (ddof 1), Student-t 95% interval and count of finite ``values``."""
    from scipy import stats

    array = np.asarray([v for v in values if v is not None and math.isfinite(v)], np.float64)
    n = int(array.size)
    if n == 0:
        return {"mean": None, "std": None, "ci95": None, "n": 0}
    mean = float(array.mean())
    if n < 2:
        return {"mean": mean, "std": None, "ci95": None, "n": n}
    std = float(array.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n)
    return {"mean": mean, "std": std, "ci95": [mean - half, mean + half], "n": n}


def summarize(rows: Iterable[dict[str, Any]], systems: Sequence[str], item_metrics: Sequence[str],
              set_values: dict[str, dict[str, dict[str, Any]]] | None = None
              ) -> dict[str, dict[str, dict[str, Any]]]:
    """``{system: {metric: {mean, std, ci95, n, n_failed}}}`` from per-item rows and set
    metric values ``{system: {metric: {"value", "n"}}}``."""
    by_system: dict[str, list[dict[str, Any]]] = {system: [] for system in systems}
    for row in rows:
        by_system.setdefault(row["system"], []).append(row)
    summary: dict[str, dict[str, dict[str, Any]]] = {}
    for system, system_rows in by_system.items():
        entry = {}
        for metric in item_metrics:
            values = [row.get(metric) for row in system_rows]
            stats = mean_ci95([v for v in values if v is not None])
            entry[metric] = {**stats, "n_failed": len(system_rows) - stats["n"]}
        for metric, value in (set_values or {}).get(system, {}).items():
            count = int(value.get("n", 0))
            entry[metric] = {"mean": value.get("value"), "std": None, "ci95": None, "n": count,
                             "n_failed": len(system_rows) - count,
                             **({"error": value["error"]} if "error" in value else {})}
        summary[system] = entry
    return summary


def write(directory: Path, results: dict[str, Any], metrics: Sequence[str]) -> Path:
    """Write ``results.json`` and ``per_item.csv`` atomically into ``directory``."""
    directory = Path(directory)
    path = atomic_write_json(directory / RESULTS_NAME, _jsonable(results))
    atomic_write_text(directory / CSV_NAME, per_item_csv(results["per_item"], metrics))
    return path


def per_item_csv(rows: Sequence[dict[str, Any]], metrics: Sequence[str]) -> str:
    """CSV text: system, id, one column per metric, notes and errors."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["system", "id", *metrics, "notes", "errors"])
    for row in rows:
        values = ["" if row.get(metric) is None else repr(float(row[metric])) for metric in metrics]
        errors = "; ".join(f"{key}: {message}" for key, message in row.get("errors", {}).items())
        writer.writerow([row["system"], row["id"], *values, "; ".join(row.get("notes", [])),
                         errors])
    return buffer.getvalue()


def read(path: Path) -> dict[str, Any]:
    """Read a results file written by :func:`write`; raises DataError when malformed."""
    path = Path(path)
    try:
        results = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise DataError(f"{path}: cannot read results ({error})") from None
    if not isinstance(results, dict) or not isinstance(results.get("per_item"), list):
        raise DataError(f"{path}: not an audiogen results file (no per_item list)")
    return results


def _jsonable(value: Any) -> Any:
    """Replace non-finite floats by None so the file is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value
