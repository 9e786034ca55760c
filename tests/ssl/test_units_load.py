"""``audiogen.load`` of a k-means folder: the unit model rebuilt from the spec it stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import audiogen
from audiogen import api, audio, cli
from audiogen.errors import ConfigError, SpecMismatchError
from audiogen.inference.feature_files import load_features
from audiogen.inference.inputs import list_inputs
from audiogen.representations.units import features_from_spec


@pytest.mark.parametrize("kind", ["hubert", "mfcc"])
def test_load_units_gives_the_extracted_ids(kind: str, tmp_path: Path, tiny_hubert: Path,
                                            tiny_corpus: Path) -> None:
    source = tiny_corpus / "train.jsonl"
    if kind == "hubert":
        features = ["extract", "ssl", "--model", str(tiny_hubert), "--layer", "1",
                    "--padding", "same"]
        units = ["--ssl", str(tiny_hubert), "--layer", "1", "--padding", "same"]
    else:
        features, units = ["extract", "mfcc"], ["--ssl", "mfcc"]
    assert cli.main([*features, "--input", str(source), "--out", str(tmp_path / "f")]) == 0
    assert cli.main(["units", "fit", "--features", str(tmp_path / "f"), "--k", "3",
                     "--out", str(tmp_path / "km")]) == 0
    assert cli.main(["extract", "units", *units, "--kmeans", str(tmp_path / "km"),
                     "--input", str(source), "--out", str(tmp_path / "u")]) == 0
    model = audiogen.load(tmp_path / "km", ssl_model=tiny_hubert if kind == "hubert" else None)
    assert isinstance(model, api.Units) and model.num_units == 3
    for item in list_inputs(source):
        wave, _ = audio.load(item.path, model.sample_rate)
        ids, spec = load_features(tmp_path / "u" / f"{item.name}.npz")
        assert spec == model.spec
        assert np.array_equal(model.encode(wave[0])[0].numpy(), ids[0])
    assert model.encode(torch.zeros(2, 8000)).shape[0] == 2


def test_a_different_ssl_model_is_refused(tmp_path: Path, tiny_hubert: Path,
                                          tiny_wav2vec2: Path, tiny_corpus: Path) -> None:
    source = tiny_corpus / "train.jsonl"
    assert cli.main(["extract", "ssl", "--model", str(tiny_hubert), "--layer", "1", "--input",
                     str(source), "--out", str(tmp_path / "f")]) == 0
    assert cli.main(["units", "fit", "--features", str(tmp_path / "f"), "--k", "2",
                     "--out", str(tmp_path / "km")]) == 0
    with pytest.raises(SpecMismatchError):
        audiogen.load(tmp_path / "km", ssl_model=tiny_wav2vec2)


def test_features_of_an_unknown_type_are_refused() -> None:
    with pytest.raises(ConfigError, match="type 'log_mel' cannot be rebuilt"):
        features_from_spec({"type": "log_mel"})
