"""Paper-scale (GPU) configs are not trained here, but each must build and run one step."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from audiogen import config as cfg
from audiogen.tasks.base import Task
from audiogen.train.experiment import build_task, check_sections
from tests.conftest import harmonic_tone
from tests.recipes.full_inputs import overrides_for

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
FULL = sorted(RECIPES.rglob("full.yaml"))


@pytest.mark.parametrize("path", FULL, ids=lambda p: p.parent.name)
def test_full_config_builds_and_takes_a_step(path: Path, tmp_path: Path) -> None:
    config = cfg.load(path, overrides_for(path, tmp_path))
    check_sections(config)
    assert config["trainer"]["device"] == "cuda" and config["trainer"]["max_minutes"] is None
    torch.manual_seed(0)
    task = build_task(config)
    wave = torch.from_numpy(harmonic_tone(0.25, task.sample_rate, 150.0, 0))[None, None]
    batch = {"audio": wave}
    for phase in task.phases():
        losses = task.losses(batch, phase, step=10**6)
        assert torch.isfinite(losses["loss"])
    if type(task).synthesize is Task.synthesize:  # a task that does not generate audio
        return
    features = task.representation.encode(wave[:, 0])
    audio = task.synthesize(features, steps=1, grid="uniform")
    assert audio.shape[-1] == features.shape[-1] * task.representation.hop_length
