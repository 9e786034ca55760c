"""Imports flow one way: foundations -> representations/nn -> models/math -> tasks -> drivers."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "audiogen"
LAYERS = {
    "errors": 0, "utils": 0, "audio": 1, "config": 1,
    "data": 2, "representations": 2, "nn": 2, "generative": 2, "sampling": 3,
    "models": 3, "losses": 3,
    "tasks": 4,
    "train": 5, "eval": 5, "inference": 5, "api": 5,
    "bench": 6, "recipe": 6,
    "cli": 7, "cli_codec": 7, "cli_listen": 7, "cli_ssl": 7, "cli_quality": 7,
    "__main__": 8, "__init__": 8,
}


def layer_of(module: str) -> int:
    return LAYERS[module.split(".")[0]]


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                "audiogen."):
            found.add(node.module.removeprefix("audiogen."))
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("audiogen.") for a in node.names
                      if a.name.startswith("audiogen.")}
    return found


def test_every_module_has_a_layer() -> None:
    tops = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.rglob("*.py")}
    assert tops <= set(LAYERS), f"add {sorted(tops - set(LAYERS))} to LAYERS"


def test_no_module_imports_a_higher_layer() -> None:
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        own = path.relative_to(PACKAGE).with_suffix("").as_posix().replace("/", ".")
        for target in imports(path):
            if layer_of(target) > layer_of(own):
                wrong.append(f"{own} imports {target}")
    assert not wrong, "; ".join(sorted(wrong))
