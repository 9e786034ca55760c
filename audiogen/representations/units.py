"""Discrete units: k-means over frame features (HuBERT targets, unit-to-speech conditioning).

A :class:`Codebook` is saved without pickles: ``PATH/centroids.safetensors`` (K, dim) and
``PATH/kmeans.json`` holding K, dim, the centroid hash, fit statistics and the spec of the
features it was fit on. :class:`UnitRepresentation` refuses features of another spec, naming the
field, so units from one SSL model/layer are never read as units of another.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch

from audiogen.errors import ConfigError, DataError
from audiogen.representations.base import Representation, check_spec
from audiogen.utils import atomic_write, atomic_write_json

CENTROIDS = "centroids.safetensors"
META = "kmeans.json"


@dataclass
class Codebook:
    """K centroids (K, dim) and the spec of the features they were fit on."""

    centroids: np.ndarray
    features_spec: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_units(self) -> int:
        return int(self.centroids.shape[0])

    @property
    def dim(self) -> int:
        return int(self.centroids.shape[1])

    @property
    def sha256(self) -> str:
        """Hash of the centroid values (float32, C order)."""
        data = np.ascontiguousarray(self.centroids, dtype=np.float32).tobytes()
        return hashlib.sha256(data).hexdigest()

    def assign(self, features: torch.Tensor) -> torch.Tensor:
        """Nearest centroid (squared Euclidean) of each frame: (B, dim, frames) -> (B, frames)."""
        if features.shape[1] != self.dim:
            raise DataError(f"features have dim {features.shape[1]}, the k-means model "
                            f"{self.dim}")
        centroids = torch.as_tensor(self.centroids, device=features.device)
        frames = features.transpose(1, 2).float()  # (B, frames, dim)
        distances = (frames.square().sum(-1, keepdim=True) - 2 * frames @ centroids.T
                     + centroids.square().sum(-1))
        return distances.argmin(-1)

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``PATH/centroids.safetensors`` and ``PATH/kmeans.json`` atomically."""
        from safetensors.numpy import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        centroids = np.ascontiguousarray(self.centroids, dtype=np.float32)
        atomic_write(path / CENTROIDS, lambda tmp: save_file({"centroids": centroids}, tmp))
        meta = {"num_units": self.num_units, "dim": self.dim, "sha256": self.sha256,
                "features": self.features_spec, **self.info}
        atomic_write_json(path / META, meta)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Codebook":
        """Read a saved codebook; :class:`DataError` names what is missing or inconsistent."""
        from safetensors.numpy import load_file

        path = Path(path)
        if not (path / CENTROIDS).is_file() or not (path / META).is_file():
            raise DataError(f"{path}: not a k-means model (expected {CENTROIDS} and {META})")
        meta = json.loads((path / META).read_text())
        centroids = load_file(str(path / CENTROIDS))["centroids"]
        book = cls(centroids, meta.pop("features"),
                   {k: v for k, v in meta.items() if k not in ("num_units", "dim", "sha256")})
        if meta.get("sha256") != book.sha256:
            raise DataError(f"{path}: centroids do not match the hash in {META}")
        return book


def features_from_spec(spec: dict[str, Any], ssl_model: str | os.PathLike | None = None
                       ) -> Representation:
    """The SSL or MFCC representation that a stored features spec describes; ``ssl_model``
    locates the SSL model when the spec names a local folder (a folder is stored by its name
    only; a hub id is read from the local hub cache)."""
    from audiogen.representations.cepstral import MFCC
    from audiogen.representations.ssl import SSLFeatures

    if spec.get("type") == "ssl":
        return SSLFeatures(str(ssl_model or spec["model"]), spec["layer"],
                           padding=spec.get("padding", "none"))
    if spec.get("type") == "mfcc":
        return MFCC(spec["sample_rate"], spec["n_fft"], spec["hop_length"], spec["n_mels"],
                    spec["n_mfcc"], spec["deltas"])
    raise ConfigError(f"features of type {spec.get('type')!r} cannot be rebuilt from their "
                      "spec (ssl and mfcc can)")


def load_units(kmeans: str | os.PathLike, ssl_model: str | os.PathLike | None = None
               ) -> "UnitRepresentation":
    """The :class:`UnitRepresentation` of a k-means folder, its features rebuilt from the spec
    the folder stores (see :func:`features_from_spec`; the spec, checkpoint hash included, is
    checked against the codebook's)."""
    book = Codebook.load(kmeans)
    return UnitRepresentation(features_from_spec(book.features_spec, ssl_model), str(kmeans))


def fit_kmeans(arrays: Iterable[np.ndarray], num_units: int, features_spec: dict[str, Any],
               seed: int = 0, batch_size: int = 10000, max_iter: int = 100,
               max_frames: int | None = None, n_init: int = 3) -> Codebook:
    """Mini-batch k-means (Sculley 2010, scikit-learn) on frames of (frames, dim) arrays.

    With ``max_frames`` a seeded random subset of that many frames is used (HuBERT fits on a
    fraction of the corpus). Fit statistics (frames, inertia per frame) go into the info.
    """
    from sklearn.cluster import MiniBatchKMeans

    frames = np.concatenate([np.asarray(a, dtype=np.float32) for a in arrays], axis=0)
    if frames.ndim != 2:
        raise DataError(f"k-means needs (frames, dim) features, got shape {frames.shape}")
    if len(frames) < num_units:
        raise DataError(f"k-means with K={num_units} needs at least {num_units} frames, got "
                        f"{len(frames)}")
    rng = np.random.default_rng(seed)
    if max_frames is not None and len(frames) > max_frames:
        frames = frames[rng.choice(len(frames), max_frames, replace=False)]
    model = MiniBatchKMeans(n_clusters=num_units, batch_size=batch_size, max_iter=max_iter,
                            n_init=n_init, random_state=seed, compute_labels=False)
    model.fit(frames)
    inertia = float(-model.score(frames)) / len(frames)
    info = {"frames": int(len(frames)), "inertia_per_frame": inertia, "seed": seed}
    return Codebook(model.cluster_centers_.astype(np.float32), dict(features_spec), info)


def deduplicate(units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run-length encoding of a (frames,) unit sequence: (units, run lengths)."""
    units = np.asarray(units)
    if units.size == 0:
        return units, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], units[1:] != units[:-1]]))
    lengths = np.diff(np.concatenate([starts, [units.size]]))
    return units[starts], lengths


def align_frames(labels: torch.Tensor, source_hop: int, source_offset: float, target_hop: int,
                 target_offset: float, target_frames: int) -> torch.Tensor:
    """Resample frame labels (B, source frames) to another frame grid (B, target_frames).

    Each target frame takes the label of the source frame whose centre is nearest to its own;
    frame k of a grid is centred on sample ``offset + k * hop``. E.g. 100 Hz MFCC labels
    (hop 160, offset 0) onto HuBERT's 50 Hz frames (hop 320, offset 200) take source frame
    round((320 k + 200) / 160) = 2k + 1 (as 1.25 rounds down).
    """
    centres = torch.arange(target_frames, device=labels.device) * target_hop + target_offset
    index = torch.round((centres - source_offset) / source_hop).long()
    index = index.clamp(0, labels.shape[-1] - 1)
    return labels[..., index]


def frame_offset(representation: Representation) -> float:
    """Sample on which frame 0 of a representation is centred (0 when it does not say)."""
    return float(getattr(representation, "frame_offset", 0.0))


class UnitRepresentation(Representation):
    """Unit ids of frame features: (B, T) -> (B, 1, frames) float ids in [0, K).

    ``features`` is any representation (SSL features, MFCCs); the codebook at ``kmeans`` must
    have been fit on features with the same spec, else :class:`SpecMismatchError` names the
    field. Ids travel as floats (the representation contract); TokenEmbedding rounds them.
    """

    def __init__(self, features: Representation, kmeans: str) -> None:
        super().__init__()
        self.features = features
        self.codebook = Codebook.load(kmeans)
        check_spec(self.codebook.features_spec, features.spec,
                   what=f"features of the unit representation (k-means at {kmeans})")
        self.sample_rate, self.hop_length, self.dim = features.sample_rate, \
            features.hop_length, 1
        self.frame_offset = frame_offset(features)

    @property
    def num_units(self) -> int:
        return self.codebook.num_units

    @property
    def spec(self) -> dict[str, Any]:
        return {"type": "units", "num_units": self.num_units, "kmeans_sha256":
                self.codebook.sha256, "sample_rate": self.sample_rate,
                "hop_length": self.hop_length, "features": self.features.spec}

    def num_frames(self, num_samples: int) -> int:
        return self.features.num_frames(num_samples)

    def units(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, T) -> (B, frames) integer unit ids."""
        with torch.no_grad():
            return self.codebook.assign(self.features.encode(wave))

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        return self.units(wave)[:, None].float()
