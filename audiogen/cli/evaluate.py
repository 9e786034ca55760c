"""``audiogen evaluate``: objective metrics of generated audio, with metric cards, confidence
intervals and an HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from audiogen.cli.common import Subcommands, comma_list, named_paths, parse_assignments


def cmd_evaluate(args: argparse.Namespace) -> int:
    from audiogen.eval import evaluate

    systems = named_paths(args.gen, "--gen")
    options: dict[str, Any] = parse_assignments(args.option, "--option")
    results = evaluate(args.ref, systems, comma_list(args.metrics),
                       Path(args.out), report=Path(args.report) if args.report else None,
                       resume=args.resume, **options)
    print(format_summary(results["summary"]))
    failures = format_failures(results.get("per_item", []))
    if failures:
        print(failures)
    return 0


def format_failures(rows: list[dict[str, Any]], limit: int = 20) -> str:
    """One line per item that a metric could not score (the reasons are also in
    per_item.csv): ``"skipped 3 items:"`` then ``"  system/id: metric: reason"``."""
    lines = [f"  {row['system']}/{row['id']}: " + "; ".join(
        reason if where == "item" else f"{where}: {reason}"
        for where, reason in row["errors"].items())
        for row in rows if row.get("errors")]
    if not lines:
        return ""
    more = [f"  ... and {len(lines) - limit} more (see per_item.csv)"] if len(lines) > limit else []
    return "\n".join([f"skipped {len(lines)} items:", *lines[:limit], *more])


def format_summary(summary: dict[str, dict[str, dict[str, Any]]]) -> str:
    """A plain-text table: one row per system, mean and 95% CI per metric."""
    metrics = sorted({m for scores in summary.values() for m in scores})
    width = max([16, *(len(system) + 2 for system in summary)])
    cell = max([20, *(len(metric) + 2 for metric in metrics)])
    lines = ["system".ljust(width) + "".join(m.rjust(cell) for m in metrics)]
    for system, scores in summary.items():
        cells = []
        for metric in metrics:
            value = scores.get(metric)
            text = "-"
            if value and value.get("mean") is not None:
                text = f"{value['mean']:.3f}"
                if value.get("ci95"):  # None for one valid item or a set-level metric
                    low, high = value["ci95"]
                    text += f" [{low:.2f},{high:.2f}]"
                else:
                    text += f" (n={value.get('n', 1)})"
            cells.append(text.rjust(cell))
        lines.append(system.ljust(width) + "".join(cells))
    return "\n".join(lines)


def register(commands: Subcommands) -> None:
    """Add ``audiogen evaluate``."""
    evaluate = commands.add_parser("evaluate", help="objective metrics of generated audio, "
                                   "with metric cards, CIs and an HTML report")
    evaluate.add_argument("--ref", help="reference folder or manifest (not needed by "
                          "reference-free metrics)")
    evaluate.add_argument("--gen", action="append", required=True, metavar="[NAME=]PATH",
                          help="a system's generated folder or manifest (repeatable)")
    evaluate.add_argument("--metrics", required=True, help="comma-separated, e.g. "
                          "pesq_wb,stoi,mstft,mcd,f0_rmse,dnsmos_ovrl")
    evaluate.add_argument("--out", required=True, help="output folder for results.json and "
                          "per_item.csv")
    evaluate.add_argument("--report", help="write a static HTML report here")
    evaluate.add_argument("--resume", action="store_true", help="keep scores already in OUT")
    evaluate.add_argument("--option", action="append", metavar="KEY=VALUE",
                          help="metric option, e.g. utmos_checkpoint=PATH (repeatable)")
    evaluate.set_defaults(handler=cmd_evaluate)
