"""The synthesis batch job: names mirror inputs, bad items are skipped, specs are enforced."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile
import torch

from audiogen import audio
from audiogen.cli import main
from audiogen.inference.feature_files import load_features, save_features
from audiogen.inference.inputs import Item
from audiogen.inference.synthesize import extract_features, spread, synthesize

GRIFFIN_LIM = Path(__file__).resolve().parents[1] / "recipes/vocoder/quickstart/griffin_lim.yaml"


def test_mirrors_names_and_survives_bad_inputs(tmp_path: Path, tiny_corpus: Path) -> None:
    source = tmp_path / "in"
    (source / "a").mkdir(parents=True)
    soundfile.write(source / "a" / "speech.wav", np.random.default_rng(0).normal(
        0, 0.1, 8000).astype(np.float32), 16000)
    soundfile.write(source / "silent.wav", np.zeros(4000, dtype=np.float32), 16000)
    soundfile.write(source / "tiny.wav", np.full(3, 0.1, dtype=np.float32), 16000)
    soundfile.write(source / "nan.wav", np.array([0.1, np.nan] * 100, dtype=np.float32), 16000,
                    subtype="FLOAT")
    (source / "broken.wav").write_bytes(b"RIFF not really")
    report = synthesize(GRIFFIN_LIM, source, tmp_path / "out", progress=False)
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in report.written)
    assert written == ["a/speech.wav", "silent.wav", "tiny.wav"]
    skipped = dict(report.skipped)
    assert set(skipped) == {"nan", "broken"} and "NaN" in skipped["nan"]
    for path in report.written:
        wave, rate = audio.load(path)
        assert rate == 16000 and wave.shape[-1] >= 256 and torch.isfinite(wave).all()


def test_saved_features_roundtrip_and_spec_refusal(tmp_path: Path, tiny_corpus: Path) -> None:
    written, skipped = extract_features(GRIFFIN_LIM, tiny_corpus / "test.jsonl", tmp_path / "f")
    assert written == 2 and not skipped
    files = sorted((tmp_path / "f").rglob("*.npz"))
    features, spec = load_features(files[0])
    assert features.shape[0] == 80 and spec["hop_length"] == 256
    save_features(tmp_path / "g" / "other.npz", features, {**spec, "n_mels": 100})
    report = synthesize(GRIFFIN_LIM, tmp_path / "f", tmp_path / "from_features", progress=False)
    assert len(report.written) == 2
    refused = synthesize(GRIFFIN_LIM, tmp_path / "g", tmp_path / "x", progress=False)
    assert not refused.written and "n_mels: model has 80, features" in refused.skipped[0][1]


def test_cli_reports_skips_and_exit_code(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bad.wav").write_bytes(b"nope")
    code = main(["synthesize", str(GRIFFIN_LIM), "--input", str(tmp_path / "in"), "--out",
                 str(tmp_path / "out")])
    assert code == 1 and "skipped bad:" in capsys.readouterr().out


def test_spread_covers_the_list() -> None:
    items = [Item(Path(f"{i}.wav"), str(i)) for i in range(10)]
    assert [i.name for i in spread(items, 3)] == ["0", "3", "6"]
    assert spread(items, None) == items and spread(items, 20) == items


def test_batched_synthesis_keeps_each_length(tmp_path: Path, tiny_corpus: Path) -> None:
    one = synthesize(GRIFFIN_LIM, tiny_corpus / "train.jsonl", tmp_path / "one", progress=False)
    many = synthesize(GRIFFIN_LIM, tiny_corpus / "train.jsonl", tmp_path / "many",
                      batch_size=4, progress=False)
    lengths = {p.relative_to(tmp_path / "one"): audio.info(p)[1] for p in one.written}
    assert len(lengths) == 8 and len(set(lengths.values())) > 1
    assert {p.relative_to(tmp_path / "many"): audio.info(p)[1] for p in many.written} == lengths
