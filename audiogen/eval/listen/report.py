"""``audiogen listen report``: statistics of a test folder as an offline HTML page and CSVs.

Writes ``report.html`` (plots embedded as base64 PNGs, no external resources),
``<name>_summary.csv`` (one row per system, or per pair for AB) and ``<name>_ratings.csv``
(the export of :mod:`audiogen.eval.listen.analysis`) next to it.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path

from audiogen.eval.listen import analysis, stats
from audiogen.eval.listen.analysis import HIDDEN_REFERENCE, Results
from audiogen.eval.listen.anchors import CUTOFFS_HZ
from audiogen.utils import atomic_write_text

SCALE_NAMES = {"acr": "MOS (ACR, 1-5)", "cmos": "CMOS vs reference (-3..+3)",
               "mushra": "MUSHRA score (0-100)", "ab": "preference"}


@dataclass
class Analysis:
    """The numbers a report shows."""

    results: Results
    systems: list[str]
    summaries: dict[str, stats.Summary] = field(default_factory=dict)
    comparisons: list[stats.Comparison] = field(default_factory=list)
    versus_reference: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    preferences: list[stats.Preference] = field(default_factory=list)
    agreement: stats.Agreement | None = None


def analyse(results: Results) -> Analysis:
    """Per-system means with CIs, pairwise tests (Holm), AB preferences, Kendall's W."""
    kept = results.kept
    rated = [name for name in _system_order(results) if any(s.system == name for s in kept)]
    result = Analysis(results, rated)
    by_system: dict[str, dict[Hashable, float]] = defaultdict(dict)
    by_rater: dict[str, dict[Hashable, float]] = defaultdict(dict)
    for score in kept:
        by_system[score.system][(score.rater, score.item, score.trial)
                                if results.spec.type == "ab" else (score.rater, score.item)
                                ] = score.score
        by_rater[score.rater][(score.trial, score.system)] = score.score
    result.agreement = stats.kendalls_w(dict(by_rater))
    if results.spec.type == "ab":
        result.preferences = _preferences(results)
        return result
    for name in rated:
        result.summaries[name] = stats.mean_ci(list(by_system[name].values()))
    compared = [name for name in rated if name in results.spec.systems or
                (results.spec.type == "acr" and name == "reference")]
    result.comparisons = stats.pairwise({name: by_system[name] for name in compared})
    if results.spec.type == "cmos":
        tests = {name: stats.one_sample(list(by_system[name].values())) for name in rated}
        adjusted = stats.holm([p for _, p in tests.values()])
        result.versus_reference = {name: (statistic, p, p_holm) for (name, (statistic, p)),
                                   p_holm in zip(tests.items(), adjusted)}
    return result


def _system_order(results: Results) -> list[str]:
    extra = ["reference", HIDDEN_REFERENCE, *CUTOFFS_HZ]
    return list(results.spec.systems) + extra


def _preferences(results: Results) -> list[stats.Preference]:
    wins: dict[tuple[str, str], list[int]] = {}
    trial_scores: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for score in results.kept:
        trial_scores[(score.rater, score.trial)][score.system] = score.score
    order = list(results.spec.systems)
    for scores in trial_scores.values():
        a, b = sorted(scores, key=order.index)
        counts = wins.setdefault((a, b), [0, 0])
        counts[0 if scores[a] == 1 else 1] += 1
    raw = [stats.preference(w[0], w[1], a, b) for (a, b), w in sorted(
        wins.items(), key=lambda entry: (order.index(entry[0][0]), order.index(entry[0][1])))]
    adjusted = stats.holm([p.p for p in raw])
    return [stats.Preference(p.a, p.b, p.wins_a, p.wins_b, p.share_a, p.low, p.high, p.p, q)
            for p, q in zip(raw, adjusted)]


# ------------------------------------------------------------------------- output
def summary_rows(result: Analysis) -> list[dict[str, object]]:
    """Rows of the summary CSV."""
    if result.results.spec.type == "ab":
        return [{"system_a": p.a, "system_b": p.b, "wins_a": p.wins_a, "wins_b": p.wins_b,
                 "share_a": p.share_a, "ci95_low": p.low, "ci95_high": p.high, "p": p.p,
                 "p_holm": p.p_holm} for p in result.preferences]
    rows: list[dict[str, object]] = []
    for name, summary in result.summaries.items():
        row: dict[str, object] = {"system": name, "n": summary.n, "mean": summary.mean,
                                  "std": summary.std, "ci95": summary.ci95,
                                  "ci95_low": summary.low, "ci95_high": summary.high}
        if name in result.versus_reference:
            row["p_vs_reference"], row["p_vs_reference_holm"] = \
                result.versus_reference[name][1:]
        rows.append(row)
    return rows


def write_report(test_dir: str | os.PathLike, out: str | os.PathLike | None = None,
                 all_raters: bool = False) -> tuple[Path, Analysis]:
    """Analyse a test folder and write the HTML report plus its CSVs."""
    results = analysis.collect(test_dir)
    if all_raters:
        for status in results.raters.values():
            status.excluded = ""
        results.rules.append("All raters kept (--all-raters): screening was not applied.")
    result = analyse(results)
    out = Path(out) if out is not None else results.test_dir / "report.html"
    rows = summary_rows(result)
    columns = list(dict.fromkeys(key for row in rows for key in row)) or ["system"]
    analysis.write_csv(out.with_name(out.stem + "_summary.csv"), rows, columns)
    analysis.write_csv(out.with_name(out.stem + "_ratings.csv"),
                       analysis.export_rows(results), analysis.EXPORT_COLUMNS)
    atomic_write_text(out, render(result))
    return out, result


def _number(value: float, digits: int = 2) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _p(value: float) -> str:
    if math.isnan(value):
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(result: Analysis) -> str:
    """The report as one self-contained HTML page."""
    spec = result.results.spec
    kept = result.results.kept
    parts = [f"<h1>{html.escape(spec.title)}</h1>",
             f"<p>Design: <b>{spec.type.upper()}</b> ({html.escape(SCALE_NAMES[spec.type])}); "
             f"seed {spec.seed}; created {html.escape(spec.created)}; "
             f"{len(kept)} scores from "
             f"{len({s.rater for s in kept})} kept raters.</p>"]
    if spec.type == "ab":
        parts += ["<h2>Preference</h2>", _table(
            ["A", "B", "A wins", "B wins", "A share", "95% CI (exact)", "p (binomial)",
             "p (Holm)"],
            [[p.a, p.b, str(p.wins_a), str(p.wins_b), _number(p.share_a, 3),
              f"{_number(p.low, 3)} – {_number(p.high, 3)}", _p(p.p), _p(p.p_holm)]
             for p in result.preferences])]
    else:
        header = ["System", "n", "Mean", "± 95% CI", "Std"]
        if spec.type == "cmos":
            header += ["p vs 0 (Wilcoxon)", "p (Holm)"]
        rows = []
        for name, summary in result.summaries.items():
            row = [name, str(summary.n), _number(summary.mean), _number(summary.ci95),
                   _number(summary.std)]
            if name in result.versus_reference:
                row += [_p(result.versus_reference[name][1]),
                        _p(result.versus_reference[name][2])]
            rows.append(row)
        parts += [f"<h2>{html.escape(SCALE_NAMES[spec.type])} per system</h2>",
                  _table(header, rows)]
        if result.comparisons:
            parts += ["<h2>Pairwise comparisons</h2>", _table(
                ["A", "B", "Test", "n", "Mean difference (A − B)", "Statistic", "p",
                 "p (Holm)"],
                [[c.a, c.b, c.test, str(c.n), _number(c.difference, 3),
                  _number(c.statistic, 1), _p(c.p), _p(c.p_holm)] for c in result.comparisons])]
    parts.append(_plots(result))
    agreement = result.agreement
    if agreement is not None:
        text = (f"Kendall's W = {_number(agreement.w, 3)} over {agreement.raters} raters and "
                f"{agreement.objects} objects rated by all of them (Friedman χ² = "
                f"{_number(agreement.chi2)}, p = {_p(agreement.p)})")
        if agreement.note:
            text = f"Kendall's W not computed: {agreement.note}."
        parts += ["<h2>Rater agreement</h2>", f"<p>{html.escape(text)}</p>"]
    parts += ["<h2>Raters</h2>", _table(
        ["Rater", "Screens done", "Attention checks passed", "Excluded"],
        [[s.rater, f"{s.done} / {s.total}", f"{s.attention_passed} / {s.attention_checked}",
          s.excluded or "no"] for s in result.results.raters.values()])]
    parts += ["<h2>Methods</h2><ul>"] + [f"<li>{html.escape(rule)}</li>" for rule in [
        *result.results.rules,
        "Means with two-sided 95% confidence intervals from the t distribution "
        "(mean ± t(0.975, n−1)·s/√n) over all kept (rater, item) scores.",
        "Pairwise tests: Wilcoxon signed-rank on scores paired by rater and item, "
        "Mann-Whitney U when no pairs exist (scipy.stats); p-values Holm-corrected per table.",
        "AB: exact two-sided binomial test against 50% (scipy.stats.binomtest), Holm-corrected.",
        "Rater agreement: Kendall's W = χ²_F / (m(n−1)) from Friedman's tie-corrected χ² "
        "(scipy.stats.friedmanchisquare).",
        *[f"{name}: {card['filter']}, cutoff {card['cutoff_hz']:g} Hz."
          for name, card in spec.anchors.items()]]] + ["</ul>"]
    style = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:auto;padding:1rem}"
             "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.25rem .6rem}"
             "img{max-width:100%}")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(spec.title)}: report</title><style>{style}</style></head>"
            f"<body>{''.join(parts)}</body></html>\n")


def _plots(result: Analysis) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = result.results.spec
    figure, axis = plt.subplots(figsize=(7, 3.5))
    if spec.type == "ab":
        labels = [f"{p.a} vs {p.b}" for p in result.preferences]
        shares = [p.share_a for p in result.preferences]
        errors = [[p.share_a - p.low for p in result.preferences],
                  [p.high - p.share_a for p in result.preferences]]
        axis.barh(labels, shares, xerr=errors, color="#5a8fc2", capsize=4)
        axis.axvline(0.5, color="#444", linewidth=1)
        axis.set_xlim(0, 1)
        axis.set_xlabel("share preferring the first system (95% CI)")
    else:
        names = list(result.summaries)
        means = [result.summaries[n].mean for n in names]
        half_widths = [0.0 if math.isnan(result.summaries[n].ci95) else
                       result.summaries[n].ci95 for n in names]
        axis.bar(names, means, yerr=half_widths, color="#5a8fc2", capsize=4)
        axis.set_ylabel(SCALE_NAMES[spec.type])
        low, high = spec.score_range
        axis.set_ylim(min(low, 0), high)
        axis.tick_params(axis="x", labelrotation=20)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f"<h2>Plot</h2><img alt='results per system' src='data:image/png;base64,{encoded}'>"
