"""``audiogen listen create | serve | report | export``: listening tests end to end."""

from __future__ import annotations

import argparse
from pathlib import Path

from audiogen.cli.common import Subcommands, named_paths


def cmd_create(args: argparse.Namespace) -> int:
    from audiogen.eval.listen.design import create

    systems = named_paths(args.system, "--system", "NAME=DIR", default_name=None)
    created = create(args.out, args.type, systems, reference=args.ref, items=args.items,
                     seed=args.seed, raters=args.raters, attention_checks=args.attention_checks,
                     title=args.title, base_url=args.base_url)
    spec = created.spec
    main_trials = sum(1 for trial in spec.trials.values() if trial.attention is None)
    print(f"created {spec.type.upper()} test {args.out}: {main_trials} trials, "
          f"{len(spec.stimuli)} stimuli, {len(spec.raters)} raters "
          f"(+{args.attention_checks} attention checks each)")
    for name, card in spec.anchors.items():
        print(f"anchor {name}: {card['filter']}, cutoff {card['cutoff_hz']:g} Hz")
    if created.skipped:
        print(f"left out {len(created.skipped)} items whose audio cannot be played:")
        for item, reason in created.skipped:
            print(f"  {item}: {reason}")
    print("links (also in links.txt; keep them private; the port is the one you serve on):")
    for link in created.links:
        print(f"  {link}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from audiogen.eval.listen.server import serve

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {args.host} over plain HTTP; put a TLS reverse proxy in "
              "front so the access tokens in the links are not sent in the clear")
    print(f"serving {args.test} on http://{args.host}:{args.port} (Ctrl-C to stop)")
    serve(args.test, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from audiogen.eval.listen.report import write_report

    out, result = write_report(args.test, args.out, all_raters=args.all_raters)
    for name, summary in result.summaries.items():
        print(f"{name}: {summary.mean:.3f} ± {summary.ci95:.3f} (n={summary.n})")
    for preference in result.preferences:
        print(f"{preference.a} vs {preference.b}: {preference.wins_a}-{preference.wins_b} "
              f"(p={preference.p:.3g})")
    print(f"wrote {out}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from audiogen.eval.listen.analysis import export

    path, rows = export(args.test, args.out, all_raters=args.all_raters)
    print(f"wrote {rows} ratings to {path}")
    return 0


def register(commands: Subcommands) -> None:
    """Add ``audiogen listen`` and its subcommands."""
    listen = commands.add_parser("listen", help="listening tests: create, serve, report, export")
    sub = listen.add_subparsers(dest="listen_command", required=True)

    create = sub.add_parser("create", help="build a test folder from systems' output folders")
    create.add_argument("--out", required=True, help="new test folder")
    create.add_argument("--type", required=True, choices=["acr", "cmos", "mushra", "ab"])
    create.add_argument("--system", action="append", required=True, metavar="NAME=DIR",
                        help="a system's output folder or manifest (repeatable)")
    create.add_argument("--ref", help="reference audio folder (needed by cmos and mushra)")
    create.add_argument("--items", type=int, help="use this many items, drawn by the seed")
    create.add_argument("--seed", type=int, default=0)
    create.add_argument("--raters", type=int, default=10, help="number of rater links")
    create.add_argument("--attention-checks", type=int, default=1,
                        help="attention-check trials per rater")
    create.add_argument("--title", default="Listening test")
    create.add_argument("--base-url", default="http://127.0.0.1:8000",
                        help="prefix of the printed links")
    create.set_defaults(handler=cmd_create)

    serve = sub.add_parser("serve", help="run the rating web server")
    serve.add_argument("test", type=Path, help="test folder")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--log-level", default="warning",
                       choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(handler=cmd_serve)

    report = sub.add_parser("report", help="statistics, plots and CSVs as an HTML report")
    report.add_argument("test", type=Path, help="test folder")
    report.add_argument("--out", type=Path, help="report path (default TEST/report.html)")
    report.add_argument("--all-raters", action="store_true",
                        help="skip attention and MUSHRA screening")
    report.set_defaults(handler=cmd_report)

    export = sub.add_parser("export", help="ratings as CSV "
                            "(rater,test_type,trial,system,item,audio_path,score)")
    export.add_argument("test", type=Path, help="test folder")
    export.add_argument("--out", required=True, type=Path, help="CSV path")
    export.add_argument("--all-raters", action="store_true",
                        help="include raters excluded by screening")
    export.set_defaults(handler=cmd_export)
