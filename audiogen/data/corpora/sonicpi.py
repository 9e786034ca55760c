"""Sonic Pi's CC0 samples (drums, bass, loops, ambient, ...) from the Debian package.

``sonic-pi-samples`` ships FLAC samples from freesound.org. Its machine-readable copyright file
(DEP-5, ``usr/share/doc/sonic-pi-samples/copyright``) gives one ``Files:`` stanza per sample
with its author, source and license; samples without a stanza fall under the package-wide
``Files: *`` (MIT) stanza. Only samples whose stanza says CC0 enter the corpus; the package is
unpacked into a temporary folder, so no other sample stays in the output.
"""

from __future__ import annotations

import fnmatch
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import soundfile

from audiogen.data.corpora.base import (
    Collected,
    CorpusBuilder,
    SkippedFile,
    copy_file,
    download_debs,
    extract_deb,
    progress_bar,
    split_by_hash,
)
from audiogen.data.manifest import Utterance
from audiogen.errors import DataError

PACKAGE = "sonic-pi-samples"
SAMPLES_FOLDER = Path("usr/share/sonic-pi/samples")
COPYRIGHT_FILE = Path("usr/share/doc/sonic-pi-samples/copyright")
UPSTREAM_FOLDER = "etc/samples"  # where the copyright file's patterns place the samples
SUFFIXES = (".flac", ".wav")
SPEAKER = "sonicpi"


@dataclass(frozen=True)
class LicenseStanza:
    """One ``Files:`` paragraph of a DEP-5 copyright file."""

    patterns: tuple[str, ...]
    license: str
    source: str | None = None


@dataclass
class SonicPiBuilder(CorpusBuilder):
    """Sonic Pi's CC0 samples at their native 44.1 kHz; label = category (drum, loop, bass, ...)."""

    name: ClassVar[str] = "sonicpi"

    def collect(self, out: Path, progress: bool) -> Collected:
        """Download and unpack the package, then copy the CC0 samples to ``out/samples``."""
        deb = download_debs([PACKAGE], out / "downloads")[PACKAGE]
        with tempfile.TemporaryDirectory(dir=out, prefix=".extract-") as temporary:
            extract = extract_deb(deb, Path(temporary))
            copyright_file = extract / COPYRIGHT_FILE
            if not copyright_file.is_file():
                raise DataError(f"{PACKAGE}: {COPYRIGHT_FILE} is missing; cannot tell licenses")
            copy_file(copyright_file, out / "licenses" / f"{PACKAGE}.copyright")
            stanzas = parse_copyright(copyright_file.read_text(encoding="utf-8"))
            samples = sorted(p for p in (extract / SAMPLES_FOLDER).iterdir()
                             if p.suffix.lower() in SUFFIXES)
            utterances, skipped = [], []
            for source in progress_bar(samples, "check samples", progress):
                stanza = license_of(f"{UPSTREAM_FOLDER}/{source.name}", stanzas)
                if stanza is None or not is_cc0(stanza.license):
                    continue
                try:
                    utterances.append(keep_sample(source, out / "samples", stanza))
                except (RuntimeError, soundfile.LibsndfileError, ValueError) as error:
                    skipped.append(SkippedFile(str(source), f"cannot decode audio ({error})"))
        return Collected(utterances, skipped)

    def assign_splits(self, utterances: list[Utterance]) -> dict[str, list[Utterance]]:
        """Hash split per category, so every category with three samples is in every split."""
        return split_by_hash(utterances, group=lambda utterance: str(utterance.label))


def parse_copyright(text: str) -> list[LicenseStanza]:
    """The ``Files:`` stanzas of a DEP-5 copyright file, in file order."""
    stanzas = []
    for paragraph in re.split(r"\n[ \t]*\n", text):
        fields = parse_paragraph(paragraph)
        if "files" in fields and "license" in fields:
            stanzas.append(LicenseStanza(
                patterns=tuple(fields["files"].split()),
                license=fields["license"].splitlines()[0].strip(),
                source=fields.get("source", "").strip() or None,
            ))
    return stanzas


def parse_paragraph(paragraph: str) -> dict[str, str]:
    """Fields of one deb822 paragraph (lower-cased names; continuation lines joined by newlines)."""
    fields: dict[str, str] = {}
    current = None
    for line in paragraph.splitlines():
        if line[:1] in (" ", "\t") and current is not None:
            fields[current] += "\n" + line.strip()
        elif ":" in line:
            current, _, value = line.partition(":")
            current = current.strip().lower()
            fields[current] = value.strip()
    return fields


def license_of(path: str, stanzas: list[LicenseStanza]) -> LicenseStanza | None:
    """The stanza governing ``path``: the last one with a matching pattern (DEP-5 rule)."""
    governing = None
    for stanza in stanzas:
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in stanza.patterns):
            governing = stanza
    return governing


def is_cc0(license_name: str) -> bool:
    """Whether a DEP-5 license name is Creative Commons Zero (``CC0``, ``CC0-1.0``)."""
    return license_name.upper().split("-")[0] == "CC0"


def keep_sample(source: Path, samples: Path, stanza: LicenseStanza) -> Utterance:
    """Check that a sample decodes, copy it unchanged to ``samples/`` and describe it."""
    data, sample_rate = soundfile.read(str(source), dtype="float32", always_2d=True)
    if data.shape[0] == 0 or not np.isfinite(data).all():
        raise ValueError("empty audio or NaN/Inf samples")
    target = copy_file(source, samples / source.name)
    extra = {"license": stanza.license} | ({"source": stanza.source} if stanza.source else {})
    return Utterance(
        id=source.stem, path=str(target), duration=data.shape[0] / sample_rate,
        sample_rate=int(sample_rate), speaker=SPEAKER, label=source.stem.split("_")[0],
        extra=extra,
    )
