"""A static, offline HTML report of a results dictionary.

One self-contained file: per-system table with 95% intervals, metric cards, audio players for
the first items (``<audio>`` sources are paths relative to the report), spectrograms embedded as
PNG data URIs, worst items per metric, and the per-item errors. No external resource is used.
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import quote

import numpy as np
import torch

from audiogen.audio import load
from audiogen.errors import AudiogenError
from audiogen.utils import atomic_write_text

WORST_ITEMS = 5
EXAMPLE_ITEMS = 4

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Objective evaluation</title>
<style>
body{font-family:sans-serif;margin:1.5em;max-width:80em}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
td,th{border:1px solid #bbb;padding:0.25em 0.5em;text-align:left;vertical-align:top}
th{background:#eee}.best{font-weight:bold}.small{font-size:0.85em;color:#444}
img{display:block;width:320px}
</style></head><body>
<h1>Objective evaluation</h1>
<p class="small">Created {{ results.created }}; reference: {{ results.reference }};
systems: {% for name, source in results.systems.items() %}{{ name }} ({{ source }}){% if not
loop.last %}, {% endif %}{% endfor %}.<br>Policy: {{ results.policy }}.<br>
Intervals: {{ results.ci95_method }}.</p>

<h2>Summary</h2>
<table><tr><th>system</th>{% for metric in metrics %}<th>{{ metric }}
{{ "&uarr;"|safe if cards[metric].direction.startswith("higher") else "&darr;"|safe }}</th>
{% endfor %}</tr>
{% for system in systems %}<tr><td>{{ system }}</td>{% for metric in metrics %}
{% set entry = results.summary[system][metric] %}
<td{% if best[metric] == system %} class="best"{% endif %}>{{ fmt(entry.mean) }}
{% if entry.ci95 %}<span class="small">[{{ fmt(entry.ci95[0]) }}, {{ fmt(entry.ci95[1]) }}]
</span>{% endif %}<br><span class="small">n={{ entry.n }}{% if entry.n_failed %},
failed {{ entry.n_failed }}{% endif %}{% if entry.get("error") %}; {{ entry.error }}{% endif %}
</span></td>{% endfor %}</tr>
{% endfor %}</table>

<h2>Metric cards</h2>
<table><tr><th>metric</th><th>card</th></tr>
{% for metric in metrics %}<tr><td>{{ metric }}</td><td class="small">
{% for key, value in cards[metric].items() if key != "metric" and value not in (None, "") %}
<b>{{ key }}</b>: {{ value }}<br>{% endfor %}</td></tr>{% endfor %}</table>

<h2>Examples</h2>
{% for example in examples %}<h3>{{ example.id }}</h3><table><tr>
{% for cell in example.cells %}<td><b>{{ cell.label }}</b><br>
{% if cell.audio %}<audio controls preload="none" src="{{ cell.audio }}"></audio>{% endif %}
{% if cell.image %}<img alt="spectrogram of {{ cell.label }}" src="{{ cell.image }}">{% endif %}
<span class="small">{{ cell.text }}</span></td>{% endfor %}</tr></table>
{% endfor %}

<h2>Worst items</h2>
<table><tr><th>metric</th><th>system</th><th>items (worst first)</th></tr>
{% for entry in worst %}<tr><td>{{ entry.metric }}</td><td>{{ entry.system }}</td>
<td class="small">{% for item in entry["items"] %}{{ item.id }}: {{ fmt(item.value) }}
{% if item.audio %}<audio controls preload="none" src="{{ item.audio }}"></audio>{% endif %}
<br>{% endfor %}</td></tr>{% endfor %}</table>

<h2>Errors ({{ errors|length }})</h2>
<table><tr><th>system</th><th>id</th><th>errors</th></tr>
{% for row in errors %}<tr><td>{{ row.system }}</td><td>{{ row.id }}</td><td class="small">
{% for key, message in row.errors.items() %}{{ key }}: {{ message }}<br>{% endfor %}</td></tr>
{% endfor %}</table>
</body></html>
"""


def write_report(results: dict[str, Any], path: Path, examples: int = EXAMPLE_ITEMS,
                 worst: int = WORST_ITEMS) -> Path:
    """Render ``results`` (from :func:`audiogen.eval.evaluate`) as HTML at ``path``."""
    import jinja2

    path = Path(path)
    metrics = [name for name in results["metrics"] if name in results["cards"]]
    systems = list(results["systems"])
    rows = results["per_item"]
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    html = environment.from_string(TEMPLATE).render(
        results=results, metrics=metrics, systems=systems, cards=results["cards"],
        best=_best_systems(results, metrics, systems), fmt=_format,
        examples=_examples(rows, systems, metrics, path.parent, examples),
        worst=_worst_items(rows, results["cards"], metrics, systems, path.parent, worst),
        errors=[row for row in rows if row.get("errors")])
    return atomic_write_text(path, html)


def relative_url(audio_path: str | None, folder: Path) -> str | None:
    """A URL for ``audio_path`` relative to the report's folder."""
    if not audio_path:
        return None
    relative = os.path.relpath(Path(audio_path).resolve(), folder.resolve())
    return quote(Path(relative).as_posix())


def spectrogram_png(audio_path: str, n_fft: int = 1024, hop_length: int = 256) -> str | None:
    """A log-magnitude spectrogram of an audio file as a PNG data URI (None if unreadable)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    try:
        wave, sample_rate = load(audio_path)
    except AudiogenError:
        return None
    window = torch.hann_window(n_fft)
    spectrum = torch.stft(wave[0], n_fft, hop_length, window=window, return_complex=True).abs()
    decibels = 20.0 * torch.log10(spectrum.clamp_min(1e-5)).numpy()
    figure, axis = pyplot.subplots(figsize=(4.0, 1.6), dpi=80)
    axis.imshow(decibels, origin="lower", aspect="auto", cmap="magma",
                vmin=float(decibels.max()) - 80.0, vmax=float(decibels.max()),
                extent=(0.0, wave.shape[-1] / sample_rate, 0.0, sample_rate / 2000.0))
    axis.set_xlabel("s", fontsize=7)
    axis.set_ylabel("kHz", fontsize=7)
    axis.tick_params(labelsize=6)
    figure.tight_layout(pad=0.2)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _examples(rows: Sequence[dict[str, Any]], systems: Sequence[str], metrics: Sequence[str],
              folder: Path, count: int) -> list[dict[str, Any]]:
    by_id: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_id.setdefault(row["id"], {})[row["system"]] = row
    examples = []
    for item_id in sorted(by_id)[:count]:
        cells = []
        members = by_id[item_id]
        reference = next((r["reference_path"] for r in members.values()
                          if r.get("reference_path")), None)
        if reference:
            cells.append(_cell("reference", reference, "", folder))
        for system in systems:
            generated = members.get(system)
            if generated is not None:
                scores = ", ".join(f"{m} {_format(generated.get(m))}" for m in metrics
                                   if generated.get(m) is not None)
                cells.append(_cell(system, generated.get("generated_path"), scores, folder))
        examples.append({"id": item_id, "cells": cells})
    return examples


def _cell(label: str, audio_path: str | None, text: str, folder: Path) -> dict[str, Any]:
    return {"label": label, "audio": relative_url(audio_path, folder),
            "image": spectrogram_png(audio_path) if audio_path else None, "text": text}


def _worst_items(rows: Sequence[dict[str, Any]], cards: dict[str, dict[str, Any]],
                 metrics: Sequence[str], systems: Sequence[str], folder: Path, count: int
                 ) -> list[dict[str, Any]]:
    worst = []
    for metric in metrics:
        higher_is_better = cards[metric]["direction"].startswith("higher")
        for system in systems:
            scored = [row for row in rows if row["system"] == system
                      and row.get(metric) is not None]
            if not scored:
                continue
            scored.sort(key=lambda row: row[metric], reverse=not higher_is_better)
            worst.append({"metric": metric, "system": system, "items": [
                {"id": row["id"], "value": row[metric],
                 "audio": relative_url(row.get("generated_path"), folder)}
                for row in scored[:count]]})
    return worst


def _best_systems(results: dict[str, Any], metrics: Sequence[str], systems: Sequence[str]
                  ) -> dict[str, str | None]:
    best: dict[str, str | None] = {}
    for metric in metrics:
        sign = 1.0 if results["cards"][metric]["direction"].startswith("higher") else -1.0
        means = {system: results["summary"][system][metric]["mean"] for system in systems}
        valid = {system: sign * mean for system, mean in means.items() if mean is not None}
        best[metric] = max(valid, key=lambda system: valid[system]) if len(valid) > 1 else None
    return best


def _format(value: Any) -> str:
    if value is None:
        return "-"
    number = float(value)
    if not np.isfinite(number):
        return str(number)
    return f"{number:.4g}" if abs(number) < 1e4 else f"{number:.3e}"
