"""Batch feature extraction to a folder: one ``.npy`` per input plus the folder's ``spec.json``.

``OUT/<relative name>.npy`` holds (frames, dim) float32 features, or (frames,) int unit ids for a
:class:`~audiogen.representations.units.UnitRepresentation` (run-length deduplicated with
``dedup``). The job is resumable: files already written are kept, provided ``OUT/spec.json``
matches the representation (else :class:`SpecMismatchError` names the field). Unreadable inputs
are skipped and reported; inputs shorter than the representation's minimum are padded and
reported as such (or skipped when the representation refuses them).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from audiogen import audio
from audiogen.errors import AudioError, AudiogenError
from audiogen.inference.inputs import Item, list_inputs
from audiogen.representations.base import Representation, check_spec
from audiogen.representations.units import UnitRepresentation, deduplicate
from audiogen.utils import atomic_write, atomic_write_json

SPEC_NAME = "spec.json"


@dataclass
class ExtractionReport:
    """Counts of an extraction job and the names it skipped or padded."""

    written: int = 0
    kept: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    padded: list[str] = field(default_factory=list)


def folder_spec(representation: Representation, dedup: bool = False) -> dict[str, Any]:
    """What ``spec.json`` records: the representation spec, plus the unit options."""
    spec = {"representation": representation.spec, "frame_rate": representation.frame_rate}
    if isinstance(representation, UnitRepresentation):
        spec["dedup"] = dedup
    return spec


def read_folder_spec(directory: str | os.PathLike) -> dict[str, Any]:
    """The ``spec.json`` of an extraction folder."""
    path = Path(directory) / SPEC_NAME
    if not path.is_file():
        raise AudiogenError(f"{directory}: no {SPEC_NAME} (not an extraction folder)")
    return json.loads(path.read_text())


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
    spec = folder_spec(representation, dedup)
    if (out / SPEC_NAME).is_file():
        check_spec(read_folder_spec(out), spec, what=f"features already in {out}")
    atomic_write_json(out / SPEC_NAME, spec)
    representation = representation.to(device).eval()
    report = ExtractionReport()
    items = list_inputs(inputs)
    todo = []
    for item in items:
        if (out / f"{item.name}.npy").is_file():
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
                _save(out / f"{item.name}.npy", features, dedup)
                report.written += 1
            bar.update(len(batch))
    return report


def _save(path: Path, features: torch.Tensor, dedup: bool) -> None:
    array = features.detach().cpu().numpy()
    if array.ndim == 1:  # unit ids
        array = deduplicate(array)[0] if dedup else array
        array = array.astype(np.int32)
    else:
        array = np.ascontiguousarray(array.T, dtype=np.float32)  # (frames, dim)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            np.save(handle, array)

    atomic_write(path, write)


def read_folder(directory: str | os.PathLike) -> dict[str, np.ndarray]:
    """All ``.npy`` arrays of an extraction folder by relative name (pickles refused)."""
    directory = Path(directory)
    return {path.relative_to(directory).with_suffix("").as_posix():
            np.load(path, allow_pickle=False)
            for path in sorted(directory.rglob("*.npy"))}
