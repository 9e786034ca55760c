"""Enumerate batch-job inputs: one audio file, a folder of audio, a manifest, or saved features
(``.npz`` feature files, :mod:`~audiogen.inference.feature_files`).

Each input keeps a relative name so that outputs mirror the input layout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from audiogen.audio import SUPPORTED_SUFFIXES
from audiogen.data import manifest
from audiogen.errors import DataError
from audiogen.inference.feature_files import FEATURE_SUFFIX, OLD_SUFFIX


@dataclass(frozen=True)
class Item:
    """One input: its absolute path and the relative name (without suffix) outputs use."""

    path: Path
    name: str

    @property
    def is_features(self) -> bool:
        return self.path.suffix in (FEATURE_SUFFIX, OLD_SUFFIX)


def list_inputs(source: str | os.PathLike) -> list[Item]:
    """Items of a file, a folder (searched recursively) or a ``.jsonl`` manifest."""
    source = Path(source)
    if not source.exists():
        raise DataError(f"{source}: input not found")
    if source.is_file() and source.suffix == ".jsonl":
        return [Item(Path(u.path), u.id) for u in manifest.read(source)]
    if source.is_file():
        return [Item(source, source.stem)]
    wanted = set(SUPPORTED_SUFFIXES) | {FEATURE_SUFFIX, OLD_SUFFIX}  # old: refused by name
    files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in wanted)
    if not files:
        raise DataError(f"{source}: no audio ({', '.join(SUPPORTED_SUFFIXES)}) or "
                        f"{FEATURE_SUFFIX} feature files found")
    return [Item(p, p.relative_to(source).with_suffix("").as_posix()) for p in files]
