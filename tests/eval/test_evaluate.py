"""The evaluation run: bad items are recorded and the run goes on, resume skips scored items,
results.json and per_item.csv have the documented shape, the report is offline."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from scipy import stats

from audiogen.errors import ConfigError
from audiogen.eval import evaluate, intrusive

from .signals import speech_like, with_noise
from .test_fad import LogSpectrum

FAST = ["si_sdr", "snr", "pesq_wb", "stoi", "lsd"]


def write(path: Path, wave: np.ndarray, rate: int = 16000, subtype: str = "PCM_16") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, wave, rate, subtype=subtype)


def noisy_copy(reference: Path, target: Path, snr_db: float, seed: int) -> None:
    wave, rate = soundfile.read(reference, dtype="float32")
    write(target, with_noise(wave, snr_db, seed), rate)


@pytest.fixture(scope="module")
def systems(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """'good': every reference with noise at 20 dB; 'bad': one awkward case per item."""
    root = tmp_path_factory.mktemp("generated")
    wavs = tiny_corpus / "wavs"
    references = sorted(wavs.rglob("*.wav"))
    for index, path in enumerate(references):
        noisy_copy(path, root / "good" / path.relative_to(wavs), 20.0, index)
    bad = root / "bad"
    for index, path in enumerate(references):
        noisy_copy(path, bad / path.relative_to(wavs), 10.0, index)
    wave, _ = soundfile.read(references[3], dtype="float32")
    write(bad / "high/utt00.wav", np.zeros(8000, np.float32))
    write(bad / "low/utt01.wav", np.full(1, 0.1, np.float32))
    write(bad / "high/utt02.wav", np.full(8000, np.nan, np.float32), subtype="FLOAT")
    write(bad / "low/utt03.wav", np.stack([wave, wave], 1))
    write(bad / "high/utt04.wav", speech_like(0.8, 8000), 8000)
    write(bad / "low/utt05.wav", np.concatenate([wave, with_noise(wave, 0.0)[:4000]]))
    (bad / "high/utt06.wav").unlink()
    (bad / "low/utt07.wav").write_bytes(b"")
    write(bad / "extra/orphan.wav", speech_like(0.5))
    return {"good": root / "good", "bad": bad}


@pytest.fixture(scope="module")
def run(tiny_corpus: Path, systems: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
        ) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("eval") / "out"
    results = evaluate(str(tiny_corpus / "wavs"), {k: str(v) for k, v in systems.items()},
                       FAST + ["fad"], out, report=out / "report" / "index.html",
                       fad_embedding=LogSpectrum(), fad_sample_rate=16000)
    return results, out


def rows_of(results: dict[str, Any], system: str) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in results["per_item"] if row["system"] == system}


def test_bad_items_are_recorded_and_the_run_goes_on(run: tuple[dict[str, Any], Path]) -> None:
    results, _ = run
    bad = rows_of(results, "bad")
    expected_errors = {"high/utt00": "silent", "low/utt01": "too short",
                       "high/utt02": "NaN", "high/utt06": "missing generated",
                       "low/utt07": "empty", "extra/orphan": "missing reference"}
    for item_id, message in expected_errors.items():
        assert message in bad[item_id]["errors"]["item"], bad[item_id]
        assert all(bad[item_id][metric] is None for metric in FAST)
    assert "2 channels averaged" in " ".join(bad["low/utt03"]["notes"])
    assert "resampled from 8000 Hz" in " ".join(bad["high/utt04"]["notes"])
    assert "generated trimmed" in " ".join(bad["low/utt05"]["notes"])
    for item_id in ("low/utt03", "high/utt04", "low/utt05", "high/utt08"):
        assert all(bad[item_id][metric] is not None for metric in FAST), bad[item_id]
    summary = results["summary"]["bad"]["si_sdr"]
    assert summary["n"] == 7 and summary["n_failed"] == 6
    assert results["summary"]["good"]["si_sdr"]["n_failed"] == 0


def test_better_system_scores_better(run: tuple[dict[str, Any], Path]) -> None:
    summary = run[0]["summary"]
    assert summary["good"]["pesq_wb"]["mean"] > summary["bad"]["pesq_wb"]["mean"]
    assert summary["good"]["lsd"]["mean"] < summary["bad"]["lsd"]["mean"]
    assert 0 < summary["good"]["fad"]["mean"] < summary["bad"]["fad"]["mean"]
    assert summary["good"]["fad"]["n"] == 12
    assert (summary["bad"]["fad"]["n"], summary["bad"]["fad"]["n_failed"]) == (7, 6)


def test_results_json_and_csv_have_the_required_shape(run: tuple[dict[str, Any], Path]) -> None:
    results, out = run
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["complete"] is True
    assert set(on_disk) >= {"cards", "summary", "per_item", "ci95_method", "policy"}
    for card in on_disk["cards"].values():
        assert set(card) >= {"metric", "library", "version", "sample_rate", "resampler", "mode",
                             "alignment", "embedding_model", "checksum", "direction"}
    assert on_disk["cards"]["fad"]["checksum"].startswith("sha256:")
    for system in ("good", "bad"):
        for metric in FAST + ["fad"]:
            assert set(on_disk["summary"][system][metric]) >= {"mean", "std", "ci95", "n"}
    values = [row["pesq_wb"] for row in on_disk["per_item"] if row["system"] == "good"]
    mean, sem = np.mean(values), stats.sem(values)
    low, high = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=sem)
    assert on_disk["summary"]["good"]["pesq_wb"]["ci95"] == pytest.approx([low, high])
    assert all({"id", "system", *FAST} <= set(row) for row in on_disk["per_item"])
    with open(out / "per_item.csv") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == len(on_disk["per_item"])
    assert set(table[0]) >= {"system", "id", *FAST}


def test_report_is_offline_and_plays_the_audio(run: tuple[dict[str, Any], Path]) -> None:
    _, out = run
    report = out / "report" / "index.html"
    html = report.read_text()
    assert not re.search(r"https?://", html)
    sources = re.findall(r'<audio[^>]*src="([^"]+)"', html)
    assert sources and all(not source.startswith("/") for source in sources)
    assert all((report.parent / source).is_file() for source in sources)
    assert "data:image/png;base64," in html and "Worst items" in html


def test_resume_skips_scored_items(tiny_corpus: Path, systems: dict[str, Path], tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ref, gen = str(tiny_corpus / "wavs"), {"good": str(systems["good"])}
    evaluate(ref, gen, ["si_sdr", "stoi"], tmp_path)
    results_path = tmp_path / "results.json"
    earlier = json.loads(results_path.read_text())
    earlier["per_item"] = earlier["per_item"][:9]
    results_path.write_text(json.dumps(earlier))
    calls = {"stoi": 0, "waveform": 0}

    def counting(name: str, method: Any) -> Any:
        def wrapper(self: Any, *args: Any) -> Any:
            calls[name] += 1
            return method(self, *args)
        return wrapper

    monkeypatch.setattr(intrusive.Stoi, "score", counting("stoi", intrusive.Stoi.score))
    monkeypatch.setattr(intrusive.Waveform, "score",
                        counting("waveform", intrusive.Waveform.score))
    resumed = evaluate(ref, gen, ["si_sdr", "stoi"], tmp_path, resume=True)
    assert calls == {"stoi": 3, "waveform": 3}
    assert resumed["summary"]["good"]["stoi"]["n"] == 12
    evaluate(ref, gen, ["si_sdr", "stoi"], tmp_path, resume=True, waveform_zero_mean=True)
    assert calls == {"stoi": 3, "waveform": 15}


def test_reference_free_metrics_need_no_reference(systems: dict[str, Path], tmp_path: Path
                                                  ) -> None:
    results = evaluate(None, {"good": str(systems["good"] / "low")}, ["plcmos"], tmp_path)
    assert results["summary"]["good"]["plcmos"]["n"] == 6


def test_configuration_errors_name_the_valid_choices(systems: dict[str, Path],
                                                     tmp_path: Path) -> None:
    gen = {"good": str(systems["good"])}
    with pytest.raises(ConfigError, match="valid metrics: .*pesq_wb"):
        evaluate(None, gen, ["pesq_wideband"], tmp_path)
    with pytest.raises(ConfigError, match="need a reference"):
        evaluate(None, gen, ["stoi"], tmp_path)
    with pytest.raises(ConfigError, match="valid options: .*fad_weights"):
        evaluate(None, gen, ["plcmos"], tmp_path, plcmos_temperature=1.0)


def test_two_worker_processes_give_the_same_results(run: tuple[dict[str, Any], Path],
                                                    tiny_corpus: Path,
                                                    systems: dict[str, Path],
                                                    tmp_path: Path) -> None:
    single, _ = run
    parallel = evaluate(str(tiny_corpus / "wavs"), {k: str(v) for k, v in systems.items()},
                        FAST + ["fad"], tmp_path / "out", workers=2,
                        fad_embedding=LogSpectrum(), fad_sample_rate=16000)
    keep = ["id", "system", *FAST, "errors"]
    assert ([{k: row[k] for k in keep} for row in parallel["per_item"]]
            == [{k: row[k] for k in keep} for row in single["per_item"]])
    assert parallel["summary"] == single["summary"]


def test_summary_table_prints_a_metric_with_one_valid_item() -> None:
    from audiogen.cli.evaluate import format_summary

    summary = {"a-long-system-name": {"pesq_wb": {"mean": 2.5, "std": None, "ci95": None,
                                                   "n": 1, "n_failed": 3}},
               "b": {"pesq_wb": {"mean": 3.0, "std": 0.1, "ci95": [2.9, 3.1], "n": 5}}}
    lines = format_summary(summary).splitlines()
    assert "2.500 (n=1)" in lines[1] and "3.000 [2.90,3.10]" in lines[2]
    assert len({line.index("pesq_wb") if "pesq_wb" in line else -1 for line in lines[:1]}) == 1
    assert len(lines[1]) == len(lines[2])  # columns stay aligned for long names


def test_a_shared_reference_is_tracked_once_for_several_systems(
        tiny_corpus: Path, systems: dict[str, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Items are scored key by key across systems, so even a 2-signal pitch cache reuses the
    reference's track: one track per reference and per generated signal."""
    from audiogen.eval.pitch import CrepePitch

    calls = []
    original = CrepePitch._track
    monkeypatch.setattr(CrepePitch, "_track",
                        lambda self, wave: calls.append(len(wave)) or original(self, wave))
    good = systems["good"]
    results = evaluate(str(tiny_corpus / "wavs"), {"a": str(good), "b": str(good)},
                       ["f0_rmse"], tmp_path / "out", pitch_cache_size=2)
    items = sorted({row["id"] for row in results["per_item"]})
    assert [(row["system"], row["id"]) for row in results["per_item"]] == [
        (system, item) for system in "ab" for item in items]
    assert len(calls) == 2 * len(items)  # b's signals equal a's: all from the cache
