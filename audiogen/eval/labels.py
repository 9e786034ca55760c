"""Labels for the quality predictor: intrusive PESQ-wb and STOI of degraded against clean speech.

:func:`label_manifest` reads a manifest of degraded audio whose rows name their ``clean_path``
(as :func:`audiogen.data.degrade.degrade_manifest` writes), scores every pair with the registry's
own PESQ and STOI wrappers in a pool of worker processes, and writes a label manifest (the rows
plus ``pesq_wb`` and ``stoi``) and a CSV (id, degraded_path, clean_path, speaker, condition,
pesq_wb, stoi). A pair that cannot be scored (too short for PESQ, too few STOI frames) is
skipped and listed with its error.
"""

from __future__ import annotations

import contextlib
import csv
import io
import multiprocessing
import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from tqdm import tqdm

from audiogen import audio
from audiogen.data import manifest
from audiogen.errors import DataError
from audiogen.eval.base import Undefined
from audiogen.eval.intrusive import PESQ_WB, STOI, Pesq, Stoi
from audiogen.utils import atomic_write_json, atomic_write_text

LABELS = ("pesq_wb", "stoi")
CSV_COLUMNS = ("id", "degraded_path", "clean_path", "speaker", "condition", "pesq_wb", "stoi")


def intrusive_labels(degraded: np.ndarray, clean: np.ndarray, sample_rate: int
                     ) -> dict[str, float]:
    """PESQ-wb and STOI of ``degraded`` against ``clean`` (both (T,), same rate), computed by
    the same scorers as ``audiogen evaluate``; signals are start-aligned and cut to the
    shorter."""
    length = min(degraded.size, clean.size)
    degraded, clean = degraded[:length], clean[:length]
    values: dict[str, float] = {}
    for scorer in (Pesq([PESQ_WB]), Stoi([STOI])):
        for name, value in scorer.score(degraded, clean, sample_rate).items():
            if isinstance(value, Undefined):
                raise ValueError(f"{name} undefined: {value.reason}")
            values[name] = float(value)
    return values


def _label_one(row: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Worker: labels of one manifest row, or the error that prevented them."""
    try:
        degraded, rate = audio.load(row["path"])
        clean, _ = audio.load(row["clean_path"], rate)
        labels = intrusive_labels(degraded[0].numpy(), clean[0].numpy(), rate)
    except Exception as error:
        first = error.args[0] if len(error.args) == 1 else None
        text = first.decode(errors="replace") if isinstance(first, bytes) else str(error)
        return row, f"{type(error).__name__}: {text}"
    return {**row, **labels}, None


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def label_manifest(source: str | os.PathLike, out: str | os.PathLike, workers: int = 2
                   ) -> dict[str, Any]:
    """Label every row of ``source`` (in ``workers`` processes; 1: in this one) and write
    ``out/labels.jsonl``, ``out/labels.csv`` and ``out/label_report.json`` (counts and skipped
    items); returns the report."""
    source, out = Path(source), Path(out)
    rows = manifest.read(source)
    missing = [row.id for row in rows if "clean_path" not in row.extra]
    if missing:
        raise DataError(f"{source}: rows without 'clean_path' (e.g. {missing[0]!r}); label a "
                        "manifest written by `audiogen quality degrade`")
    jobs = [{"id": row.id, "path": row.path,
             "clean_path": _resolve(row.extra["clean_path"], source)} for row in rows]
    by_id = {row.id: row for row in rows}
    labelled: list[manifest.Utterance] = []
    skipped: list[dict[str, str]] = []
    with contextlib.ExitStack() as stack:
        if workers > 1:
            pool = stack.enter_context(multiprocessing.get_context("spawn").Pool(
                workers, initializer=_init_worker))
            results: Iterable[tuple[dict[str, Any], str | None]] = pool.imap(
                _label_one, jobs, chunksize=8)
        else:
            results = map(_label_one, jobs)
        for result, error in tqdm(results, total=len(jobs), desc="label", unit="pair",
                                  dynamic_ncols=True):
            if error is not None:
                skipped.append({"id": result["id"], "error": error})
                continue
            row = by_id[result["id"]]
            row.extra.update({name: result[name] for name in LABELS},
                             clean_path=result["clean_path"])
            labelled.append(row)
    out.mkdir(parents=True, exist_ok=True)
    manifest.write(out / "labels.jsonl", labelled, relative=False)
    atomic_write_text(out / "labels.csv", _csv(labelled))
    report = {"source": str(source), "labelled": len(labelled), "skipped": skipped,
              "workers": workers}
    atomic_write_json(out / "label_report.json", report)
    return report


def _resolve(path: str, manifest_path: Path) -> str:
    resolved = Path(path)
    if not resolved.is_absolute():
        resolved = manifest_path.resolve().parent / resolved
    return str(resolved)


def _csv(rows: list[manifest.Utterance]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([row.id, row.path, row.extra["clean_path"], row.speaker,
                         row.extra.get("condition", ""), row.extra["pesq_wb"],
                         row.extra["stoi"]])
    return buffer.getvalue()
