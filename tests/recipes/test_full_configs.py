"""Paper-scale (GPU) configs are not trained here, but each takes one real optimizer step through
the trainer on CPU (batch 1, a short segment, float32) and its checkpoint then synthesizes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from audiogen import config as cfg
from audiogen.data import manifest
from audiogen.tasks.base import Task
from audiogen.train import checkpoint
from audiogen.train.experiment import build_task, check_sections, train
from audiogen.train.loading import load_task
from tests.conftest import harmonic_tone
from tests.recipes.full_inputs import overrides_for

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
FULL = sorted(RECIPES.rglob("full.yaml"))


def labelled(corpus: Path, tmp_path: Path) -> Path:
    """The corpus' train manifest with quality labels (for the quality predictor)."""
    rows = manifest.read(corpus / "train.jsonl")
    for index, row in enumerate(rows):
        row.extra.update({"pesq_wb": 1.5 + 0.3 * index, "stoi": 0.6 + 0.04 * index})
    manifest.write(tmp_path / "labels.jsonl", rows)
    return tmp_path / "labels.jsonl"


def one_step_overrides(path: Path, corpus: Path, tmp_path: Path) -> list[str]:
    """One float32 CPU step of batch 1 x 0.5 s, adversarial from the start, no warm-up."""
    train_manifest = (labelled(corpus, tmp_path) if path.parent.name == "quality_predictor"
                      else corpus / "train.jsonl")
    values: dict[str, object] = {
        "data.train": str(train_manifest), "data.valid": None, "data.batch_size": 1,
        "data.segment_seconds": 0.5, "data.num_workers": 0, "optimizer.warmup_steps": 0,
        "trainer.max_steps": 1, "trainer.device": "cpu", "trainer.mixed_precision": "no",
        "trainer.num_threads": 2, "trainer.log_every": 1, "trainer.progress": False}
    if "gan_start_step" in (cfg.load(path, overrides_for(path, tmp_path)).get("task") or {}):
        values["task.gan_start_step"] = 0
    return [*overrides_for(path, tmp_path),
            *(f"{key}={json.dumps(value)}" for key, value in values.items())]


@pytest.mark.parametrize("path", FULL, ids=lambda p: p.parent.name)
def test_full_config_takes_one_trainer_step(path: Path, tiny_corpus: Path, tmp_path: Path
                                            ) -> None:
    assert cfg.load(path)["trainer"]["device"] == "cuda"
    config = cfg.load(path, one_step_overrides(path, tiny_corpus, tmp_path))
    check_sections(config)
    torch.manual_seed(config["trainer"].get("seed", 0))  # as train() does: the initial weights
    initial = build_task(config)
    train(config, tmp_path / "exp")
    found = checkpoint.latest(tmp_path / "exp" / "checkpoints")
    assert found is not None and found.name == "step_00000001"
    rows = [json.loads(line) for line in (tmp_path / "exp" / "metrics.jsonl").open()]
    logged = {key: value for row in rows for key, value in row.items() if key.endswith("/loss")}
    assert set(logged) == {f"{phase}/loss" for phase in initial.phases()}
    assert all(torch.isfinite(torch.tensor(value)) for value in logged.values())
    trained = load_task(found, prefer_ema=False)
    for phase, module in initial.phases().items():  # every optimizer moved its weights
        after = trained.phases()[phase].state_dict()
        assert any(not torch.equal(value, after[name])
                   for name, value in module.state_dict().items()
                   if value.is_floating_point()), f"{phase}: no weight changed"
    if type(trained).synthesize is Task.synthesize:  # a task that does not generate audio
        return
    wave = torch.from_numpy(harmonic_tone(0.25, trained.sample_rate, 150.0, 0))[None]
    features = trained.representation.encode(wave)
    audio = trained.synthesize(features, steps=1, grid="uniform")
    assert audio.shape[-1] == features.shape[-1] * trained.representation.hop_length
    assert torch.isfinite(audio).all()
