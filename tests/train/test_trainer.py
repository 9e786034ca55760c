"""The one trainer: checkpoints, exact resume after kill -9, 2-process DDP on CPU (gloo)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from audiogen import config as cfg
from audiogen.errors import SpecMismatchError
from audiogen.train import checkpoint
from audiogen.train.experiment import train
from audiogen.train.loading import load_task

REPO = Path(__file__).resolve().parents[2]
DEBUG = REPO / "recipes" / "vocoder" / "gan_mel" / "debug.yaml"


def overrides(corpus: Path, **extra: object) -> list[str]:
    values = {"data.train": str(corpus / "train.jsonl"), "data.valid": str(corpus / "valid.jsonl"),
              "trainer.num_threads": 1, "trainer.device": "cpu", **extra}
    return [f"{key}={json.dumps(value) if not isinstance(value, str) else value}"
            for key, value in values.items()]


def losses_by_step(exp: Path) -> dict[int, float]:
    rows = [json.loads(line) for line in (exp / "metrics.jsonl").read_text().splitlines()]
    return {row["step"]: row["generator/loss"] for row in rows if "generator/loss" in row}


def rows_by_step(exp: Path) -> dict[int, dict[str, float]]:
    rows = [json.loads(line) for line in (exp / "metrics.jsonl").read_text().splitlines()]
    return {row["step"]: row for row in rows if "generator/loss" in row}


def final_weights(exp: Path) -> dict[str, torch.Tensor]:
    found = checkpoint.latest(exp / "checkpoints")
    assert found is not None
    return load_file(found / "model.safetensors")


def sets(values: list[str]) -> list[str]:
    return [arg for value in values for arg in ("--set", value)]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "audiogen", *args]


def test_checkpoint_roundtrip_and_spec_refusal(tiny_corpus: Path, tmp_path: Path) -> None:
    config = cfg.load(DEBUG, overrides(tiny_corpus, **{"trainer.max_steps": 2}))
    train(config, tmp_path / "exp")
    found = checkpoint.latest(tmp_path / "exp" / "checkpoints")
    assert found is not None and found.name == "step_00000002"
    assert {p.name for p in found.iterdir()} == {"config.yaml", "meta.json", "model.safetensors",
                                                 "ema.safetensors", "state.pt"}
    task = load_task(tmp_path / "exp", prefer_ema=False)
    features = task.representation.encode(torch.randn(1, 4096))
    again = load_task(found, prefer_ema=False)
    assert torch.equal(task.synthesize(features), again.synthesize(features))
    meta = json.loads((found / "meta.json").read_text())
    meta["spec"]["hop_length"] = 200
    (found / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(SpecMismatchError, match="hop_length: model has 200"):
        load_task(found)


def test_the_final_step_is_validated_and_saved_once(tiny_corpus: Path, tmp_path: Path) -> None:
    """valid_every and save_every divide max_steps: the loop's validation and checkpoint at the
    last step are not repeated after it (one validation row per validated step)."""
    config = cfg.load(DEBUG, overrides(tiny_corpus, **{"trainer.max_steps": 4,
                                                       "trainer.valid_every": 2,
                                                       "trainer.save_every": 2}))
    train(config, tmp_path / "exp")
    rows = [json.loads(line) for line in (tmp_path / "exp/metrics.jsonl").read_text().splitlines()]
    validated = [row["step"] for row in rows if any(key.startswith("valid/") for key in row)]
    assert validated == [2, 4]
    saved = sorted(p.name for p in (tmp_path / "exp/checkpoints").glob("step_*"))
    assert saved == ["step_00000002", "step_00000004"]


def test_resume_after_kill_is_exact(tiny_corpus: Path, tmp_path: Path) -> None:
    settings = {"trainer.max_steps": 24, "trainer.save_every": 3, "task.gan_start_step": 4,
                "data.batch_size": 4, "data.segment_seconds": 1.0,
                "task.generator.backbone.dim": 64, "task.generator.backbone.num_layers": 3}
    args = overrides(tiny_corpus, **settings)
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    command = cli("train", str(DEBUG), *sets(args))
    subprocess.run(command + ["--exp", str(straight)], check=True, capture_output=True)
    process = subprocess.Popen(command + ["--exp", str(broken)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        log = broken / "metrics.jsonl"
        if log.is_file() and max(losses_by_step(broken), default=0) >= 8:
            os.kill(process.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    resumed_from = int(checkpoint.latest(broken / "checkpoints").name.split("_")[1])
    assert 3 <= resumed_from < 24
    subprocess.run(command + ["--exp", str(broken)], check=True, capture_output=True)
    expected, got = losses_by_step(straight), losses_by_step(broken)
    assert sorted(got) == list(range(1, 25))
    for step in range(resumed_from + 1, 25):
        assert got[step] == expected[step], f"step {step}: {got[step]} != {expected[step]}"


def test_two_process_ddp_matches_one_process(tiny_corpus: Path, tmp_path: Path) -> None:
    """2 processes x batch 2 match 1 x batch 4 through GAN steps: the discriminator and the
    generator's adversarial terms from step 2 on, and the trained weights of both networks."""
    common = {"trainer.max_steps": 3, "task.gan_start_step": 1, "trainer.ema_decay": None,
              "trainer.save_every": 3, "data.valid": None}
    single = overrides(tiny_corpus, **common, **{"data.batch_size": 4})
    double = overrides(tiny_corpus, **common, **{"data.batch_size": 2})
    subprocess.run(cli("train", str(DEBUG), "--exp", str(tmp_path / "one"), *sets(single)),
                   check=True, capture_output=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc_per_node=2", "-m", "audiogen", "train", str(DEBUG),
                "--exp", str(tmp_path / "two"), *sets(double)]
    result = subprocess.run(torchrun, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    one, two = rows_by_step(tmp_path / "one"), rows_by_step(tmp_path / "two")
    assert sorted(two) == [1, 2, 3]  # written once, by the main process, as means over ranks
    assert "discriminator/disc_0" not in two[1]  # step 1 is before gan_start_step
    for step in (2, 3):  # adversarial steps: both optimizers, both loss families
        assert {"discriminator/disc_0", "generator/adv_0",
                "generator/fm_0"} <= set(two[step])
        assert two[step]["discriminator/loss"] > 0
    for step in (1, 2, 3):
        assert set(two[step]) == set(one[step])
        for key in two[step]:
            if key.endswith(("/loss", "/mel_l1")) or "/disc_" in key or "/adv_" in key:
                assert two[step][key] == pytest.approx(one[step][key], rel=1e-4), (step, key)
    weights_one, weights_two = (final_weights(tmp_path / name) for name in ("one", "two"))
    assert any(name.startswith("discriminators.") for name in weights_two)
    for name, value in weights_two.items():
        torch.testing.assert_close(value, weights_one[name], rtol=1e-4, atol=1e-5, msg=name)
