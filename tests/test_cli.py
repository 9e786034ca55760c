"""The command line: every command's help, and the argument parsing and job report that the
command groups share (``audiogen.cli.common``)."""

from __future__ import annotations

import argparse

import pytest

from audiogen.cli import GROUPS, build_parser, main
from audiogen.cli.common import comma_list, named_paths, parse_assignments, report_job
from audiogen.errors import ConfigError


def command_lines(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
                  ) -> list[tuple[str, ...]]:
    """Every command path of the parser, e.g. ``("extract", "tokens")``."""
    found = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += command_lines(sub, (*prefix, name))
    return found


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    lines = command_lines(build_parser())
    assert len(lines) > 30 and ("extract", "tokens") in lines and ("bench", "eval") in lines
    for line in lines:
        with pytest.raises(SystemExit) as exit_info:
            main([*line, "--help"])
        assert exit_info.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: audiogen {' '.join(line)}".rstrip())


def test_each_group_adds_top_level_commands() -> None:
    before = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers()
    owners: dict[str, str] = {}
    for group in GROUPS:
        known = set(commands.choices)
        group.register(commands)
        for name in set(commands.choices) - known:
            owners[name] = group.__name__
    assert set(owners) == before
    assert owners["extract"] == "audiogen.cli.extract" and owners["units"] == "audiogen.cli.ssl"


def test_named_paths() -> None:
    assert named_paths(["a=x/one", "x/two", "b=c=d"], "--gen") == {
        "a": "x/one", "two": "x/two", "b": "c=d"}
    assert named_paths(["exp/flow/config.yaml"], "--config", "[NAME=]CONFIG",
                       lambda path: path.parent.name) == {"flow": "exp/flow/config.yaml"}
    assert named_paths(None, "--gen") == {}
    with pytest.raises(ConfigError, match="--system 'dir' must look like NAME=DIR"):
        named_paths(["dir"], "--system", "NAME=DIR", default_name=None)
    with pytest.raises(ConfigError, match="--gen 'a=' must look like"):
        named_paths(["a="], "--gen")
    with pytest.raises(ConfigError, match="--gen 'x' is given twice"):
        named_paths(["a/x", "b/x"], "--gen")


def test_assignments_and_comma_lists() -> None:
    assert parse_assignments(["a=1", "b=x", "c="]) == {"a": 1, "b": "x", "c": ""}
    with pytest.raises(ConfigError, match="--option 'a' must look like key=value"):
        parse_assignments(["a"], "--option")
    assert comma_list("a,,b,") == ["a", "b"] and comma_list(None) == []


def test_job_report_lines_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert report_job("out", 2, [("bad", "corrupt")], kept=1, summary=["padded 0 inputs"],
                      lines=["a note"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "wrote 2 files to out; kept 1 already there; skipped 1; padded 0 inputs",
        "  skipped bad: corrupt", "  a note"]
    assert report_job("out", 0, [("bad", "corrupt")], verb="decoded") == 1
    assert capsys.readouterr().out.startswith("decoded 0 files to out; skipped 1\n")
    assert report_job("out", 0, []) == 0
