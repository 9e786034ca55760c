"""Batch feature extraction to a folder: one feature file per input.

``OUT/<relative name>.npz`` is a feature file (:mod:`~audiogen.inference.feature_files`) holding
(dim, frames) float32 features, or (1, frames) int32 unit ids for a
:class:`~audiogen.representations.units.UnitRepresentation` (run-length deduplicated with
``dedup``, which the spec then records), with the representation spec. The job is resumable:
files already written are kept, provided their spec matches the representation (else
:class:`SpecMismatchError` names the file and the field). Unreadable inputs are skipped and
reported; inputs shorter than the representation's minimum are padded and reported as such (or
skipped when the representation refuses them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from audiogen import audio
from audiogen.errors import AudioError, AudiogenError
from audiogen.inference.feature_files import FEATURE_SUFFIX, read_spec, save_features
from audiogen.inference.inputs import Item, list_inputs
from audiogen.representations.base import Representation, check_spec
from audiogen.representations.units import UnitRepresentation, deduplicate


@dataclass
class ExtractionReport:
    """Counts of an extraction job and the names it skipped or padded."""

    written: int = 0
    kept: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    padded: list[str] = field(default_factory=list)


def file_spec(representation: Representation, dedup: bool = False) -> dict[str, Any]:
    """The spec a feature file records: the representation's, marked when units are
    deduplicated (they no longer align with frames)."""
    spec = dict(representation.spec)
    if dedup and isinstance(representation, UnitRepresentation):
        spec["dedup"] = True
    return spec


def encode_waves(representation: Representation, waves: list[torch.Tensor]
                 ) -> list[torch.Tensor]:
    """(T_i,) waves -> (dim, frames_i) features; exact batching where the representation
    offers it (``encode_list``), one at a time otherwise."""
    if isinstance(representation, UnitRepresentation):
        features = encode_waves(representation.features, waves)
        return [representation.codebook.assign(f[None])[0] for f in features]
    encode_list = getattr(representation, "encode_list", None)
    if encode_list is not None:
        return encode_list(waves)
    return [representation.encode(w[None])[0] for w in waves]


def minimum_samples(representation: Representation) -> int:
    """Shortest input the representation frames without padding."""
    if isinstance(representation, UnitRepresentation):
        return minimum_samples(representation.features)
    own = getattr(representation, "min_samples", None)
    return int(own()) if own is not None else int(getattr(representation, "n_fft", 1))


def extract(representation: Representation, inputs: str | os.PathLike, out: str | os.PathLike,
            batch_size: int = 1, device: str = "cpu", dedup: bool = False,
            progress: bool = True) -> ExtractionReport:
    """Encode every audio input of a file, folder or manifest into ``out``."""
    out = Path(out)
    spec = file_spec(representation, dedup)
    representation = representation.to(device).eval()
    report = ExtractionReport()
    items = list_inputs(inputs)
    todo = []
    for item in items:
        target = out / f"{item.name}{FEATURE_SUFFIX}"
        if target.is_file():
            check_spec(spec, read_spec(target), what=f"features already in {target}")
            report.kept += 1
        elif item.is_features:
            report.skipped.append((item.name, "is a feature file, not audio"))
        else:
            todo.append(item)
    minimum = minimum_samples(representation)
    with tqdm(total=len(todo), desc="extract", disable=not progress) as bar:
        for start in range(0, len(todo), max(batch_size, 1)):
            batch = todo[start:start + max(batch_size, 1)]
            loaded: list[tuple[Item, torch.Tensor]] = []
            for item in batch:
                try:
                    wave, _ = audio.load(item.path, representation.sample_rate)
                except AudioError as error:
                    report.skipped.append((item.name, error.reason))
                    continue
                if wave.shape[-1] < minimum:
                    report.padded.append(item.name)
                    wave = audio.crop_or_pad(wave, minimum)
                loaded.append((item, wave[0].to(device)))
            try:
                encoded = encode_waves(representation, [w for _, w in loaded])
            except AudiogenError:  # one bad item: retry one by one to isolate it
                encoded = []
                for item, wave in loaded:
                    try:
                        encoded.extend(encode_waves(representation, [wave]))
                    except AudiogenError as item_error:
                        report.skipped.append((item.name, str(item_error)))
                        encoded.append(torch.empty(0))
            for (item, _), features in zip(loaded, encoded):
                if features.numel() == 0:
                    continue
                _save(out / f"{item.name}{FEATURE_SUFFIX}", features, spec, dedup)
                report.written += 1
            bar.update(len(batch))
    return report


def _save(path: Path, features: torch.Tensor, spec: dict[str, Any], dedup: bool) -> None:
    array = features.detach().cpu().numpy()
    if array.ndim == 1:  # unit ids: one codebook
        array = deduplicate(array)[0] if dedup else array
        array = array.astype(np.int32)[None]
    save_features(path, array, spec)
