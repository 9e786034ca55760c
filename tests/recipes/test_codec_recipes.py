"""Smoke runs of the codec recipes ("codec/rvq", then "codec/token_vocoder" on the codec it
trained) on the tiny corpus with their debug configs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from audiogen import recipe
from audiogen.cli import call_in_process
from tests.recipes.registry import smoke
from tests.recipes.test_recipes import tiny_data


@smoke("codec/rvq", "codec/token_vocoder", chain=True)
def test_codec_recipes_smoke(directories: tuple[Path, Path], tiny_corpus: Path,
                            tmp_path: Path) -> None:
    directory, vocoder = directories
    data = tiny_data(tiny_corpus, tmp_path / "in")
    out = tmp_path / "out"
    debug = directory / "debug.yaml"
    # the debug codec has 4 levels of 16 codes at 50 frames/s: 0.2 kbps per level
    results = recipe.run(directory, out=out, first=2, overrides={
        "data": str(data), "config": str(debug), "bandwidths": "0.4,0.8",
        "bandwidth": 0.8, "metrics": "stoi,mel_l1"}, call=call_in_process)
    assert all(status == "done" for _, status in results)
    rows = json.loads((out / "report" / "codec_report.json").read_text())
    assert [row["n_q"] for row in rows] == [2, 4]
    assert all(len(row["levels"]) == row["n_q"] for row in rows)
    assert all(row["metrics"]["stoi"] is not None for row in rows)
    test_ids = sorted(json.loads(line)["id"] for line in (tiny_corpus / "test.jsonl").open())
    tokens = sorted(p.relative_to(out / "tokens").with_suffix("").as_posix()
                    for p in (out / "tokens").rglob("*.npz"))
    assert tokens == test_ids
    with np.load(next((out / "tokens").rglob("*.npz")), allow_pickle=False) as archive:
        assert archive["features"].shape[0] == 4
    decoded = sorted(p.relative_to(out / "decoded").with_suffix("").as_posix()
                     for p in (out / "decoded").rglob("*.wav"))
    assert decoded == test_ids

    # codec/token_vocoder: the flow decoder on the tokens of the codec just trained
    results = recipe.run(vocoder, out=tmp_path / "vocoder", first=2, overrides={
        "data": str(data), "config": str(vocoder / "debug.yaml"), "codec": str(out / "exp"),
        "steps": 2, "metrics": "stoi,mel_l1"}, call=call_in_process)
    assert all(status == "done" for _, status in results)
    summary = json.loads((tmp_path / "vocoder" / "eval" / "results.json").read_text())["summary"]
    assert set(summary) == {"flow_2", "codec"}
    for system in summary:
        names = sorted(p.relative_to(tmp_path / "vocoder" / "synth" / system).with_suffix(
            "").as_posix() for p in (tmp_path / "vocoder" / "synth" / system).rglob("*.wav"))
        assert names == test_ids
