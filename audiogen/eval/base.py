"""The metric contract: a :class:`Metric` describes one number, a scorer computes a group of them.

Metrics of one group share a scorer, so a model is loaded once per run and an analysis (a pitch
track, a DNSMOS pass) is done once per item for all the group's numbers. Item scorers map one
(generated, reference) pair to numbers; set scorers (FAD) accumulate a whole system first.
Scorers receive mono float32 arrays at the pair's rate and resample to their own rate themselves.
"""

from __future__ import annotations

import abc
import hashlib
import os
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch

from audiogen.audio import resample

if TYPE_CHECKING:
    from audiogen.eval.pairing import Item

RESAMPLER = ("torchaudio.functional.resample via audiogen.audio.resample (windowed sinc, Hann, "
             "lowpass_filter_width 6, rolloff 0.99)")


@dataclass(frozen=True)
class Metric:
    """One registered number: its meaning, direction, rate and the group that computes it.

    ``sample_rate`` is the rate the metric is computed at; None means the pair's own rate (or,
    for FAD, the embedding model's rate). ``group`` names the scorer shared with related metrics
    and is the prefix of that scorer's options (``pitch_model="tiny"``).
    """

    name: str
    description: str
    higher_is_better: bool
    needs_reference: bool
    sample_rate: int | None
    group: str
    unit: str = ""

    @property
    def direction(self) -> str:
        """'higher' or 'lower': which way is better."""
        return "higher" if self.higher_is_better else "lower"


@dataclass(frozen=True)
class Undefined:
    """A metric value that does not exist for an item (recorded as an error), with the reason."""

    reason: str


Score = dict[str, float | Undefined]


class MetricGroup(abc.ABC):
    """Metrics computed together; subclasses load their models in ``__init__``."""

    def __init__(self, metrics: Sequence[Metric]) -> None:
        self.metrics = tuple(metrics)
        self.names = tuple(metric.name for metric in self.metrics)

    @abc.abstractmethod
    def card(self, name: str) -> dict[str, Any]:
        """Library, version, rate, resampler, mode, alignment, model and checksum of ``name``."""


class Scorer(MetricGroup):
    """Computes the metrics of one group for one item."""

    @abc.abstractmethod
    def score(self, generated: np.ndarray, reference: np.ndarray | None, sample_rate: int
              ) -> Score:
        """Scores of ``generated`` (T,) against ``reference`` (T,) (same length and rate)."""


class PartialResult(Exception):
    """Raised by :meth:`SetScorer.result` when only some of its metrics could be computed:
    ``values`` are those that could, ``errors`` maps each other metric to its message."""

    def __init__(self, values: dict[str, float], errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.values, self.errors = values, errors


class SetScorer(MetricGroup):
    """Computes a metric between two sets of signals (a system's outputs and the references)."""

    @abc.abstractmethod
    def add_reference(self, wave: np.ndarray, sample_rate: int, item: Item | None = None
                      ) -> None:
        """Add one reference signal (T,) to the reference set; ``item`` is its source (the
        file, and its manifest row when it came from a manifest)."""

    @abc.abstractmethod
    def add(self, system: str, wave: np.ndarray, sample_rate: int, item: Item | None = None
            ) -> None:
        """Add one generated signal (T,) to ``system``'s set; ``item`` as above."""

    @abc.abstractmethod
    def result(self, system: str) -> dict[str, float]:
        """The metrics of ``system``'s set against the reference set."""

    @abc.abstractmethod
    def size(self, system: str) -> int:
        """Number of signals added to ``system``'s set."""


def to_rate(wave: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
    """Resample a (T,) float array with :data:`RESAMPLER`; unchanged when the rates agree."""
    if sample_rate == target_rate:
        return wave
    tensor = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))
    return resample(tensor, sample_rate, target_rate).numpy()


def version(package: str) -> str:
    """Installed version of a distribution, or 'unknown'."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def library(*packages: str) -> dict[str, str]:
    """Card fields naming the libraries that compute a metric and their versions."""
    return {"library": ", ".join(packages),
            "version": ", ".join(f"{name} {version(name)}" for name in packages)}


def state_checksum(module: torch.nn.Module) -> str:
    """SHA-256 over a module's state dict (names, dtypes, shapes and bytes, sorted by name)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{value.dtype}:{tuple(value.shape)}".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def array_key(wave: np.ndarray) -> bytes:
    """A short digest of an array's content, to cache analyses of the same signal."""
    return hashlib.blake2b(np.ascontiguousarray(wave).tobytes(), digest_size=16).digest()


def load_torch_module(path: str | os.PathLike) -> torch.nn.Module:
    """A serialized module without unpickling Python code: a ``torch.export`` archive (.pt2)
    or a TorchScript archive; raises ValueError for anything else."""
    path = Path(path)
    try:
        if path.suffix == ".pt2":
            return torch.export.load(str(path)).module()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError) as error:
        raise ValueError(f"{path}: not a torch.export (.pt2) or TorchScript archive ({error})"
                         ) from None


def eval_mode(module: torch.nn.Module) -> torch.nn.Module:
    """Put a module in evaluation mode where it supports it (exported graphs are fixed)."""
    try:
        module.eval()
    except NotImplementedError:
        pass
    return module


def onnx_session(model: Path | Any, threads: int | None) -> Any:
    """An onnxruntime CPU session of an ONNX file or ``onnx.ModelProto``, with full graph
    optimisation and ``threads`` intra-op threads (None: onnxruntime's default, one per
    physical core)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    source = str(model) if isinstance(model, (str, Path)) else model.SerializeToString()
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])
