"""``audiogen listen create``: pairing, copies, anchors, randomisation, attention, tokens."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import numpy as np
import pytest
import soundfile

from audiogen.errors import ConfigError, DataError
from audiogen.eval.listen import anchors, spec
from audiogen.eval.listen.design import create
from tests.eval.listen.helpers import write_systems


def _band_energy(wave: np.ndarray, sample_rate: int, low: float, high: float) -> float:
    power = np.abs(np.fft.rfft(wave)) ** 2
    frequency = np.fft.rfftfreq(wave.size, 1 / sample_rate)
    return float(power[(frequency >= low) & (frequency < high)].sum())


@pytest.mark.parametrize("cutoff", [3500.0, 7000.0])
def test_anchor_filter_removes_energy_above_cutoff(cutoff: float) -> None:
    noise = np.random.default_rng(1).standard_normal(32000)
    filtered = anchors.low_pass(noise, 16000, cutoff)
    above = _band_energy(filtered, 16000, cutoff, 8001) / _band_energy(noise, 16000, cutoff, 8001)
    far_above = (_band_energy(filtered, 16000, 1.1 * cutoff, 8001)
                 / _band_energy(noise, 16000, 1.1 * cutoff, 8001))
    passband = _band_energy(filtered, 16000, 0, 0.8 * cutoff) / _band_energy(
        noise, 16000, 0, 0.8 * cutoff)
    assert above < 0.02
    assert far_above < 1e-3
    assert passband > 0.98


def test_anchor_refuses_cutoff_above_nyquist() -> None:
    with pytest.raises(ValueError, match="Nyquist"):
        anchors.low_pass(np.zeros(1000), 8000, 7000.0)
    assert anchors.usable(8000) == {"anchor_3500hz": 3500.0}


def test_mushra_test_has_hidden_reference_and_real_low_pass_anchors(tmp_path: Path) -> None:
    folders = write_systems(tmp_path, items=2, seconds=1.0)
    created = create(tmp_path / "test", "mushra", {"a": folders["a"], "b": folders["b"]},
                     reference=folders["ref"], raters=2, attention_checks=0)
    test = created.spec
    for trial in test.trials.values():
        systems = sorted(test.stimuli[s].system for s in trial.stimuli)
        assert systems == ["a", "anchor_3500hz", "anchor_7000hz", "b", "hidden_reference"]
        assert trial.reference is not None and trial.reference not in trial.stimuli
        assert test.stimuli[trial.reference].system == "reference"
    for stimulus in test.stimuli.values():
        copied, _ = soundfile.read(tmp_path / "test" / stimulus.file)
        if stimulus.role == "anchor":
            original, rate = soundfile.read(folders["ref"] / f"{stimulus.item}.wav")
            cutoff = anchors.CUTOFFS_HZ[stimulus.system]
            ratio = (_band_energy(copied, rate, cutoff * 1.1, rate / 2 + 1)
                     / _band_energy(original, rate, cutoff * 1.1, rate / 2 + 1))
            assert ratio < 1e-2, (stimulus.system, ratio)
        else:  # copies are byte-identical to the rated originals
            assert Path(stimulus.source or "").read_bytes() == (
                tmp_path / "test" / stimulus.file).read_bytes()
    assert set(test.anchors) == {"anchor_3500hz", "anchor_7000hz"}
    assert "sosfiltfilt" in test.anchors["anchor_3500hz"]["filter"]


def _orders(test: spec.TestSpec) -> list[list[tuple[str, list[str]]]]:
    return [plan.trials for plan in test.raters]


def test_randomisation_is_reproducible_per_seed(tmp_path: Path) -> None:
    folders = write_systems(tmp_path, items=6)
    systems = {"a": folders["a"], "b": folders["b"]}
    first = create(tmp_path / "one", "acr", systems, reference=folders["ref"], seed=7,
                   raters=4, attention_checks=2).spec
    again = create(tmp_path / "two", "acr", systems, reference=folders["ref"], seed=7,
                   raters=4, attention_checks=2).spec
    other = create(tmp_path / "three", "acr", systems, reference=folders["ref"], seed=8,
                   raters=4, attention_checks=2).spec
    assert _orders(first) == _orders(again)
    assert first.stimuli == again.stimuli
    assert _orders(first) != _orders(other)
    raters = _orders(first)  # raters get different orders
    assert len({tuple(trial for trial, _ in plan) for plan in raters}) > 1


def test_every_stimulus_appears_and_attention_checks_are_present(tmp_path: Path) -> None:
    folders = write_systems(tmp_path, items=4)
    test = create(tmp_path / "test", "cmos", {"a": folders["a"], "b": folders["b"]},
                  reference=folders["ref"], raters=3, attention_checks=2).spec
    main = {key for key, trial in test.trials.items() if trial.attention is None}
    assert len(main) == 4 * 2  # one CMOS trial per (system, item)
    assert {s for key in main for s in test.trials[key].stimuli} == set(test.stimuli)
    for plan in test.raters:
        ids = [trial for trial, _ in plan.trials]
        assert {t for t in ids if test.trials[t].attention is None} == main
        assert len(ids) == len(set(ids)) == len(main) + 2
        checks = [t for t in ids if test.trials[t].attention is not None]
        assert len(checks) == 2 and ids[0] not in checks
        for trial_id, order in plan.trials:
            assert sorted(order) == sorted(test.trials[trial_id].stimuli)
        for check in checks:
            attention = test.trials[check].attention
            assert attention is not None and f"{attention.expect:+d}" in attention.instruction


def test_tokens_links_and_private_files(tmp_path: Path) -> None:
    folders = write_systems(tmp_path, items=2)
    created = create(tmp_path / "test", "ab", {"a": folders["a"], "b": folders["b"]}, raters=5,
                     base_url="http://host:9000/")
    tokens = json.loads((tmp_path / "test" / "tokens.json").read_text())
    values = [tokens["admin"], *tokens["raters"].values()]
    assert len(set(values)) == 6 and all(len(value) >= 32 for value in values)
    assert stat.S_IMODE((tmp_path / "test" / "tokens.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "test" / "links.txt").stat().st_mode) == 0o600
    assert f"http://host:9000/admin/{tokens['admin']}" in created.links[0]
    assert spec.load(tmp_path / "test").to_json() == created.spec.to_json()


def test_items_subset_and_partial_pairing(tmp_path: Path) -> None:
    folders = write_systems(tmp_path, items=5)
    (folders["b"] / "spk" / "u04.wav").unlink()  # only four items are shared
    test = create(tmp_path / "test", "acr", {"a": folders["a"], "b": folders["b"]}, items=3,
                  seed=3, attention_checks=0).spec
    items = {trial.item for trial in test.trials.values()}
    assert len(items) == 3 and "spk/u04" not in items
    assert len(test.trials) == 6


def test_bad_designs_are_refused(tmp_path: Path) -> None:
    folders = write_systems(tmp_path, items=2)
    with pytest.raises(ConfigError, match="--ref"):
        create(tmp_path / "x", "mushra", {"a": folders["a"]})
    with pytest.raises(ConfigError, match="two systems"):
        create(tmp_path / "x", "ab", {"a": folders["a"]})
    with pytest.raises(ConfigError, match="reserved"):
        create(tmp_path / "x", "acr", {"hidden_reference": folders["a"]})
    create(tmp_path / "done", "acr", {"a": folders["a"]})
    with pytest.raises(ConfigError, match="already exists"):
        create(tmp_path / "done", "acr", {"a": folders["a"]})
    lonely = tmp_path / "lonely" / "other.wav"
    lonely.parent.mkdir()
    soundfile.write(lonely, np.zeros(1600, dtype=np.float32) + 0.1, 16000)
    with pytest.raises(DataError, match="no item"):
        create(tmp_path / "y", "acr", {"a": folders["a"], "c": lonely.parent})
