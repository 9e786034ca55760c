"""Fréchet audio distance (Kilgour et al. 2019) between a system's outputs and the references.

Each signal is embedded frame by frame; the frames of a whole set are summarised by their mean
and unbiased covariance (accumulated with Chan et al.'s pairwise update, so memory does not grow
with the set), and FAD is the Fréchet distance between the two Gaussians (Dowson & Landau 1982):
||mu_1 - mu_2||^2 + tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2)). FAD is biased upwards for small sets
(Chung et al. 2023): compare systems only on sets of equal size.

The embedding backend is pluggable: :class:`EncodecEmbedding` (the EnCodec 24 kHz encoder's
continuous latents, 75 frames/s, 128 dims) or any torch module (:class:`ModuleEmbedding`), e.g.
a TorchScript or torch.export file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np
import torch

from audiogen.errors import ConfigError
from audiogen.eval.base import (
    RESAMPLER,
    Metric,
    SetScorer,
    eval_mode,
    library,
    load_torch_module,
    state_checksum,
    to_rate,
)
from audiogen.eval.pairing import Item
from audiogen.utils import file_sha256

FAD = Metric("fad", "Fréchet audio distance between the generated and the reference sets", False,
             True, None, "fad")
METRICS = (FAD,)
ENCODEC_CHECKPOINT = "encodec_24khz-d7cc33bc.th"


def frechet_distance(mean_a: np.ndarray, cov_a: np.ndarray, mean_b: np.ndarray,
                     cov_b: np.ndarray) -> float:
    """Fréchet (2-Wasserstein) distance between N(mean_a, cov_a) and N(mean_b, cov_b).

    tr((A B)^(1/2)) is computed as the sum of square roots of the eigenvalues of the symmetric
    matrix A^(1/2) B A^(1/2) (same spectrum as A B), which avoids the complex round-off of a
    general matrix square root. Round-off below zero (identical sets) is returned as 0.
    """
    mean_a, mean_b = np.asarray(mean_a, np.float64), np.asarray(mean_b, np.float64)
    cov_a, cov_b = _symmetric(cov_a), _symmetric(cov_b)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    middle = np.linalg.eigvalsh(_symmetric(root_a @ cov_b @ root_a))
    trace_root = float(np.sqrt(np.clip(middle, 0.0, None)).sum())
    difference = mean_a - mean_b
    distance = difference @ difference + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_root
    return max(float(distance), 0.0)


def _symmetric(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, np.float64)
    return (matrix + matrix.T) / 2.0


class GaussianStatistics:
    """Running count, mean and scatter matrix of (n, dim) batches (Chan et al. 1979)."""

    def __init__(self) -> None:
        self.count = 0
        self.mean: np.ndarray | None = None
        self.scatter: np.ndarray | None = None

    def update(self, batch: np.ndarray) -> None:
        """Add the rows of a (n, dim) batch."""
        batch = np.asarray(batch, np.float64)
        if batch.ndim != 2 or batch.shape[0] == 0:
            raise ValueError(f"expected a non-empty (frames, dim) batch, got {batch.shape}")
        batch_mean = batch.mean(axis=0)
        centered = batch - batch_mean
        batch_scatter = centered.T @ centered
        if self.mean is None or self.scatter is None:
            self.count, self.mean, self.scatter = len(batch), batch_mean, batch_scatter
            return
        total = self.count + len(batch)
        delta = batch_mean - self.mean
        self.scatter = (self.scatter + batch_scatter
                        + np.outer(delta, delta) * self.count * len(batch) / total)
        self.mean = self.mean + delta * len(batch) / total
        self.count = total

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean (dim,) and unbiased covariance (dim, dim)."""
        if self.mean is None or self.scatter is None or self.count < 2:
            raise ValueError(f"need at least 2 embedding frames, have {self.count}")
        return self.mean, self.scatter / (self.count - 1)


class Embedding(Protocol):
    """Maps a (T,) waveform at ``sample_rate`` to (frames, dim) embeddings."""

    name: str
    sample_rate: int
    checksum: str

    def __call__(self, wave: torch.Tensor) -> torch.Tensor: ...


class ModuleEmbedding:
    """Wraps a torch module mapping (1, T) audio to (1, frames, dim), (1, dim, frames) when
    ``channels_first``, or (1, dim); the checksum hashes its state dict."""

    def __init__(self, module: torch.nn.Module, sample_rate: int, name: str,
                 channels_first: bool = False) -> None:
        self.module = eval_mode(module)
        self.sample_rate, self.name, self.channels_first = sample_rate, name, channels_first
        self.checksum = "sha256:" + state_checksum(module)

    def __call__(self, wave: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            output = self.module(wave[None])
        if self.channels_first:
            output = output.transpose(-1, -2)
        return output.reshape(-1, output.shape[-1]).float()


class EncodecEmbedding(ModuleEmbedding):
    """The encoder of EnCodec 24 kHz (Défossez et al. 2022, ``encodec`` package): continuous
    128-dim latents at 75 frames/s. Weights come from ``weights`` (a local checkpoint of the
    whole model, read weights-only) or torch hub's cache; nothing is downloaded. With
    ``random_seed`` the encoder is randomly initialised instead (for tests: such FAD values mean
    nothing, and the card says so)."""

    def __init__(self, weights: str | os.PathLike | None = None,
                 random_seed: int | None = None) -> None:
        if random_seed is not None:
            with torch.random.fork_rng():
                torch.manual_seed(random_seed)
                model = _encodec_model()
            name = f"encodec_24khz encoder, RANDOM INIT (seed {random_seed})"
        else:
            path = Path(weights) if weights is not None else _hub_checkpoint()
            model = _load_encodec(path)
            name = f"encodec_24khz encoder ({path.name})"
        super().__init__(model.encoder, 24000, name, channels_first=True)

    def __call__(self, wave: torch.Tensor) -> torch.Tensor:
        return super().__call__(wave[None])


def _load_encodec(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(f"{path}: EnCodec checkpoint not found; pass fad_weights=PATH to a "
                          f"local copy of {ENCODEC_CHECKPOINT}")
    model = _encodec_model()
    try:
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as error:
        raise ConfigError(f"{path}: not an EnCodec 24 kHz checkpoint ({error})") from None
    return model


def _encodec_model() -> Any:
    import warnings

    from encodec import EncodecModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return EncodecModel.encodec_model_24khz(pretrained=False)


def _hub_checkpoint() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / ENCODEC_CHECKPOINT


def build_embedding(embedding: str | os.PathLike | Embedding | torch.nn.Module = "encodec",
                    weights: str | os.PathLike | None = None, sample_rate: int | None = None
                    ) -> Embedding:
    """An embedding from "encodec", a TorchScript or torch.export (.pt2) file, an Embedding, or
    a torch module (files and modules need ``sample_rate``)."""
    if isinstance(embedding, torch.nn.Module):
        if sample_rate is None:
            raise ConfigError("fad_sample_rate is required with a torch module embedding")
        return ModuleEmbedding(embedding, sample_rate, type(embedding).__name__)
    if not isinstance(embedding, (str, os.PathLike)):
        return embedding
    if str(embedding) == "encodec":
        return EncodecEmbedding(weights)
    path = Path(embedding)
    if not path.is_file():
        raise ConfigError(f"fad_embedding must be 'encodec' or a TorchScript / torch.export "
                          f"(.pt2) file; {path} not found")
    if sample_rate is None:
        raise ConfigError("fad_sample_rate is required with a module file embedding")
    try:
        module = load_torch_module(path)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return ModuleEmbedding(module, sample_rate, f"{path.name} (sha256 {file_sha256(path)})")


class FrechetAudioDistance(SetScorer):
    """FAD of each system's generated set against the reference set, on frame embeddings."""

    def __init__(self, metrics: Sequence[Metric],
                 embedding: str | os.PathLike | Embedding | torch.nn.Module = "encodec",
                 weights: str | os.PathLike | None = None, sample_rate: int | None = None
                 ) -> None:
        super().__init__(metrics)
        self.embedding = build_embedding(embedding, weights, sample_rate)
        self.reference = GaussianStatistics()
        self.systems: dict[str, GaussianStatistics] = {}
        self.items: dict[str, int] = {}

    def _embed(self, wave: np.ndarray, sample_rate: int) -> np.ndarray:
        resampled = to_rate(wave, sample_rate, self.embedding.sample_rate)
        tensor = torch.from_numpy(np.ascontiguousarray(resampled, dtype=np.float32))
        return self.embedding(tensor).double().numpy()

    def add_reference(self, wave: np.ndarray, sample_rate: int, item: Item | None = None
                      ) -> None:
        self.reference.update(self._embed(wave, sample_rate))

    def add(self, system: str, wave: np.ndarray, sample_rate: int, item: Item | None = None
            ) -> None:
        self.systems.setdefault(system, GaussianStatistics()).update(
            self._embed(wave, sample_rate))
        self.items[system] = self.items.get(system, 0) + 1

    def size(self, system: str) -> int:
        return self.items.get(system, 0)

    def result(self, system: str) -> dict[str, float]:
        if system not in self.systems:
            raise ValueError(f"no generated item of {system!r} could be embedded")
        reference_mean, reference_cov = self.reference.moments()
        mean, cov = self.systems[system].moments()
        return {"fad": frechet_distance(mean, cov, reference_mean, reference_cov)}

    def card(self, name: str) -> dict[str, Any]:
        packages = ("torch", "encodec") if isinstance(self.embedding, EncodecEmbedding) else (
            "torch",)
        return {**library(*packages, "numpy"),
                "sample_rate": self.embedding.sample_rate, "resampler": RESAMPLER,
                "mode": "frame embeddings of every item pooled per set; unbiased covariance; "
                        "eigenvalue form of tr((S1 S2)^(1/2)); biased for small sets",
                "alignment": "none (distribution-level, unpaired)",
                "embedding_model": self.embedding.name, "checksum": self.embedding.checksum}
