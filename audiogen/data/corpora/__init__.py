"""Corpus builders behind one interface: ``build_corpus(name, out, **options)``.

Each builder is a dataclass whose fields are its options (see :data:`BUILDERS`); every build
writes ``train/valid/test.jsonl`` manifests, ``skipped.txt`` and a ``.done.json`` stamp that turns
a repeated build with the same options into a verified no-op.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from audiogen.data.corpora.asterisk import AsteriskBuilder
from audiogen.data.corpora.base import BuildReport, CorpusBuilder, SkippedFile
from audiogen.data.corpora.fsdd import FsddBuilder
from audiogen.data.corpora.gm_notes import GmNotesBuilder
from audiogen.data.corpora.ljspeech import LJSpeechBuilder
from audiogen.data.corpora.sonicpi import SonicPiBuilder
from audiogen.errors import DataError

BUILDERS: dict[str, type[CorpusBuilder]] = {
    builder.name: builder
    for builder in (AsteriskBuilder, SonicPiBuilder, GmNotesBuilder, LJSpeechBuilder, FsddBuilder)
}

__all__ = ["BUILDERS", "BuildReport", "CorpusBuilder", "SkippedFile", "build_corpus",
           "builder_class", "option_names"]


def option_names(name: str) -> list[str]:
    """The options (constructor arguments) of the named corpus builder."""
    return [field.name for field in dataclasses.fields(builder_class(name))]


def builder_class(name: str) -> type[CorpusBuilder]:
    """The builder registered under ``name``; DataError listing the valid names otherwise."""
    try:
        return BUILDERS[name]
    except KeyError:
        raise DataError(f"unknown corpus {name!r}; valid corpora: {', '.join(BUILDERS)}") from None


def build_corpus(name: str, out: Path, *, progress: bool = True, **options: Any) -> BuildReport:
    """Build the named corpus into ``out`` with the given options and return the report.

    ``progress`` shows progress bars and prints the summary. Unknown corpus names and options
    raise :class:`DataError` listing the valid ones.
    """
    valid = option_names(name)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise DataError(f"unknown option(s) {', '.join(unknown)} for corpus {name!r}; valid "
                        f"options: {', '.join(valid) or '(none)'}")
    return BUILDERS[name](**options).build(Path(out), progress=progress)
