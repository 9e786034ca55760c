"""Scoring one item and the set metrics: the per-item row of an evaluation, with every failure
recorded in the row instead of raised.

Shared by :mod:`audiogen.eval.evaluation` (scoring in this process) and
:mod:`audiogen.eval.parallel` (scoring in worker processes).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from tqdm import tqdm

from audiogen.errors import AudioError, ConfigError
from audiogen.eval import pairing
from audiogen.eval.base import PartialResult, Scorer, SetScorer, Undefined

Row = dict[str, Any]
Job = tuple[str, pairing.Pair, bool, Row]  # system, pair, with_reference, previous row


def score_item(system: str, item: pairing.Pair, with_reference: bool, previous: Row,
               scorers: Sequence[Scorer | SetScorer]) -> Row:
    """One per-item row: reused scores, new scores, notes and errors."""
    per_item = item_scorers(scorers)
    set_scorers = [scorer for scorer in scorers if isinstance(scorer, SetScorer)]
    names = [name for scorer in per_item for name in scorer.names]
    row: Row = {"id": item.key, "system": system, **dict.fromkeys(names), "notes": [],
                "errors": {},
                "generated_path": str(item.generated.path) if item.generated else None,
                "reference_path": str(item.reference.path) if item.reference else None}
    reused = {name: previous[name] for name in names if previous.get(name) is not None}
    todo = [scorer for scorer in per_item if not set(scorer.names) <= set(reused)]
    if not todo and not set_scorers:
        return {**row, **reused, "notes": previous.get("notes", [])}
    try:
        loaded = pairing.load_pair(item, with_reference)
    except (pairing.ItemError, AudioError) as error:
        row["errors"]["item"] = str(error)
        return row
    row.update(reused, notes=loaded.notes)
    for scorer in todo:
        run_scorer(scorer, loaded, row)
    for set_scorer in set_scorers:
        try:
            set_scorer.add(system, loaded.generated, loaded.sample_rate, item.generated)
        except Exception as error:
            row["errors"].update(dict.fromkeys(set_scorer.names, error_message(error)))
    return row


def add_to_sets(system: str, item: pairing.Pair, scorers: Sequence[Scorer | SetScorer],
                row: Row, with_reference: bool) -> None:
    """Add an item scored in a worker process to the set scorers (FAD) of this process."""
    set_scorers = [scorer for scorer in scorers if isinstance(scorer, SetScorer)]
    if not set_scorers or "item" in row["errors"]:
        return
    try:
        loaded = pairing.load_pair(item, with_reference)
    except (pairing.ItemError, AudioError) as error:
        row["errors"]["item"] = str(error)
        return
    for set_scorer in set_scorers:
        try:
            set_scorer.add(system, loaded.generated, loaded.sample_rate, item.generated)
        except Exception as error:
            row["errors"].update(dict.fromkeys(set_scorer.names, error_message(error)))


def run_scorer(scorer: Scorer, loaded: pairing.LoadedPair, row: Row) -> None:
    """Score one item with one scorer, recording exceptions and undefined values as errors."""
    try:
        values = scorer.score(loaded.generated, loaded.reference, loaded.sample_rate)
    except Exception as error:
        row["errors"].update(dict.fromkeys(scorer.names, error_message(error)))
        return
    for name, value in values.items():
        if isinstance(value, Undefined):
            row["errors"][name] = f"undefined: {value.reason}"
        elif not math.isfinite(value):
            row["errors"][name] = f"non-finite value {value}"
        else:
            row[name] = float(value)


def add_references(scorers: Sequence[Scorer | SetScorer],
                   reference: dict[str, pairing.Item] | None) -> list[dict[str, str]]:
    """Feed every reference item to the set scorers; returns the items that failed."""
    set_scorers = [scorer for scorer in scorers if isinstance(scorer, SetScorer)]
    if not set_scorers:
        return []
    if reference is None:
        needing = [m.name for s in set_scorers for m in s.metrics if m.needs_reference]
        if needing:
            raise ConfigError(f"set metric(s) {', '.join(needing)} need a reference set "
                              "(ref=...)")
        return []
    errors = []
    for key, item in tqdm(reference.items(), desc="eval reference set", unit="item",
                          dynamic_ncols=True):
        try:
            wave, rate = pairing.load_mono(item)
            for scorer in set_scorers:
                scorer.add_reference(wave, rate, item)
        except Exception as error:
            errors.append({"id": key, "error": error_message(error)})
    return errors


def set_results(scorers: Sequence[Scorer | SetScorer], system: str
                ) -> dict[str, dict[str, Any]]:
    """``{metric: {"value", "n"[, "error"]}}`` of the set metrics for ``system``."""
    values: dict[str, dict[str, Any]] = {}
    for scorer in scorers:
        if not isinstance(scorer, SetScorer):
            continue
        count = scorer.size(system)
        try:
            for name, value in scorer.result(system).items():
                values[name] = {"value": value, "n": count}
        except PartialResult as partial:  # the metrics that could be computed keep their values
            for name, value in partial.values.items():
                values[name] = {"value": value, "n": count}
            for name, message in partial.errors.items():
                values[name] = {"value": None, "n": count, "error": message}
        except Exception as error:
            for name in scorer.names:
                values[name] = {"value": None, "n": count, "error": error_message(error)}
    return values


def item_scorers(scorers: Sequence[Scorer | SetScorer]) -> list[Scorer]:
    """The per-item scorers (not the set scorers)."""
    return [scorer for scorer in scorers if isinstance(scorer, Scorer)]


def set_groups(scorers: Sequence[Scorer | SetScorer]) -> set[str]:
    """Metric groups scored over whole sets (FAD)."""
    return {m.group for s in scorers if isinstance(s, SetScorer) for m in s.metrics}


def error_message(error: BaseException) -> str:
    """'Type: message' of an exception (byte-string messages, as pesq raises, decoded)."""
    first = error.args[0] if len(error.args) == 1 else None
    text = first.decode(errors="replace") if isinstance(first, bytes) else str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
