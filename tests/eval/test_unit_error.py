"""Unit error rate: hand-worked edit distances of deduplicated unit sequences, and the ``uer``
metric end to end with a tiny random HuBERT and a k-means codebook saved locally."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from audiogen.audio import resample
from audiogen.errors import ConfigError
from audiogen.eval import registry
from audiogen.eval.base import Scorer
from audiogen.eval.unit_error import unit_error_rate
from audiogen.representations.ssl import SSLFeatures
from audiogen.representations.units import fit_kmeans, load_units
from tests.ssl.conftest import save_tiny

from .signals import speech_like, with_noise


@pytest.mark.parametrize("hypothesis, reference, expected", [
    ([1, 2, 2, 4], [1, 1, 2, 3, 3], 1 / 3),  # [1, 2, 4] vs [1, 2, 3]: one substitution
    ([7, 7, 7, 8], [7, 8, 8], 0.0),  # the same after deduplication
    ([1, 3, 2], [1, 2], 1 / 2),  # one insertion
    ([1, 1, 3, 3], [1, 2, 3], 1 / 3),  # one deletion
    ([], [4, 4, 5], 1.0),  # everything deleted
    ([2, 3, 4], [1, 1], 3.0),  # can exceed 1, as a word error rate can
    ([3, 2, 1], [1, 2, 3], 2 / 3),  # reversed: two substitutions
])
def test_hand_worked_unit_error_rates(hypothesis: list[int], reference: list[int],
                                      expected: float) -> None:
    assert unit_error_rate(hypothesis, reference) == pytest.approx(expected, abs=1e-12)
    assert unit_error_rate(np.array(hypothesis, dtype=np.int64),
                           np.array(reference)) == pytest.approx(expected, abs=1e-12)


def test_an_empty_reference_is_refused() -> None:
    with pytest.raises(ValueError, match="empty reference"):
        unit_error_rate([1, 2], [])


@pytest.fixture(scope="module")
def units_setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(tiny HuBERT folder, K=8 k-means folder fit on its last layer)."""
    root = tmp_path_factory.mktemp("uer")
    model = save_tiny(root, "hubert", do_normalize=True)
    ssl = SSLFeatures(str(model), layer=2)
    waves = [speech_like(1.0, f0=f0, seed=seed) for seed, f0 in enumerate((110, 160, 230))]
    waves.append(with_noise(waves[0], 0.0))
    frames = [ssl.encode(torch.from_numpy(w)[None])[0].T.numpy() for w in waves]
    fit_kmeans(frames, 8, ssl.spec, seed=0).save(root / "km")
    return model, root / "km"


def build(**options: object) -> Scorer:
    (scorer,) = registry.build(registry.resolve(["uer"]), options)
    assert isinstance(scorer, Scorer)
    return scorer


def test_uer_is_zero_for_the_same_audio_and_positive_for_other_audio(
        units_setup: tuple[Path, Path]) -> None:
    model, kmeans = units_setup
    scorer = build(units_kmeans=str(kmeans), units_ssl=str(model))
    source = speech_like(1.0, f0=140.0, seed=7)
    other = np.random.default_rng(3).uniform(-0.5, 0.5, source.size).astype(np.float32)
    assert scorer.score(source, source, 16000) == {"uer": 0.0}
    different = scorer.score(other, source, 16000)["uer"]
    assert different > 0
    units = load_units(kmeans, model)
    direct = unit_error_rate(units.units(torch.from_numpy(other)[None])[0].numpy(),
                             units.units(torch.from_numpy(source)[None])[0].numpy())
    assert different == pytest.approx(direct)
    assert scorer.score(with_noise(source, 30.0), source, 16000)["uer"] < scorer.score(
        with_noise(source, 0.0), source, 16000)["uer"]
    at_8k = [resample(torch.from_numpy(w), 16000, 8000).numpy() for w in (source, other)]
    assert scorer.score(at_8k[0], at_8k[0], 8000) == {"uer": 0.0}
    assert scorer.score(at_8k[1], at_8k[0], 8000)["uer"] > 0
    card = scorer.card("uer")
    assert card["sample_rate"] == 16000 and "K=8" in card["mode"]


def test_uer_options_are_checked(units_setup: tuple[Path, Path], tmp_path: Path) -> None:
    model, kmeans = units_setup
    with pytest.raises(ConfigError, match="units_kmeans=DIR"):
        build(units_ssl=str(model))
    with pytest.raises(ConfigError, match="not a k-means folder"):
        build(units_kmeans=str(tmp_path), units_ssl=str(model))
    # the codebook names its SSL model by folder name only: without units_ssl it is not found
    with pytest.raises(ConfigError, match="pass units_ssl=MODEL"):
        build(units_kmeans=str(kmeans))
    with pytest.raises(ValueError, match="needs the reference"):
        build(units_kmeans=str(kmeans), units_ssl=str(model)).score(
            speech_like(0.5), None, 16000)
