"""Every command that reads audio, run over one folder of bad files: each bad file gets its own
error naming it, the good files are still processed, nothing prints a traceback, and a 2-hour
file is refused before it is decoded (bounded memory)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from audiogen import cli
from tests.ssl.conftest import save_tiny

SAMPLE_RATE = 16000
BAD = {"empty": "file is empty", "corrupt": "cannot read audio header",
       "nan": "NaN or Inf", "long": "is 2:00:00 long"}
GOOD = ("good", "pcm8", "stereo44")  # and one_sample: padded or refused, never a crash


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad_inputs")
    time = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    tone = (0.3 * np.sin(2 * np.pi * 220 * time)).astype(np.float32)
    soundfile.write(folder / "good.wav", tone, SAMPLE_RATE)
    (folder / "empty.wav").write_bytes(b"")
    (folder / "corrupt.wav").write_bytes(b"RIFF\0\0\0\0WAVEgarbage")
    broken = tone.copy()
    broken[100:200] = np.nan
    soundfile.write(folder / "nan.wav", broken, SAMPLE_RATE, subtype="FLOAT")
    soundfile.write(folder / "one_sample.wav", tone[:1], SAMPLE_RATE)
    stereo_time = np.arange(44100) / 44100
    stereo = 0.3 * np.stack([np.sin(2 * np.pi * 300 * stereo_time),
                             np.sin(2 * np.pi * 500 * stereo_time)], axis=1)
    soundfile.write(folder / "stereo44.wav", stereo, 44100)
    soundfile.write(folder / "pcm8.wav", tone, SAMPLE_RATE, subtype="PCM_U8")
    # Two hours of 8 kHz 8-bit silence: 58 MB on disk, over 10 GB in a vocoder's loop.
    with soundfile.SoundFile(folder / "long.wav", "w", 8000, 1, subtype="PCM_U8") as handle:
        block = np.zeros(8000 * 600, dtype=np.float32)
        for _ in range(12):
            handle.write(block)
    return folder


def assert_reported(printed: str, folder: Path | None = None) -> None:
    assert "Traceback" not in printed
    for name, reason in BAD.items():
        lines = [line for line in printed.splitlines() if name in line and reason in line]
        assert lines, f"{name} ({reason}) not reported in:\n{printed}"


def assert_outputs(out: Path, suffix: str) -> None:
    names = {path.stem for path in out.rglob(f"*{suffix}")}
    assert set(GOOD) <= names and not names & set(BAD), names


def run(args: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    code = cli.main(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_synthesize_in_bounded_memory(bad_folder: Path, tmp_path: Path) -> None:
    """A fresh process, so its peak resident memory (VmHWM: the high-water mark of this
    process image; ru_maxrss would carry over the pytest parent's peak through exec) is the
    command's own."""
    if not Path("/proc/self/status").is_file():
        pytest.skip("needs /proc/self/status (Linux) to read the peak memory")
    script = ("import re, sys; from audiogen.cli import main; code = main(sys.argv[1:]); "
              "status = open('/proc/self/status').read(); "
              "print('maxrss_kb', re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1)); "
              "sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", script, "synthesize", "mel-consistent-16k",
                             "--input", str(bad_folder), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=600)
    printed = result.stdout + result.stderr
    assert result.returncode == 0, printed
    assert_reported(printed)
    assert_outputs(tmp_path / "out", ".wav")
    peak_gb = int(printed.split("maxrss_kb")[1].split()[0]) / 2**20
    assert peak_gb < 3.0, f"peak memory {peak_gb:.1f} GB"  # unguarded: over 10 GB


def test_extract_features_and_mfcc(bad_folder: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture) -> None:
    for args, out in ((["features", "mel-consistent-16k"], tmp_path / "mel"),
                      (["mfcc"], tmp_path / "mfcc")):
        code, printed = run(["extract", *args, "--input", str(bad_folder), "--out", str(out)],
                            capsys)
        assert code == 0, printed
        assert_reported(printed)
        assert_outputs(out, ".npz")


def test_extract_ssl_and_units(bad_folder: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture) -> None:
    model = save_tiny(tmp_path / "model", "hubert", do_normalize=True)
    io = ["--input", str(bad_folder)]
    code, printed = run(["extract", "ssl", "--model", str(model), "--layer", "1", *io,
                         "--out", str(tmp_path / "ssl")], capsys)
    assert code == 0, printed
    assert_reported(printed)
    assert_outputs(tmp_path / "ssl", ".npz")
    assert cli.main(["units", "fit", "--features", str(tmp_path / "ssl"), "--k", "2",
                     "--out", str(tmp_path / "km")]) == 0
    capsys.readouterr()
    code, printed = run(["extract", "units", "--ssl", str(model), "--layer", "1", *io,
                         "--kmeans", str(tmp_path / "km"), "--out", str(tmp_path / "units")],
                        capsys)
    assert code == 0, printed
    assert_reported(printed)
    assert_outputs(tmp_path / "units", ".npz")


def test_codec_tokens(bad_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from encodec import EncodecModel

    torch.manual_seed(0)
    weights = tmp_path / "encodec_24khz.th"
    torch.save(EncodecModel.encodec_model_24khz(pretrained=False).state_dict(), weights)
    code, printed = run(["extract", "tokens", "--codec", "encodec_24khz", "--bandwidth", "1.5",
                         "--codec-checkpoint", str(weights), "--input", str(bad_folder),
                         "--out", str(tmp_path / "tokens")], capsys)
    assert code == 0, printed
    assert_reported(printed)
    assert_outputs(tmp_path / "tokens", ".npz")


def test_evaluate_reports_each_unscorable_item(bad_folder: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    code, printed = run(["evaluate", "--ref", str(bad_folder), "--gen", f"copy={bad_folder}",
                         "--metrics", "stoi,mel_l1", "--out", str(tmp_path / "eval")], capsys)
    assert code == 0, printed
    assert_reported(printed)
    summary = json.loads((tmp_path / "eval" / "results.json").read_text())["summary"]["copy"]
    assert summary["mel_l1"]["n"] == len(GOOD)  # one_sample is under 0.1 s: refused too
    assert summary["mel_l1"]["n_failed"] == len(BAD) + 1


def test_listen_create_leaves_out_unplayable_items(bad_folder: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    code, printed = run(["listen", "create", "--out", str(tmp_path / "test"), "--type", "acr",
                         "--system", f"a={bad_folder}", "--system", f"b={bad_folder}"], capsys)
    assert code == 0, printed
    assert_reported(printed)
    spec = json.loads((tmp_path / "test" / "test.json").read_text())
    items = {stimulus["item"] for stimulus in spec["stimuli"].values()}
    assert set(GOOD) <= items and not items & set(BAD), items


def test_the_length_limit_can_be_raised(bad_folder: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from audiogen import audio
    from audiogen.errors import AudioError, ConfigError

    monkeypatch.setenv("AUDIOGEN_MAX_SECONDS", "0.5")
    with pytest.raises(AudioError, match="good.wav: is 0:01 long; .* at most 0:00.5"):
        audio.load(bad_folder / "good.wav")
    wave, _ = audio.load(bad_folder / "good.wav", frames=4000)  # a window under the limit
    assert wave.shape == (1, 4000)
    monkeypatch.setenv("AUDIOGEN_MAX_SECONDS", "soon")
    with pytest.raises(ConfigError, match="AUDIOGEN_MAX_SECONDS must be a positive number"):
        audio.load(bad_folder / "good.wav")
