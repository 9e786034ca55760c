"""Recipes as data: ``recipe.yaml`` lists numbered stages, each a command line of the CLI.

```yaml
description: one line
vars: {data_dir: "{out}/data", config: config.yaml}
stages:
  - {name: data, run: [data, build, asterisk, --out, "{data_dir}"]}
  - {name: train, run: [train, "{recipe}/{config}", --exp, "{out}/exp"], distributed: true}
```

Strings are formatted with the vars plus ``out`` (the run's output folder), ``recipe`` (the
recipe folder) and ``nproc``; an argument that is exactly ``"{name}"`` of a list var is spliced.
Each stage runs as ``python -m audiogen ...`` (``torchrun`` when ``distributed`` and nproc > 1),
and on success writes ``OUT/.stages/NN_name.done`` holding its command: a later run skips a stage
whose stamp matches its command, and reruns it when the command changed. ``run(...,
call=audiogen.cli.call_in_process)`` runs each single-process stage in this process instead,
which spares the interpreter and import start-up (the tests' smoke runs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

from audiogen.errors import ConfigError
from audiogen.utils import atomic_write_text


@dataclass(frozen=True)
class Stage:
    """One numbered step of a recipe."""

    number: int
    name: str
    run: list[str]
    distributed: bool = False


@dataclass
class Recipe:
    """A parsed recipe folder."""

    directory: Path
    description: str
    variables: dict[str, Any]
    stages: list[Stage]


def read(directory: str | os.PathLike) -> Recipe:
    """Parse ``DIR/recipe.yaml``; errors name the field."""
    directory = Path(directory).resolve()
    path = directory / "recipe.yaml"
    if not path.is_file():
        raise ConfigError(f"{directory}: not a recipe (no recipe.yaml)")
    raw = yaml.safe_load(path.read_text()) or {}
    unknown = set(raw) - {"description", "vars", "stages"}
    if unknown:
        raise ConfigError(f"{path}: unknown key {sorted(unknown)[0]!r}; valid keys: "
                          "description, vars, stages")
    stages = []
    for number, entry in enumerate(raw.get("stages") or [], 1):
        if not isinstance(entry, dict) or "name" not in entry or "run" not in entry:
            raise ConfigError(f"{path}: stage {number} needs 'name' and 'run'")
        extra = set(entry) - {"name", "run", "distributed"}
        if extra:
            raise ConfigError(f"{path}: stage {entry['name']!r}: unknown key "
                              f"{sorted(extra)[0]!r}; valid keys: name, run, distributed")
        stages.append(Stage(number, str(entry["name"]), [str(a) for a in entry["run"]],
                            bool(entry.get("distributed", False))))
    if not stages:
        raise ConfigError(f"{path}: no stages")
    return Recipe(directory, str(raw.get("description", "")), dict(raw.get("vars") or {}),
                  stages)


def resolve_vars(recipe: Recipe, out: Path, overrides: dict[str, Any], nproc: int
                 ) -> dict[str, Any]:
    """Merge overrides into the recipe vars (unknown names refused) and expand references."""
    for key in overrides:
        if key not in recipe.variables:
            raise ConfigError(f"recipe var {key!r} is unknown; valid vars: "
                              f"{', '.join(sorted(recipe.variables)) or '(none)'}")
    values: dict[str, Any] = {**recipe.variables, **overrides}
    base = {"out": str(out), "recipe": str(recipe.directory), "nproc": nproc}
    for _ in range(5):  # vars may refer to vars; a few rounds settle any sane nesting
        values = {k: _format(v, {**base, **values}) for k, v in values.items()}
    return {**base, **values}


def _format(value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_format(v, variables) for v in value]
    if isinstance(value, str):
        try:
            return value.format(**variables)
        except KeyError as error:
            raise ConfigError(f"recipe: unknown var {error.args[0]!r} in {value!r}") from None
    return value


def command(stage: Stage, variables: dict[str, Any]) -> list[str]:
    """The stage's CLI arguments with vars substituted and list vars spliced."""
    args: list[str] = []
    for arg in stage.run:
        name = arg[1:-1] if arg.startswith("{") and arg.endswith("}") else None
        if name is not None and isinstance(variables.get(name), list):
            args.extend(str(item) for item in variables[name])
        else:
            args.append(str(_format(arg, variables)))
    return args


def launcher(stage: Stage, nproc: int) -> list[str]:
    """The program that runs a stage: the interpreter, or torchrun for distributed stages."""
    if stage.distributed and nproc > 1:
        return [sys.executable, "-m", "torch.distributed.run", "--standalone",
                f"--nproc_per_node={nproc}", "-m", "audiogen"]
    return [sys.executable, "-m", "audiogen"]


def run(directory: str | os.PathLike, out: str | os.PathLike | None = None,
        first: int = 1, last: int | None = None, overrides: dict[str, Any] | None = None,
        nproc: int = 1, force: bool = False,
        call: Callable[[list[str]], int] | None = None) -> list[tuple[Stage, str]]:
    """Run stages ``first``..``last``; returns (stage, "done" | "skipped") for each.

    ``call`` (e.g. :func:`audiogen.cli.call_in_process`) runs each stage that needs one process
    in this process rather than a new interpreter (distributed stages with ``nproc > 1`` still
    use torchrun). It is passed in because the CLI sits above this module.
    """
    recipe = read(directory)
    out_dir = Path(out) if out else Path("exp") / recipe.directory.parent.name / \
        recipe.directory.name
    out_dir = out_dir.resolve()
    variables = resolve_vars(recipe, out_dir, overrides or {}, nproc)
    stamps = out_dir / ".stages"
    stamps.mkdir(parents=True, exist_ok=True)
    results = []
    for stage in recipe.stages:
        if stage.number < first or (last is not None and stage.number > last):
            continue
        args = command(stage, variables)
        stamp = stamps / f"{stage.number:02d}_{stage.name}.done"
        if not force and stamp.is_file() and json.loads(stamp.read_text())["args"] == args:
            print(f"[stage {stage.number} {stage.name}] done before, skipping", flush=True)
            results.append((stage, "skipped"))
            continue
        print(f"[stage {stage.number} {stage.name}] audiogen {' '.join(args)}", flush=True)
        began = time.monotonic()
        if call is not None and not (stage.distributed and nproc > 1):
            code = call(args)
        else:
            code = subprocess.call(launcher(stage, nproc) + args)
        if code != 0:
            raise ConfigError(f"recipe stage {stage.number} ({stage.name}) failed with exit "
                              f"code {code}; rerun to resume from it")
        seconds = round(time.monotonic() - began, 1)
        atomic_write_text(stamp, json.dumps({"args": args, "seconds": seconds}) + "\n")
        print(f"[stage {stage.number} {stage.name}] finished in {seconds} s", flush=True)
        results.append((stage, "done"))
    return results
