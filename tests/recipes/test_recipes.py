"""Every vocoder recipe runs end to end with its debug config on a tiny corpus (stages after
data). Recipes of other areas (ssl, codec, eval) have smoke tests of their own in this folder;
each smoke test registers the recipes it runs (``registry.smoke``), and
``test_every_recipe_has_a_smoke_test`` checks the registry against the recipes on disk."""

from __future__ import annotations

import json
from pathlib import Path

from audiogen import recipe
from audiogen.cli import call_in_process
from tests.recipes.registry import RECIPES, on_disk, registered, smoke

VOCODERS = sorted(p.parent.relative_to(RECIPES).as_posix()
                  for p in (RECIPES / "vocoder").rglob("recipe.yaml"))


def test_every_recipe_has_a_smoke_test() -> None:
    """Every recipes/**/recipe.yaml is run by a registered smoke test, and every registered
    recipe exists."""
    tests, recipes = registered(), on_disk()
    assert "vocoder/quickstart" in recipes and "ssl/hubert" in recipes  # the search finds them
    missing = sorted(recipes - set(tests))
    assert not missing, f"recipes without a smoke test in tests/recipes/: {missing}"
    stale = {name: test for name, test in tests.items() if name not in recipes}
    assert not stale, f"smoke tests of recipes that do not exist: {stale}"


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


@smoke(*VOCODERS)
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
    results = recipe.run(directory, out=out, first=len(building) + 1, overrides=overrides,
                         call=call_in_process)
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
