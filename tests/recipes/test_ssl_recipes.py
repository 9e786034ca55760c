"""Smoke runs of the SSL recipes on the tiny corpus with their debug configs (stages after
corpus building). Their 9-11 stages run in this process (``call=call_in_process``): as subprocesses,
interpreter, torch and transformers start-up alone cost minutes of CPU."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from audiogen import recipe
from audiogen.cli import call_in_process
from tests.recipes.registry import smoke


def tiny_ssl_model(directory: Path) -> Path:
    """A 2-layer random HuBERT with its feature-extractor config."""
    from transformers import Wav2Vec2FeatureExtractor

    from audiogen.models.ssl import hubert

    torch.manual_seed(0)
    network = hubert(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=32, conv_dim=[8] * 7, num_conv_pos_embeddings=8,
                     num_conv_pos_embedding_groups=2)
    network.save_pretrained(directory)
    Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=False).save_pretrained(directory)
    return directory


@smoke("ssl/hubert")
def test_hubert_recipe_smoke(directory: Path, tiny_corpus: Path, tmp_path: Path) -> None:
    overrides = {"data": str(tiny_corpus), "fsdd": str(tiny_corpus),
                 "config": str(directory / "debug.yaml"),
                 "iter2_config": str(directory / "debug_iter2.yaml"), "k": "8", "iter2_k": "8",
                 "iter2_layer": "1", "probe_labels": "speaker", "probe_limit": "8"}
    out = tmp_path / "out"
    results = recipe.run(directory, out=out, first=3, overrides=overrides, call=call_in_process)
    assert [stage.name for stage, _ in results][0] == "mfcc"
    assert all(status == "done" for _, status in results)
    for name in ("hubert_iter1", "hubert_iter2", "hubert_untrained"):
        assert (out / name / "config.json").is_file()
        assert (out / name / "preprocessor_config.json").is_file()
    rows = json.loads((out / "probe.json").read_text())
    assert [row["system"] for row in rows] == ["mfcc"] + ["untrained"] * 3 + ["iter1"] * 3 \
        + ["iter2"] * 3
    assert all(0.0 <= row["speaker"] <= 1.0 for row in rows)
    metrics = [json.loads(line) for line in (out / "iter2/metrics.jsonl").open()]
    assert any("valid/acc_masked" in row for row in metrics)


@smoke("ssl/units_vocoder")
def test_units_vocoder_recipe_smoke(directory: Path, tiny_corpus: Path, tmp_path: Path) -> None:
    model = tiny_ssl_model(tmp_path / "ssl")
    overrides = {"data": str(tiny_corpus), "ssl_model": str(model), "layer": "1",
                 "ks": ["4", "8"], "k": "8", "config": str(directory / "debug.yaml"),
                 "features_config": str(directory / "debug_features.yaml"),
                 "metrics": "stoi,mcd"}
    out = tmp_path / "out"
    results = recipe.run(directory, out=out, first=2, overrides=overrides, call=call_in_process)
    assert all(status == "done" for _, status in results)
    assert (out / "kmeans_4" / "kmeans.json").is_file()
    report = json.loads((out / "units_8.json").read_text())
    assert report["usage"]["num_units"] == 8 and "speaker" in report["purity"]
    test_ids = sorted(json.loads(line)["id"] for line in (tiny_corpus / "test.jsonl").open())
    for system in ("units_8", "features"):
        names = sorted(p.relative_to(out / "synth" / system).with_suffix("").as_posix()
                       for p in (out / "synth" / system).rglob("*.wav"))
        assert names == test_ids
    summary = json.loads((out / "eval/results.json").read_text())["summary"]
    assert set(summary) == {"units_8", "features"}
    assert all(scores for scores in summary.values())
