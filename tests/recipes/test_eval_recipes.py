"""Evaluation recipes end to end on the tiny corpus with their debug configs."""

from __future__ import annotations

import json
from pathlib import Path

from audiogen import recipe
from audiogen.cli import call_in_process
from tests.recipes.registry import smoke


@smoke("eval/quality_predictor")
def test_quality_predictor_recipe_smoke(directory: Path, tiny_corpus: Path, tmp_path: Path
                                        ) -> None:
    parsed = recipe.read(directory)
    assert [stage.run[:2] for stage in parsed.stages][0] == ["data", "build"]
    overrides = {"data": str(tiny_corpus), "config": str(directory / "debug.yaml"),
                 "held_out": "low", "max_seconds": "30", "held_out_items": "4",
                 "workers": "1"}
    out = tmp_path / "out"
    results = recipe.run(directory, out=out, first=2, overrides=overrides, call=call_in_process)
    assert all(status == "done" for _, status in results)
    held_out = [json.loads(line) for line in (out / "labels/held_out/labels.jsonl").open()]
    assert held_out and {row["speaker"] for row in held_out} == {"low"}
    trained = [json.loads(line) for line in (out / "labels/train/labels.jsonl").open()]
    assert {row["speaker"] for row in trained} == {"high"}
    correlations = json.loads((out / "correlations.json").read_text())
    assert set(correlations["all"]) >= {"qp_pesq~pesq_wb", "qp_stoi~stoi"}
    assert correlations["all"]["qp_pesq~pesq_wb"]["n"] == len(held_out)
    summary = json.loads((out / "eval/results.json").read_text())["summary"]["held_out"]
    assert summary["qp_pesq"]["n"] == len(held_out)
    card = json.loads((out / "eval/results.json").read_text())["cards"]["qp_pesq"]
    assert card["checksum"].startswith("sha256 ")
