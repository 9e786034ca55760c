"""Set metrics of generation: Fréchet distance, Inception Score and diversity against closed
forms, a label classifier that learns two tones and reloads (or is refused) from its folder,
and prompt accuracy of hand-labelled fake clips through ``audiogen evaluate``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from audiogen import cli
from audiogen.data import manifest
from audiogen.errors import ConfigError, DataError
from audiogen.eval import evaluate
from audiogen.eval.classifier import (
    WEIGHTS,
    Classifier,
    FitSettings,
    fit_classifier,
    vocabulary_from_manifest,
)
from audiogen.eval.fad import frechet_distance
from audiogen.eval.generation import inception_score, mean_pairwise_distance, set_moments

RATE = 8000
SECONDS = 0.25
TONES = {"low": 300.0, "high": 1500.0}


def tone(frequency: float, seed: int, rate: int = RATE) -> np.ndarray:
    """A tone with random phase, level and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(SECONDS * rate)) / rate
    level = rng.uniform(0.2, 0.6)
    wave = level * np.sin(2 * np.pi * frequency * t + rng.uniform(0, 2 * np.pi))
    return (wave + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def write_split(folder: Path, name: str, seeds: range) -> Path:
    rows = []
    for label, frequency in TONES.items():
        for seed in seeds:
            path = folder / name / f"{label}_{seed}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            soundfile.write(path, tone(frequency, seed), RATE)
            rows.append({"id": path.stem, "path": str(path), "duration": SECONDS,
                         "sample_rate": RATE, "speaker": "s", "label": label})
    out = folder / f"{name}.jsonl"
    out.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return out


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A classifier folder fit on two tones, and the train and test manifests."""
    folder = tmp_path_factory.mktemp("tones")
    train = write_split(folder, "train", range(8))
    test = write_split(folder, "test", range(100, 106))
    settings = FitSettings(duration=SECONDS, epochs=6, batch_size=8, channels=(16, 16),
                           embedding_dim=8)
    classifier = fit_classifier(train, {"tone": "label"}, settings=settings, progress=False)
    classifier.save(folder / "classifier")
    return folder / "classifier", train, test


def test_frechet_distance_of_a_set_with_itself_and_of_a_shifted_copy() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 5)) @ rng.standard_normal((5, 5))
    shift = np.array([1.0, -2.0, 0.5, 0.0, 3.0])
    assert frechet_distance(*set_moments(x), *set_moments(x)) == pytest.approx(0.0, abs=1e-9)
    # Same covariance, means |shift| apart: the distance is |shift|^2 = 14.25.
    assert frechet_distance(*set_moments(x), *set_moments(x + shift)) == pytest.approx(
        14.25, rel=1e-9)


def test_frechet_distance_of_scaled_gaussians_matches_the_closed_form() -> None:
    # N(0, diag(a^2)) vs N(m, diag(b^2)): |m|^2 + sum (a - b)^2.
    a, b, m = np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.0, 0.5]), np.array([1.0, 1.0, 0.0])
    expected = 2.0 + 4.0 + 1.0
    assert frechet_distance(np.zeros(3), np.diag(a**2), m, np.diag(b**2)) == pytest.approx(
        expected, rel=1e-12)


def test_inception_score_bounds() -> None:
    classes = 4
    assert inception_score(np.full((12, classes), 1 / classes)) == pytest.approx(1.0)
    confident = np.eye(classes)[np.arange(12) % classes]  # balanced one-hot predictions
    assert inception_score(confident) == pytest.approx(classes)
    assert inception_score(np.eye(classes)[np.zeros(12, int)]) == pytest.approx(1.0)
    # Two equally used classes, each predicted with probability 0.9:
    # KL = 0.9 ln(0.9 / 0.5) + 0.1 ln(0.1 / 0.5).
    mixed = np.array([[0.9, 0.1], [0.1, 0.9]] * 5)
    kl = 0.9 * np.log(1.8) + 0.1 * np.log(0.2)
    assert inception_score(mixed) == pytest.approx(np.exp(kl))


def test_mean_pairwise_distance_of_a_3_4_5_triangle() -> None:
    assert mean_pairwise_distance(np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])) == \
        pytest.approx(4.0)
    with pytest.raises(ValueError):
        mean_pairwise_distance(np.zeros((1, 2)))


def test_classifier_separates_two_tones_and_reloads(tones: tuple[Path, Path, Path]) -> None:
    folder, _, test = tones
    classifier = Classifier.load(folder)
    assert classifier.vocabulary.spec == {"tone": ["high", "low"]}
    assert classifier.accuracy(manifest.read(test)) == {"tone": 1.0}
    windows = [classifier.window(tone(300.0, 7), RATE), classifier.window(tone(1500.0, 8),
                                                                           RATE)]
    first, again = classifier.predict_windows(windows), Classifier.load(folder).predict_windows(
        windows)
    np.testing.assert_array_equal(first.embeddings, again.embeddings)
    assert [d["tone"] for d in classifier.decide(first)] == ["low", "high"]
    with pytest.raises(DataError, match="sample_rate"):
        classifier.window(tone(300.0, 7, rate=16000), 16000)


def test_a_tampered_classifier_folder_is_refused(tones: tuple[Path, Path, Path],
                                                 tmp_path: Path) -> None:
    folder = tones[0]
    for name in ("classifier.json", WEIGHTS):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    config = json.loads((tmp_path / "classifier.json").read_text())
    config["features"]["n_mels"] = 32
    (tmp_path / "classifier.json").write_text(json.dumps(config))
    with pytest.raises(DataError, match="n_mels"):
        Classifier.load(tmp_path)
    config["features"]["n_mels"], config["labels"]["tone"]["values"] = 64, ["a", "b", "c"]
    (tmp_path / "classifier.json").write_text(json.dumps(config))
    with pytest.raises(DataError, match="num_classes"):
        Classifier.load(tmp_path)
    (tmp_path / WEIGHTS).write_bytes(b"not weights")
    with pytest.raises(DataError, match="checksum"):
        Classifier.load(tmp_path)


def write_clip(folder: Path, name: str, wave: np.ndarray, labels: dict[str, str] | None,
               rate: int = RATE) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    soundfile.write(folder / f"{name}.wav", wave, rate)
    if labels is not None:
        (folder / f"{name}.json").write_text(json.dumps({"prompt": "", "labels": labels}))


def test_prompt_accuracy_of_hand_labelled_clips(tones: tuple[Path, Path, Path],
                                                tmp_path: Path) -> None:
    folder, train, _ = tones
    generated = tmp_path / "generated"
    for seed in range(3):  # right: low tones prompted low
        write_clip(generated, f"low_ok_{seed}", tone(300.0, 200 + seed), {"tone": "low"})
    write_clip(generated, "wrong", tone(1500.0, 210), {"tone": "low"})  # a high tone
    write_clip(generated, "no_prompt", tone(1500.0, 211), {})  # nothing to score
    write_clip(generated, "other_label", tone(300.0, 212), {"velocity": "3"})  # no such head
    write_clip(generated, "unknown_value", tone(300.0, 213), {"tone": "mid"})
    write_clip(generated, "other_rate", tone(300.0, 214, 16000), {"tone": "low"}, 16000)
    results = evaluate(str(train), {"fake": str(generated)},
                       ["prompt_accuracy", "inception_score", "diversity", "classifier_fd"],
                       tmp_path / "eval", generation_classifier=str(folder))
    summary = results["summary"]["fake"]
    assert summary["prompt_accuracy"]["mean"] == pytest.approx(3 / 4)
    assert summary["prompt_accuracy.tone"]["mean"] == pytest.approx(3 / 4)
    assert summary["prompt_accuracy"]["n"] == 6  # 8 clips, 2 refused
    errors = {row["id"]: " ".join(row["errors"].values()) for row in results["per_item"]}
    assert "mid" in errors["unknown_value"] and "high, low" in errors["unknown_value"]
    assert "sample_rate" in errors["other_rate"]
    assert 1.0 <= summary["inception_score"]["mean"] <= 2.0
    assert summary["classifier_fd"]["mean"] > 0
    # The three 'tone=low' clips are the only prompt with two or more clips.
    assert summary["diversity.real"]["mean"] > 0 and summary["diversity.ratio"]["mean"] > 0


def test_real_test_split_as_a_system_scores_the_classifier_accuracy(
        tones: tuple[Path, Path, Path], tmp_path: Path) -> None:
    folder, train, test = tones
    results = evaluate(str(train), {"real": str(test)}, ["prompt_accuracy", "classifier_fd"],
                       tmp_path / "eval", generation_classifier=str(folder))
    assert results["summary"]["real"]["prompt_accuracy"]["mean"] == 1.0
    card = results["cards"]["prompt_accuracy"]
    assert card["sample_rate"] == RATE and "tone=high|low" in card["embedding_model"]


def test_generation_metrics_need_a_classifier_and_fd_a_reference(tmp_path: Path,
                                                                  tones: tuple[Path, Path, Path]
                                                                  ) -> None:
    write_clip(tmp_path / "g", "a", tone(300.0, 1), {"tone": "low"})
    with pytest.raises(ConfigError, match="generation_classifier"):
        evaluate(None, {"g": str(tmp_path / "g")}, ["prompt_accuracy"], tmp_path / "e")
    with pytest.raises(ConfigError, match="classifier_fd"):
        evaluate(None, {"g": str(tmp_path / "g")}, ["classifier_fd"], tmp_path / "e",
                 generation_classifier=str(tones[0]))


def test_classifier_cli_fit_and_predict(tones: tuple[Path, Path, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    _, train, test = tones
    out = tmp_path / "clf"
    assert cli.main(["classifier", "fit", "--train", str(train), "--test", str(test),
                     "--labels", "tone=label", "--duration", str(SECONDS), "--epochs", "1",
                     "--out", str(out)]) == 0
    assert "test accuracy: tone" in capsys.readouterr().out
    assert cli.main(["classifier", "predict", str(out), "--input", str(test)]) == 0
    assert "tone=" in capsys.readouterr().out
    assert cli.main(["classifier", "fit", "--train", str(train), "--labels", "tone=nope",
                     "--out", str(out)]) == 1


def test_label_values_come_from_dict_label_keys_sorted_as_numbers() -> None:
    rows = [manifest.Utterance(f"n{i}", f"/n{i}.wav", 1.0, 16000, "piano",
                               label={"program": program, "pitch": pitch})
            for i, (program, pitch) in enumerate([(0, 100), (33, 9), (0, 60), (33, 100)])]
    vocabulary = vocabulary_from_manifest(rows, {"program": "label.program",
                                                 "pitch": "label.pitch"})
    assert vocabulary.spec == {"program": ["0", "33"], "pitch": ["9", "60", "100"]}
    with pytest.raises(DataError, match="fewer than two values"):
        vocabulary_from_manifest(rows, {"speaker": "speaker"})


def test_a_set_metric_that_cannot_be_computed_leaves_the_others(
        tones: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """One clip per prompt: diversity has no pair to measure and reports its error, while
    prompt accuracy, Inception Score and the Fréchet distance of the same group keep values."""
    folder, train, _ = tones
    generated = tmp_path / "generated"
    write_clip(generated, "low", tone(300.0, 300), {"tone": "low"})
    write_clip(generated, "high", tone(1500.0, 301), {"tone": "high"})
    results = evaluate(str(train), {"one_each": str(generated)},
                       ["prompt_accuracy", "inception_score", "diversity", "classifier_fd"],
                       tmp_path / "eval", generation_classifier=str(folder))
    summary = results["summary"]["one_each"]
    assert summary["prompt_accuracy"]["mean"] == 1.0
    assert summary["inception_score"]["mean"] > 1.0 and summary["classifier_fd"]["mean"] > 0
    assert summary["diversity"]["mean"] is None
    assert "at least 2 clips of one prompt" in summary["diversity"]["error"]
