"""Rooms, real codecs, recorded and coloured noise, our neural codec as degradations; the fixed
degraded test set (``write_test_set``) and its command, ``audiogen data degrade``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import yaml
from safetensors.torch import save_file
from scipy import signal

from audiogen import config as cfg
from audiogen.cli import main
from audiogen.data import degrade, manifest
from audiogen.errors import ConfigError, DataError
from audiogen.train.experiment import build_task
from tests.conftest import harmonic_tone

RATE = 16000
CODEC_DEBUG = Path(__file__).resolve().parents[2] / "recipes" / "codec" / "rvq" / "debug.yaml"
ROOM = {"room_m": [5.3, 4.1, 2.9], "source_m": [1.9, 2.4, 1.6], "microphone_m": [2.8, 2.1, 1.2],
        "tail_seed": 3}  # 1.03 m apart, every wall at least 1 m away: the direct path dominates


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return harmonic_tone(1.5, RATE, 140.0, 0)


@pytest.fixture(scope="module")
def noise_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two noise recordings at 22.05 kHz (read back at 16 kHz), a corrupt file and an empty one."""
    root = tmp_path_factory.mktemp("noise")
    (root / "street").mkdir()
    rumble = degrade.coloured_noise(22050, 2.0, seed=1)
    soundfile.write(root / "street" / "rumble.wav", 0.3 * rumble / np.abs(rumble).max(), 22050)
    hum = harmonic_tone(0.7, 22050, 50.0, 2)
    soundfile.write(root / "hum.flac", hum, 22050)
    (root / "broken.wav").write_bytes(b"RIFF\x00\x01not audio at all")
    (root / "empty.wav").write_bytes(b"")
    (root / "notes.txt").write_text("not audio")
    return root


@pytest.fixture(scope="module")
def codec_experiment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised codec of the debug recipe saved as a one-checkpoint experiment."""
    exp = tmp_path_factory.mktemp("codec") / "exp"
    torch.manual_seed(0)
    config = cfg.load(CODEC_DEBUG)
    task = build_task(config)
    step = exp / "checkpoints" / "step_00000001"
    step.mkdir(parents=True)
    (step / "config.yaml").write_text(yaml.safe_dump(config))
    (step / "meta.json").write_text(json.dumps({"step": 1, "spec": task.spec}))
    save_file({k: v.contiguous() for k, v in task.state_dict().items()},
              str(step / "model.safetensors"))
    (exp / "checkpoints" / "latest").write_text("step_00000001\n")
    return exp


def neural_codec(exp: Path, bandwidths: list[float]) -> degrade.NeuralCodec:
    return cfg.instantiate({"_target_": "audiogen.data.degrade.NeuralCodec",
                            "bandwidth_kbps": bandwidths,
                            "model": {"_target_": "audiogen.train.loading.trained_codec",
                                      "_partial_": True, "path": str(exp)}})


def snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    clean = clean.astype(np.float64)
    return 10 * math.log10(np.sum(clean ** 2) / np.sum((noisy.astype(np.float64) - clean) ** 2))


def peak_lag(output: np.ndarray, reference: np.ndarray) -> int:
    """The lag of the largest cross-correlation; positive when ``output`` is late."""
    correlation = signal.correlate(output, reference, mode="full", method="fft")
    return int(signal.correlation_lags(output.size, reference.size)[np.argmax(correlation)])


def test_new_degradations_are_deterministic_keep_length_and_change_the_signal(
        speech, noise_folder, codec_experiment) -> None:
    kinds = [degrade.ColouredNoise(), degrade.RoomReverb(), degrade.Codec("opus", (6.0, 16.0)),
             degrade.Codec("mp3", (8.0, 32.0)), degrade.RecordedNoise(str(noise_folder)),
             neural_codec(codec_experiment, [0.2, 0.4, 0.6, 0.8])]
    with pytest.warns(UserWarning, match="unreadable"):
        for kind in kinds:
            out, params = degrade.degrade(speech, RATE, kind, np.random.default_rng(7))
            json.dumps(params)  # recorded in manifests
            again = kind.apply(speech, RATE, json.loads(json.dumps(params)))
            if "gain" in params:
                again = (again * params["gain"]).astype(np.float32)
            assert np.array_equal(out, again), kind.name
            assert out.shape == speech.shape and out.dtype == np.float32, kind.name
            other, _ = degrade.degrade(speech, RATE, kind, np.random.default_rng(8))
            assert not np.array_equal(out, other), kind.name
            assert snr_db(speech, out) < 40.0, kind.name


@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0])
@pytest.mark.parametrize("snr", [0.0, 10.0])
def test_coloured_noise_has_its_slope_and_snr(speech, beta: float, snr: float) -> None:
    kind = degrade.ColouredNoise()
    noisy = kind.apply(speech, RATE, {"beta": beta, "snr_db": snr, "noise_seed": 5})
    assert snr_db(speech, noisy) == pytest.approx(snr, abs=0.5)
    frequencies, power = signal.welch(degrade.coloured_noise(2 ** 16, beta, 5), RATE,
                                      nperseg=4096)
    band = (frequencies > 50) & (frequencies < 7000)
    slope = np.polyfit(np.log10(frequencies[band]), np.log10(power[band]), 1)[0]
    assert slope == pytest.approx(-beta, abs=0.1)


def test_recorded_noise_adds_a_looped_file_at_the_drawn_snr(speech, noise_folder) -> None:
    with pytest.warns(UserWarning) as caught:
        kind = degrade.RecordedNoise(str(noise_folder))
        files = kind.files
        assert kind.files is files  # listed once, warned once
    assert len(caught) == 1
    assert "broken.wav" in str(caught[0].message) and "empty.wav" in str(caught[0].message)
    assert [Path(f).name for f in files] == ["hum.flac", "rumble.wav"]
    for seed in range(4):
        params = kind.draw(np.random.default_rng(seed))
        assert params["file"] in files and 0 <= params["snr_db"] <= 10
        noisy = kind.apply(speech, RATE, params)
        assert snr_db(speech, noisy) == pytest.approx(params["snr_db"], abs=0.5)
        recording, _ = soundfile.read(params["file"])
        recording = degrade._resampled(recording, soundfile.info(params["file"]).samplerate,
                                       RATE)
        looped = degrade.looped_from(recording, params["offset"], speech.size)
        added = noisy.astype(np.float64) - speech
        assert abs(np.corrcoef(added, looped)[0, 1]) > 0.999  # that file, from that offset


def test_recorded_noise_refuses_a_source_without_usable_audio(noise_folder, tmp_path) -> None:
    only_ambient = degrade.RecordedNoise(str(noise_folder), pattern="rumble*")
    assert [Path(f).name for f in only_ambient.files] == ["rumble.wav"]
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "broken.wav").write_bytes(b"junk")
    with pytest.warns(UserWarning, match="broken.wav"), \
            pytest.raises(DataError, match=f"{tmp_path / 'bad'}: no readable audio files"):
        degrade.RecordedNoise(str(tmp_path / "bad")).draw(np.random.default_rng(0))
    with pytest.raises(DataError, match="no such folder or manifest"):
        degrade.RecordedNoise(str(tmp_path / "missing")).draw(np.random.default_rng(0))
    rows = [manifest.Utterance("hum", str(noise_folder / "hum.flac"), 0.7, 22050, "noise")]
    manifest.write(tmp_path / "noise.jsonl", rows)
    from_manifest = degrade.RecordedNoise(str(tmp_path / "noise.jsonl"))
    assert [Path(f).resolve() for f in from_manifest.files] == [noise_folder / "hum.flac"]


@pytest.mark.parametrize("rt60", [0.2, 0.5, 1.0])
def test_room_reverb_is_aligned_to_the_direct_path(rt60: float) -> None:
    kind = degrade.RoomReverb()
    params = {**ROOM, "rt60": rt60}
    dry = np.random.default_rng(0).standard_normal(RATE).astype(np.float32) * 0.1
    wet = kind.apply(dry, RATE, params)
    assert peak_lag(wet, dry) == 0
    assert _power(wet) == pytest.approx(_power(dry), rel=1e-5)
    impulse = np.zeros(RATE // 2, np.float32)
    impulse[2000] = 1.0
    response = kind.apply(impulse, RATE, params)
    assert int(np.argmax(np.abs(response))) == 2000
    assert np.sum(response[:2000 - 41] ** 2) < 1e-3 * np.sum(response ** 2)  # nothing earlier


def _power(wave: np.ndarray) -> float:
    return float(np.mean(wave.astype(np.float64) ** 2))


def schroeder_rt60(rir: np.ndarray, sample_rate: int) -> float:
    """T20 (the -5 to -25 dB span of the backward-integrated energy) extrapolated to 60 dB."""
    energy = np.cumsum(rir[::-1] ** 2)[::-1]
    decay_db = 10 * np.log10(energy / energy[0])
    start, end = np.argmax(decay_db <= -5.0), np.argmax(decay_db <= -25.0)
    return 3.0 * (end - start) / sample_rate


@pytest.mark.parametrize("seed", range(4))
def test_room_impulse_responses_decay_at_the_drawn_rt60(seed: int) -> None:
    params = degrade.RoomReverb().draw(np.random.default_rng(seed))
    rir, direct = degrade.room_rir(RATE, params["room_m"], params["rt60"], params["source_m"],
                                   params["microphone_m"], 12, params["tail_seed"])
    assert schroeder_rt60(rir, RATE) == pytest.approx(params["rt60"], rel=0.2)
    distance = math.dist(params["source_m"], params["microphone_m"])
    assert direct == pytest.approx(distance / 343.0 * RATE + 40, abs=1)


def test_longer_reverberation_leaves_less_of_the_dry_signal() -> None:
    dry = np.random.default_rng(1).standard_normal(RATE).astype(np.float32) * 0.1
    kind = degrade.RoomReverb()
    direct_share = [np.dot(kind.apply(dry, RATE, {**ROOM, "rt60": rt60}), dry)
                    / np.dot(dry, dry) for rt60 in (0.2, 0.5, 1.0)]
    assert direct_share[0] > direct_share[1] > direct_share[2] > 0.05


def test_room_reverb_refuses_rooms_it_cannot_build() -> None:
    with pytest.raises(ConfigError, match="rt60 0.05 s is shorter"):
        degrade.RoomReverb(rt60=(0.05, 0.5))
    with pytest.raises(ConfigError, match="leaves no place"):
        degrade.RoomReverb(height_m=(0.8, 3.0))


def test_opus_at_6_kbps_is_aligned_and_lossy(speech) -> None:
    kind = degrade.Codec("opus", (6.0, 6.0))
    out = kind.apply(speech, RATE, kind.draw(np.random.default_rng(0)))
    assert abs(peak_lag(out, speech)) <= 1
    assert snr_db(speech, out) < 15.0
    assert np.corrcoef(out, speech)[0, 1] > 0.5


@pytest.mark.parametrize("codec", ["opus", "mp3"])
@pytest.mark.parametrize("rate", [8000, 22050, 44100])
def test_codecs_keep_length_and_alignment_at_any_rate(codec: str, rate: int) -> None:
    wave = harmonic_tone(0.5, rate, 140.0, 1)
    kind = degrade.Codec(codec, (16.0, 16.0))
    out = kind.apply(wave, rate, kind.draw(np.random.default_rng(0)))
    assert out.shape == wave.shape and out.dtype == np.float32
    assert abs(peak_lag(out, wave)) <= 1


@pytest.mark.parametrize(("codec", "low", "high"), [("opus", 6.0, 24.0), ("mp3", 8.0, 32.0)])
def test_more_bits_bring_the_codec_closer_to_the_input(speech, codec, low, high) -> None:
    kind = degrade.Codec(codec)
    coarse = kind.apply(speech, RATE, {"bitrate_kbps": low})
    fine = kind.apply(speech, RATE, {"bitrate_kbps": high})
    assert snr_db(speech, fine) > snr_db(speech, coarse) + 1.0


def test_align_undoes_a_shift_either_way(speech) -> None:
    late = np.concatenate([np.zeros(7, np.float32), speech])
    assert np.array_equal(degrade.align(late, speech, 20), speech)
    early = degrade.align(speech[5:], speech, 20)
    assert np.array_equal(early[5:], speech[5:]) and not early[:5].any()
    assert np.array_equal(degrade.align(np.zeros(100), np.zeros(100), 10), np.zeros(100))


def test_codec_refuses_unknown_codecs_and_names_a_missing_encoder(monkeypatch) -> None:
    with pytest.raises(ConfigError, match="'aac' is not one of opus, mp3"):
        degrade.Codec("aac")
    import av

    real = av.Codec

    def without_lame(name: str, mode: str = "r"):
        if name == "libmp3lame":
            raise av.codec.codec.UnknownCodecError(name)
        return real(name, mode)

    monkeypatch.setattr(av, "Codec", without_lame)
    with pytest.raises(ConfigError, match="libmp3lame encoder"):
        degrade.Codec("mp3")


def test_neural_codec_is_our_codec_round_trip_loaded_once(speech, codec_experiment) -> None:
    from audiogen.train.loading import trained_codec

    speech = speech[: RATE // 2]

    loads = []

    def loader():
        loads.append(1)
        return trained_codec(codec_experiment)

    kind = degrade.NeuralCodec(loader, bandwidth_kbps=(0.2, 0.8))
    full = kind.apply(speech, RATE, {"bandwidth_kbps": 0.8})
    coarse = kind.apply(speech, RATE, {"bandwidth_kbps": 0.2})
    assert len(loads) == 1
    codec = trained_codec(codec_experiment)
    with torch.no_grad():
        expected = codec.decode(codec.tokens(torch.from_numpy(speech)[None]))[0, :speech.size]
    assert np.array_equal(full, expected.numpy())
    assert not np.array_equal(full, coarse)
    at_8k = kind.apply(speech[::2].copy(), 8000, {"bandwidth_kbps": 0.4})
    assert at_8k.shape == (speech.size // 2 + speech.size % 2,)


def test_neural_codec_refuses_paths_and_unsupported_bandwidths(speech, codec_experiment) -> None:
    with pytest.raises(ConfigError, match="_partial_: true, path: exp/codec"):
        cfg.instantiate({"_target_": "audiogen.data.degrade.NeuralCodec", "model": "exp/codec"})
    kind = neural_codec(codec_experiment, [0.3])
    with pytest.raises(ConfigError, match="choose from 0.2, 0.4, 0.6, 0.8"):
        kind.apply(speech, RATE, kind.draw(np.random.default_rng(0)))


def test_composites_name_the_conditions_they_applied(speech) -> None:
    chain = degrade.Chain([degrade.RoomReverb(), degrade.Codec("mp3", (8.0, 8.0))])
    assert chain.condition(chain.draw(np.random.default_rng(0))) == "room_reverb+codec"
    skipped = degrade.Chain([degrade.LowPass()], probabilities=[0.0])
    assert skipped.condition(skipped.draw(np.random.default_rng(0))) == "clean"
    pick = degrade.OneOf([degrade.LowPass(), degrade.ColouredNoise()])
    names = {pick.condition(pick.draw(np.random.default_rng(s))) for s in range(20)}
    assert names == {"low_pass", "coloured_noise"}


@pytest.fixture()
def corpus_with_a_broken_file(tiny_corpus: Path, tmp_path: Path) -> Path:
    rows = manifest.read(tiny_corpus / "train.jsonl")[:3]
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF but not really")
    rows.append(manifest.Utterance("high/broken", str(broken), 1.0, RATE, "high"))
    manifest.write(tmp_path / "source.jsonl", rows, relative=False)
    return tmp_path / "source.jsonl"


def test_write_test_set_is_reproducible_and_names_what_it_skipped(
        corpus_with_a_broken_file: Path, tmp_path: Path) -> None:
    kind = degrade.OneOf([degrade.RoomReverb(), degrade.Codec("opus", (6.0, 12.0)),
                          degrade.ColouredNoise()])
    outs = [tmp_path / "one", tmp_path / "two"]
    for out in outs:
        rows, skipped = degrade.write_test_set(corpus_with_a_broken_file, out, kind, seed=3)
        assert len(rows) == 3 and [key for key, _ in skipped] == ["high/broken"]
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*") if p.is_file())
    assert len(files) == 2 * 3 + 2
    assert files == sorted(p.relative_to(outs[1]) for p in outs[1].rglob("*") if p.is_file())
    for name in files:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    assert "broken.wav" in (outs[0] / "skipped.txt").read_text()
    written = manifest.read(outs[0] / "manifest.jsonl")
    speakers = {row.id: row.speaker for row in manifest.read(corpus_with_a_broken_file)}
    for row in written:
        degraded, rate = soundfile.read(row.path)
        clean, clean_rate = soundfile.read(outs[0] / row.extra["clean_path"])
        assert degraded.shape == clean.shape and rate == clean_rate == RATE
        assert row.extra["condition"] in {"room_reverb", "codec", "coloured_noise"}
        assert row.speaker == speakers[row.id]
        assert row.extra["params"]["condition"] == row.extra["condition"]
        assert Path(row.path).relative_to(outs[0] / "degraded").with_suffix("").as_posix() == \
            row.id
    with pytest.raises(DataError, match="already holds a test set"):
        degrade.write_test_set(corpus_with_a_broken_file, outs[0], kind, seed=3)
    other, _ = degrade.write_test_set(corpus_with_a_broken_file, tmp_path / "three", kind, seed=4)
    assert [r.extra["params"] for r in other] != [r.extra["params"] for r in written]
    no_noise = degrade.RecordedNoise(str(tmp_path / "no_noise"))
    with pytest.raises(DataError, match="no_noise: no such folder"):  # stops, skips nothing
        degrade.write_test_set(corpus_with_a_broken_file, tmp_path / "four", no_noise, seed=3)
    assert not (tmp_path / "four" / "manifest.jsonl").exists()


def test_data_degrade_command(tiny_corpus: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    rows = manifest.read(tiny_corpus / "train.jsonl")[:2]
    manifest.write(tmp_path / "two.jsonl", rows, relative=False)
    config = tmp_path / "degrade.yaml"
    config.write_text(yaml.safe_dump({
        "_target_": "audiogen.data.degrade.Chain",
        "stages": [{"_target_": "audiogen.data.degrade.RoomReverb", "rt60": [0.3, 0.6]},
                   {"_target_": "audiogen.data.degrade.Codec", "codec": "mp3",
                    "bitrate_kbps": [8, 16]}]}))
    out = tmp_path / "set"
    assert main(["data", "degrade", "--manifest", str(tmp_path / "two.jsonl"), "--out", str(out),
                 "--config", str(config), "--seed", "1", "--rate", "8000"]) == 0
    assert capsys.readouterr().out.startswith(f"degraded 2 utterances to {out}; skipped 0")
    for row in manifest.read(out / "manifest.jsonl"):
        assert row.sample_rate == 8000 and row.extra["condition"] == "room_reverb+codec"
        assert soundfile.info(out / row.extra["clean_path"]).samplerate == 8000
        assert soundfile.info(row.path).frames == soundfile.info(
            out / row.extra["clean_path"]).frames

    config.write_text("vars: {rt60: [0.5, 0.6]}\n_target_: audiogen.data.degrade.RoomReverb\n"
                      "rt60: ${vars.rt60}\n")
    folder = tmp_path / "from_folder"
    assert main(["data", "degrade", "--input", str(tiny_corpus / "wavs"), "--out", str(folder),
                 "--config", str(config), "--set", "vars.rt60=[0.2, 0.3]",
                 "--max-items", "3"]) == 0
    rows = manifest.read(folder / "manifest.jsonl")
    assert [row.id for row in rows] == ["high/utt00", "high/utt02", "high/utt04"]
    assert all(0.2 <= row.extra["params"]["rt60"] <= 0.3 for row in rows)
    assert (folder / "clean" / "high" / "utt02.wav").is_file()
    capsys.readouterr()

    config.write_text("_target_: audiogen.data.degrade.RecordedNoise\nsnr_db: [0, 5]\n")
    assert main(["data", "degrade", "--manifest", str(tmp_path / "two.jsonl"), "--out",
                 str(tmp_path / "other"), "--config", str(config)]) == 1
    error = capsys.readouterr().err
    assert error.strip() == f"audiogen: error: {config}: missing required key 'source'"
    config.write_text("_target_: audiogen.data.degrade.Codec\ncodec: aac\n")
    assert main(["data", "degrade", "--manifest", str(tmp_path / "two.jsonl"), "--out",
                 str(tmp_path / "other"), "--config", str(config)]) == 1
    assert f"error: {config}: Codec.codec: 'aac'" in capsys.readouterr().err


def test_quality_degrade_still_runs_every_standard_condition(tiny_corpus: Path,
                                                            tmp_path: Path) -> None:
    rows = manifest.read(tiny_corpus / "train.jsonl")[:4]
    manifest.write(tmp_path / "four.jsonl", rows, relative=False)
    assert main(["quality", "degrade", "--manifest", str(tmp_path / "four.jsonl"), "--out",
                 str(tmp_path / "q"), "--copies", "4", "--seed", "2"]) == 0
    written = manifest.read(tmp_path / "q" / "manifest.jsonl")
    assert len(written) == 16
    for row in written:
        assert soundfile.info(row.path).frames == soundfile.info(row.extra["clean_path"]).frames
