"""Which smoke test runs which recipe.

A smoke test names its recipes with ``@smoke("area/name", ...)`` and receives their folders from
it: ``directory``, one test case per recipe, or with ``chain=True`` ``directories``, one case that
runs the recipes in order (a later one on what an earlier one made). ``registered()`` imports
every test module of this folder and returns the registry; ``test_recipes`` checks it against the
``recipe.yaml`` files on disk, both ways.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

RECIPES = Path(__file__).resolve().parents[2] / "recipes"

Test = TypeVar("Test", bound=Callable[..., None])

SMOKE: dict[str, str] = {}
"""Recipe ("area/name", its folder under recipes/) -> the smoke test running it ("file::test")."""


def smoke(*names: str, chain: bool = False) -> Callable[[Test], Test]:
    """Register a smoke test of the recipes ``names`` and parametrize it with their folders."""
    def register(test: Test) -> Test:
        # by file, not module: pytest imports this folder as ``recipes.*``, an explicit import
        # of a test module (and ``registered``) as ``tests.recipes.*``
        where = f"{Path(inspect.getfile(test)).name}::{test.__name__}"
        for name in names:
            if SMOKE.get(name, where) != where:
                raise ValueError(f"recipes/{name} is registered twice: {SMOKE[name]}, {where}")
            SMOKE[name] = where
        folders = [RECIPES / name for name in names]
        if chain:
            return pytest.mark.parametrize("directories", [tuple(folders)],
                                           ids=["+".join(names)])(test)
        return pytest.mark.parametrize("directory", folders, ids=list(names))(test)
    return register


def registered() -> dict[str, str]:
    """The registry once every test module of this folder has been imported (again, maybe)."""
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name.startswith("test_"):
            importlib.import_module(f"{__package__}.{module.name}")
    return dict(SMOKE)


def on_disk() -> set[str]:
    """Every recipe: the folders under recipes/ that hold a recipe.yaml, as "area/name"."""
    return {path.parent.relative_to(RECIPES).as_posix() for path in RECIPES.rglob("recipe.yaml")}
