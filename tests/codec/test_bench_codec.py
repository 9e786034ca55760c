"""``audiogen bench codec``: our codec and the encodec package side by side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audiogen import cli

DEBUG = Path(__file__).resolve().parents[2] / "recipes" / "codec" / "rvq" / "debug.yaml"


def test_bench_codec_rows(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "bench.json"
    assert cli.main(["bench", "codec", "--config", f"ours={DEBUG}", "--bandwidth", "0.8",
                     "--encodec-bandwidth", "1.5", "--seconds", "0.2", "--repeats", "3",
                     "--json", str(out)]) == 0
    rows = {row["system"]: row for row in json.loads(out.read_text())}
    assert set(rows) == {"ours", "encodec_24khz (package)"}
    assert rows["ours"]["sample_rate"] == 16000 and rows["ours"]["n_q"] == 4
    assert rows["encodec_24khz (package)"]["n_q"] == 2
    assert rows["encodec_24khz (package)"]["sample_rate"] == 24000
    for row in rows.values():
        assert len(row["times"]) == 3 and row["seconds"] > 0
        assert row["xrt"] == pytest.approx(0.2 / row["seconds"])
        assert row["params"] > 0 and row["gmacs"] > 0
    assert capsys.readouterr().out.count("\n") == 2


def test_bench_refuses_an_encodec_bandwidth(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["bench", "codec", "--encodec-bandwidth", "5", "--seconds", "0.1"]) == 1
    assert "choose from 1.5, 3, 6, 12, 24" in capsys.readouterr().err
