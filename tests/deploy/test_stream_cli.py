"""``audiogen synthesize --stream`` and ``audiogen bench stream`` on a tiny low-latency GAN
vocoder trained for two steps through the CLI: streamed files equal offline synthesis, the
measurements reach the output, and models that cannot stream are refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile

from audiogen.cli import call_in_process

DEBUG = Path(__file__).resolve().parents[2] / "recipes" / "vocoder" / "gan_mel" / "debug.yaml"


@pytest.fixture(scope="module")
def experiment(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    exp = tmp_path_factory.mktemp("stream") / "exp"
    assert call_in_process(["train", str(DEBUG), "--exp", str(exp),
                            "--set", f"data.train={tiny_corpus / 'train.jsonl'}",
                            "--set", "data.valid=null", "--set", "trainer.max_steps=2",
                            "--set", "task.generator.backbone.lookahead=1"]) == 0
    return exp


def test_synthesize_stream_writes_files_and_measurements(
        experiment: Path, tiny_corpus: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "streamed"
    assert call_in_process(["synthesize", str(experiment), "--input",
                            str(tiny_corpus / "test.jsonl"), "--out", str(out), "--stream",
                            "--chunk-ms", "48"]) == 0
    assert "wrote 2 files streamed" in capsys.readouterr().out
    rows = json.loads((out / "streaming.json").read_text())
    assert len(rows) == 2
    for row in rows:
        wave, rate = soundfile.read(row["output"])
        assert rate == 16000 and wave.size == row["offline_samples"]
        assert row["chunk_frames"] == 3 and row["lookahead_frames"] == 1
        assert row["snr_db"] > 60  # the file is 16-bit PCM; the row compares float outputs


def test_bench_stream_prints_one_row_per_chunk_size(
        experiment: Path, tiny_corpus: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    wav = sorted((tiny_corpus / "wavs").rglob("*.wav"))[0]
    assert call_in_process(["bench", "stream", str(experiment), "--input", str(wav),
                            "--chunk-ms", "16,64", "--repeats", "1",
                            "--json", str(tmp_path / "rows.json")]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()
            if line.startswith("{")]
    assert [row["chunk_frames"] for row in rows] == [1, 4]
    assert json.loads((tmp_path / "rows.json").read_text())[1]["algorithmic_latency_ms"] == \
        pytest.approx(4 * 16 + 1 * 16 + 24)


def test_a_model_that_cannot_stream_is_refused_in_one_line(
        tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = call_in_process(["synthesize", "mel-consistent-16k", "--input",
                            str(tiny_corpus / "test.jsonl"), "--out", str(tmp_path),
                            "--stream"])
    assert code == 1
    error = capsys.readouterr().err
    assert error.startswith("audiogen: error:") and "cannot stream" in error
    assert "Traceback" not in error
