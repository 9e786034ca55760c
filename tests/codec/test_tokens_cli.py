"""``audiogen extract tokens`` / ``decode tokens``: files, resume, bad inputs, spec refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from audiogen import cli
from audiogen.inference.feature_files import load_features
from audiogen.inference.tokens import load_tokens


@pytest.fixture(scope="module")
def encodec_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from encodec import EncodecModel

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "encodec_24khz.th"
    torch.save(EncodecModel.encodec_model_24khz(pretrained=False).state_dict(), path)
    return path


def test_extract_decode_resume_and_skip(tiny_corpus: Path, encodec_weights: Path,
                                        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from encodec import EncodecModel

    inputs = tmp_path / "in"
    shutil.copytree(tiny_corpus / "wavs" / "high", inputs / "high")
    (inputs / "broken.wav").write_bytes(b"RIFF not really")
    out = tmp_path / "tokens"
    args = ["extract", "tokens", "--codec", "encodec_24khz", "--bandwidth", "1.5",
            "--codec-checkpoint", str(encodec_weights), "--input", str(inputs), "--out",
            str(out), "--batch-size", "2"]
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    assert "wrote 6 files" in printed and "skipped broken" in printed
    assert "resampled 16000 Hz -> 24000 Hz" in printed
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.npz"))
    assert names == [f"high/utt{i:02d}.npz" for i in (0, 2, 4, 6, 8, 10)]
    codes, spec = load_features(out / "high" / "utt00.npz")  # the one feature-file format
    assert codes.dtype.kind == "i" and codes.shape[0] == 2 and spec["model"] == "encodec_24khz"
    # batch-of-2 tokens equal a direct package call on the resampled file (causal model)
    tokens = load_tokens(out / "high" / "utt02.npz")
    from audiogen import audio

    wave, _ = audio.load(inputs / "high" / "utt02.wav", sample_rate=24000)
    model = EncodecModel.encodec_model_24khz(pretrained=False)
    model.load_state_dict(torch.load(encodec_weights, weights_only=True))
    model.set_target_bandwidth(1.5)
    with torch.no_grad():
        (direct, _), = model.encode(wave[None])
    assert np.array_equal(tokens.codes, direct[0].numpy())
    assert tokens.num_samples == wave.shape[-1]

    assert cli.main(args) == 0  # resumable: nothing new
    assert "wrote 0 files" in capsys.readouterr().out

    decoded = tmp_path / "decoded"
    assert cli.main(["decode", "tokens", "--input", str(out), "--out", str(decoded),
                     "--codec-checkpoint", str(encodec_weights)]) == 0
    wav = decoded / "high" / "utt02.wav"
    data, rate = soundfile.read(wav)
    assert rate == 24000 and data.shape == (tokens.num_samples,)

    mismatch = cli.main(["decode", "tokens", "--input", str(out), "--out",
                         str(tmp_path / "other"), "--bandwidth", "3",
                         "--codec-checkpoint", str(encodec_weights)])
    assert mismatch == 1
    error = capsys.readouterr().err
    assert "n_q: model has 4, tokens" in error and "have 2" in error


def test_unsupported_bandwidth_lists_the_supported(encodec_weights: Path, tmp_path: Path,
                                                   tiny_corpus: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    code = cli.main(["extract", "tokens", "--codec", "encodec_24khz", "--bandwidth", "7",
                     "--codec-checkpoint", str(encodec_weights), "--input",
                     str(tiny_corpus / "test.jsonl"), "--out", str(tmp_path / "t")])
    assert code == 1
    assert "choose from 1.5, 3, 6, 12, 24" in capsys.readouterr().err


def test_tokens_of_another_codebook_are_refused(encodec_weights: Path, tmp_path: Path,
                                                tiny_corpus: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "tokens"
    assert cli.main(["extract", "tokens", "--codec", "encodec_24khz", "--codec-checkpoint",
                     str(encodec_weights), "--input", str(tiny_corpus / "test.jsonl"),
                     "--out", str(out)]) == 0
    path = next(out.rglob("*.npz"))
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    spec = json.loads(str(arrays["spec"]))
    spec["codebook_size"], spec["frame_rate"] = 2048, 50
    arrays["spec"] = np.array(json.dumps(spec))
    np.savez(path, **arrays)
    code = cli.main(["decode", "tokens", "--input", str(out), "--out", str(tmp_path / "d"),
                     "--codec-checkpoint", str(encodec_weights)])
    error = capsys.readouterr().err
    assert code == 1 and "codebook_size" in error and "frame_rate" in error
