"""The one feature-file format: what each extract path writes reads back unchanged (same array,
same spec), and wrong or old files are refused with an error naming them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from audiogen import audio
from audiogen.errors import DataError, SpecMismatchError
from audiogen.inference.feature_files import load_features, read_folder, save_features
from audiogen.inference.features import encode_waves, extract
from audiogen.inference.inputs import list_inputs
from audiogen.inference.synthesize import extract_features, features_of, resolve_model
from audiogen.representations.base import Representation
from audiogen.representations.cepstral import MFCC

GRIFFIN_LIM = Path(__file__).resolve().parents[1] / "recipes/vocoder/quickstart/griffin_lim.yaml"


def check_extraction(representation: Representation, source: Path, out: Path) -> None:
    """Files written by ``extract`` hold exactly the representation's features and spec."""
    report = extract(representation, source, out, progress=False)
    assert report.written == len(list_inputs(source)) and not report.skipped
    arrays, spec = read_folder(out)
    assert spec == representation.spec
    for item in list_inputs(source):
        wave, _ = audio.load(item.path, representation.sample_rate)
        expected = encode_waves(representation, [wave[0]])[0].numpy()
        array, file_spec = load_features(out / f"{item.name}.npz")
        assert file_spec == representation.spec
        if expected.ndim == 1:  # unit ids: one codebook
            assert array.dtype == np.int32 and np.array_equal(array, expected[None])
        else:
            assert array.dtype == np.float32 and np.allclose(array, expected, atol=1e-6)
        assert np.array_equal(arrays[item.name], array)


def test_mel_features_roundtrip(tmp_path: Path, tiny_corpus: Path) -> None:
    task = resolve_model(GRIFFIN_LIM, "cpu")
    written, _ = extract_features(task, tiny_corpus / "test.jsonl", tmp_path / "f")
    assert written == 2
    for item in list_inputs(tiny_corpus / "test.jsonl"):
        saved = list_inputs(tmp_path / "f" / f"{item.name}.npz")[0]
        features, spec = load_features(saved.path)
        assert spec == task.representation.spec
        assert torch.equal(features_of(task, saved, torch.device("cpu")),
                           features_of(task, item, torch.device("cpu")))
        assert torch.equal(torch.from_numpy(features)[None],
                           features_of(task, saved, torch.device("cpu")))


def test_mfcc_roundtrip(tmp_path: Path, tiny_corpus: Path) -> None:
    check_extraction(MFCC(16000), tiny_corpus / "test.jsonl", tmp_path / "mfcc")


def test_resume_refuses_files_of_another_spec(tmp_path: Path, tiny_corpus: Path) -> None:
    source = tiny_corpus / "test.jsonl"
    assert extract(MFCC(16000), source, tmp_path / "m", progress=False).written == 2
    assert extract(MFCC(16000), source, tmp_path / "m", progress=False).kept == 2
    with pytest.raises(SpecMismatchError, match="n_mfcc"):
        extract(MFCC(16000, n_mfcc=20), source, tmp_path / "m", progress=False)


def test_wrong_and_old_files_are_refused_by_name(tmp_path: Path) -> None:
    old = tmp_path / "old" / "a.npy"
    old.parent.mkdir()
    np.save(old, np.zeros((5, 3), dtype=np.float32))
    with pytest.raises(DataError, match=r"a\.npy: a \.npy file of the old feature format"):
        load_features(old)
    with pytest.raises(DataError, match=r"old.*a\.npy"):
        read_folder(old.parent)
    no_spec = tmp_path / "no_spec.npz"
    np.savez(no_spec, features=np.zeros((3, 5), dtype=np.float32))
    with pytest.raises(DataError, match=r"no_spec\.npz: not an audiogen feature file \(no spec"):
        load_features(no_spec)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"garbage\.npz: not an audiogen feature file"):
        load_features(garbage)
    with pytest.raises(DataError, match="dim, frames"):
        save_features(tmp_path / "x.npz", np.zeros(4), {})
