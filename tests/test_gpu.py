"""CUDA checks: a bf16 training step, synthesis matching the CPU and 2-process NCCL training.

Marked ``gpu`` (left out by default; ``pytest -m gpu`` runs them) and skipped without CUDA.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from audiogen.train import checkpoint
from audiogen.train.loading import load_task

REPO = Path(__file__).resolve().parents[1]
DEBUG = REPO / "recipes" / "vocoder" / "gan_mel" / "debug.yaml"

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def overrides(corpus: Path, **extra: object) -> list[str]:
    values = {"data.train": str(corpus / "train.jsonl"), "data.valid": str(corpus / "valid.jsonl"),
              "trainer.device": "cuda", "trainer.max_steps": 3, "task.gan_start_step": 1,
              **extra}
    return [f"{key}={json.dumps(value) if not isinstance(value, str) else value}"
            for key, value in values.items()]


def train_in_subprocess(exp: Path, settings: list[str], processes: int = 1) -> None:
    """Train with the CLI in a fresh process: accelerate's device and precision are set once per
    process, so CUDA or bf16 runs here would clash with the CPU tests' state."""
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone",
                 f"--nproc_per_node={processes}"] if processes > 1 else [sys.executable])
    command = [*launcher, "-m", "audiogen", "train", str(DEBUG), "--exp", str(exp),
               *[arg for value in settings for arg in ("--set", value)]]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]


def metrics(exp: Path) -> dict[int, dict[str, float]]:
    rows = [json.loads(line) for line in (exp / "metrics.jsonl").read_text().splitlines()]
    return {row["step"]: row for row in rows if "generator/loss" in row}


def final_checkpoint(exp: Path) -> Path:
    found = checkpoint.latest(exp / "checkpoints")
    assert found is not None
    return found


def test_bf16_training_steps_on_cuda(tiny_corpus: Path, tmp_path: Path) -> None:
    train_in_subprocess(tmp_path / "exp",
                        overrides(tiny_corpus, **{"trainer.mixed_precision": "bf16"}))
    rows = metrics(tmp_path / "exp")
    assert sorted(rows) == [1, 2, 3]
    assert "discriminator/disc_0" in rows[3]  # an adversarial step ran
    assert all(torch.isfinite(torch.tensor(list(row.values()))).all() for row in rows.values())
    weights = load_file(final_checkpoint(tmp_path / "exp") / "model.safetensors")
    assert all(torch.isfinite(value).all() for value in weights.values())


def test_cuda_synthesis_matches_cpu(tiny_corpus: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)  # compare float32 with float32
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    train_in_subprocess(tmp_path / "exp", overrides(tiny_corpus, **{"trainer.max_steps": 1}))
    on_cpu = load_task(tmp_path / "exp", device="cpu").eval()
    on_cuda = load_task(tmp_path / "exp", device="cuda").eval()
    wave = torch.randn(2, 8000, generator=torch.Generator().manual_seed(0))
    features = on_cpu.representation.encode(wave)
    with torch.no_grad():
        expected = on_cpu.synthesize(features)
        got = on_cuda.synthesize(features.cuda()).cpu()
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-3, atol=1e-3)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_two_process_nccl_training(tiny_corpus: Path, tmp_path: Path) -> None:
    train_in_subprocess(tmp_path / "two", overrides(tiny_corpus), processes=2)
    rows = metrics(tmp_path / "two")
    assert sorted(rows) == [1, 2, 3] and "discriminator/disc_0" in rows[3]
    assert final_checkpoint(tmp_path / "two").name == "step_00000003"
