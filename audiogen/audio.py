"""Audio I/O and elementary waveform operations; tensors are shaped (channels, time).

Reading and writing go through soundfile (wav, flac, ogg, mp3); resampling uses torchaudio's
band-limited sinc resampler. Every failure to read a file raises :class:`AudioError` naming it.
Writes are atomic: a file is written beside its target and renamed into place.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile
import torch
import torchaudio.functional as AF

from audiogen.errors import AudioError, ConfigError
from audiogen.utils import atomic_write

SUPPORTED_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
ChannelPolicy = Literal["mono", "keep", "stereo"]
MAX_SECONDS_VARIABLE = "AUDIOGEN_MAX_SECONDS"
DEFAULT_MAX_SECONDS = 600.0


def max_seconds() -> float:
    """The longest audio :func:`load` reads in one piece: ``$AUDIOGEN_MAX_SECONDS`` or 10
    minutes. It bounds memory (a 2-hour file would need over 10 GB in a vocoder's spectrogram
    loop); a longer file is refused with an error naming it, and batch jobs skip it."""
    value = os.environ.get(MAX_SECONDS_VARIABLE)
    if value is None:
        return DEFAULT_MAX_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise ConfigError(f"{MAX_SECONDS_VARIABLE} must be a positive number of seconds, not "
                          f"{value!r}")
    return seconds


def info(path: str | os.PathLike) -> tuple[int, int, int]:
    """Return (sample_rate, frames, channels) of an audio file without decoding it."""
    path = _check_path(path)
    try:
        meta = soundfile.info(str(path))
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise AudioError(path, f"cannot read audio header ({error})") from None
    return int(meta.samplerate), int(meta.frames), int(meta.channels)


def load(
    path: str | os.PathLike,
    sample_rate: int | None = None,
    channels: ChannelPolicy = "mono",
    offset: int = 0,
    frames: int = -1,
) -> tuple[torch.Tensor, int]:
    """Read an audio file as float32 (channels, time) and its sample rate.

    Args:
        sample_rate: resample to this rate when given.
        channels: "mono" averages channels, "stereo" duplicates mono to two channels
            (and refuses more than two), "keep" returns the file's channels.
        offset, frames: read a window of the file, in samples at the file's rate.

    A read longer than :func:`max_seconds` is refused before anything is decoded.
    """
    path = _check_path(path)
    try:
        handle = soundfile.SoundFile(str(path))  # opened once: header, length check, samples
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise AudioError(path, f"cannot read audio header ({error})") from None
    with handle:
        file_rate = handle.samplerate
        length = handle.frames - offset if frames < 0 else min(frames, handle.frames - offset)
        limit = max_seconds()
        if file_rate > 0 and length / file_rate > limit:
            raise AudioError(path, f"is {format_duration(length / file_rate)} long; audiogen "
                             f"reads at most {format_duration(limit)} per file (split it, or "
                             f"raise {MAX_SECONDS_VARIABLE})")
        try:
            if offset:
                handle.seek(offset)
            data = handle.read(frames, dtype="float32", always_2d=True)
        except (RuntimeError, soundfile.LibsndfileError, ValueError) as error:
            raise AudioError(path, f"cannot decode audio ({error})") from None
    if data.shape[0] == 0:
        raise AudioError(path, "audio has zero length")
    if not np.isfinite(data).all():
        raise AudioError(path, "audio contains NaN or Inf samples")
    wave = torch.from_numpy(np.ascontiguousarray(data.T))
    wave = apply_channel_policy(wave, channels, path)
    if sample_rate is not None and sample_rate != file_rate:
        wave = resample(wave, file_rate, sample_rate)
        file_rate = sample_rate
    return wave, int(file_rate)


def format_duration(seconds: float) -> str:
    """``7200.0`` -> ``"2:00:00"``, ``75.5`` -> ``"1:15.5"``."""
    minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    text = f"{rest:04.1f}" if rest % 1 else f"{int(rest):02d}"
    return f"{hours}:{minutes:02d}:{text}" if hours else f"{minutes}:{text}"


def save(path: str | os.PathLike, wave: torch.Tensor | np.ndarray, sample_rate: int,
         subtype: str | None = None) -> Path:
    """Write (channels, time) or (time,) audio atomically; the format follows the suffix."""
    path = Path(path)
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise AudioError(path, f"unsupported format; use one of {', '.join(SUPPORTED_SUFFIXES)}")
    array = wave.detach().cpu().float().numpy() if isinstance(wave, torch.Tensor) else wave
    array = np.asarray(array, dtype=np.float32)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2:
        raise AudioError(path, f"expected (channels, time) audio, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise AudioError(path, "refusing to write NaN or Inf samples")
    if subtype is None and path.suffix.lower() == ".wav":
        subtype = "PCM_16"
    clipped = np.clip(array.T, -1.0, 1.0)
    audio_format = path.suffix[1:].upper()

    def write(tmp: str) -> None:
        soundfile.write(tmp, clipped, sample_rate, subtype=subtype, format=audio_format)

    atomic_write(path, write)
    return path


def resample(wave: torch.Tensor, orig_rate: int, new_rate: int) -> torch.Tensor:
    """Band-limited sinc resampling along the last axis (torchaudio, default Hann window)."""
    if orig_rate == new_rate:
        return wave
    return AF.resample(wave, orig_rate, new_rate)


def apply_channel_policy(wave: torch.Tensor, policy: ChannelPolicy, path: object = "<tensor>"
                         ) -> torch.Tensor:
    """Convert (channels, time) audio to mono, stereo, or keep it as is."""
    if policy == "mono":
        return wave.mean(dim=0, keepdim=True)
    if policy == "stereo":
        if wave.shape[0] == 1:
            return wave.expand(2, -1).clone()
        if wave.shape[0] != 2:
            raise AudioError(path, f"cannot make stereo from {wave.shape[0]} channels")
        return wave
    if policy == "keep":
        return wave
    raise ValueError(f"channels must be 'mono', 'stereo' or 'keep', got {policy!r}")


def peak_normalize(wave: torch.Tensor, peak: float = 0.95) -> torch.Tensor:
    """Scale so that the largest absolute sample equals ``peak``; silence is returned unchanged."""
    top = wave.abs().amax()
    return wave if top == 0 else wave * (peak / top)


def loudness(wave: torch.Tensor, sample_rate: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4, via torchaudio) of (channels, time) audio."""
    return float(AF.loudness(wave, sample_rate))


def loudness_normalize(wave: torch.Tensor, sample_rate: int, target_lufs: float = -23.0
                       ) -> torch.Tensor:
    """Apply the gain that brings integrated loudness to ``target_lufs`` (BS.1770-4)."""
    current = loudness(wave, sample_rate)
    if not np.isfinite(current):
        return wave
    return wave * 10.0 ** ((target_lufs - current) / 20.0)


def crop_or_pad(wave: torch.Tensor, length: int, start: int = 0) -> torch.Tensor:
    """Take ``length`` samples from ``start``, zero-padding on the right when too short."""
    piece = wave[..., start:start + length]
    missing = length - piece.shape[-1]
    return torch.nn.functional.pad(piece, (0, missing)) if missing > 0 else piece


def random_crop(wave: torch.Tensor, length: int, generator: torch.Generator | None = None
                ) -> torch.Tensor:
    """A uniformly placed crop of ``length`` samples (zero-padded when the input is shorter)."""
    room = wave.shape[-1] - length
    start = int(torch.randint(0, room + 1, (1,), generator=generator)) if room > 0 else 0
    return crop_or_pad(wave, length, start)


def _check_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise AudioError(path, "file not found")
    if not path.is_file():
        raise AudioError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise AudioError(path, "file is empty")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise AudioError(path, f"unsupported format; use one of {', '.join(SUPPORTED_SUFFIXES)}")
    return path
