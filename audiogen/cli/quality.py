"""``audiogen quality degrade|label|ratings|correlate``: the learned quality predictor's data,
labels and correlations."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from audiogen.cli.common import Subcommands, comma_list


def cmd_degrade(args: argparse.Namespace) -> int:
    from audiogen.data.degrade import degrade_manifest

    rows = degrade_manifest(args.manifest, Path(args.out), comma_list(args.conditions) or None,
                            args.copies, args.seed, comma_list(args.speakers) or None,
                            comma_list(args.exclude_speakers), max_items=args.max_items,
                            max_seconds=args.max_seconds)
    print(f"{len(rows)} degraded items -> {Path(args.out) / 'manifest.jsonl'}")
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from audiogen.eval.labels import label_manifest

    report = label_manifest(args.manifest, Path(args.out), args.workers)
    print(f"{report['labelled']} labelled, {len(report['skipped'])} skipped -> "
          f"{Path(args.out) / 'labels.jsonl'}")
    return 0


def cmd_ratings(args: argparse.Namespace) -> int:
    from audiogen import audio
    from audiogen.data import manifest
    from audiogen.tasks.quality import read_ratings

    ratings = read_ratings(args.csv, comma_list(args.test_types))
    rows = []
    for index, (path, (score, count)) in enumerate(sorted(ratings.items())):
        rate, frames, _ = audio.info(path)
        rows.append(manifest.Utterance(f"rated/{index:05d}", path, frames / rate, rate, "rated",
                                       extra={"mos": score, "ratings": count}))
    manifest.write(Path(args.out), rows, relative=False)
    print(f"{len(rows)} rated files -> {args.out}")
    return 0


def cmd_correlate(args: argparse.Namespace) -> int:
    from audiogen.eval.quality import correlations, predict_manifest
    from audiogen.utils import atomic_write_json

    rows = predict_manifest(args.labels, args.checkpoint)
    result: dict[str, Any] = {"labels": str(args.labels), "checkpoint": str(args.checkpoint),
                              "all": correlations(rows), "by_condition": {}}
    for condition in sorted({str(row["condition"]) for row in rows}):
        result["by_condition"][condition] = correlations(
            [row for row in rows if str(row["condition"]) == condition])
    print(json.dumps(result["all"], indent=2))
    if args.out:
        atomic_write_json(Path(args.out), result)
    return 0


def register(commands: Subcommands) -> None:
    """Add ``audiogen quality`` and its subcommands."""
    quality = commands.add_parser("quality", help="learned quality predictor: degraded data, "
                                  "intrusive labels, ratings, correlations")
    sub = quality.add_subparsers(dest="quality_command", required=True)
    degrade = sub.add_parser("degrade", help="degrade a corpus with seeded degradations")
    degrade.add_argument("--manifest", required=True, help="clean speech manifest")
    degrade.add_argument("--out", required=True)
    degrade.add_argument("--copies", type=int, default=2, help="degraded copies per utterance")
    degrade.add_argument("--seed", type=int, default=0)
    degrade.add_argument("--conditions", help="comma-separated degradations (default all)")
    degrade.add_argument("--speakers", help="comma-separated speakers to keep (default all)")
    degrade.add_argument("--exclude-speakers", help="comma-separated speakers to leave out")
    degrade.add_argument("--max-items", type=int)
    degrade.add_argument("--max-seconds", type=float, help="skip longer utterances")
    degrade.set_defaults(handler=cmd_degrade)
    label = sub.add_parser("label", help="PESQ-wb and STOI labels of a degraded manifest")
    label.add_argument("--manifest", required=True, help="manifest written by degrade")
    label.add_argument("--out", required=True)
    label.add_argument("--workers", type=int, default=2)
    label.set_defaults(handler=cmd_label)
    ratings = sub.add_parser("ratings", help="manifest of the audio rated in a ratings CSV "
                             "(from `audiogen listen export`), with its mean score as mos")
    ratings.add_argument("csv")
    ratings.add_argument("--out", required=True, help="manifest (.jsonl) to write")
    ratings.add_argument("--test-types", default="acr,mos,p800")
    ratings.set_defaults(handler=cmd_ratings)
    correlate = sub.add_parser("correlate", help="Pearson/Spearman of predictions vs labels")
    correlate.add_argument("--checkpoint", required=True, help="experiment or checkpoint")
    correlate.add_argument("--labels", required=True, help="label manifest (held-out speakers)")
    correlate.add_argument("--out", help="write the correlations (JSON) here")
    correlate.set_defaults(handler=cmd_correlate)
