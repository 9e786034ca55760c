"""LJ Speech 1.1: 13,100 clips (about 24 h) of one English speaker reading, public domain.

Either point ``data_root`` at an existing copy (the ``LJSpeech-1.1`` folder holding
``metadata.csv`` and ``wavs/``, or its parent) or let the builder download the official archive
(2.6 GB, SHA-256 verified) into ``DIR/downloads`` and unpack it into ``DIR/source``. Manifests
reference the wavs in place with absolute paths; nothing is copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from audiogen.data.corpora.base import (
    Collected,
    LocalCopyBuilder,
    SkippedFile,
    download_file,
    extract_archive,
    progress_bar,
    read_header,
)
from audiogen.data.manifest import Utterance
from audiogen.errors import AudioError, DataError

ARCHIVE = "LJSpeech-1.1.tar.bz2"
URL = f"https://data.keithito.com/data/speech/{ARCHIVE}"
SHA256 = "be1a30453f28eb8dd26af4101ae40cbf2c50413b1bb21936cbcdc6fae3de8aa5"
FOLDER = "LJSpeech-1.1"
SPEAKER = "LJ"


@dataclass
class LJSpeechBuilder(LocalCopyBuilder):
    """LJ Speech 1.1 (22.05 kHz, one speaker "LJ"); text = the normalized transcription.

    Args:
        data_root: an existing copy; when unset the official archive is downloaded.
    """

    name: ClassVar[str] = "ljspeech"
    def collect(self, out: Path, progress: bool) -> Collected:
        """Index ``metadata.csv`` and read the header of every listed wav."""
        root = self.locate(out, progress)
        entries, skipped = read_metadata(root / "metadata.csv")
        utterances = []
        for utterance_id, text in progress_bar(entries, "read headers", progress):
            path = root / "wavs" / f"{utterance_id}.wav"
            try:
                sample_rate, frames = read_header(path)
            except AudioError as error:
                skipped.append(SkippedFile(str(path), error.reason))
                continue
            utterances.append(Utterance(
                id=utterance_id, path=str(path), duration=frames / sample_rate,
                sample_rate=sample_rate, speaker=SPEAKER, text=text,
            ))
        return Collected(utterances, skipped)

    def locate(self, out: Path, progress: bool) -> Path:
        """The corpus folder: ``data_root``, an earlier download, or a fresh download."""
        if self.data_root is not None:
            return find_corpus_folder(self.data_root)
        source = out.resolve() / "source"
        if not source.is_dir():
            archive = download_file(URL, out / "downloads" / ARCHIVE, SHA256, progress)
            extract_archive(archive, source)
        return find_corpus_folder(source)


def find_corpus_folder(path: Path) -> Path:
    """The folder holding ``metadata.csv`` and ``wavs/``: ``path`` or its ``LJSpeech-1.1``."""
    for candidate in (path, path / FOLDER):
        if (candidate / "metadata.csv").is_file() and (candidate / "wavs").is_dir():
            return candidate
    raise DataError(f"ljspeech: no metadata.csv and wavs/ in {path} or {path / FOLDER}")


def read_metadata(path: Path) -> tuple[list[tuple[str, str]], list[SkippedFile]]:
    """(id, normalized text) per line of ``id|text|normalized text``; malformed lines skipped."""
    entries, skipped = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) != 3 or not fields[0] or not (fields[2] or fields[1]).strip():
            skipped.append(SkippedFile(f"{path}:{number}", "expected 'id|text|normalized text'"))
            continue
        entries.append((fields[0], (fields[2] or fields[1]).strip()))
    return entries, skipped
