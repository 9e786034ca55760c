"""Every vocoder recipe runs end to end with its debug config on a tiny corpus (stages after
data). Recipes of other areas (ssl, codec, eval) have smoke tests of their own in this folder;
``test_every_recipe_has_a_smoke_test`` checks that none is forgotten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audiogen import recipe

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
ALL = sorted(p.parent for p in (RECIPES / "vocoder").rglob("recipe.yaml"))


def test_every_recipe_has_a_smoke_test() -> None:
    """A recipe outside recipes/vocoder must be named ("area/name") by a test in this folder."""
    tests = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    for path in RECIPES.rglob("recipe.yaml"):
        directory = path.parent
        if directory.parent.name == "vocoder":
            continue
        name = f"{directory.parent.name}/{directory.name}"
        assert f'"{name}"' in tests, f"recipes/{name} has no smoke test in tests/recipes/"


def debug_config(directory: Path) -> Path:
    own = directory / "debug.yaml"
    return own if own.is_file() else directory.parent / "fm_mel" / "debug.yaml"


def tiny_data(tiny_corpus: Path, root: Path) -> Path:
    """A data folder whose top level and corpus sub-folders all hold the tiny corpus."""
    data = root / "data"
    data.mkdir(parents=True)
    for split in ("train", "valid", "test"):
        (data / f"{split}.jsonl").symlink_to(tiny_corpus / f"{split}.jsonl")
    for corpus in ("asterisk", "sonicpi", "gm_notes"):
        (data / corpus).symlink_to(tiny_corpus)
    return data


@pytest.mark.parametrize("directory", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_recipe_smoke(directory: Path, tiny_corpus: Path, tmp_path: Path) -> None:
    parsed = recipe.read(directory)
    building = [stage.number for stage in parsed.stages if stage.run[:2] == ["data", "build"]]
    assert building == list(range(1, len(building) + 1)), "data stages come first"
    data = tiny_data(tiny_corpus, tmp_path / "in")
    overrides = {"data": str(data)}
    if "config" in parsed.variables:  # recipes that train something
        overrides["config"] = str(debug_config(directory))
    if "unseen" in parsed.variables:  # a held-out voice: the tiny corpus' test split here
        overrides["unseen"] = str(tiny_corpus / "test.jsonl")
    if "finetune_config" in parsed.variables:
        overrides["finetune_config"] = str(directory / "finetune_debug.yaml")
    out = tmp_path / "out"
    results = recipe.run(directory, out=out, first=len(building) + 1, overrides=overrides)
    assert all(status == "done" for _, status in results)
    test_ids = [json.loads(line)["id"] for line in (tiny_corpus / "test.jsonl").open()]
    systems = {wav.parent.parent for wav in out.glob("synth/**/*.wav")}  # ids are "spk/utt"
    assert systems, "no synthesis output"
    for folder in systems:
        names = sorted(p.relative_to(folder).with_suffix("").as_posix()
                       for p in folder.rglob("*.wav"))
        assert names == sorted(test_ids), folder
    results = sorted(out.glob("eval/**/results.json"))
    assert results, "no evaluation results"
    for path in results:
        summary = json.loads(path.read_text())["summary"]
        assert summary and all(scores for scores in summary.values())
        assert (path.parent / "report.html").is_file()
