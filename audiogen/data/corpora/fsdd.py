"""Free Spoken Digit Dataset: 3,000 recordings of the digits 0-9, 6 speakers, 8 kHz, CC BY-SA 4.0.

Files are named ``{digit}_{speaker}_{take}.wav``. The official test split is takes 0-4 of
every digit and speaker; this builder takes takes 5-9 as the validation split and the rest as
training data. Either point ``data_root`` at an existing copy (the folder holding
``recordings/`` or ``recordings`` itself) or let the builder download the repository archive at
commit 26eb9aa into ``DIR/downloads``; a download is checked against the SHA-256 of its
recordings (:data:`RECORDINGS_SHA256`). Manifests reference the wavs in place (absolute paths).
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from audiogen.data.corpora.base import (
    SPLITS,
    Collected,
    LocalCopyBuilder,
    SkippedFile,
    extract_archive,
    fetch_file,
    progress_bar,
    read_header,
)
from audiogen.data.manifest import Utterance
from audiogen.errors import AudioError, DataError
from audiogen.utils import file_sha256

COMMIT = "26eb9aa"
URL = f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/{COMMIT}.tar.gz"
# GitHub builds archives on demand and does not promise stable bytes, so the check is on what
# matters, the recordings: the SHA-256 of the `sha256sum` listing of the 3,000 wavs in C-locale
# name order. Reproduce it with coreutils:
#   cd recordings && LC_ALL=C ls *.wav | xargs sha256sum | sha256sum
RECORDINGS_SHA256 = "1801eae019c063377d98f831d3f93574f259475df7332bb0e3d1b080fb5e6959"
FILE_NAME = re.compile(r"(?P<digit>[0-9])_(?P<speaker>[^_]+)_(?P<take>[0-9]+)\.wav")
TEST_TAKES = range(0, 5)
VALID_TAKES = range(5, 10)


@dataclass
class FsddBuilder(LocalCopyBuilder):
    """Free Spoken Digit Dataset; speaker from the file name, label = the digit (int).

    Args:
        data_root: an existing copy; when unset the archive of commit 26eb9aa is downloaded.
    """

    name: ClassVar[str] = "fsdd"
    def collect(self, out: Path, progress: bool) -> Collected:
        """Index every ``recordings/*.wav`` whose name parses, reading its header."""
        recordings = self.locate(out, progress)
        utterances, skipped = [], []
        for path in progress_bar(sorted(recordings.glob("*.wav")), "read headers", progress):
            try:
                utterances.append(describe_recording(path))
            except AudioError as error:
                skipped.append(SkippedFile(str(path), error.reason))
        return Collected(utterances, skipped)

    def assign_splits(self, utterances: list[Utterance]) -> dict[str, list[Utterance]]:
        """Official test split (takes 0-4), valid = takes 5-9, train = the rest."""
        splits: dict[str, list[Utterance]] = {split: [] for split in SPLITS}
        for utterance in utterances:
            take = utterance.extra["take"]
            split = "test" if take in TEST_TAKES else "valid" if take in VALID_TAKES else "train"
            splits[split].append(utterance)
        return splits

    def locate(self, out: Path, progress: bool) -> Path:
        """The recordings folder: in ``data_root``, an earlier download, or a fresh download."""
        if self.data_root is not None:
            return find_recordings(self.data_root)
        source = out.resolve() / "source"
        if not source.is_dir():
            archive = fetch_file(URL, out / "downloads" / f"fsdd-{COMMIT}.tar.gz", progress)
            extract_archive(archive, source)
            recordings = find_recordings(source)
            digest = recordings_digest(recordings)
            if digest != RECORDINGS_SHA256:
                shutil.rmtree(source)
                raise DataError(f"fsdd: the recordings in {archive} do not match commit "
                                f"{COMMIT} (content SHA-256 {digest}, expected "
                                f"{RECORDINGS_SHA256}); delete the archive and download it "
                                "again, or pass an existing copy as data_root")
        return find_recordings(source)


def find_recordings(path: Path) -> Path:
    """``path/recordings``, ``path`` itself when it holds the wavs, or ``path/*/recordings``."""
    candidates = [path / "recordings", path, *sorted(path.glob("*/recordings"))]
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.glob("*.wav")):
            return candidate
    raise DataError(f"fsdd: no recordings/*.wav in {path}")


def recordings_digest(folder: Path) -> str:
    """SHA-256 of the ``sha256sum`` listing ("<hash>  <name>" lines) of ``folder/*.wav`` in
    C-locale name order: a checksum of the recordings, not of the archive's bytes."""
    listing = "".join(f"{file_sha256(path)}  {path.name}\n"
                      for path in sorted(folder.glob("*.wav"), key=lambda p: p.name.encode()))
    return hashlib.sha256(listing.encode()).hexdigest()


def describe_recording(path: Path) -> Utterance:
    """Manifest entry of a ``{digit}_{speaker}_{take}.wav``; AudioError for other names or audio."""
    match = FILE_NAME.fullmatch(path.name)
    if match is None:
        raise AudioError(path, "name is not {digit}_{speaker}_{take}.wav")
    sample_rate, frames = read_header(path)
    return Utterance(
        id=path.stem, path=str(path), duration=frames / sample_rate, sample_rate=sample_rate,
        speaker=match["speaker"], label=int(match["digit"]), extra={"take": int(match["take"])},
    )
