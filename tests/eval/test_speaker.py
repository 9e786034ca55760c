"""The speaker classifier and its metrics: NumPy predictions equal scikit-learn's, the saved
folder reloads (and is refused, by file and field, when broken), held-out synthetic voices are
recognised, and speaker_match / speaker_prob run through the registry and the CLI."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from audiogen import cli
from audiogen.audio import resample
from audiogen.data import manifest
from audiogen.errors import ConfigError, DataError
from audiogen.eval import registry
from audiogen.eval.base import Scorer
from audiogen.eval.probe import fit_probe, pooled_mfcc
from audiogen.eval.speaker import (
    META,
    WEIGHTS,
    SpeakerClassifier,
    fit_speaker_classifier,
)
from audiogen.representations.cepstral import MFCC

RATE = 16000
# (f0 in Hz, spectral tilt: harmonic k has amplitude k ** -tilt)
VOICES = {"low": (100.0, 0.6), "mid": (170.0, 1.2), "high": (260.0, 2.0)}


def voice(f0: float, tilt: float, seed: int, seconds: float = 0.5) -> np.ndarray:
    """A 'speaker': harmonics of a gliding f0 with the voice's spectral tilt, plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    glide = f0 * (1 + 0.08 * np.sin(2 * math.pi * rng.uniform(1, 3) * t + rng.uniform(0, 6)))
    phase = 2 * math.pi * np.cumsum(glide) / RATE
    harmonics = range(1, int(4000 / f0))
    wave = sum(np.sin(k * phase) * k ** -tilt for k in harmonics)
    wave = 0.3 * wave / np.abs(wave).max() + 0.01 * rng.standard_normal(t.size)
    return wave.astype(np.float32)


def write_split(root: Path, split: str, speakers: list[str], count: int, first_seed: int
                ) -> Path:
    rows = []
    for name in speakers:
        for index in range(count):
            seed = first_seed + 100 * list(VOICES).index(name) + index
            path = root / split / name / f"{index:02d}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            wave = voice(*VOICES[name], seed)
            soundfile.write(path, wave, RATE, subtype="PCM_16")
            rows.append(manifest.Utterance(f"{name}/{index:02d}", str(path), wave.size / RATE,
                                           RATE, name))
    return manifest.write(root / f"{split}.jsonl", rows)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("voices")
    write_split(root, "train", list(VOICES), 8, 0)
    write_split(root, "valid", list(VOICES), 4, 50)
    write_split(root, "pair", ["low", "high"], 6, 0)
    write_split(root, "single", ["mid"], 3, 0)
    return root


@pytest.fixture(scope="module")
def classifier_dir(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    classifier = fit_speaker_classifier(corpus / "train.jsonl", corpus / "valid.jsonl",
                                        progress=False)
    return classifier.save(tmp_path_factory.mktemp("classifier") / "speakers")


@pytest.mark.parametrize("split", ["train", "pair"])
def test_saved_classifier_predicts_like_scikit_learn(split: str, corpus: Path, tmp_path: Path
                                                     ) -> None:
    mfcc = MFCC()
    train = manifest.read(corpus / f"{split}.jsonl")
    held_out = [u for u in manifest.read(corpus / "valid.jsonl")
                if u.speaker in {t.speaker for t in train}]
    # shuffled labels make a model with errors and unsure probabilities, a stricter comparison
    labels = [u.speaker for u in train]
    labels = labels[::2] + labels[1::2]
    model = fit_probe(pooled_mfcc(mfcc, train, False), labels)
    SpeakerClassifier.from_sklearn(model, mfcc).save(tmp_path / "c")
    loaded = SpeakerClassifier.load(tmp_path / "c")
    features = pooled_mfcc(mfcc, held_out, False)
    assert loaded.classes == tuple(model.classes_)
    assert loaded.coef.shape == (len(loaded.classes), 2 * mfcc.dim)
    assert loaded.predict(features) == list(model.predict(features))
    np.testing.assert_allclose(loaded.probabilities(features), model.predict_proba(features),
                               atol=1e-5)


def test_fit_records_counts_and_recognises_held_out_voices(classifier_dir: Path,
                                                          corpus: Path) -> None:
    classifier = SpeakerClassifier.load(classifier_dir)
    meta = json.loads((classifier_dir / META).read_text())
    assert meta["classes"] == sorted(VOICES) and meta["features"] == MFCC().spec
    assert meta["train_counts"] == {name: 8 for name in sorted(VOICES)}
    assert meta["train_manifest"] == str(corpus / "train.jsonl")
    assert meta["valid_accuracy"] >= 0.9 and meta["valid_unseen_speakers"] == []
    valid = manifest.read(corpus / "valid.jsonl")
    assert classifier.accuracy(pooled_mfcc(classifier.mfcc, valid, False),
                               [u.speaker for u in valid]) == meta["valid_accuracy"]
    limited = fit_speaker_classifier(corpus / "train.jsonl", max_per_speaker=3, progress=False)
    assert limited.info["train_counts"] == {name: 3 for name in sorted(VOICES)}
    assert "valid_accuracy" not in limited.info


def build(**options: object) -> Scorer:
    (scorer,) = registry.build(registry.resolve(["speaker_match", "speaker_prob"]), options)
    assert isinstance(scorer, Scorer)
    return scorer


def test_metrics_score_the_target_speaker(classifier_dir: Path) -> None:
    scorer = build(speaker_classifier=str(classifier_dir), speaker_target="high")
    high = voice(*VOICES["high"], seed=999)
    low = voice(*VOICES["low"], seed=999)
    on_target, off_target = scorer.score(high, None, RATE), scorer.score(low, None, RATE)
    assert on_target["speaker_match"] == 1.0 and on_target["speaker_prob"] > 0.5
    assert off_target["speaker_match"] == 0.0 and off_target["speaker_prob"] < 0.5
    at_22k = scorer.score(resample(torch.from_numpy(high), RATE, 22050).numpy(), None, 22050)
    assert at_22k == {"speaker_match": 1.0,
                      "speaker_prob": pytest.approx(on_target["speaker_prob"], abs=0.05)}
    card = scorer.card("speaker_prob")
    assert card["sample_rate"] == RATE and "'high' of 3 speakers" in card["mode"]


def test_metric_options_are_checked(classifier_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="speaker_classifier=DIR"):
        build(speaker_target="high")
    with pytest.raises(ConfigError, match="speaker classifier folder not found"):
        build(speaker_classifier=str(tmp_path / "nowhere"), speaker_target="high")
    with pytest.raises(ConfigError, match="'nobody' is not a class.*classes: high, low, mid"):
        build(speaker_classifier=str(classifier_dir), speaker_target="nobody")
    with pytest.raises(ConfigError, match="no speaker_target given; its classes: high, low"):
        build(speaker_classifier=str(classifier_dir))


def test_broken_folders_are_refused_by_file_and_field(classifier_dir: Path, tmp_path: Path
                                                      ) -> None:
    from safetensors.numpy import load_file, save_file

    def broken(name: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        for file in (WEIGHTS, META):
            (folder / file).write_bytes((classifier_dir / file).read_bytes())
        return folder

    folder = broken("no_weights")
    (folder / WEIGHTS).unlink()
    with pytest.raises(DataError, match=f"{WEIGHTS}: missing"):
        SpeakerClassifier.load(folder)
    folder = broken("shape")
    arrays = load_file(str(folder / WEIGHTS))
    save_file({**arrays, "coef": arrays["coef"][:2]}, str(folder / WEIGHTS))
    with pytest.raises(DataError, match=r"classifier.safetensors: tensor 'coef' has shape "
                       r"\(2, 78\), expected \(3, 78\)"):
        SpeakerClassifier.load(folder)
    folder = broken("no_intercept")
    save_file({k: v for k, v in arrays.items() if k != "intercept"}, str(folder / WEIGHTS))
    with pytest.raises(DataError, match="tensor 'intercept' is missing"):
        SpeakerClassifier.load(folder)
    folder = broken("classes")
    meta = json.loads((folder / META).read_text())
    (folder / META).write_text(json.dumps({**meta, "classes": ["low"]}))
    with pytest.raises(DataError, match="classifier.json: field 'classes'"):
        SpeakerClassifier.load(folder)
    (folder / META).write_text(json.dumps({k: v for k, v in meta.items() if k != "features"}))
    with pytest.raises(DataError, match="classifier.json: field 'features'"):
        SpeakerClassifier.load(folder)


def test_unusable_manifests_are_refused(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="at least 2 speakers, found 1 \\('mid'\\)"):
        fit_speaker_classifier(corpus / "single.jsonl", progress=False)
    rows = manifest.read(corpus / "pair.jsonl")
    for row in rows[:2]:
        row.speaker = ""
    unlabelled = manifest.write(tmp_path / "unlabelled.jsonl", rows)
    with pytest.raises(DataError, match="2 of 12 utterances have no speaker label"):
        fit_speaker_classifier(unlabelled, progress=False)
    with pytest.raises(DataError, match="manifest not found"):
        fit_speaker_classifier(tmp_path / "missing.jsonl", progress=False)


def run(args: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    code = cli.main(args)
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def test_cli_fit_predict_and_evaluate(corpus: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "classifier"
    code, printed, _ = run(["speaker", "fit", "--train", str(corpus / "train.jsonl"), "--valid",
                            str(corpus / "valid.jsonl"), "--out", str(out)], capsys)
    assert code == 0
    assert "3 speakers, 24 training utterances" in printed and "train accuracy" in printed
    assert "valid accuracy" in printed and re.search(r"^mid +8 +4$", printed, re.MULTILINE)
    code, printed, _ = run(["speaker", "predict", str(out), "--input",
                            str(corpus / "valid" / "high")], capsys)
    assert code == 0
    lines = printed.splitlines()
    assert len(lines) == 4 and all(" -> high (" in line for line in lines)
    code, printed, _ = run(["evaluate", "--gen", f"vc={corpus / 'valid' / 'high'}",
                            "--metrics", "speaker_match,speaker_prob", "--out",
                            str(tmp_path / "eval"), "--option", f"speaker_classifier={out}",
                            "--option", "speaker_target=high"], capsys)
    assert code == 0, printed
    summary = json.loads((tmp_path / "eval" / "results.json").read_text())["summary"]["vc"]
    assert summary["speaker_match"]["mean"] == 1.0 and summary["speaker_match"]["n"] == 4
    assert 0.5 < summary["speaker_prob"]["mean"] <= 1.0


@pytest.mark.parametrize("args, message", [
    (["speaker", "fit", "--train", "{root}/single.jsonl", "--out", "{tmp}/c"],
     "at least 2 speakers"),
    (["speaker", "fit", "--train", "{tmp}/missing.jsonl", "--out", "{tmp}/c"],
     "manifest not found"),
    (["speaker", "predict", "{tmp}/nowhere", "--input", "{root}/valid"],
     "speaker classifier folder not found"),
])
def test_cli_errors_are_one_line(args: list[str], message: str, corpus: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture) -> None:
    code, _, error = run([a.format(root=corpus, tmp=tmp_path) for a in args], capsys)
    assert code == 1 and message in error
    assert error.count("\n") == 1 and "Traceback" not in error


def test_predict_files_reports_audio_too_short_to_pool(classifier_dir: Path, tmp_path: Path
                                                       ) -> None:
    """A file shorter than one MFCC window is reported and skipped, not a traceback."""
    from audiogen.eval.speaker import predict_files

    classifier = SpeakerClassifier.load(classifier_dir)
    short, normal = tmp_path / "short.wav", tmp_path / "normal.wav"
    soundfile.write(short, voice(*VOICES["high"], seed=5)[:100], RATE)
    soundfile.write(normal, voice(*VOICES["high"], seed=5), RATE)
    first, second = predict_files(classifier, [short, normal])
    assert isinstance(first, DataError)
    assert "short.wav: 100 samples, shorter than one MFCC window (400 samples" in str(first)
    assert isinstance(second, tuple) and second[0] == "high"
