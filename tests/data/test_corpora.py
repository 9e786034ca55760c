"""Tests of the corpus builders: registry, splits, idempotency, skipped files, each corpus."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import soundfile
import torch

from audiogen.audio import save
from audiogen.data import manifest
from audiogen.data.corpora import BUILDERS, build_corpus, option_names
from audiogen.data.corpora.asterisk import AsteriskBuilder, decode_g722
from audiogen.data.corpora.base import (
    SPLITS,
    STAMP_NAME,
    Collected,
    CorpusBuilder,
    SkippedFile,
    download_file,
    extract_archive,
    read_header,
    split_by_hash,
)
from audiogen.data.corpora.fsdd import (
    RECORDINGS_SHA256,
    FsddBuilder,
    find_recordings,
    recordings_digest,
)
from audiogen.data.corpora.gm_notes import (
    DEFAULT_SOUNDFONT,
    INSTALL_HINT,
    GmNotesBuilder,
    Note,
    single_note_midi,
)
from audiogen.data.corpora.ljspeech import LJSpeechBuilder
from audiogen.data.corpora.sonicpi import SonicPiBuilder, license_of, parse_copyright
from audiogen.data.manifest import Utterance
from audiogen.errors import AudioError, DataError
from audiogen.utils import file_sha256

SHARED_DATA = Path(__file__).parents[2].parent / "shared" / "data"
LJSPEECH_MINI = SHARED_DATA / "ljspeech_mini" / "LJSpeech-1.1"
FSDD = SHARED_DATA / "fsdd"
needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb not installed")


def tone(seconds: float, sample_rate: int, frequency: float = 440.0) -> torch.Tensor:
    """A (1, time) sine at -10 dBFS."""
    time = torch.arange(round(seconds * sample_rate)) / sample_rate
    return 0.3 * torch.sin(2 * torch.pi * frequency * time)[None]


def read_all(out: Path) -> dict[str, list[Utterance]]:
    """Every split's manifest of a built corpus."""
    return {split: manifest.read(out / f"{split}.jsonl") for split in SPLITS}


def make_deb(tmp_path: Path, package: str, files: dict[str, bytes]) -> Path:
    """Build a .deb holding ``files`` (relative path -> bytes) into ``tmp_path/out/downloads``."""
    root = tmp_path / "trees" / package
    downloads = tmp_path / "out" / "downloads"
    for relative, data in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: 1.0\nArchitecture: all\n"
        "Maintainer: Test <test@example.org>\nDescription: test fixture\n")
    downloads.mkdir(parents=True, exist_ok=True)
    deb = downloads / f"{package}_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--build", str(root), str(deb)], check=True, capture_output=True)
    return deb


def g722_bytes(tmp_path: Path, seconds: float, frequency: float = 440.0) -> bytes:
    """A raw G.722 bitstream of a sine, encoded with PyAV (skips the test without an encoder)."""
    import av

    if "g722" not in av.codecs_available:
        pytest.skip("PyAV has no G.722 codec")
    path = tmp_path / f"tone-{frequency:.0f}-{seconds}.g722"
    samples = (tone(seconds, 16000, frequency).numpy() * 32767).astype(np.int16)
    with av.open(str(path), "w", format="g722") as container:
        stream = container.add_stream("g722", rate=16000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path.read_bytes()


@dataclass
class ToneBuilder(CorpusBuilder):
    """A synthetic corpus: sines per speaker, plus one unreadable file."""

    name: ClassVar[str] = "tones"
    collect_calls: ClassVar[list[Path]] = []
    speakers: int = 3
    files_per_speaker: int = 20

    def collect(self, out: Path, progress: bool) -> Collected:
        ToneBuilder.collect_calls.append(out)
        utterances = []
        for speaker in range(self.speakers):
            for index in range(self.files_per_speaker):
                path = save(out / "wavs" / f"s{speaker}_{index}.wav", tone(0.05, 8000), 8000)
                utterances.append(Utterance(id=path.stem, path=str(path), duration=0.05,
                                            sample_rate=8000, speaker=f"s{speaker}"))
        broken = out / "wavs" / "broken.wav"
        broken.write_bytes(b"this is not a wav file")
        try:
            read_header(broken)
        except AudioError as error:
            return Collected(utterances, [SkippedFile(str(broken), error.reason)])
        raise AssertionError("a garbage file must not parse as audio")


@pytest.fixture
def tone_builder():
    ToneBuilder.collect_calls.clear()
    return ToneBuilder


def test_registry_maps_names_to_builders():
    assert set(BUILDERS) == {"asterisk", "sonicpi", "gm_notes", "ljspeech", "fsdd"}
    for name, builder in BUILDERS.items():
        assert issubclass(builder, CorpusBuilder) and builder.name == name
    assert option_names("asterisk") == ["voices"]


def test_unknown_corpus_lists_valid_names(tmp_path):
    with pytest.raises(DataError, match="unknown corpus 'nope'.*asterisk.*fsdd"):
        build_corpus("nope", tmp_path)


def test_unknown_option_names_it_and_the_valid_ones(tmp_path):
    with pytest.raises(DataError, match="unknown option.*speed.*'fsdd'.*valid options: data_root"):
        build_corpus("fsdd", tmp_path, speed=3)


def test_split_is_deterministic_and_covers_every_speaker_in_every_split(tone_builder, tmp_path):
    utterances = [Utterance(id=f"{speaker}/{index}", path="x.wav", duration=1.0,
                            sample_rate=8000, speaker=speaker)
                  for speaker in ("a", "b", "c") for index in range(40)]
    utterances.append(Utterance(id="tiny/0", path="x.wav", duration=1.0, sample_rate=8000,
                                speaker="tiny"))
    splits = split_by_hash(utterances)
    again = split_by_hash(list(reversed(utterances)))
    assert {s: [u.id for u in items] for s, items in splits.items()} == \
           {s: [u.id for u in items] for s, items in again.items()}
    ids = [u.id for items in splits.values() for u in items]
    assert sorted(ids) == sorted(u.id for u in utterances)
    for split in SPLITS:
        assert {"a", "b", "c"} <= {u.speaker for u in splits[split]}
    assert [u.id for u in splits["train"] if u.speaker == "tiny"] == ["tiny/0"]
    assert 30 <= sum(u.speaker == "a" for u in splits["train"]) <= 38


def test_build_writes_manifests_skipped_list_and_stamp(tone_builder, tmp_path, capsys):
    report = tone_builder().build(tmp_path / "corpus")
    out = tmp_path / "corpus"
    assert not report.no_op and report.total_files == 60
    splits = read_all(out)
    assert {split: len(items) for split, items in splits.items()} == report.files
    assert all({u.speaker for u in splits[split]} == {"s0", "s1", "s2"} for split in SPLITS)
    assert all(Path(u.path).is_file() for items in splits.values() for u in items)
    assert json.loads((out / "train.jsonl").read_text().splitlines()[0])["path"].startswith("wavs/")
    listed = (out / "skipped.txt").read_text().splitlines()
    assert len(listed) == 1 and listed[0].startswith(str(out / "wavs" / "broken.wav") + "\t")
    stamp = json.loads((out / STAMP_NAME).read_text())
    assert stamp["options"] == {"speakers": 3, "files_per_speaker": 20}
    assert stamp["manifest_sha256"]["test"] == file_sha256(out / "test.jsonl")
    printed = capsys.readouterr().out
    assert "60 files" in printed and "1 files skipped" in printed


def test_second_build_with_same_options_is_a_verified_no_op(tone_builder, tmp_path):
    out = tmp_path / "corpus"
    first = tone_builder().build(out, progress=False)
    second = tone_builder().build(out, progress=False)
    assert second.no_op and len(tone_builder.collect_calls) == 1
    assert (second.files, second.hours, second.skipped) == (first.files, first.hours, first.skipped)


def test_changed_options_or_missing_audio_trigger_a_rebuild(tone_builder, tmp_path):
    out = tmp_path / "corpus"
    tone_builder().build(out, progress=False)
    changed = tone_builder(files_per_speaker=10).build(out, progress=False)
    assert not changed.no_op and changed.total_files == 30
    Path(manifest.read(out / "valid.jsonl")[0].path).unlink()
    repaired = tone_builder(files_per_speaker=10).build(out, progress=False)
    assert not repaired.no_op and len(tone_builder.collect_calls) == 3
    assert all(Path(u.path).is_file() for items in read_all(out).values() for u in items)


def test_edited_manifest_triggers_a_rebuild(tone_builder, tmp_path):
    out = tmp_path / "corpus"
    tone_builder().build(out, progress=False)
    (out / "test.jsonl").write_text("")
    assert not tone_builder().build(out, progress=False).no_op
    assert len(manifest.read(out / "test.jsonl")) > 0


def test_download_verifies_sha256(tmp_path):
    source = tmp_path / "payload.bin"
    source.write_bytes(b"corpus bytes")
    good = download_file(source.as_uri(), tmp_path / "a" / "payload.bin",
                         file_sha256(source), progress=False)
    assert good.read_bytes() == b"corpus bytes"
    with pytest.raises(DataError, match="SHA-256"):
        download_file(source.as_uri(), tmp_path / "b" / "payload.bin", "0" * 64, progress=False)
    with pytest.warns(UserWarning, match="not verified"):
        download_file(source.as_uri(), tmp_path / "c" / "payload.bin", None, progress=False)
    with pytest.raises(DataError, match="cannot download"):
        download_file((tmp_path / "absent").as_uri(), tmp_path / "d" / "x", None, progress=False)


def test_extract_archive_is_complete_or_absent(tmp_path):
    (tmp_path / "tree" / "recordings").mkdir(parents=True)
    (tmp_path / "tree" / "recordings" / "a.txt").write_text("a")
    archive = tmp_path / "tree.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "tree", arcname="tree")
    extracted = extract_archive(archive, tmp_path / "source")
    assert (extracted / "tree" / "recordings" / "a.txt").read_text() == "a"
    assert not list(tmp_path.glob(".*partial"))
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not an archive")
    with pytest.raises(DataError, match="cannot unpack"):
        extract_archive(broken, tmp_path / "other")
    assert not (tmp_path / "other").exists()


def test_decode_g722_recovers_a_16khz_sine(tmp_path):
    path = tmp_path / "tone.g722"
    path.write_bytes(g722_bytes(tmp_path, 0.5, 440.0))
    samples, sample_rate = decode_g722(path)
    assert sample_rate == 16000 and samples.dtype == np.float32
    assert abs(len(samples) - 8000) <= 160
    spectrum = np.abs(np.fft.rfft(samples))
    peak = np.fft.rfftfreq(len(samples), 1 / sample_rate)[spectrum.argmax()]
    assert peak == pytest.approx(440, abs=4)
    (tmp_path / "empty.g722").write_bytes(b"")
    with pytest.raises(AudioError, match="no audio"):
        decode_g722(tmp_path / "empty.g722")


@needs_dpkg
def test_asterisk_build_from_a_local_package(tmp_path):
    voice, package = "en_US_f_Allison", "asterisk-core-sounds-en-g722"
    sounds = f"usr/share/asterisk/sounds/{voice}"
    make_deb(tmp_path, package, {
        f"{sounds}/hello.g722": g722_bytes(tmp_path, 0.4, 300.0),
        f"{sounds}/digits/1.g722": g722_bytes(tmp_path, 0.3, 500.0),
        f"{sounds}/digits/2.g722": g722_bytes(tmp_path, 0.2, 700.0),
        f"{sounds}/silence/1.g722": g722_bytes(tmp_path, 0.1, 100.0),
        f"{sounds}/broken.g722": b"",
        f"usr/share/doc/{package}/copyright": b"License: CC-BY-SA-3.0\n",
    })
    report = AsteriskBuilder(voices=[voice]).build(tmp_path / "out", progress=False)
    out = tmp_path / "out"
    ids = {u.id: u for items in read_all(out).values() for u in items}
    assert set(ids) == {f"{voice}/hello", f"{voice}/digits/1", f"{voice}/digits/2"}
    assert report.files == {"train": 1, "valid": 1, "test": 1} and report.speakers == [voice]
    wav = out / "wavs" / voice / "digits" / "1.wav"
    meta = soundfile.info(str(wav))
    assert (meta.samplerate, meta.channels, meta.subtype) == (16000, 1, "PCM_16")
    assert ids[f"{voice}/digits/1"].duration == pytest.approx(0.3, abs=0.01)
    assert [item.path for item in report.skipped] == [str(out / "extract" / sounds / "broken.g722")]
    assert (out / "licenses" / f"{package}.copyright").read_text().startswith("License")
    assert AsteriskBuilder(voices=[voice]).build(out, progress=False).no_op


def test_asterisk_rejects_unknown_voices():
    with pytest.raises(DataError, match="unknown voice.*en_GB_x.*valid voices: en_US_f_Allison"):
        AsteriskBuilder(voices=["en_GB_x"])


@pytest.mark.slow
def test_asterisk_real_build_of_one_voice(tmp_path):
    if shutil.which("apt-get") is None:
        pytest.skip("apt-get not available")
    report = build_corpus("asterisk", tmp_path, voices=["it_IT_m_Carlo"], progress=False)
    assert report.total_files >= 500 and all(report.files[split] > 0 for split in SPLITS)
    assert not report.skipped
    assert (tmp_path / "licenses" / "asterisk-core-sounds-it-g722.copyright").is_file()
    assert build_corpus("asterisk", tmp_path, voices=["it_IT_m_Carlo"], progress=False).no_op


COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: 2016 Someone
License: MIT

Files: etc/samples/drum_a.flac
 etc/samples/bass_b.flac
Copyright: 2013 Someone Else
Source: http://freesound.org/people/x/sounds/1/
License: CC0

Files: etc/samples/bass_b.flac
License: CC-BY-SA-4.0

License: MIT
 Permission is hereby granted ...
"""


def test_copyright_parser_applies_the_last_matching_stanza():
    stanzas = parse_copyright(COPYRIGHT)
    assert license_of("etc/samples/drum_a.flac", stanzas).license == "CC0"
    assert license_of("etc/samples/drum_a.flac", stanzas).source.startswith("http://freesound")
    assert license_of("etc/samples/bass_b.flac", stanzas).license == "CC-BY-SA-4.0"
    assert license_of("etc/samples/loop_c.flac", stanzas).license == "MIT"


@needs_dpkg
def test_sonicpi_keeps_only_cc0_samples(tmp_path):
    def flac(seconds: float) -> bytes:
        path = save(tmp_path / f"sample-{seconds}.flac", tone(seconds, 44100), 44100)
        return path.read_bytes()

    samples = "usr/share/sonic-pi/samples"
    make_deb(tmp_path, "sonic-pi-samples", {
        f"{samples}/drum_a.flac": flac(0.2),
        f"{samples}/bass_b.flac": flac(0.3),
        f"{samples}/loop_c.flac": flac(0.4),
        "usr/share/doc/sonic-pi-samples/copyright": COPYRIGHT.encode(),
    })
    report = SonicPiBuilder().build(tmp_path / "out", progress=False)
    entries = [u for items in read_all(tmp_path / "out").values() for u in items]
    assert [(u.id, u.label, u.sample_rate, u.speaker) for u in entries] == \
           [("drum_a", "drum", 44100, "sonicpi")]
    assert entries[0].extra["license"] == "CC0" and report.total_files == 1
    kept_audio = sorted(p.name for p in (tmp_path / "out").rglob("*.flac"))
    assert kept_audio == ["drum_a.flac"]
    assert (tmp_path / "out" / "licenses" / "sonic-pi-samples.copyright").is_file()


@pytest.mark.slow
def test_sonicpi_real_build(tmp_path):
    if shutil.which("apt-get") is None:
        pytest.skip("apt-get not available")
    report = build_corpus("sonicpi", tmp_path, progress=False)
    entries = [u for items in read_all(tmp_path).values() for u in items]
    assert report.total_files >= 100 and {u.extra["license"] for u in entries} == {"CC0"}
    assert {u.sample_rate for u in entries} == {44100}


def test_single_note_midi_is_a_well_formed_file():
    data = single_note_midi(Note(program=40, pitch=60, velocity=90), 0.5, 0.25)
    assert data[:4] == b"MThd" and data[14:18] == b"MTrk"
    assert int.from_bytes(data[18:22], "big") == len(data) - 22
    assert bytes([0xC0, 40]) in data and bytes([0x90, 60, 90]) in data
    assert data.endswith(b"\xff\x2f\x00")
    assert bytes([0x83, 0x74, 0x80, 60, 0]) in data  # note-off 500 ticks (= 500 ms) later


def test_gm_notes_names_the_packages_when_fluidsynth_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    builder = GmNotesBuilder(programs=[0], pitches=[60], velocities=[100],
                             soundfont=tmp_path / "absent.sf2")
    with pytest.raises(DataError) as error:
        builder.build(tmp_path / "out", progress=False)
    assert INSTALL_HINT in str(error.value) and "fluidsynth command" in str(error.value)
    assert "absent.sf2" in str(error.value)


def test_gm_notes_rejects_out_of_range_options():
    with pytest.raises(DataError, match="programs"):
        GmNotesBuilder(programs=[128])
    with pytest.raises(DataError, match="velocities"):
        GmNotesBuilder(velocities=[0])


@pytest.mark.skipif(shutil.which("fluidsynth") is None or not DEFAULT_SOUNDFONT.is_file(),
                    reason=f"needs fluidsynth and the FluidR3 GM soundfont ({INSTALL_HINT})")
def test_gm_notes_renders_notes_at_the_requested_pitch(tmp_path):
    report = build_corpus("gm_notes", tmp_path, programs=[73], pitches=[69, 81],
                          velocities=[100], note_seconds=0.3, release_seconds=0.2,
                          sample_rate=16000, progress=False)
    entries = {u.id: u for items in read_all(tmp_path).values() for u in items}
    assert set(entries) == {"flute-069-100", "flute-081-100"} and report.speakers == ["flute"]
    for pitch, frequency in ((69, 440.0), (81, 880.0)):
        entry = entries[f"flute-{pitch:03d}-100"]
        assert entry.label == {"program": 73, "instrument": "flute", "pitch": pitch,
                               "velocity": 100}
        samples, sample_rate = soundfile.read(entry.path)
        assert (sample_rate, len(samples)) == (16000, 8000)
        spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
        peak = np.fft.rfftfreq(len(samples), 1 / sample_rate)[spectrum.argmax()]
        assert peak == pytest.approx(frequency, rel=0.03)
    assert (tmp_path / "midi" / "flute" / "flute-069-100.mid").is_file()
    assert (tmp_path / "licenses" / "fluid-soundfont-gm.copyright").is_file()


@pytest.mark.skipif(not LJSPEECH_MINI.is_dir(), reason=f"no LJSpeech copy at {LJSPEECH_MINI}")
@pytest.mark.parametrize("root", [LJSPEECH_MINI, LJSPEECH_MINI.parent])
def test_ljspeech_indexes_a_local_copy_in_place(tmp_path, root):
    report = build_corpus("ljspeech", tmp_path, data_root=root, progress=False)
    entries = {u.id: u for items in read_all(tmp_path).values() for u in items}
    assert report.total_files == 8 and report.speakers == ["LJ"] and not report.skipped
    first = entries["LJ001-0001"]
    assert first.text.startswith("Printing, in the only sense") and first.sample_rate == 22050
    assert Path(first.path) == LJSPEECH_MINI.resolve() / "wavs" / "LJ001-0001.wav"
    first_line = (tmp_path / "train.jsonl").read_text().splitlines()[0]
    assert Path(json.loads(first_line)["path"]).is_absolute()
    assert not list(tmp_path.rglob("*.wav"))


def test_ljspeech_lists_missing_wavs_and_malformed_lines(tmp_path):
    root = tmp_path / "LJSpeech-1.1"
    for index in range(1, 5):
        save(root / "wavs" / f"LJ001-000{index}.wav", tone(0.1, 22050), 22050)
    (root / "metadata.csv").write_text(
        "LJ001-0001|Dr. Smith|Doctor Smith\nLJ001-0002|a|a\nLJ001-0003|b|b\nLJ001-0004|c|c\n"
        "LJ001-0009|gone|gone\nbroken line\n")
    report = LJSpeechBuilder(data_root=tmp_path).build(tmp_path / "out", progress=False)
    entries = {u.id: u for items in read_all(tmp_path / "out").values() for u in items}
    assert entries["LJ001-0001"].text == "Doctor Smith" and report.total_files == 4
    skipped = (tmp_path / "out" / "skipped.txt").read_text()
    assert "LJ001-0009.wav\tfile not found" in skipped and "metadata.csv:6\t" in skipped


def test_ljspeech_without_a_corpus_folder_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no metadata.csv"):
        LJSpeechBuilder(data_root=tmp_path).build(tmp_path / "out", progress=False)


@pytest.mark.skipif(not (FSDD / "recordings").is_dir(), reason=f"no FSDD copy at {FSDD}")
def test_fsdd_uses_the_official_test_split(tmp_path):
    report = build_corpus("fsdd", tmp_path, data_root=FSDD, progress=False)
    splits = read_all(tmp_path)
    assert report.files == {"train": 2400, "valid": 300, "test": 300}
    assert {u.extra["take"] for u in splits["test"]} == set(range(5))
    assert {u.extra["take"] for u in splits["valid"]} == set(range(5, 10))
    assert min(u.extra["take"] for u in splits["train"]) == 10
    assert len(report.speakers) == 6 and {u.label for u in splits["test"]} == set(range(10))
    first = splits["test"][0]
    assert first.id == "0_george_0" and first.speaker == "george" and first.sample_rate == 8000
    assert Path(first.path) == (FSDD / "recordings" / "0_george_0.wav").resolve()
    assert find_recordings(FSDD / "recordings") == FSDD / "recordings"


def test_fsdd_skips_bad_names_and_unreadable_files(tmp_path):
    recordings = tmp_path / "fsdd" / "recordings"
    for take in range(12):
        save(recordings / f"3_ann_{take}.wav", tone(0.1, 8000), 8000)
    save(recordings / "notes.wav", tone(0.1, 8000), 8000)
    (recordings / "4_ann_20.wav").write_bytes(b"RIFF garbage")
    report = FsddBuilder(data_root=tmp_path / "fsdd").build(tmp_path / "out", progress=False)
    assert report.files == {"train": 2, "valid": 5, "test": 5} and report.speakers == ["ann"]
    reasons = dict(line.split("\t") for line in
                   (tmp_path / "out" / "skipped.txt").read_text().splitlines())
    assert set(reasons) == {str(recordings / "notes.wav"), str(recordings / "4_ann_20.wav")}
    assert "name is not" in reasons[str(recordings / "notes.wav")]


@pytest.mark.skipif(not (FSDD / "recordings").is_dir(), reason=f"no FSDD copy at {FSDD}")
def test_fsdd_recordings_checksum_matches_the_pinned_commit():
    assert recordings_digest(FSDD / "recordings") == RECORDINGS_SHA256


def test_a_downloaded_fsdd_whose_recordings_differ_is_refused(tmp_path):
    """The archive is already in downloads/ (so nothing is fetched) but holds other audio."""
    recordings = tmp_path / "pack" / "free-spoken-digit-dataset-26eb9aa" / "recordings"
    save(recordings / "3_ann_0.wav", tone(0.1, 8000), 8000)
    archive = tmp_path / "out" / "downloads" / "fsdd-26eb9aa.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(recordings.parent, arcname=recordings.parent.name)
    with pytest.raises(DataError, match="do not match commit 26eb9aa.*content SHA-256"):
        FsddBuilder().build(tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "source").exists()  # the mismatching copy is not kept
