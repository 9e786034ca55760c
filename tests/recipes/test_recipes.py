"""Every recipe runs end to end with its debug config on a tiny corpus (stages after data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audiogen import recipe

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
ALL = sorted(p.parent for p in RECIPES.rglob("recipe.yaml"))


def debug_config(directory: Path) -> Path:
    own = directory / "debug.yaml"
    return own if own.is_file() else directory.parent / "fm_mel" / "debug.yaml"


@pytest.mark.parametrize("directory", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_recipe_smoke(directory: Path, tiny_corpus: Path, tmp_path: Path) -> None:
    parsed = recipe.read(directory)
    assert parsed.stages[0].name == "data"
    overrides = {"data": str(tiny_corpus), "config": str(debug_config(directory))}
    if "finetune_config" in parsed.variables:
        overrides["finetune_config"] = str(directory / "finetune_debug.yaml")
    results = recipe.run(directory, out=tmp_path, first=2, overrides=overrides)
    assert all(status == "done" for _, status in results)
    test_ids = [json.loads(line)["id"] for line in (tiny_corpus / "test.jsonl").open()]
    synthesized = sorted(tmp_path.glob("synth/*"))
    assert synthesized, "no synthesis output"
    for folder in synthesized:
        assert sorted(str(p.relative_to(folder).with_suffix("")) for p in
                      folder.rglob("*.wav")) == sorted(test_ids)
    summary = json.loads((tmp_path / "eval" / "results.json").read_text())["summary"]
    assert set(summary) == {folder.name for folder in synthesized}
    assert (tmp_path / "eval" / "report.html").is_file()
