"""Degradations: seeded determinism, the SNR achieved, the band removed, lengths, manifests."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from audiogen.data import degrade
from tests.conftest import harmonic_tone

RATE = 16000


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return harmonic_tone(1.5, RATE, 140.0, 0)


@pytest.fixture(scope="module")
def kinds() -> list[degrade.Degradation]:
    pool = [harmonic_tone(1.0, RATE, f0, seed) for seed, f0 in enumerate((100.0, 180.0, 230.0))]
    return degrade.standard_set(pool)


def test_every_degradation_is_deterministic_given_the_seed(speech, kinds) -> None:
    for kind in kinds:
        first = degrade.degrade(speech, RATE, kind, np.random.default_rng(7))
        again = degrade.degrade(speech, RATE, kind, np.random.default_rng(7))
        assert first[1] == again[1] and np.array_equal(first[0], again[0]), kind.name
        assert first[0].shape == speech.shape and first[0].dtype == np.float32, kind.name
        other = degrade.degrade(speech, RATE, kind, np.random.default_rng(8))
        if kind.name != "clean":
            assert not np.array_equal(first[0], other[0]), kind.name
        json.dumps(first[1])  # parameters are recorded in manifests


@pytest.mark.parametrize("name", ["white_noise", "babble", "speech_shaped_noise"])
@pytest.mark.parametrize("snr_db", [0.0, 12.5, 30.0])
def test_additive_noise_reaches_the_drawn_snr(speech, kinds, name: str, snr_db: float) -> None:
    kind = next(k for k in kinds if k.name == name)
    params = {**kind.draw(np.random.default_rng(1)), "snr_db": snr_db}
    noisy = kind.apply(speech, RATE, params).astype(np.float64)
    noise = noisy - speech
    measured = 10 * math.log10(np.sum(speech.astype(np.float64) ** 2) / np.sum(noise ** 2))
    assert measured == pytest.approx(snr_db, abs=0.05)


@pytest.mark.parametrize("cutoff", [1000.0, 3000.0, 6000.0])
def test_low_pass_removes_the_energy_above_the_cutoff(speech, cutoff: float) -> None:
    noisy = degrade.WhiteNoise().apply(speech, RATE, {"snr_db": 0.0, "noise_seed": 3})
    out = degrade.LowPass().apply(noisy, RATE, {"cutoff_hz": cutoff})
    frequencies, before = signal.welch(noisy, RATE, nperseg=1024)
    _, after = signal.welch(out, RATE, nperseg=1024)
    above = frequencies > cutoff + 150.0
    below = frequencies < cutoff - 150.0
    assert after[above].sum() < 1e-4 * before[above].sum()
    assert after[below].sum() == pytest.approx(before[below].sum(), rel=0.05)


def test_band_pass_keeps_only_the_band(speech) -> None:
    noisy = degrade.WhiteNoise().apply(speech, RATE, {"snr_db": 0.0, "noise_seed": 4})
    out = degrade.BandPass().apply(noisy, RATE, {"low_hz": 400.0, "high_hz": 3000.0})
    frequencies, power = signal.welch(out, RATE, nperseg=1024)
    inside = power[(frequencies > 550) & (frequencies < 2850)].sum()
    outside = power[(frequencies < 250) | (frequencies > 3150)].sum()
    assert outside < 1e-4 * inside


def test_mu_law_clipping_and_packet_loss_do_what_they_say(speech) -> None:
    quantised = degrade.MuLaw().apply(speech, RATE, {"bits": 4})
    assert len(np.unique(quantised)) <= 16
    limit = 0.1 * np.abs(speech).max()
    clipped = degrade.Clipping().apply(speech, RATE, {"fraction": 0.1})
    assert np.abs(clipped).max() == pytest.approx(limit, rel=1e-6)
    lost = degrade.PacketLoss().apply(speech, RATE, {"rate": 0.3, "loss_seed": 0})
    packets = lost[: speech.size // 320 * 320].reshape(-1, 320)
    zeroed = np.all(packets == 0, axis=1).mean()
    assert 0.1 < zeroed < 0.5
    kept = ~np.all(packets == 0, axis=1)
    assert np.array_equal(packets[kept], speech[: packets.size].reshape(-1, 320)[kept])


def test_synthetic_rir_decays_60_db_in_rt60() -> None:
    rir = degrade.synthetic_rir(RATE, 0.5, 0.0, seed=0)
    tail = rir[1:] ** 2
    energy_db = 10 * np.log10(np.convolve(tail, np.ones(400) / 400, mode="valid"))
    start, end = energy_db[400], energy_db[int(0.4 * RATE)]
    slope = (end - start) / (0.4 - 400 / RATE)
    assert slope == pytest.approx(-120.0, rel=0.1)  # -60 dB in 0.5 s
    assert np.sum(tail) == pytest.approx(1.0, rel=1e-9)  # 0 dB direct-to-reverberant


def test_degrade_manifest_records_conditions_and_keeps_held_out_speakers_out(
        tiny_corpus: Path, tmp_path: Path) -> None:
    rows = degrade.degrade_manifest(tiny_corpus / "train.jsonl", tmp_path, ["white_noise",
                                    "babble"], copies=2, seed=5, exclude_speakers=["low"])
    assert {row.speaker for row in rows} == {"high"} and len(rows) == 8
    written = [json.loads(line) for line in (tmp_path / "manifest.jsonl").open()]
    assert {row["condition"] for row in written} <= {"white_noise", "babble"}
    assert all("/low/" not in row["clean_path"] for row in written)
    again = degrade.degrade_manifest(tiny_corpus / "train.jsonl", tmp_path / "again",
                                     ["white_noise", "babble"], copies=2, seed=5,
                                     exclude_speakers=["low"])
    assert [r.extra["params"] for r in again] == [r.extra["params"] for r in rows]
