"""What the command groups share: ``KEY=VALUE`` options, ``[NAME=]PATH`` arguments and the
report a batch job prints."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from audiogen.config import parse_value
from audiogen.errors import ConfigError

Subcommands = argparse._SubParsersAction


def parse_assignments(pairs: list[str] | None, flag: str = "--set") -> dict[str, object]:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}`` with YAML-parsed values."""
    result: dict[str, object] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ConfigError(f"{flag} {pair!r} must look like key=value")
        key, value = pair.split("=", 1)
        result[key.strip()] = parse_value(value) if value else ""
    return result


def comma_list(text: str | None) -> list[str]:
    """``"a,b,,c"`` -> ``["a", "b", "c"]``; None or empty -> ``[]``."""
    return [name for name in (text or "").split(",") if name]


def named_paths(entries: list[str] | None, flag: str, metavar: str = "[NAME=]PATH",
                default_name: Callable[[Path], str] | None = lambda path: path.name
                ) -> dict[str, str]:
    """``[NAME=]PATH`` arguments -> ``{NAME: PATH}``, in the order given.

    The name ends at the first ``=``. Without a name, it is ``default_name(Path(PATH))`` (by
    default the last path component); ``default_name=None`` makes the name required. A name
    given twice is refused.
    """
    named: dict[str, str] = {}
    for entry in entries or []:
        name, separator, path = entry.partition("=")
        if not separator:
            name, path = "", entry
        if not name and default_name is not None:
            name = default_name(Path(path))
        if not name or not path:
            raise ConfigError(f"{flag} {entry!r} must look like {metavar}")
        if name in named:
            raise ConfigError(f"{flag} {name!r} is given twice")
        named[name] = path
    return named


def report_job(out: str, written: int, skipped: Sequence[tuple[str, str]], *,
               verb: str = "wrote", noun: str = "files", kept: int | None = None,
               summary: Sequence[str] = (), lines: Sequence[str] = ()) -> int:
    """Print what a batch job did: one line ``wrote N files to OUT[; kept K already there];
    skipped M[; SUMMARY...]``, then one line per skipped input (with the reason) and each of
    ``lines``. Returns the exit code: 1 when every input was skipped, else 0."""
    head = f"{verb} {written} {noun} to {out}"
    if kept is not None:
        head += f"; kept {kept} already there"
    print("; ".join([head, f"skipped {len(skipped)}", *summary]))
    for name, reason in skipped:
        print(f"  skipped {name}: {reason}")
    for line in lines:
        print(f"  {line}")
    return 0 if written or kept or not skipped else 1


def add_model_job_arguments(parser: argparse.ArgumentParser, model_help: str,
                            input_help: str) -> None:
    """The arguments every model-over-files job takes (``synthesize``, ``enhance``,
    ``convert``): the model, ``--input``/``--out``, solver steps, device, seed, which weights
    and ``--limit``."""
    parser.add_argument("model", help=model_help)
    parser.add_argument("--input", required=True, help=input_help)
    parser.add_argument("--out", required=True, help="output folder (mirrors input names)")
    parser.add_argument("--steps", type=int, help="solver steps (default: the model's)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights", choices=["ema", "model"], default="ema",
                        help="the EMA weights (when trained with EMA) or the raw model's")
    parser.add_argument("--limit", type=int,
                        help="only N inputs, evenly spaced over the list (slow samplers)")
