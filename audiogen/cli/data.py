"""``audiogen data build|degrade|select``: build or fetch a corpus and its train/valid/test
manifests; write a fixed degraded test set with its clean references; select speakers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from audiogen.cli.common import Subcommands, comma_list, parse_assignments, report_job
from audiogen.errors import ConfigError


def cmd_data_build(args: argparse.Namespace) -> int:
    from audiogen.data.corpora import build_corpus

    options: dict[str, Any] = parse_assignments(args.option, "--option")
    if args.voices:
        options["voices"] = comma_list(args.voices)
    if args.data_root:
        options["data_root"] = Path(args.data_root)
    report = build_corpus(args.corpus, Path(args.out), **options)
    return 0 if report is not None else 1


def cmd_data_degrade(args: argparse.Namespace) -> int:
    from audiogen import config as cfg
    from audiogen.data.degrade import Degradation, write_test_set

    try:
        node = cfg.load(args.config, args.set or ())
        node.pop("vars", None)  # values the node refers to as ${vars.name}
        degradation = cfg.instantiate(node, where=args.config)
    except ConfigError as error:
        message = str(error)
        raise ConfigError(message if args.config in message else f"{args.config}: {message}"
                          ) from None
    if not isinstance(degradation, Degradation):
        raise ConfigError(f"{args.config}: must be one degradation node, e.g. _target_: "
                          "audiogen.data.degrade.RoomReverb")
    rows, skipped = write_test_set(args.input, Path(args.out), degradation, args.seed,
                                   args.max_items, args.max_seconds, args.rate)
    return report_job(args.out, len(rows), skipped, verb="degraded", noun="utterances",
                      lines=[f"manifest: {Path(args.out) / 'manifest.jsonl'}"])


def cmd_data_select(args: argparse.Namespace) -> int:
    from audiogen.data import manifest

    wanted = comma_list(args.speakers)
    rows = manifest.read(args.manifest)
    found = sorted({row.speaker for row in rows})
    unknown = sorted(set(wanted) - set(found))
    if unknown:
        raise ConfigError(f"{args.manifest}: no speaker(s) {', '.join(unknown)}; it has "
                          f"{', '.join(found)}")
    kept = [row for row in rows if (row.speaker in wanted) != args.exclude]
    if not kept:
        raise ConfigError(f"{args.manifest}: the selection leaves no utterance")
    manifest.write(args.out, kept)
    print(f"wrote {len(kept)} of {len(rows)} utterances to {args.out}")
    return 0


def register(commands: Subcommands) -> None:
    """Add ``audiogen data``."""
    data = commands.add_parser("data", help="build corpora and manifests; write degraded test "
                               "sets; select speakers")
    sub = data.add_subparsers(dest="data_command", required=True)
    build = sub.add_parser("build", help="build or fetch a corpus; write train/valid/test.jsonl")
    build.add_argument("corpus", help="asterisk (default corpus), sonicpi, gm_notes, ljspeech, "
                       "fsdd")
    build.add_argument("--out", required=True, help="output folder")
    build.add_argument("--voices", help="comma-separated voices (asterisk)")
    build.add_argument("--data-root", help="existing local copy of a public corpus")
    build.add_argument("--option", action="append", metavar="KEY=VALUE",
                       help="other builder option (repeatable)")
    build.set_defaults(handler=cmd_data_build)
    degrade = sub.add_parser("degrade", help="write a fixed degraded test set: degraded/, clean/ "
                             "and manifest.jsonl")
    degrade.add_argument("--manifest", "--input", dest="input", required=True,
                         help="clean speech: a manifest or a folder of audio")
    degrade.add_argument("--out", required=True, help="output folder (written once)")
    degrade.add_argument("--config", required=True,
                         help="YAML file of one degradation (_target_: audiogen.data.degrade.X; "
                         "an optional vars: section for ${vars.name} references)")
    degrade.add_argument("--set", action="append", metavar="KEY=VALUE",
                         help="config override, e.g. vars.noise=data/noise (repeatable)")
    degrade.add_argument("--seed", type=int, default=0)
    degrade.add_argument("--max-items", type=int, help="degrade at most this many utterances")
    degrade.add_argument("--max-seconds", type=float, help="leave out longer utterances")
    degrade.add_argument("--rate", type=int, help="resample the clean audio to this rate first")
    degrade.set_defaults(handler=cmd_data_degrade)
    select = sub.add_parser("select", help="write a manifest of some speakers' utterances (or "
                            "of all but them)")
    select.add_argument("--manifest", required=True)
    select.add_argument("--speakers", required=True, help="comma-separated speaker names")
    select.add_argument("--exclude", action="store_true",
                        help="keep every speaker except these")
    select.add_argument("--out", required=True, help="the new manifest (.jsonl)")
    select.set_defaults(handler=cmd_data_select)
