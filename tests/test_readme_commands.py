"""Every ``audiogen ...`` command line shown in the docs parses with today's CLI, and every
``recipes/...`` path it names exists: the docs cannot drift from the commands."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from audiogen.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted({REPO / "README.md", *REPO.glob("docs/*.md"), *REPO.glob("recipes/**/README.md"),
               *REPO.glob("egs/**/README.md"), *REPO.glob("audiogen/pretrained/*/README.md")})
OPTIONAL = re.compile(r"\[[^\]]*\]")  # "[--host 127.0.0.1]": an optional part of a usage line


def documented_commands() -> list[tuple[str, str]]:
    """(where, command line) for each line of a fenced or indented code block that starts
    with ``audiogen``, continuation lines joined."""
    found = []
    for path in DOCS:
        in_fence, pending, start = False, "", 0
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.lstrip().startswith("```"):
                in_fence = not in_fence
                continue
            code = in_fence or line.startswith("    ")
            text = line.strip().removeprefix("$ ")
            if pending:
                pending += " " + text
            elif code and text.startswith("audiogen "):
                pending, start = text, number
            else:
                continue
            if pending.endswith("\\"):
                pending = pending[:-1]
                continue
            found.append((f"{path.relative_to(REPO)}:{start}", pending))
            pending = ""
    return found


COMMANDS = documented_commands()


def test_the_docs_show_commands() -> None:
    assert len(COMMANDS) > 40 and {c.split()[1] for _, c in COMMANDS} >= {
        "data", "train", "synthesize", "extract", "evaluate", "recipe", "listen", "bench"}


@pytest.mark.parametrize("where,line", COMMANDS, ids=[where for where, _ in COMMANDS])
def test_documented_command_parses(where: str, line: str) -> None:
    args = shlex.split(OPTIONAL.sub("", line), comments=True)[1:]
    try:
        build_parser().parse_args(args)
    except SystemExit as error:
        pytest.fail(f"{where}: `{line}` does not parse (exit {error.code})")
    for arg in args:
        for part in arg.split("="):
            if part.startswith("recipes/"):
                assert (REPO / part).exists(), f"{where}: {part} does not exist"
