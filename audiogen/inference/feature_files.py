"""The one on-disk feature format, written by every ``extract`` command and read by
``synthesize --input``, ``units fit|report`` and ``codec decode tokens``.

A feature file ``<name>.npz`` (numpy archive, read with ``allow_pickle=False``) holds:

- ``features``: float32 (dim, frames) for continuous features (mel, SSL, MFCC), or integers
  (codebooks, frames) for discrete ones (k-means units: one codebook; codec tokens: n_q);
- ``spec``: the representation spec as a JSON string, checked against a model's spec on reading;
- optional extra arrays a representation needs (codec tokens: ``num_samples``, ``scales``).

Files are written atomically, so an interrupted job leaves whole files only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from audiogen.errors import DataError
from audiogen.utils import atomic_write

FEATURE_SUFFIX = ".npz"
OLD_SUFFIX = ".npy"


def save_features(path: str | os.PathLike, features: np.ndarray | torch.Tensor,
                  spec: dict[str, Any], **extra: np.ndarray) -> Path:
    """Write (dim, frames) float or (codebooks, frames) int ``features`` with ``spec``."""
    if isinstance(features, torch.Tensor):
        features = features.detach().cpu().numpy()
    if features.ndim != 2:
        raise DataError(f"{path}: features must be (dim, frames) or (codebooks, frames), got "
                        f"shape {features.shape}")
    if features.dtype.kind == "f":
        features = features.astype(np.float32)
    arrays = {"features": np.ascontiguousarray(features), "spec": np.array(json.dumps(spec)),
              **extra}

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]

    return atomic_write(Path(path), write)


def read_feature_file(path: str | os.PathLike
                      ) -> tuple[np.ndarray, dict[str, Any], dict[str, np.ndarray]]:
    """Features, spec and extra arrays of a file written by :func:`save_features`."""
    path = Path(path)
    if path.suffix == OLD_SUFFIX:
        raise DataError(f"{path}: a .npy file of the old feature format (no spec inside); "
                        f"extract it again to a {FEATURE_SUFFIX} feature file")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in ("features", "spec") if key not in data.files]
            if missing:
                raise DataError(f"{path}: not an audiogen feature file (no "
                                f"{' or '.join(missing)} array; extract it again)")
            extra = {key: data[key] for key in data.files if key not in ("features", "spec")}
            return data["features"], json.loads(str(data["spec"])), extra
    except (OSError, ValueError, EOFError) as error:
        raise DataError(f"{path}: not an audiogen feature file ({error})") from None


def load_features(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, Any]]:
    """(features, spec) of a feature file; :class:`DataError` naming the file otherwise."""
    features, spec, _ = read_feature_file(path)
    return features, spec


def read_spec(path: str | os.PathLike) -> dict[str, Any]:
    """Only the spec of a feature file (the features are not read)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return json.loads(str(data["spec"]))
    except (OSError, KeyError, ValueError, EOFError) as error:
        raise DataError(f"{path}: not an audiogen feature file ({error})") from None


def read_folder(directory: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """All feature files of a folder by relative name, and their common spec."""
    directory = Path(directory)
    files = sorted(directory.rglob(f"*{FEATURE_SUFFIX}"))
    if not files:
        old = next(iter(sorted(directory.rglob(f"*{OLD_SUFFIX}"))), None)
        if old is not None:
            read_feature_file(old)  # raises the old-format error naming the file
        raise DataError(f"{directory}: no {FEATURE_SUFFIX} feature files")
    arrays: dict[str, np.ndarray] = {}
    spec: dict[str, Any] | None = None
    for path in files:
        features, file_spec = load_features(path)
        if spec is None:
            spec = file_spec
        elif file_spec != spec:
            raise DataError(f"{path}: made with another spec than {files[0]}")
        arrays[path.relative_to(directory).with_suffix("").as_posix()] = features
    assert spec is not None
    return arrays, spec
