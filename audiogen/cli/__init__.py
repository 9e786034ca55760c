"""``audiogen <command>``: each handler parses its arguments and calls the library.

Each module of :data:`GROUPS` adds its commands with ``register(commands)``; handlers import
what they need when they run, since the whole parser is built on every call.

Exit codes: 0 success, 1 an audiogen error (printed on one line; ``--debug`` shows the
traceback), 2 bad usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from audiogen.cli import (
    bench,
    classifier,
    codec,
    data,
    enhance,
    evaluate,
    export,
    extract,
    generate,
    listen,
    quality,
    recipe,
    speaker,
    ssl,
    synthesize,
    train,
)
from audiogen.errors import AudiogenError

# In the order of ``audiogen --help``.
GROUPS = (data, train, recipe, synthesize, generate, enhance, export, extract, evaluate,
          classifier, bench, quality, ssl, listen, codec, speaker)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="audiogen", description="Recipe-driven audio "
                                     "generation: vocoders, codecs, SSL units, evaluation.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except AudiogenError as error:
        if args.debug:
            raise
        print(f"audiogen: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("audiogen: interrupted", file=sys.stderr)
        return 130


def call_in_process(args: list[str]) -> int:
    """Run one command line in this process; its exit code, as the subprocess would give
    (recipe runs pass it to :func:`audiogen.recipe.run`). The torch thread count a command
    sets (the trainer's ``num_threads``) is restored after it."""
    import torch

    threads = torch.get_num_threads()
    try:
        return main(args)
    except SystemExit as exit:  # argparse on bad usage
        return exit.code if isinstance(exit.code, int) else 1
    finally:
        torch.set_num_threads(threads)
