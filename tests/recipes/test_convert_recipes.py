"""Smoke run of the voice-conversion recipe on the tiny corpus (two 'speakers', a random tiny
HuBERT), stages after corpus building in this process."""

from __future__ import annotations

import json
from pathlib import Path

import torch

import audiogen
from audiogen import recipe
from audiogen.cli import call_in_process
from tests.recipes.registry import smoke
from tests.recipes.test_ssl_recipes import tiny_ssl_model


@smoke("convert/units")
def test_conversion_recipe_smoke(directory: Path, tiny_corpus: Path, tmp_path: Path) -> None:
    model = tiny_ssl_model(tmp_path / "ssl")
    overrides = {"data": str(tiny_corpus), "ssl_model": str(model), "layer": "1", "k": "8",
                 "target": "high", "config": str(directory / "debug.yaml"),
                 "unseen": str(tiny_corpus / "wavs" / "low"),
                 "metrics": "speaker_match,speaker_prob,uer"}
    out = tmp_path / "out"
    results = recipe.run(directory, out=out, first=2, overrides=overrides, call=call_in_process)
    assert all(status == "done" for _, status in results)
    config = (out / "vocoder" / "config.yaml").read_text()
    assert "speakers:\n  - high" in config
    sources = [json.loads(line)["speaker"] for line in (out / "sources.jsonl").open()]
    assert sources and set(sources) == {"low"}
    converted = sorted(p.relative_to(out / "converted").as_posix()
                       for p in (out / "converted").rglob("*.wav"))
    assert converted == (["sources/low/utt11.wav", "target/high/utt10.wav"]
                         + [f"unseen/utt{i:02d}.wav" for i in (1, 3, 5, 7, 9, 11)])
    for part, systems in (("sources", {"source", "converted"}),
                          ("target", {"target", "resynthesized"}),
                          ("unseen", {"source", "converted"})):
        summary = json.loads((out / "eval" / part / "results.json").read_text())["summary"]
        assert set(summary) == systems
        for scores in summary.values():
            assert {"speaker_match", "speaker_prob", "uer"} <= set(scores)
    sources_summary = json.loads((out / "eval/sources/results.json").read_text())["summary"]
    assert sources_summary["source"]["uer"]["mean"] == 0.0  # the source against itself
    converter = audiogen.load_converter(out / "vocoder")  # the Python API: a wave in, a wave out
    wave = torch.randn(22050) * 0.1
    converted = converter(wave, sample_rate=22050)
    assert converter.sample_rate == 16000 and converted.shape == (1, 16000)
    assert torch.isfinite(converted).all()
