"""Audio-to-audio recipes end to end on the tiny corpus with their debug configs (stages after
the corpus builds): fixed test sets written, a model trained on degraded crops, the test sets
restored, every system scored."""

from __future__ import annotations

import json
from pathlib import Path

from audiogen import recipe
from audiogen.cli import call_in_process
from tests.recipes.registry import smoke
from tests.recipes.test_recipes import tiny_data


@smoke("enhance/denoise", "enhance/bwe", "enhance/codec_repair")
def test_enhance_recipe_smoke(directory: Path, tiny_corpus: Path, tmp_path: Path) -> None:
    parsed = recipe.read(directory)
    building = [stage.number for stage in parsed.stages if stage.run[:2] == ["data", "build"]]
    assert building == list(range(1, len(building) + 1)), "data stages come first"
    data = tiny_data(tiny_corpus, tmp_path / "in")
    (data / "fsdd").symlink_to(tiny_corpus)
    overrides = {"data": str(data), "config": str(directory / "debug.yaml"),
                 "unseen": str(tiny_corpus / "valid.jsonl"), "fsdd_items": "2"}
    out = tmp_path / "out"
    results = recipe.run(directory, out=out, first=len(building) + 1,
                         overrides={k: v for k, v in overrides.items() if k in parsed.variables},
                         call=call_in_process)
    assert all(status == "done" for _, status in results)
    for split, count in (("asterisk", 2), ("unseen", 2)):  # the tiny test and valid splits
        assert len(list((out / "test" / split / "degraded").rglob("*.wav"))) == count
        assert len(list((out / "enhanced" / split / "model").rglob("*.wav"))) == count
        summary = json.loads((out / "eval" / split / "results.json").read_text())["summary"]
        assert "model" in summary and len(summary) >= 2
        for scores in summary.values():
            assert all(score["n"] == count for score in scores.values())
