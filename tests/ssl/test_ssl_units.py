"""k-means codebooks (save/load without pickles, spec refusal), unit statistics, alignment."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from audiogen.errors import DataError, SpecMismatchError
from audiogen.eval.units import purity_pnmi, usage_statistics
from audiogen.representations.cepstral import MFCC
from audiogen.representations.ssl import SSLFeatures
from audiogen.representations.units import (
    Codebook,
    UnitRepresentation,
    align_frames,
    deduplicate,
    fit_kmeans,
)
from tests.conftest import harmonic_tone


def test_kmeans_finds_separated_clusters_and_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    frames = np.concatenate([c + 0.1 * rng.standard_normal((200, 2)) for c in centres])
    book = fit_kmeans([frames[:300], frames[300:]], 3, {"type": "toy"}, seed=0)
    found = sorted(map(tuple, np.round(book.centroids)))
    assert found == sorted(map(tuple, centres))
    book.save(tmp_path / "km")
    loaded = Codebook.load(tmp_path / "km")
    np.testing.assert_array_equal(loaded.centroids, book.centroids)
    assert loaded.features_spec == {"type": "toy"} and loaded.sha256 == book.sha256
    ids = loaded.assign(torch.from_numpy(centres.T[None]).float())[0]
    assert sorted(ids.tolist()) == [0, 1, 2]
    (tmp_path / "km" / "kmeans.json").write_text(
        (tmp_path / "km" / "kmeans.json").read_text().replace(book.sha256, "0" * 64))
    with pytest.raises(DataError, match="hash"):
        Codebook.load(tmp_path / "km")


def test_assign_is_the_nearest_centroid() -> None:
    book = Codebook(np.array([[0.0], [1.0], [5.0]], dtype=np.float32), {})
    features = torch.tensor([[[-3.0, 0.4, 0.6, 2.9, 3.1, 100.0]]])
    assert book.assign(features)[0].tolist() == [0, 0, 1, 1, 2, 2]


def test_units_refuse_a_codebook_of_another_layer(tmp_path: Path, tiny_hubert: Path) -> None:
    ssl = SSLFeatures(str(tiny_hubert), 2)
    wave = torch.from_numpy(harmonic_tone(1.0, 16000, 150.0, 0))[None]
    frames = ssl.encode(wave)[0].T.numpy()
    fit_kmeans([frames], 4, ssl.spec).save(tmp_path / "km")
    units = UnitRepresentation(ssl, str(tmp_path / "km"))
    ids = units.encode(wave)
    assert ids.shape == (1, 1, ssl.num_frames(wave.shape[-1])) and ids.max() < 4
    assert units.spec["features"]["layer"] == 2 and units.spec["num_units"] == 4
    with pytest.raises(SpecMismatchError, match="layer: model has 2, .* have 1"):
        UnitRepresentation(SSLFeatures(str(tiny_hubert), 1), str(tmp_path / "km"))
    with pytest.raises(SpecMismatchError, match="type"):
        UnitRepresentation(MFCC(), str(tmp_path / "km"))


def test_deduplicate_run_lengths() -> None:
    units, lengths = deduplicate(np.array([1, 1, 2, 2, 2, 1]))
    assert units.tolist() == [1, 2, 1] and lengths.tolist() == [2, 3, 1]


def test_purity_and_pnmi_on_hand_made_labels() -> None:
    perfect = purity_pnmi(np.array([0, 0, 1, 1]), np.array(["a", "a", "b", "b"]))
    assert perfect == pytest.approx({"label_purity": 1.0, "cluster_purity": 1.0, "pnmi": 1.0})
    independent = purity_pnmi(np.array([0, 1, 0, 1]), np.array(["a", "a", "b", "b"]))
    assert independent == pytest.approx({"label_purity": 0.5, "cluster_purity": 0.5,
                                         "pnmi": 0.0})
    # p(a,0) = 1/2, p(b,0) = p(b,1) = 1/4: I = 1/2 log2(4/3) + 1/4 log2(2/3) + 1/4 bits
    mixed = purity_pnmi(np.array([0, 0, 0, 1]), np.array(["a", "a", "b", "b"]))
    mutual = 0.5 * math.log2(4 / 3) + 0.25 * math.log2(2 / 3) + 0.25
    assert mixed == pytest.approx({"label_purity": 0.75, "cluster_purity": 0.75,
                                   "pnmi": mutual})


def test_usage_statistics_by_hand() -> None:
    stats = usage_statistics([np.array([0, 0, 1, 1, 1, 2])], num_units=4, frame_rate=50.0)
    entropy = -(1 / 3 * math.log2(1 / 3) + 1 / 2 * math.log2(1 / 2) + 1 / 6 * math.log2(1 / 6))
    assert stats["used_units"] == 3 and stats["usage"] == 0.75
    assert stats["entropy_bits"] == pytest.approx(entropy)
    assert stats["perplexity"] == pytest.approx(2 ** entropy)
    assert stats["dedup_units_per_second"] == pytest.approx(25.0)  # 3 runs in 0.12 s
    assert stats["bits_per_second"] == pytest.approx(100.0)  # 50 units/s x 2 bits
    assert stats["dedup_bits_per_second"] == pytest.approx(50.0)


def test_mfcc_labels_align_to_the_encoder_frames() -> None:
    mfcc = MFCC()
    assert mfcc.encode(torch.randn(1, 16000)).shape == (1, 39, 101)
    labels = torch.arange(101)[None]
    aligned = align_frames(labels, 160, 0.0, 320, 200.0, 49)
    # encoder frame k spans samples [320k, 320k + 400), centred on 320k + 200 = MFCC 2k + 1.25
    assert aligned[0].tolist() == [2 * k + 1 for k in range(49)]
    same = align_frames(torch.arange(5)[None], 320, 200.0, 320, 200.0, 5)
    assert same[0].tolist() == [0, 1, 2, 3, 4]
