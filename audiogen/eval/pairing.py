"""Pairing of generated with reference audio, and the one loading and length policy.

Sources are a directory (audio files found recursively; an item's key is its path relative to
the directory without suffix, e.g. ``spk1/utt3``) or a JSONL manifest (key = manifest ``id``;
the path relative to the manifest's folder without suffix also matches). A generated item is
paired with the reference whose key equals its own.

Policy, applied to every item (each deviation is written to the item's ``notes``):

1. Audio is read with :func:`audiogen.audio.load`; multichannel audio is averaged to mono.
2. If the rates differ, the generated signal is resampled to the reference's rate with
   torchaudio's sinc resampler; each metric then resamples both to its own rate.
3. Both signals are trimmed to the shorter one (start-aligned, no shift search); when more than
   1% of the longer signal is cut, the amount is noted.
4. Items that cannot be scored become per-item errors and the run goes on: a missing pair, an
   unreadable or empty file, NaN/Inf samples, a signal shorter than 0.1 s after trimming, or a
   silent signal (peak below -90 dBFS, i.e. at most one 16-bit step).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from audiogen.audio import SUPPORTED_SUFFIXES, load, resample
from audiogen.data import manifest
from audiogen.errors import DataError

POLICY = ("mono by channel mean; generated resampled to the reference's rate (torchaudio sinc) "
          "when they differ, then each metric resamples both to its own rate; start-aligned and "
          "trimmed to the shorter signal (trims over 1% noted per item); per-item errors for a "
          "missing pair, unreadable/empty/NaN audio, < 0.1 s, or silence (peak < -90 dBFS)")
MIN_SECONDS = 0.1
SILENCE_PEAK = 10.0 ** (-90.0 / 20.0)
TRIM_NOTE_FRACTION = 0.01
MANIFEST_SUFFIXES = (".jsonl", ".json")


class ItemError(Exception):
    """An item cannot be scored; the message is recorded and the run goes on."""


@dataclass(frozen=True)
class Item:
    """One audio file of a source: its key, path, and from a manifest its declared rate and
    its row (the labels that set metrics of generation read)."""

    key: str
    path: Path
    declared_rate: int | None = None
    alias: str | None = None
    row: manifest.Utterance | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Pair:
    """A generated item and its reference (either may be missing)."""

    key: str
    generated: Item | None
    reference: Item | None


@dataclass
class LoadedPair:
    """Mono float32 signals (T,) at one rate, equal lengths when both exist, with notes."""

    generated: np.ndarray
    reference: np.ndarray | None
    sample_rate: int
    notes: list[str] = field(default_factory=list)


def collect(source: str | os.PathLike) -> dict[str, Item]:
    """Items of a directory or manifest by key; raises DataError when the source is unusable."""
    path = Path(source)
    if path.is_dir():
        return _collect_directory(path)
    if path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES:
        return _collect_manifest(path)
    raise DataError(f"{path}: expected an audio directory or a .jsonl manifest")


def _collect_directory(root: Path) -> dict[str, Item]:
    items: dict[str, Item] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in SUPPORTED_SUFFIXES or not path.is_file():
            continue
        key = path.relative_to(root).with_suffix("").as_posix()
        if key in items:
            raise DataError(f"{root}: two files share the key {key!r} ({items[key].path.name}, "
                            f"{path.name})")
        items[key] = Item(key, path)
    if not items:
        raise DataError(f"{root}: no audio files ({', '.join(SUPPORTED_SUFFIXES)})")
    return items


def _collect_manifest(path: Path) -> dict[str, Item]:
    root = path.resolve().parent
    items = {}
    for utterance in manifest.read(path):
        audio_path = Path(utterance.path)
        try:
            alias = audio_path.resolve().relative_to(root).with_suffix("").as_posix()
        except ValueError:
            alias = None
        items[utterance.id] = Item(utterance.id, audio_path, utterance.sample_rate, alias,
                                   utterance)
    if not items:
        raise DataError(f"{path}: manifest has no entries")
    return items


def pair(generated: dict[str, Item], reference: dict[str, Item] | None) -> list[Pair]:
    """Pairs by key (generated key or alias against reference key or alias), sorted by key;
    unmatched items on either side become pairs with a missing member."""
    if reference is None:
        return [Pair(key, item, None) for key, item in sorted(generated.items())]
    lookup = {**{item.alias: key for key, item in reference.items() if item.alias}, **{
        key: key for key in reference}}
    pairs, used = [], set()
    for key, item in generated.items():
        match = lookup.get(key) or (lookup.get(item.alias) if item.alias else None)
        if match is not None and match not in used:
            used.add(match)
            pairs.append(Pair(match, item, reference[match]))
        else:
            pairs.append(Pair(key, item, None))
    pairs += [Pair(key, None, item) for key, item in reference.items() if key not in used]
    return sorted(pairs, key=lambda p: p.key)


def load_pair(item: Pair, with_reference: bool) -> LoadedPair:
    """Load a pair under the module's policy; raises :class:`ItemError` or AudioError."""
    if item.generated is None:
        raise ItemError("missing generated audio for this reference")
    if with_reference and item.reference is None:
        raise ItemError("missing reference audio for this generated item")
    notes: list[str] = []
    generated, rate = _load_mono(item.generated, "generated", notes)
    reference = None
    if with_reference and item.reference is not None:
        reference, reference_rate = _load_mono(item.reference, "reference", notes)
        if rate != reference_rate:
            notes.append(f"generated resampled from {rate} Hz to the reference's "
                         f"{reference_rate} Hz")
            generated = resample(torch.from_numpy(generated), rate, reference_rate).numpy()
            rate = reference_rate
        generated, reference = _trim(generated, reference, notes)
    _check(generated, rate, "generated")
    if reference is not None:
        _check(reference, rate, "reference")
    return LoadedPair(generated, reference, rate, notes)


def load_mono(item: Item) -> tuple[np.ndarray, int]:
    """One item's audio as mono float32 (T,) and its rate, checked like a pair's members."""
    notes: list[str] = []
    wave, rate = _load_mono(item, "audio", notes)
    _check(wave, rate, "audio")
    return wave, rate


def _load_mono(item: Item, role: str, notes: list[str]) -> tuple[np.ndarray, int]:
    wave, rate = load(item.path, channels="keep")
    if wave.shape[0] > 1:
        notes.append(f"{role}: {wave.shape[0]} channels averaged to mono")
    if item.declared_rate is not None and item.declared_rate != rate:
        notes.append(f"{role}: manifest says {item.declared_rate} Hz, file is {rate} Hz "
                     "(file used)")
    return wave.mean(dim=0).numpy(), rate


def _trim(generated: np.ndarray, reference: np.ndarray, notes: list[str]
          ) -> tuple[np.ndarray, np.ndarray]:
    length = min(len(generated), len(reference))
    longest = max(len(generated), len(reference))
    if longest - length > TRIM_NOTE_FRACTION * longest:
        longer = "generated" if len(generated) > len(reference) else "reference"
        notes.append(f"{longer} trimmed by {longest - length} samples "
                     f"({100.0 * (longest - length) / longest:.1f}%) to the shorter signal")
    return generated[:length], reference[:length]


def _check(wave: np.ndarray, sample_rate: int, role: str) -> None:
    if len(wave) < MIN_SECONDS * sample_rate:
        raise ItemError(f"{role} too short: {len(wave)} samples ({len(wave) / sample_rate:.3f} s"
                        f" < {MIN_SECONDS} s)")
    if not np.isfinite(wave).all():
        raise ItemError(f"{role} contains NaN or Inf samples")
    if float(np.abs(wave).max()) < SILENCE_PEAK:
        raise ItemError(f"{role} is silent (peak below -90 dBFS)")
