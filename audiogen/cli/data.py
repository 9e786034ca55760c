"""``audiogen data build``: build or fetch a corpus and its train/valid/test manifests."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from audiogen.cli.common import Subcommands, comma_list, parse_assignments


def cmd_data_build(args: argparse.Namespace) -> int:
    from audiogen.data.corpora import build_corpus

    options: dict[str, Any] = parse_assignments(args.option, "--option")
    if args.voices:
        options["voices"] = comma_list(args.voices)
    if args.data_root:
        options["data_root"] = Path(args.data_root)
    report = build_corpus(args.corpus, Path(args.out), **options)
    return 0 if report is not None else 1


def register(commands: Subcommands) -> None:
    """Add ``audiogen data``."""
    data = commands.add_parser("data", help="build corpora and manifests")
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
