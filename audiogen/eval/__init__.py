"""Objective evaluation: metrics with cards, pairing, results with confidence intervals, reports.

``evaluate(ref, gen, metrics, out, report=None, resume=False, **metric_options)`` is the entry
point; ``METRICS`` maps every metric name to its :class:`Metric` description.

The names below are imported on first use (PEP 562), so that a submodule such as the
listening-test server (:mod:`audiogen.eval.listen`) loads without the metrics' models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audiogen.eval.base import Metric
    from audiogen.eval.evaluation import evaluate
    from audiogen.eval.fad import EncodecEmbedding, ModuleEmbedding, frechet_distance
    from audiogen.eval.registry import METRICS, option_names
    from audiogen.eval.report import write_report

_EXPORTS = {
    "METRICS": "registry", "option_names": "registry", "Metric": "base",
    "evaluate": "evaluation", "EncodecEmbedding": "fad", "ModuleEmbedding": "fad",
    "frechet_distance": "fad", "write_report": "report",
}
__all__ = ["METRICS", "EncodecEmbedding", "Metric", "ModuleEmbedding", "evaluate",
           "frechet_distance", "option_names", "write_report"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
