"""Generation recipes end to end with their debug configs: the corpus built from a tiny
FSDD-named folder, a tiny DiT trained through the CLI, clips generated for the recipe's
prompts with one wav and one JSON each."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile

from audiogen import recipe
from audiogen.cli import call_in_process
from tests.recipes.registry import smoke

SPEAKERS = {"george": 120.0, "jackson": 210.0}


def write_tiny_fsdd(root: Path) -> Path:
    """A folder of 8 kHz ``{digit}_{speaker}_{take}.wav`` tones (digits 3 and 7, two speakers,
    takes 0, 5, 10, 11: one test, one valid and two train clips each); returns ``root``."""
    recordings = root / "recordings"
    recordings.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for digit in (3, 7):
        for speaker, pitch in SPEAKERS.items():
            for take in (0, 5, 10, 11):
                time = np.arange(int(8000 * (0.4 + 0.1 * (take % 3)))) / 8000
                tone = 0.3 * np.sin(2 * np.pi * pitch * (1 + digit / 10) * time)
                wave = tone * np.hanning(time.size) + 0.01 * rng.standard_normal(time.size)
                soundfile.write(recordings / f"{digit}_{speaker}_{take}.wav",
                                wave.astype(np.float32), 8000, subtype="PCM_16")
    return root


@smoke("generate/digits")
def test_generate_recipe_smoke(directory: Path, tmp_path: Path) -> None:
    fsdd = write_tiny_fsdd(tmp_path / "fsdd")
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# comment\ndigit=7 speaker=jackson\n\ndigit=3\n")
    out = tmp_path / "out"
    results = recipe.run(directory, out=out, overrides={
        "fsdd_root": str(fsdd), "config": str(directory / "debug.yaml"), "n": "2",
        "steps": "2", "prompts": str(prompts), "test_prompts": str(prompts), "test_n": "2"},
        call=call_in_process)
    assert all(status == "done" for _, status in results)
    wavs = sorted((out / "generated").glob("*.wav"))
    assert [wav.stem for wav in wavs] == ["000_digit7_speakerjackson_seed0",
                                          "000_digit7_speakerjackson_seed1",
                                          "001_digit3_seed0", "001_digit3_seed1"]
    for wav in wavs:
        info = soundfile.info(wav)
        assert info.samplerate == 8000 and info.frames == 8000  # the config's 1 s clips
        meta = json.loads(wav.with_suffix(".json").read_text())
        assert meta["prompt"] in ("digit=7 speaker=jackson", "digit=3")
        assert meta["seed"] == int(wav.stem[-1]) and meta["steps"] == 2 and meta["cfg"] == 3
    # The evaluate stage scores the real test split and the generated clips by the
    # classifier of the classifier stage (fit on the tiny training split's digits 3 and 7).
    classifier = json.loads((out / "classifier" / "classifier.json").read_text())
    assert classifier["labels"]["digit"]["values"] == ["3", "7"]
    results = out / "eval" / "cfg3_steps2" / "results.json"  # one folder per setting
    summary = json.loads(results.read_text())["summary"]
    assert summary["real_test"]["prompt_accuracy"]["n"] == 4
    assert summary["cfg3_steps2"]["inception_score"]["n"] == 4
