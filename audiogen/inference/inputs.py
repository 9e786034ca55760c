"""Enumerate batch-job inputs: one audio file, a folder of audio, a manifest, or saved features.

Each input keeps a relative name so that outputs mirror the input layout.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from audiogen.audio import SUPPORTED_SUFFIXES
from audiogen.data import manifest
from audiogen.errors import DataError
from audiogen.utils import atomic_write

FEATURE_SUFFIX = ".npz"


@dataclass(frozen=True)
class Item:
    """One input: its absolute path and the relative name (without suffix) outputs use."""

    path: Path
    name: str

    @property
    def is_features(self) -> bool:
        return self.path.suffix == FEATURE_SUFFIX


def list_inputs(source: str | os.PathLike) -> list[Item]:
    """Items of a file, a folder (searched recursively) or a ``.jsonl`` manifest."""
    source = Path(source)
    if not source.exists():
        raise DataError(f"{source}: input not found")
    if source.is_file() and source.suffix == ".jsonl":
        return [Item(Path(u.path), u.id) for u in manifest.read(source)]
    if source.is_file():
        return [Item(source, source.stem)]
    wanted = set(SUPPORTED_SUFFIXES) | {FEATURE_SUFFIX}
    files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in wanted)
    if not files:
        raise DataError(f"{source}: no audio ({', '.join(SUPPORTED_SUFFIXES)}) or "
                        f"{FEATURE_SUFFIX} feature files found")
    return [Item(p, p.relative_to(source).with_suffix("").as_posix()) for p in files]


def save_features(path: Path, features: np.ndarray, spec: dict[str, Any]) -> Path:
    """Write (dim, frames) features with their representation spec, atomically."""
    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, features=features, spec=np.array(json.dumps(spec)))

    return atomic_write(path, write)


def load_features(path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """Read features and spec written by :func:`save_features` (no pickles allowed)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return data["features"], json.loads(str(data["spec"]))
    except (OSError, KeyError, ValueError) as error:
        raise DataError(f"{path}: not an audiogen feature file ({error})") from None
