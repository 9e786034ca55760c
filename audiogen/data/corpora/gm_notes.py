"""NSynth-like single notes: General MIDI programs rendered with FluidSynth and FluidR3 GM.

Each note is a one-note Standard MIDI File (kept in ``DIR/midi``) rendered offline by the
``fluidsynth`` command with reverb and chorus off, mixed to mono and cut to
``note_seconds + release_seconds``; like NSynth, a note is held for ``note_seconds`` and then
released. Needs the Debian packages ``fluidsynth`` and ``fluid-soundfont-gm`` (MIT license).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from torch import Tensor

from audiogen.audio import crop_or_pad, load, save
from audiogen.data.corpora.base import (
    Collected,
    CorpusBuilder,
    SkippedFile,
    copy_file,
    map_files,
)
from audiogen.data.manifest import Utterance
from audiogen.errors import AudioError, DataError
from audiogen.utils import atomic_write

DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SOUNDFONT_COPYRIGHT = Path("/usr/share/doc/fluid-soundfont-gm/copyright")
INSTALL_HINT = "apt-get install fluidsynth fluid-soundfont-gm"
# One program per NSynth instrument family: bass, brass, flute, guitar, keyboard, mallet, organ,
# reed, string, synth lead, vocal.
DEFAULT_PROGRAMS = (33, 56, 73, 24, 0, 12, 19, 65, 40, 81, 52)
DEFAULT_PITCHES = tuple(range(36, 85, 6))
DEFAULT_VELOCITIES = (25, 50, 75, 100, 127)
SYNTH_GAIN = 0.8
SILENCE_PEAK = 1e-4
TICKS_PER_QUARTER = 1000
MICROSECONDS_PER_QUARTER = 1_000_000  # with 1000 ticks per quarter note, one tick is 1 ms
ALL_SOUND_OFF = 120  # MIDI controller that silences every voice at once

GM_PROGRAM_NAMES = (
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
    "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavi",
    "Celesta", "Glockenspiel", "Music Box", "Vibraphone",
    "Marimba", "Xylophone", "Tubular Bells", "Dulcimer",
    "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ",
    "Reed Organ", "Accordion", "Harmonica", "Tango Accordion",
    "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)", "Electric Guitar (jazz)",
    "Electric Guitar (clean)", "Electric Guitar (muted)", "Overdriven Guitar",
    "Distortion Guitar", "Guitar Harmonics",
    "Acoustic Bass", "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass",
    "Slap Bass 1", "Slap Bass 2", "Synth Bass 1", "Synth Bass 2",
    "Violin", "Viola", "Cello", "Contrabass",
    "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp", "Timpani",
    "String Ensemble 1", "String Ensemble 2", "Synth Strings 1", "Synth Strings 2",
    "Choir Aahs", "Voice Oohs", "Synth Voice", "Orchestra Hit",
    "Trumpet", "Trombone", "Tuba", "Muted Trumpet",
    "French Horn", "Brass Section", "Synth Brass 1", "Synth Brass 2",
    "Soprano Sax", "Alto Sax", "Tenor Sax", "Baritone Sax",
    "Oboe", "English Horn", "Bassoon", "Clarinet",
    "Piccolo", "Flute", "Recorder", "Pan Flute",
    "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina",
    "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)",
    "Lead 5 (charang)", "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)",
    "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)", "Pad 4 (choir)",
    "Pad 5 (bowed)", "Pad 6 (metallic)", "Pad 7 (halo)", "Pad 8 (sweep)",
    "FX 1 (rain)", "FX 2 (soundtrack)", "FX 3 (crystal)", "FX 4 (atmosphere)",
    "FX 5 (brightness)", "FX 6 (goblins)", "FX 7 (echoes)", "FX 8 (sci-fi)",
    "Sitar", "Banjo", "Shamisen", "Koto",
    "Kalimba", "Bagpipe", "Fiddle", "Shanai",
    "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock",
    "Taiko Drum", "Melodic Tom", "Synth Drum", "Reverse Cymbal",
    "Guitar Fret Noise", "Breath Noise", "Seashore", "Bird Tweet",
    "Telephone Ring", "Helicopter", "Applause", "Gunshot",
)


@dataclass(frozen=True)
class Note:
    """One note to render: GM program (0-based), MIDI pitch and velocity."""

    program: int
    pitch: int
    velocity: int

    @property
    def instrument(self) -> str:
        """The GM program name as an identifier, e.g. ``acoustic_grand_piano``."""
        return instrument_name(self.program)

    @property
    def id(self) -> str:
        """NSynth-style id, e.g. ``acoustic_grand_piano-060-100``."""
        return f"{self.instrument}-{self.pitch:03d}-{self.velocity:03d}"


@dataclass
class GmNotesBuilder(CorpusBuilder):
    """Single notes of General MIDI instruments, rendered with FluidSynth (NSynth-like).

    Args:
        programs: GM program numbers, 0-based (0 = Acoustic Grand Piano, 127 = Gunshot).
        pitches: MIDI note numbers (60 = middle C).
        velocities: MIDI velocities, 1-127.
        note_seconds: how long each note is held before its note-off.
        release_seconds: audio kept after the note-off.
        sample_rate: rendering rate in Hz.
        soundfont: the SoundFont 2 file (default: FluidR3 GM from ``fluid-soundfont-gm``).
    """

    name: ClassVar[str] = "gm_notes"
    programs: Sequence[int] = DEFAULT_PROGRAMS
    pitches: Sequence[int] = DEFAULT_PITCHES
    velocities: Sequence[int] = DEFAULT_VELOCITIES
    note_seconds: float = 3.0
    release_seconds: float = 1.0
    sample_rate: int = 24000
    soundfont: Path = DEFAULT_SOUNDFONT

    def __post_init__(self) -> None:
        self.programs = _midi_values("programs", self.programs, 0)
        self.pitches = _midi_values("pitches", self.pitches, 0)
        self.velocities = _midi_values("velocities", self.velocities, 1)
        self.soundfont = Path(self.soundfont)
        if self.note_seconds <= 0 or self.release_seconds < 0:
            raise DataError("gm_notes: note_seconds must be > 0 and release_seconds >= 0")
        if not 8000 <= self.sample_rate <= 96000:
            raise DataError(f"gm_notes: sample_rate {self.sample_rate} outside 8000-96000 Hz")

    def notes(self) -> list[Note]:
        """Every (program, pitch, velocity) combination, in a fixed order."""
        return [Note(program, pitch, velocity) for program in self.programs
                for pitch in self.pitches for velocity in self.velocities]

    def collect(self, out: Path, progress: bool) -> Collected:
        """Render every note to ``out/notes/<instrument>/<id>.wav`` (in parallel); keep licenses."""
        fluidsynth = require_fluidsynth(self.soundfont)
        if self.soundfont == DEFAULT_SOUNDFONT and SOUNDFONT_COPYRIGHT.is_file():
            copy_file(SOUNDFONT_COPYRIGHT, out / "licenses" / "fluid-soundfont-gm.copyright")
        return map_files(lambda note: self._render(fluidsynth, note, out), self.notes(),
                         "render notes", progress)

    def _render(self, fluidsynth: str, note: Note, out: Path) -> Utterance | SkippedFile:
        midi = out / "midi" / note.instrument / f"{note.id}.mid"
        target = out / "notes" / note.instrument / f"{note.id}.wav"
        write_bytes(midi, single_note_midi(note, self.note_seconds, self.release_seconds))
        try:
            length = round((self.note_seconds + self.release_seconds) * self.sample_rate)
            wave = render_midi(fluidsynth, self.soundfont, midi, self.sample_rate)
            wave = crop_or_pad(wave, length)
            if wave.abs().amax() < SILENCE_PEAK:
                raise AudioError(midi, "rendered silence (no sound for this program and pitch)")
            save(target, wave, self.sample_rate)
        except AudioError as error:
            return SkippedFile(str(midi), error.reason)
        return Utterance(
            id=note.id, path=str(target), duration=length / self.sample_rate,
            sample_rate=self.sample_rate, speaker=note.instrument,
            label={"program": note.program, "instrument": note.instrument,
                   "pitch": note.pitch, "velocity": note.velocity},
        )


def write_bytes(path: Path, data: bytes) -> Path:
    """Write bytes atomically."""
    def write(temporary: str) -> None:
        Path(temporary).write_bytes(data)

    return atomic_write(path, write)


def instrument_name(program: int) -> str:
    """A GM program's name as an identifier, e.g. ``acoustic_guitar_nylon``."""
    return re.sub(r"[^a-z0-9]+", "_", GM_PROGRAM_NAMES[program].lower()).strip("_")


def require_fluidsynth(soundfont: Path) -> str:
    """The ``fluidsynth`` command's path; DataError naming the packages to install if missing."""
    fluidsynth = shutil.which("fluidsynth")
    missing = []
    if fluidsynth is None:
        missing.append("the fluidsynth command")
    if not soundfont.is_file():
        missing.append(f"the soundfont {soundfont}")
    if missing:
        raise DataError(f"gm_notes needs {' and '.join(missing)}; install them with "
                        f"`{INSTALL_HINT}` (Debian/Ubuntu)")
    return str(fluidsynth)


def render_midi(fluidsynth: str, soundfont: Path, midi: Path, sample_rate: int) -> Tensor:
    """Render a MIDI file offline with FluidSynth (no reverb or chorus); mono (1, time) audio."""
    with tempfile.TemporaryDirectory(prefix="gm_notes-") as temporary:
        rendered = Path(temporary) / "render.wav"
        command = [fluidsynth, "-ni", "-q", "-R", "0", "-C", "0", "-g", str(SYNTH_GAIN),
                   "-o", "synth.dynamic-sample-loading=1",
                   "-r", str(sample_rate), "-T", "wav", "-F", str(rendered),
                   str(soundfont), str(midi)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0 or not rendered.is_file():
            raise AudioError(midi, f"fluidsynth failed ({result.stderr.strip()[-300:]})")
        wave, _ = load(rendered, sample_rate=sample_rate, channels="mono")
    return wave


def single_note_midi(note: Note, note_seconds: float, release_seconds: float) -> bytes:
    """A format-0 Standard MIDI File: program change, one note on channel 1, then its release.

    Time is in milliseconds (1000 ticks per quarter note at 1,000,000 microseconds per quarter).
    """
    held = round(note_seconds * 1000)
    release = round(release_seconds * 1000)
    events = b"".join([
        _variable_length(0) + b"\xff\x51\x03" + MICROSECONDS_PER_QUARTER.to_bytes(3, "big"),
        _variable_length(0) + bytes([0xC0, note.program]),
        _variable_length(0) + bytes([0x90, note.pitch, note.velocity]),
        _variable_length(held) + bytes([0x80, note.pitch, 0]),
        _variable_length(release) + bytes([0xB0, ALL_SOUND_OFF, 0]),
        _variable_length(0) + b"\xff\x2f\x00",
    ])
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_QUARTER)
    return header + b"MTrk" + struct.pack(">I", len(events)) + events


def _variable_length(value: int) -> bytes:
    """MIDI variable-length quantity: 7 bits a byte, most significant first."""
    groups = [value & 0x7F]
    value >>= 7
    while value:
        groups.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(groups))


def _midi_values(option: str, values: Sequence[int], lowest: int) -> tuple[int, ...]:
    checked = tuple(int(value) for value in values)
    if not checked or any(not lowest <= value <= 127 for value in checked):
        raise DataError(f"gm_notes: {option} must be a non-empty list of integers in "
                        f"{lowest}-127, got {list(values)}")
    return checked
