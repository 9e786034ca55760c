"""Objective evaluation: metrics with cards, pairing, results with confidence intervals, reports.

``evaluate(ref, gen, metrics, out, report=None, resume=False, **metric_options)`` is the entry
point; ``METRICS`` maps every metric name to its :class:`Metric` description.
"""

from audiogen.eval.base import Metric
from audiogen.eval.evaluate import evaluate
from audiogen.eval.fad import EncodecEmbedding, ModuleEmbedding, frechet_distance
from audiogen.eval.registry import METRICS, option_names
from audiogen.eval.report import write_report

__all__ = ["METRICS", "EncodecEmbedding", "Metric", "ModuleEmbedding", "evaluate",
           "frechet_distance", "option_names", "write_report"]
