"""Pairing by manifest id or relative path, and the loading policy for awkward items."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from audiogen.errors import AudioError, DataError
from audiogen.eval import pairing

from .signals import speech_like


def write(path: Path, wave: np.ndarray, rate: int = 16000, subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, wave, rate, subtype=subtype)
    return path


def one_pair(tmp_path: Path, generated: np.ndarray, rate: int = 16000,
             subtype: str = "PCM_16") -> pairing.Pair:
    reference = pairing.Item("a", write(tmp_path / "ref" / "a.wav", speech_like(1.0)))
    made = pairing.Item("a", write(tmp_path / "gen" / "a.wav", generated, rate, subtype))
    return pairing.Pair("a", made, reference)


def test_manifest_ids_pair_with_directory_paths(tiny_corpus: Path) -> None:
    reference = pairing.collect(tiny_corpus / "train.jsonl")
    generated = pairing.collect(tiny_corpus / "wavs")
    pairs = pairing.pair(generated, reference)
    matched = [(p.generated, p.reference) for p in pairs if p.generated and p.reference]
    assert len(matched) == 8 and len(pairs) == 12
    assert all(made.path.name == reference.path.name for made, reference in matched)
    assert {p.key for p in pairs if p.reference is None} == {
        "high/utt08", "low/utt09", "high/utt10", "low/utt11"}


def test_manifest_paths_match_when_ids_differ(tmp_path: Path) -> None:
    write(tmp_path / "ref" / "clips" / "x.wav", speech_like(0.5))
    (tmp_path / "ref" / "m.jsonl").write_text(
        '{"id": "utt-1", "path": "clips/x.wav", "duration": 0.5, "sample_rate": 16000, '
        '"speaker": "s"}\n')
    write(tmp_path / "gen" / "clips" / "x.wav", speech_like(0.5))
    pairs = pairing.pair(pairing.collect(tmp_path / "gen"),
                         pairing.collect(tmp_path / "ref" / "m.jsonl"))
    assert [(p.key, p.generated is not None) for p in pairs] == [("utt-1", True)]


def test_bad_sources_raise_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no audio files"):
        pairing.collect(tmp_path)
    with pytest.raises(DataError, match="expected an audio directory"):
        pairing.collect(tmp_path / "missing")


def test_stereo_is_averaged_and_noted(tmp_path: Path) -> None:
    mono = speech_like(1.0)
    loaded = pairing.load_pair(one_pair(tmp_path, np.stack([mono, 0 * mono], 1)), True)
    assert loaded.generated.ndim == 1
    np.testing.assert_allclose(loaded.generated, mono / 2, atol=1e-4)
    assert any("2 channels averaged" in note for note in loaded.notes)


def test_other_rates_are_resampled_and_lengths_trimmed(tmp_path: Path) -> None:
    loaded = pairing.load_pair(one_pair(tmp_path, speech_like(1.3, 8000), 8000), True)
    assert loaded.reference is not None and loaded.sample_rate == 16000
    assert len(loaded.generated) == len(loaded.reference) == 16000
    assert any("resampled from 8000 Hz" in note for note in loaded.notes)
    assert any("generated trimmed by 4800 samples (23.1%)" in note for note in loaded.notes)


def test_small_trims_are_not_noted(tmp_path: Path) -> None:
    loaded = pairing.load_pair(one_pair(tmp_path, speech_like(1.005)), True)
    assert loaded.notes == [] and len(loaded.generated) == 16000


@pytest.mark.parametrize("wave, subtype, error, match", [
    (np.zeros(16000, np.float32), "PCM_16", pairing.ItemError, "silent"),
    (np.full(1, 0.5, np.float32), "PCM_16", pairing.ItemError, "too short: 1 samples"),
    (np.full(16000, np.nan, np.float32), "FLOAT", AudioError, "NaN"),
])
def test_unusable_items_raise_item_errors(tmp_path: Path, wave: np.ndarray, subtype: str,
                                          error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        pairing.load_pair(one_pair(tmp_path, wave, subtype=subtype), True)


def test_missing_members_raise_item_errors(tmp_path: Path) -> None:
    item = pairing.Item("a", write(tmp_path / "a.wav", speech_like(0.5)))
    with pytest.raises(pairing.ItemError, match="missing reference"):
        pairing.load_pair(pairing.Pair("a", item, None), True)
    with pytest.raises(pairing.ItemError, match="missing generated"):
        pairing.load_pair(pairing.Pair("a", None, item), True)
    assert pairing.load_pair(pairing.Pair("a", item, None), False).reference is None
