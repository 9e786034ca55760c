"""Run an exported ``.onnx`` generator with onnxruntime, numpy and soundfile only (no torch).

:class:`OnnxGenerator` reads what :mod:`audiogen.export.onnx` stored in the graph's metadata
(kind, feature spec, sample rate, inputs) and refuses features made with another spec, naming
the field. :func:`synthesize_files` is ``audiogen synthesize model.onnx``: wav inputs (a file,
a folder or a manifest) are turned into log-mel features from the stored spec
(:mod:`audiogen.export.features`, numpy and librosa) or fed as audio to an audio-to-audio
model; ``.npz`` feature (or codec token) files must carry the stored spec.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from audiogen.errors import (
    AudioError,
    AudiogenError,
    ConfigError,
    DataError,
    SpecMismatchError,
)

META_PREFIX = "audiogen."
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
FEATURE_SUFFIX = ".npz"
MAX_SECONDS_VARIABLE = "AUDIOGEN_MAX_SECONDS"


class ModelError(AudiogenError):
    """onnxruntime could not run the graph on an input (its message, on one line)."""


class OnnxGenerator:
    """An exported vocoder (features -> audio), audio-to-audio model (audio -> audio) or codec
    decoder (tokens -> audio).

    ``__call__(x, seed)``: x is float32 features (B, dim, frames) for a vocoder, audio (B, T)
    for an enhancer, int64 tokens (B, n_q, frames) for a codec decoder; the start noise a
    sampler needs is drawn from ``seed`` (numpy). Returns float32 audio (B, T) at
    :attr:`sample_rate`.
    """

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        import onnxruntime

        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: ONNX model not found")
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            self.session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types
            raise DataError(f"{path}: not a loadable ONNX model ({error})") from None
        props = self.session.get_modelmeta().custom_metadata_map
        meta = {key[len(META_PREFIX):]: value for key, value in props.items()
                if key.startswith(META_PREFIX)}
        if "spec" not in meta:
            raise DataError(f"{path}: an ONNX model without audiogen metadata (export it with "
                            "'audiogen export')")
        self.path, self.meta = path, meta
        self.kind: str = meta["kind"]
        self.spec: dict[str, Any] = json.loads(meta["spec"])
        self.sample_rate = int(meta["sample_rate"])
        self.hop_length = int(meta["hop_length"])
        self.inputs = meta["inputs"].split(",")

    def __call__(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        dtype = np.int64 if self.kind == "codec" else np.float32
        feeds = {self.inputs[0]: np.ascontiguousarray(x, dtype=dtype)}
        if "noise" in self.inputs:
            shape = self.noise_shape(x)
            feeds["noise"] = np.random.default_rng(seed).standard_normal(shape,
                                                                         dtype=np.float32)
        try:
            return self.session.run(None, feeds)[0]
        except Exception as error:  # noqa: BLE001 (onnxruntime's own exception types)
            raise ModelError(f"{self.path}: onnxruntime failed on input "
                             f"{tuple(x.shape)}: {str(error).splitlines()[0]}") from None

    def noise_shape(self, x: np.ndarray) -> tuple[int, int, int]:
        """(B, state channels, state frames) of the start noise for input ``x``."""
        frames = x.shape[-1] if self.kind == "vocoder" else -(-x.shape[-1] // self.hop_length)
        state = json.loads(self.meta["state_spec"])
        return x.shape[0], int(self.meta["state_channels"]), state_frames(
            state, frames * self.hop_length)

    def check_spec(self, spec: dict[str, Any], what: str) -> None:
        """Refuse ``spec`` when it differs from the model's, naming every field."""
        differences = [f"{key}: model has {self.spec.get(key, '<absent>')!r}, {what} have "
                       f"{spec.get(key, '<absent>')!r}"
                       for key in sorted(set(self.spec) | set(spec))
                       if _normalise(self.spec.get(key)) != _normalise(spec.get(key))]
        if differences:
            raise SpecMismatchError(f"{what} were made with another spec than the model's: "
                                    + "; ".join(differences))


def state_frames(spec: dict[str, Any], num_samples: int) -> int:
    """Frames of a state representation (its spec) for ``num_samples`` of audio."""
    if spec.get("type") == "waveform":
        return num_samples
    hop = int(spec["hop_length"])
    if spec.get("padding") == "center":
        return num_samples // hop + 1
    return (num_samples - hop) // hop + 1


def _normalise(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _normalise(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(item) for item in value]
    return value


@dataclass
class RuntimeReport:
    """What a job wrote and what it skipped (with the reason)."""

    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    audio_seconds: float = 0.0


def synthesize_files(model: str | os.PathLike, inputs: str | os.PathLike,
                     out: str | os.PathLike, seed: int = 0, threads: int | None = None,
                     limit: int | None = None, steps: int | None = None) -> RuntimeReport:
    """Run the exported model over every input, writing ``out/<relative name>.wav``;
    ``steps``, when given, must be the step count the graph was exported with."""
    generator = OnnxGenerator(model, threads)
    exported = json.loads(generator.meta.get("sampling", "{}")).get("steps")
    if steps is not None and steps != exported:
        raise ConfigError(f"{model}: the solver steps are fixed in an exported graph "
                          f"({exported or 'a one-step model'}); export it again with "
                          f"--steps {steps}")
    items = list_inputs(Path(inputs))
    if limit is not None and limit < len(items):
        items = [items[(index * len(items)) // limit] for index in range(limit)]
    report = RuntimeReport()
    for path, name in items:
        try:
            x, length = _model_input(generator, path)
            wave = generator(x[None], seed)[0][:length]
            if not np.isfinite(wave).all():
                raise AudioError(path, "the model's output contains NaN or Inf")
        except AudiogenError as error:
            report.skipped.append((name, str(error)))
            continue
        target = Path(out) / f"{name}.wav"
        _write(target, wave, generator.sample_rate)
        report.written.append(target)
        report.audio_seconds += wave.shape[-1] / generator.sample_rate
    return report


def _model_input(generator: OnnxGenerator, path: Path) -> tuple[np.ndarray, int]:
    """The model's input for one file and the number of output samples to keep."""
    if path.suffix == FEATURE_SUFFIX:
        if generator.kind == "enhancer":
            raise DataError(f"{path}: an audio-to-audio model takes audio, not features")
        features, spec, extra = read_features(path, tokens=generator.kind == "codec")
        generator.check_spec(spec, f"features in {path}")
        length = features.shape[-1] * generator.hop_length
        if "num_samples" in extra:  # codec tokens: the encoded audio's own length
            length = min(length, int(extra["num_samples"]))
        return features, length
    if generator.kind == "codec":
        raise DataError(f"{path}: a codec decoder takes token files (.npz from 'audiogen "
                        "extract tokens'), not audio")
    wave = read_audio(path, generator.sample_rate)
    length = wave.shape[-1]
    minimum = max(generator.hop_length, int(generator.spec.get("n_fft", 0)))
    if length < minimum:  # too short to frame: zero-pad to one analysis window
        wave = np.pad(wave, (0, minimum - length))
    if generator.kind == "enhancer":
        return wave, length
    from audiogen.export.features import log_mel

    features = log_mel(wave, generator.spec)
    return features, features.shape[-1] * generator.hop_length


def list_inputs(source: Path) -> list[tuple[Path, str]]:
    """(path, relative name) of a file, a folder (recursively) or a ``.jsonl`` manifest."""
    if not source.exists():
        raise DataError(f"{source}: input not found")
    if source.is_file() and source.suffix == ".jsonl":
        rows = []
        for number, line in enumerate(source.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                raw = Path(row["path"])
            except (ValueError, KeyError, TypeError):
                raise DataError(f"{source}:{number}: not a manifest line with a path") from None
            path = raw if raw.is_absolute() else source.resolve().parent / raw
            rows.append((path, str(row.get("id") or raw.with_suffix("").as_posix())))
        return rows
    if source.is_file():
        return [(source, source.stem)]
    wanted = (*AUDIO_SUFFIXES, FEATURE_SUFFIX)
    files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in wanted)
    if not files:
        raise DataError(f"{source}: no audio ({', '.join(AUDIO_SUFFIXES)}) or "
                        f"{FEATURE_SUFFIX} feature files found")
    return [(p, p.relative_to(source).with_suffix("").as_posix()) for p in files]


def read_features(path: Path, tokens: bool = False
                  ) -> tuple[np.ndarray, dict[str, Any], dict[str, np.ndarray]]:
    """Float32 (dim, frames) features, or int64 (n_q, frames) codec tokens with ``tokens``,
    their spec and the file's extra arrays, from an audiogen ``.npz`` file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if "features" not in data.files or "spec" not in data.files:
                raise DataError(f"{path}: not an audiogen feature file (no features or spec "
                                "array; extract it again)")
            features, spec = data["features"], json.loads(str(data["spec"]))
            extra = {key: data[key] for key in data.files if key not in ("features", "spec")}
    except (OSError, ValueError, EOFError) as error:
        raise DataError(f"{path}: not an audiogen feature file ({error})") from None
    kind = "iu" if tokens else "f"
    if features.ndim != 2 or features.dtype.kind not in kind:
        wanted = "integer (n_q, frames) tokens" if tokens else "float (dim, frames) features"
        raise DataError(f"{path}: the model takes {wanted}, got {features.dtype} "
                        f"{features.shape}")
    if tokens:
        return features.astype(np.int64), spec, extra
    if not np.isfinite(features).all():
        raise AudioError(path, "features contain NaN or Inf")
    return features.astype(np.float32), spec, extra


def read_audio(path: Path, sample_rate: int) -> np.ndarray:
    """Mono float32 audio at ``sample_rate`` (resampled with librosa when it differs)."""
    import soundfile

    limit = float(os.environ.get(MAX_SECONDS_VARIABLE, 600.0))
    try:
        info = soundfile.info(str(path))
        if info.frames > limit * info.samplerate:
            raise AudioError(path, f"longer than {limit:g} s (raise {MAX_SECONDS_VARIABLE})")
        wave, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise AudioError(path, f"unreadable audio ({error})") from None
    wave = wave.mean(axis=1)
    if wave.size == 0:
        raise AudioError(path, "empty audio")
    if not np.isfinite(wave).all():
        raise AudioError(path, "audio contains NaN or Inf")
    if rate != sample_rate:
        import librosa

        wave = librosa.resample(wave, orig_sr=rate, target_sr=sample_rate).astype(np.float32)
    return wave


def _write(path: Path, wave: np.ndarray, sample_rate: int) -> None:
    """16-bit wav, written to a temporary name and renamed (whole files only)."""
    import soundfile

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    soundfile.write(str(temporary), np.clip(wave, -1.0, 1.0), sample_rate, subtype="PCM_16",
                    format="WAV")
    os.replace(temporary, path)

