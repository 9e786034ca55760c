"""SSL features and k-means units through ``extract ssl|units`` (tiny random HuBERT, no
download): the feature files read back as the representation's own output and spec, and
``units fit|report`` read them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from audiogen import audio, cli
from audiogen.inference.feature_files import load_features, read_folder
from audiogen.inference.inputs import list_inputs
from audiogen.representations.ssl import SSLFeatures
from audiogen.representations.units import UnitRepresentation


def test_ssl_features_and_units_roundtrip(tmp_path: Path, tiny_hubert: Path,
                                          tiny_corpus: Path) -> None:
    source = tiny_corpus / "train.jsonl"
    io = ["--input", str(source), "--padding", "same"]
    assert cli.main(["extract", "ssl", "--model", str(tiny_hubert), "--layer", "1", *io,
                     "--out", str(tmp_path / "ssl")]) == 0
    ssl = SSLFeatures(str(tiny_hubert), 1, padding="same")
    for item in list_inputs(source):
        wave, _ = audio.load(item.path, 16000)
        features, spec = load_features(tmp_path / "ssl" / f"{item.name}.npz")
        assert spec == ssl.spec and features.dtype == np.float32
        with torch.no_grad():
            assert np.allclose(features, ssl.encode(wave)[0].numpy(), atol=1e-5)

    assert cli.main(["units", "fit", "--features", str(tmp_path / "ssl"), "--k", "4",
                     "--out", str(tmp_path / "km")]) == 0
    assert cli.main(["extract", "units", "--ssl", str(tiny_hubert), "--layer", "1", *io,
                     "--kmeans", str(tmp_path / "km"), "--out", str(tmp_path / "units")]) == 0
    units = UnitRepresentation(ssl, str(tmp_path / "km"))
    arrays, spec = read_folder(tmp_path / "units")
    assert spec == units.spec and set(arrays) == {item.name for item in list_inputs(source)}
    for item in list_inputs(source):
        wave, _ = audio.load(item.path, 16000)
        ids, _ = load_features(tmp_path / "units" / f"{item.name}.npz")
        with torch.no_grad():
            expected = units.encode(wave)[0].numpy()
        assert ids.dtype == np.int32 and np.array_equal(ids, expected)

    assert cli.main(["units", "report", "--units", str(tmp_path / "units"),
                     "--out", str(tmp_path / "report.md")]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["usage"]["num_units"] == 4 and report["spec"] == units.spec
