"""qp_* metrics: a trained checkpoint loaded (by the one loader) without its labels or
``init_from``, equal to the network's output, with a card that names the weights and their
checksum; ``audiogen.load`` of the checkpoint gives the same scores."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import audiogen
from audiogen import api
from audiogen import config as cfg
from audiogen.errors import ConfigError, SpecMismatchError
from audiogen.eval import registry
from audiogen.eval.base import Scorer
from audiogen.eval.quality import correlations, load_predictor
from audiogen.models.quality import QualityPredictor
from audiogen.train import checkpoint
from audiogen.train.experiment import build_task
from audiogen.utils import file_sha256
from tests.conftest import harmonic_tone

TASK = {"_target_": "audiogen.tasks.quality.QualityPrediction",
        "representation": {"_target_": "audiogen.representations.spectral.LogMel",
                           "sample_rate": 16000, "n_fft": 512, "hop_length": 160,
                           "n_mels": 16},
        "model": {"_target_": "audiogen.models.quality.QualityPredictor", "in_channels": 16,
                  "dim": 16, "intermediate_dim": 24, "num_layers": 1},
        "labels": "/nowhere/labels.jsonl"}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    root = tmp_path_factory.mktemp("qp")
    torch.manual_seed(0)
    config = {"task": TASK}
    task = build_task(config)
    checkpoint.save(root / "checkpoints", 5, config, task.spec, task.state_dict(), None, {})
    return root, task


def build(**options: object) -> Scorer:
    (scorer,) = registry.build(registry.resolve(["qp_pesq", "qp_stoi", "qp_mos"]), options)
    assert isinstance(scorer, Scorer)
    return scorer


def test_scores_equal_the_network_on_the_same_audio(saved) -> None:
    root, task = saved
    scorer = build(quality_checkpoint=str(root))
    wave = harmonic_tone(0.8, 22050, 150.0, 0)
    values = scorer.score(wave, None, 22050)
    from audiogen.audio import resample

    at_16k = resample(torch.from_numpy(wave), 22050, 16000)[None]
    with torch.no_grad():
        expected = task.model(task.representation.encode(at_16k))[0][0]
    assert [values["qp_pesq"], values["qp_stoi"], values["qp_mos"]] == pytest.approx(
        expected.tolist(), abs=1e-6)
    card = scorer.card("qp_stoi")
    weights = root / "checkpoints" / "step_00000005" / "model.safetensors"
    assert card["checksum"] == f"sha256 model.safetensors {file_sha256(weights)}"


def hand_loaded(root: Path) -> tuple[torch.nn.Module, QualityPredictor]:
    """Representation and network as the former hand-written loader built them: instantiated
    from the stored config, ``model.*`` tensors of the (EMA, else raw) weights."""
    directory = checkpoint.resolve(root)
    node = checkpoint.read_config(directory)["task"]
    representation = cfg.instantiate(node["representation"])
    model = cfg.instantiate(node["model"])
    weights = checkpoint.load_weights(directory, prefer_ema=True)
    model.load_state_dict({k.removeprefix("model."): v for k, v in weights.items()
                           if k.startswith("model.")})
    return representation, model.eval()


def test_the_one_loader_gives_the_hand_loaded_predictor(saved, tmp_path: Path) -> None:
    root, task = saved
    representation, model = hand_loaded(root)
    wave = torch.from_numpy(harmonic_tone(0.5, 16000, 180.0, 1))[None]
    with torch.no_grad():
        expected = model(representation.encode(wave))[0][0]
    loaded_representation, loaded_model, _ = load_predictor(root)
    with torch.no_grad():
        got = loaded_model(loaded_representation.encode(wave))[0][0]
    assert torch.equal(got, expected)
    estimator = audiogen.load(root)
    assert isinstance(estimator, api.QualityEstimator) and estimator.sample_rate == 16000
    scores = estimator(wave[0])
    assert [float(scores[name][0]) for name in ("pesq_wb", "stoi", "mos")] == pytest.approx(
        expected.tolist(), abs=1e-6)
    # a fine-tuned checkpoint loads without its labels, ratings or init_from source
    fine_tuned = {"task": {**TASK, "ratings": "/nowhere/ratings.csv", "train": "mos_head",
                           "init_from": "/nowhere/exp", "mos_from": None}}
    checkpoint.save(tmp_path / "checkpoints", 2, fine_tuned, task.spec, task.state_dict(),
                    None, {})
    again = load_predictor(tmp_path)
    with torch.no_grad():
        assert torch.equal(again[1](again[0].encode(wave))[0][0], expected)


def test_missing_or_wrong_checkpoints_are_refused(saved, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="quality_checkpoint"):
        build()
    with pytest.raises(ConfigError, match="quality_checkpoint"):
        build(quality_checkpoint=str(tmp_path))
    root, task = saved
    other = {"task": {**TASK, "representation": {**TASK["representation"], "n_mels": 16,
                                                 "hop_length": 200}}}
    spec = {**task.spec, "hop_length": 160}
    checkpoint.save(tmp_path / "checkpoints", 1, other, spec, task.state_dict(), None, {})
    with pytest.raises(SpecMismatchError, match="hop_length"):
        load_predictor(tmp_path)


def test_correlations_match_scipy_on_known_pairs() -> None:
    rows = [{"qp_pesq": x, "pesq_wb": 2 * x + 1, "qp_stoi": x, "stoi": -x} for x in
            (1.0, 2.0, 3.0, 4.5)]
    table = correlations(rows)
    assert table["qp_pesq~pesq_wb"]["pearson"] == pytest.approx(1.0)
    assert table["qp_stoi~stoi"]["spearman"] == pytest.approx(-1.0)
    assert "qp_mos~mos" not in table and table["qp_pesq~pesq_wb"]["n"] == 4


def test_a_constant_input_gives_no_correlation() -> None:
    rows = [{"qp_pesq": 4.0, "pesq_wb": x} for x in (1.0, 2.0, 3.0)]
    assert correlations(rows)["qp_pesq~pesq_wb"]["pearson"] is None
