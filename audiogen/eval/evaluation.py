"""Objective evaluation of generated audio: pair, score, summarise, write results and a report.

:func:`evaluate` is the library entry point behind ``audiogen evaluate``. Scorers (and their models)
are built once per call; every item runs through the same loading policy
(:mod:`audiogen.eval.pairing`); a failing item or metric is recorded and the run goes on; partial
results are written every minute so that ``resume=True`` can skip what is already scored.
"""

from __future__ import annotations

import platform
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from tqdm import tqdm

from audiogen.errors import ConfigError
from audiogen.eval import pairing, parallel, registry, results
from audiogen.eval.base import Metric, Scorer, SetScorer, version
from audiogen.eval.results import CI95_METHOD
from audiogen.eval.scoring import (
    Job,
    Row,
    add_references,
    add_to_sets,
    item_scorers,
    score_item,
    set_groups,
    set_results,
)

CHECKPOINT_SECONDS = 60.0
CARD_FIELDS = ("library", "version", "sample_rate", "resampler", "mode", "alignment",
               "embedding_model", "checksum")


def evaluate(ref: str | None, gen: dict[str, str], metrics: list[str], out: Path,
             report: Path | None = None, resume: bool = False, workers: int = 1,
             **metric_options: Any) -> dict[str, Any]:
    """Score each system's generated audio and write ``out/results.json`` and ``per_item.csv``.

    Args:
        ref: reference directory or manifest; None when every metric is reference-free.
        gen: system name -> directory or manifest of its generated audio.
        metrics: metric names (see :data:`audiogen.eval.registry.METRICS`).
        out: output directory.
        report: path of a static HTML report to write, if any.
        resume: reuse the per-item scores in ``out/results.json`` (also a partial one) whose
            metric card is unchanged; failed items are retried, rows of other systems dropped,
            and set metrics (FAD) recomputed over all items.
        workers: processes scoring items in parallel (each loads the per-item models once and
            runs single-threaded; ``--option workers=2`` on the command line); 1 scores in
            this process. Set metrics (FAD) are always accumulated in this process.
        metric_options: ``<group>_<argument>`` options of the scorers, e.g.
            ``fad_weights=PATH``, ``utmos_checkpoint=PATH``, ``pitch_model="tiny"``.

    Returns the results dictionary (cards, summary, per_item, ...).
    Raises ConfigError for unknown metrics or options and DataError for unusable sources.
    """
    chosen = registry.resolve(metrics)
    if not gen:
        raise ConfigError("no generated system given (gen maps system name -> directory)")
    needing = [metric.name for metric in chosen if metric.needs_reference]
    if ref is None and needing:
        raise ConfigError(f"metric(s) {', '.join(needing)} need a reference (ref=...)")
    reference = pairing.collect(ref) if ref is not None else None
    sources = {system: pairing.collect(source) for system, source in gen.items()}
    scorers = registry.build(chosen, metric_options)
    cards = {metric.name: make_card(metric, scorer) for scorer in scorers
             for metric in scorer.metrics}
    out = Path(out)
    previous = _previous_rows(out, cards) if resume else {}
    started = time.monotonic()
    header = _header(ref, gen, chosen, metric_options, cards)
    reference_errors = add_references(scorers, reference)
    state = _Progress(out, header, [m.name for m in chosen if m.group not in set_groups(scorers)])
    with_reference = any(m.needs_reference for s in item_scorers(scorers) for m in s.metrics)
    item_names = [m.name for s in item_scorers(scorers) for m in s.metrics]
    groups = _item_groups(sources, reference if with_reference else None, with_reference,
                          previous)
    with parallel.ItemPool(workers, item_names, metric_options) as pool:
        rows = (pool.map(groups) if pool.parallel else
                ([score_item(*job, scorers) for job in group] for group in groups))
        for group, group_rows in tqdm(zip(groups, rows), total=len(groups), desc="eval",
                                      unit="item", dynamic_ncols=True):
            for job, row in zip(group, group_rows):
                if pool.parallel:
                    add_to_sets(job[0], job[1], scorers, row, with_reference)
                state.add(row)
    set_values = {system: set_results(scorers, system) for system in sources}
    order = {system: index for index, system in enumerate(sources)}
    state.rows.sort(key=lambda row: (order[row["system"]], row["id"]))
    final = state.results(set_values, complete=True)
    final.update(reference_errors=reference_errors,
                 elapsed_seconds=round(time.monotonic() - started, 3))
    results.write(out, final, state.item_metrics)
    if report is not None:
        from audiogen.eval.report import write_report

        write_report(final, Path(report))
    return final


def _item_groups(sources: dict[str, dict[str, pairing.Item]],
                 reference: dict[str, pairing.Item] | None, with_reference: bool,
                 previous: dict[tuple[str, str], Row]) -> list[list[Job]]:
    """Scoring jobs ``(system, pair, with_reference, previous row)`` grouped by item key, each
    group in system order: one process scores a key for every system in a row, so analyses of
    the shared reference (a pitch track) are computed once and reused from its cache. Groups
    come largest files first, so that worker processes finish together (longest first)."""
    groups: dict[str, list[Job]] = {}
    for system, items in sources.items():
        for item in pairing.pair(items, reference):
            groups.setdefault(item.key, []).append(
                (system, item, with_reference, previous.get((system, item.key), {})))
    return sorted(groups.values(), key=lambda group: -sum(_file_size(job[1]) for job in group))


def _file_size(item: pairing.Pair) -> int:
    """Bytes of an item's generated file (0 when missing): the cost of scoring it, roughly."""
    try:
        return item.generated.path.stat().st_size if item.generated is not None else 0
    except OSError:
        return 0


def make_card(metric: Metric, scorer: Scorer | SetScorer) -> dict[str, Any]:
    """The card of one metric: what it measures, which way is better, and how it was computed."""
    card = {"metric": metric.name, "description": metric.description,
            "direction": f"{metric.direction} is better", "unit": metric.unit,
            "needs_reference": metric.needs_reference, "group": metric.group}
    computed = scorer.card(metric.name)
    card.update({field: computed.get(field) for field in CARD_FIELDS})
    card.update({key: value for key, value in computed.items() if key not in card})
    card["ci95"] = CI95_METHOD if not isinstance(scorer, SetScorer) else "none (one value per set)"
    return card


class _Progress:
    """Collects rows and writes partial results every :data:`CHECKPOINT_SECONDS`."""

    def __init__(self, out: Path, header: dict[str, Any], item_metrics: list[str]) -> None:
        self.out, self.header, self.item_metrics = out, header, item_metrics
        self.rows: list[Row] = []
        self.last_write = time.monotonic()

    def add(self, row: Row) -> None:
        self.rows.append(row)
        if time.monotonic() - self.last_write > CHECKPOINT_SECONDS:
            results.write(self.out, self.results({}, complete=False), self.item_metrics)
            self.last_write = time.monotonic()

    def results(self, set_values: dict[str, dict[str, dict[str, Any]]], complete: bool
                ) -> dict[str, Any]:
        summary = results.summarize(self.rows, list(self.header["systems"]), self.item_metrics,
                                    set_values)
        return {**self.header, "complete": complete, "summary": summary, "per_item": self.rows}


def _previous_rows(out: Path, cards: dict[str, dict[str, Any]]) -> dict[tuple[str, str], Row]:
    """Rows of an earlier run keyed by (system, id), keeping only metrics whose card matches."""
    path = out / results.RESULTS_NAME
    if not path.is_file():
        return {}
    earlier = results.read(path)
    old_cards = earlier.get("cards", {})
    same = {name for name, card in cards.items() if old_cards.get(name) == card}
    rows = {}
    for row in earlier["per_item"]:
        kept = {name: value for name, value in row.items() if name in same}
        rows[(str(row.get("system")), str(row.get("id")))] = {**kept,
                                                              "notes": row.get("notes", [])}
    return rows


def _header(ref: str | None, gen: dict[str, str], chosen: Sequence[Metric],
            options: dict[str, Any], cards: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "format": results.FORMAT,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "reference": None if ref is None else str(ref),
        "systems": {system: str(source) for system, source in gen.items()},
        "metrics": [metric.name for metric in chosen],
        "options": {key: str(value) for key, value in options.items()},
        "policy": pairing.POLICY,
        "ci95_method": CI95_METHOD,
        "environment": {"python": platform.python_version(), "platform": platform.platform(),
                        **{name: version(name) for name in ("torch", "torchaudio", "numpy")}},
        "cards": cards,
    }
