"""``audiogen generate`` and ``audiogen.load(...).generate``: a tiny DiT trained for one step
through the CLI, then clips written per prompt and seed with their JSON; seeds reproduce;
bad prompts are one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

import audiogen
from audiogen.api import Generator
from audiogen.cli import call_in_process
from tests.recipes.test_generate_recipes import write_tiny_fsdd

DEBUG = Path(__file__).resolve().parents[1] / "recipes" / "generate" / "digits" / "debug.yaml"


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("generate")
    fsdd = write_tiny_fsdd(root / "fsdd")
    assert call_in_process(["data", "build", "fsdd", "--data-root", str(fsdd), "--out",
                            str(root / "data")]) == 0
    assert call_in_process(["train", str(DEBUG), "--exp", str(root / "exp"), "--set",
                            f"data.train={root / 'data' / 'train.jsonl'}", "--set",
                            "data.valid=null", "--set", "trainer.max_steps=1"]) == 0
    return root / "exp"


def generate(experiment: Path, out: Path, *args: str) -> int:
    return call_in_process(["generate", str(experiment), "--steps", "2", "--out", str(out),
                            *args])


def test_clips_and_their_settings_are_written(experiment: Path, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("digit=3 speaker=george\nspeaker=jackson\n")
    assert generate(experiment, tmp_path / "out", "--prompt", "digit=7", "--prompts",
                    str(prompts), "--n", "2", "--cfg", "2", "--seed", "5",
                    "--negative-prompt", "digit=3", "--batch-size", "3") == 0
    names = sorted(path.name for path in (tmp_path / "out").iterdir())
    stems = ["000_digit7_seed5", "000_digit7_seed6", "001_digit3_speakergeorge_seed5",
             "001_digit3_speakergeorge_seed6", "002_speakerjackson_seed5",
             "002_speakerjackson_seed6"]
    assert names == sorted([f"{stem}.{suffix}" for stem in stems for suffix in ("json", "wav")])
    meta = json.loads((tmp_path / "out" / "001_digit3_speakergeorge_seed6.json").read_text())
    written, _ = soundfile.read(tmp_path / "out" / "001_digit3_speakergeorge_seed6.wav")
    peak, written_peak = meta.pop("peak"), np.abs(written).max()
    assert (peak <= 1 and peak == pytest.approx(written_peak, abs=1e-3)) or (
        peak > 1 and written_peak > 0.999)  # the peak before 16-bit PCM clips it
    assert meta == {"prompt": "digit=3 speaker=george",
                    "labels": {"digit": "3", "speaker": "george"},
                    "negative_prompt": "digit=3", "seed": 6, "steps": 2, "cfg": 2.0,
                    "solver": "euler", "grid": "uniform", "model": str(experiment),
                    "sample_rate": 8000, "duration": 1.0}


def test_same_seed_same_audio_and_other_seeds_differ(experiment: Path, tmp_path: Path) -> None:
    for name, seed in (("a", "0"), ("b", "0"), ("c", "1")):
        assert generate(experiment, tmp_path / name, "--prompt", "digit=7 speaker=jackson",
                        "--seed", seed) == 0
    assert generate(experiment, tmp_path / "batched", "--prompt", "digit=7 speaker=jackson",
                    "--n", "3", "--batch-size", "2") == 0  # seeds 0, 1 together, then 2
    read = {name: soundfile.read(tmp_path / name / f"000_digit7_speakerjackson_seed{seed}.wav")[0]
            for name, seed in (("a", 0), ("b", 0), ("c", 1))}
    assert np.array_equal(read["a"], read["b"])
    assert np.abs(read["a"] - read["c"]).max() > 1e-3
    for seed, name in ((0, "a"), (1, "c")):
        batched, _ = soundfile.read(tmp_path / "batched" /
                                    f"000_digit7_speakerjackson_seed{seed}.wav")
        assert np.abs(batched - read[name]).max() <= 2 / 32768  # 16-bit rounding at most
    assert len(list((tmp_path / "batched").glob("*.wav"))) == 3


def test_python_api_matches_the_command_line(experiment: Path, tmp_path: Path) -> None:
    gen = audiogen.load(experiment)
    assert isinstance(gen, Generator) and gen.sample_rate == 8000
    assert gen.labels["speaker"] == ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]
    audio = gen.generate("digit=7", n=3, steps=2, cfg=3.0, seed=0)
    assert audio.shape == (3, 8000)
    assert torch.equal(audio, gen.generate("digit=7", n=3, steps=2, cfg=3.0, seed=0))
    assert generate(experiment, tmp_path, "--prompt", "digit=7", "--seed", "1", "--cfg",
                    "3") == 0
    written, _ = soundfile.read(tmp_path / "000_digit7_seed1.wav")
    assert np.abs(written - audio[1].clamp(-1, 1).numpy()).max() < 2e-4  # 16-bit rounding


@pytest.mark.parametrize("args,message", [
    (["--prompt", "digit=12"], "unknown value '12' for label 'digit'; valid values: 0, 1, 2"),
    (["--prompt", "colour=red"], "unknown label 'colour'; valid labels: digit, speaker"),
    (["--prompt", "digit=1", "--negative-prompt", "speaker=bob"],
     "valid values: george, jackson"),
    ([], "give --prompt TEXT or --prompts FILE"),
    (["--prompt", "digit=1", "--solver", "rk9"], "unknown solver 'rk9'; choose from euler"),
])
def test_bad_prompts_are_one_line_errors(experiment: Path, tmp_path: Path, capsys,
                                         args: list[str], message: str) -> None:
    assert generate(experiment, tmp_path / "out", *args) == 1
    printed = capsys.readouterr()
    assert printed.err.startswith("audiogen: error: ") and message in printed.err
    assert printed.err.count("\n") == 1 and "Traceback" not in printed.err
    assert not (tmp_path / "out").exists()


def test_other_models_are_refused(tmp_path: Path, capsys) -> None:
    vocoder = Path(__file__).resolve().parents[1] / "recipes/vocoder/mel_inversion/griffin_lim.yaml"
    assert generate(vocoder, tmp_path, "--prompt", "digit=1") == 1
    assert "GriffinLim is not a prompt-conditioned generator" in capsys.readouterr().err
