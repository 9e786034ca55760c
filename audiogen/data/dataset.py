"""Datasets over manifests, a resumable seeded batch sampler, and a padding collate.

Randomness is drawn from seeds, never from global state: the sampler derives each epoch's order
from (seed, epoch), and each item's crop position from a per-item seed it passes along, so a run
resumed at step k sees exactly the batches an uninterrupted run would.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from audiogen import audio
from audiogen.data import manifest
from audiogen.data.degrade import Degradation, degrade
from audiogen.errors import DataError


class AudioDataset(Dataset):
    """Utterances of one or more manifests as mono waveforms at ``sample_rate``.

    With ``segment_seconds`` set (training) each item is a crop of that length placed by the
    item's seed; utterances are zero-padded when shorter. Without it (evaluation) each item is
    the whole utterance. Items are dicts: ``audio`` (1, T), ``length``, ``id``, ``speaker``.
    With a ``degradation`` (audio-to-audio training) each item also has ``degraded`` (1, T):
    the same audio degraded with parameters drawn from the item's seed, so a resumed or
    repeated run degrades every crop exactly as before. ``speakers`` keeps only their
    utterances (a one-voice model, e.g. the target of voice conversion).
    """

    def __init__(self, manifest_path: str | Path | list[str], sample_rate: int,
                 segment_seconds: float | None = None, min_seconds: float = 0.0,
                 max_items: int | None = None, degradation: Degradation | None = None,
                 speakers: list[str] | None = None) -> None:
        paths = manifest_path if isinstance(manifest_path, list) else [manifest_path]
        self.manifest_path = Path(paths[0])
        rows = [u for path in paths for u in manifest.read(path) if u.duration >= min_seconds]
        if speakers:
            found = sorted({str(u.speaker) for u in rows})
            rows = [u for u in rows if u.speaker in speakers]
            if not rows:
                raise DataError(f"{', '.join(map(str, paths))}: no utterance of speaker(s) "
                                f"{', '.join(speakers)}; the manifest has {', '.join(found)}")
        if max_items is not None:
            rows = rows[:max_items]
        if not rows:
            raise DataError(f"{', '.join(map(str, paths))}: no utterances of at least "
                            f"{min_seconds} s")
        self.utterances = rows
        self.sample_rate = sample_rate
        self.segment = None if segment_seconds is None else int(segment_seconds * sample_rate)
        self.degradation = degradation

    def __len__(self) -> int:
        return len(self.utterances)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        index, seed = key if isinstance(key, tuple) else (key, index_seed(0, 0, key))
        utterance = self.utterances[index]
        if self.segment is None:
            wave, _ = audio.load(utterance.path, self.sample_rate)
            length = wave.shape[-1]
        else:
            wave, length = self._crop(utterance, seed)
        item = {"audio": wave, "length": length, "id": utterance.id,
                "speaker": utterance.speaker, "label": utterance.label,
                "extra": utterance.extra}
        if self.degradation is not None:
            rng = np.random.default_rng(seed)
            degraded, _ = degrade(wave[0].numpy(), self.sample_rate, self.degradation, rng)
            item["degraded"] = torch.from_numpy(degraded)[None]
        return item

    def _crop(self, utterance: manifest.Utterance, seed: int) -> tuple[torch.Tensor, int]:
        """Read only the cropped window (plus resampling margin) from disk: the window,
        zero-padded to the segment length, and how many of its samples are audio."""
        assert self.segment is not None
        generator = torch.Generator().manual_seed(seed)
        file_rate = utterance.sample_rate
        file_frames = int(round(utterance.duration * file_rate))
        want = int(math.ceil(self.segment * file_rate / self.sample_rate))
        room = max(file_frames - want, 0)
        start = int(torch.randint(0, room + 1, (1,), generator=generator)) if room else 0
        wave, _ = audio.load(utterance.path, self.sample_rate, offset=start, frames=want)
        return audio.crop_or_pad(wave, self.segment), min(wave.shape[-1], self.segment)


def index_seed(seed: int, epoch: int, position: int) -> int:
    """A well-mixed 63-bit seed for one item of one epoch (SplitMix64 finaliser)."""
    value = (seed * 0x9E3779B97F4A7C15 + epoch * 0xBF58476D1CE4E5B9 + position) & (2**64 - 1)
    value ^= value >> 30
    value = (value * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    value ^= value >> 27
    value = (value * 0x94D049BB133111EB) & (2**64 - 1)
    value ^= value >> 31
    return value & (2**63 - 1)


class StepBatchSampler(Sampler):
    """Endless seeded batches that can start at any batch number; shards ranks disjointly.

    Batch ``b`` of the run holds global positions ``b * B * world`` onwards of the concatenated
    per-epoch permutations; rank ``r`` takes every ``world``-th of them. Yields lists of
    ``(index, item_seed)`` pairs for :class:`AudioDataset`.
    """

    def __init__(self, num_items: int, batch_size: int, seed: int = 0, start_batch: int = 0,
                 rank: int = 0, world_size: int = 1) -> None:
        self.num_items, self.batch_size, self.seed = num_items, batch_size, seed
        self.start_batch, self.rank, self.world_size = start_batch, rank, world_size

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        global_batch = self.batch_size * self.world_size
        position = self.start_batch * global_batch
        epoch, order = -1, torch.empty(0, dtype=torch.long)
        while True:
            batch = []
            for offset in range(global_batch):
                absolute = position + offset
                if absolute // self.num_items != epoch:
                    epoch = absolute // self.num_items
                    generator = torch.Generator().manual_seed(self.seed * 1000003 + epoch)
                    order = torch.randperm(self.num_items, generator=generator)
                if offset % self.world_size == self.rank:
                    index = int(order[absolute % self.num_items])
                    batch.append((index, index_seed(self.seed, epoch, absolute)))
            position += global_batch
            yield batch

    def __len__(self) -> int:
        return 2**62


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Pad ``audio`` (and ``degraded`` when items have it) to the longest item: (B, 1, T_max);
    ``lengths`` (B,), lists of ids, speakers, labels and extra manifest fields."""
    longest = max(item["audio"].shape[-1] for item in items)
    batch = {"lengths": torch.tensor([item["length"] for item in items]),
             "ids": [item["id"] for item in items],
             "speakers": [item["speaker"] for item in items],
             "labels": [item.get("label") for item in items],
             "extras": [item.get("extra", {}) for item in items]}
    for key in ("audio", "degraded"):
        if key not in items[0]:
            continue
        padded = torch.zeros(len(items), 1, longest)
        for row, item in enumerate(items):
            padded[row, :, : item[key].shape[-1]] = item[key]
        batch[key] = padded
    return batch


def bucket_by_length(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Group indices of similar length into batches (evaluation: less padding)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
