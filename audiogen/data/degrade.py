"""Controlled speech degradations: each draws its parameters from a seed, then applies them
deterministically (the augmentation contract of audiotools / descript-audio-codec).

A :class:`Degradation` has ``draw(rng) -> params`` and ``apply(wave, sample_rate, params) ->
wave``; every random quantity an application needs (a noise realisation, lost packets) is drawn
in ``draw`` as an integer seed, so ``apply`` with the same params gives the same samples. Outputs
keep the input length, and those that delay the signal (rooms, codecs) are shifted back so that
they stay time-aligned with the input. :func:`degrade_manifest` degrades a corpus into a
labelled-to-be manifest; :func:`write_test_set` writes a fixed degraded test set with its clean
references.
"""

from __future__ import annotations

import abc
import fnmatch
import functools
import io
import itertools
import math
import os
import warnings
import zlib
from copy import copy as shallow_copy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence, cast

import numpy as np
import torch
from tqdm import tqdm

from audiogen import audio
from audiogen.data import manifest
from audiogen.errors import AudioError, ConfigError, DataError
from audiogen.representations.codec import CodecTokens
from audiogen.utils import atomic_write_text

Params = dict[str, Any]


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(*bounds))


def _power(wave: np.ndarray) -> float:
    return float(np.mean(np.square(wave, dtype=np.float64)))


def add_at_snr(wave: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``wave + g * noise`` with g chosen so that 10 log10(P_wave / P_{g noise}) = ``snr_db``
    (mean-square powers over the whole signal)."""
    noise_power = _power(noise)
    if noise_power == 0.0:
        return wave.copy()
    gain = math.sqrt(_power(wave) / (noise_power * 10.0 ** (snr_db / 10.0)))
    return (wave + gain * noise).astype(np.float32)


class Degradation(abc.ABC):
    """One kind of degradation; ``name`` labels the condition in manifests."""

    name: str

    @abc.abstractmethod
    def draw(self, rng: np.random.Generator) -> Params:
        """Parameters of one application, drawn from ``rng`` (JSON-serialisable)."""

    @abc.abstractmethod
    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        """Degrade a (T,) float signal with ``params``; returns (T,) float32."""

    def condition(self, params: Params) -> str:
        """The label of one application in manifests: ``name`` (composites name what they
        applied)."""
        return self.name


@dataclass(frozen=True)
class WhiteNoise(Degradation):
    """Additive white Gaussian noise at an SNR drawn from ``snr_db``."""

    snr_db: tuple[float, float] = (0.0, 30.0)
    name: str = "white_noise"

    def draw(self, rng: np.random.Generator) -> Params:
        return {"snr_db": _uniform(rng, self.snr_db), "noise_seed": int(rng.integers(2**31))}

    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        noise = np.random.default_rng(params["noise_seed"]).standard_normal(wave.size)
        return add_at_snr(wave, noise, params["snr_db"])


@dataclass(frozen=True)
class Babble(Degradation):
    """Babble: the sum of ``talkers`` other utterances from ``pool`` (each at equal power,
    looped to the length from a drawn offset), added at an SNR drawn from ``snr_db``."""

    pool: Sequence[np.ndarray] = field(repr=False)
    talkers: tuple[int, int] = (3, 6)
    snr_db: tuple[float, float] = (0.0, 25.0)
    name: str = "babble"

    def draw(self, rng: np.random.Generator) -> Params:
        count = int(rng.integers(self.talkers[0], self.talkers[1] + 1))
        chosen = rng.choice(len(self.pool), size=min(count, len(self.pool)), replace=False)
        return {"snr_db": _uniform(rng, self.snr_db),
                "talkers": [int(i) for i in chosen],
                "offsets": [float(rng.uniform()) for _ in chosen]}

    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        noise = np.zeros(wave.size)
        for index, offset in zip(params["talkers"], params["offsets"]):
            looped = looped_from(np.asarray(self.pool[index], dtype=np.float64), offset,
                                 wave.size)
            power = _power(looped)
            if power > 0:
                noise += looped / math.sqrt(power)
        return add_at_snr(wave, noise, params["snr_db"])


@dataclass(frozen=True)
class SpeechShapedNoise(Degradation):
    """Stationary noise with the long-term average magnitude spectrum of ``pool``: white noise
    shaped in the frequency domain, added at an SNR drawn from ``snr_db``."""

    pool: Sequence[np.ndarray] = field(repr=False)
    snr_db: tuple[float, float] = (0.0, 25.0)
    n_fft: int = 512
    name: str = "speech_shaped_noise"

    def draw(self, rng: np.random.Generator) -> Params:
        return {"snr_db": _uniform(rng, self.snr_db), "noise_seed": int(rng.integers(2**31))}

    @functools.cached_property
    def spectrum(self) -> np.ndarray:
        """Long-term average magnitude spectrum of the pool's Hann frames, (n_fft // 2 + 1,)."""
        window = np.hanning(self.n_fft)
        frames = [np.lib.stride_tricks.sliding_window_view(
            np.pad(np.asarray(w, np.float64), (0, self.n_fft)), self.n_fft)[::self.n_fft // 2]
            for w in self.pool]
        return np.abs(np.fft.rfft(np.concatenate(frames) * window, axis=1)).mean(axis=0)

    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        white = np.random.default_rng(params["noise_seed"]).standard_normal(wave.size)
        shape = self.spectrum
        grid = np.linspace(0.0, 1.0, wave.size // 2 + 1)
        gains = np.interp(grid, np.linspace(0.0, 1.0, shape.size), shape)
        noise = np.fft.irfft(np.fft.rfft(white) * gains, n=wave.size)
        return add_at_snr(wave, noise, params["snr_db"])


def looped_from(signal: np.ndarray, offset: float, length: int) -> np.ndarray:
    """``signal`` read from the fraction ``offset`` of its length on, repeated to ``length``."""
    return np.resize(np.roll(signal, -int(offset * signal.size)), length)


def coloured_noise(size: int, beta: float, seed: int) -> np.ndarray:
    """(size,) Gaussian noise whose power spectrum falls as 1/f^beta (0 white, 1 pink, 2 brown):
    white noise with its DFT scaled by f^(-beta/2) and the DC bin zeroed."""
    white = np.random.default_rng(seed).standard_normal(size)
    frequencies = np.fft.rfftfreq(size)
    gains = np.zeros_like(frequencies)
    gains[1:] = frequencies[1:] ** (-beta / 2.0)
    return np.fft.irfft(np.fft.rfft(white) * gains, n=size)


@dataclass(frozen=True)
class ColouredNoise(Degradation):
    """Additive :func:`coloured_noise` with its exponent drawn from ``beta`` at an SNR drawn
    from ``snr_db``."""

    beta: tuple[float, float] = (0.0, 2.0)
    snr_db: tuple[float, float] = (0.0, 30.0)
    name: str = "coloured_noise"

    def draw(self, rng: np.random.Generator) -> Params:
        return {"beta": _uniform(rng, self.beta), "snr_db": _uniform(rng, self.snr_db),
                "noise_seed": int(rng.integers(2**31))}

    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        noise = coloured_noise(wave.size, params["beta"], params["noise_seed"])
        return add_at_snr(wave, noise, params["snr_db"])


def audio_files(folder: Path) -> list[Path]:
    """The audio files below ``folder`` (any depth, supported suffixes), sorted."""
    return sorted(p for p in folder.rglob("*")
                  if p.suffix.lower() in audio.SUPPORTED_SUFFIXES and p.is_file())


NOISE_CACHE_FILES = 256
"""How many decoded noise recordings (per file and rate) a process keeps."""


def readable_audio_files(source: str | os.PathLike, pattern: str = "*") -> list[str]:
    """The audio files of a folder (searched recursively, sorted) or a manifest whose names
    match ``pattern`` and whose headers read (non-empty, not longer than
    :func:`audiogen.audio.max_seconds`); the others are skipped with one warning naming them.
    None left raises :class:`DataError` naming ``source``."""
    path = Path(source)
    if path.is_dir():
        candidates = [str(p) for p in audio_files(path)]
    elif path.is_file():
        candidates = [row.path for row in manifest.read(path)]
    else:
        raise DataError(f"{source}: no such folder or manifest of audio files")
    candidates = [name for name in candidates if fnmatch.fnmatch(Path(name).name, pattern)]
    readable, unreadable = [], []
    for name in candidates:
        try:
            rate, frames, _ = audio.info(name)
        except AudioError as error:
            unreadable.append(str(error))
            continue
        if frames == 0 or frames / rate > audio.max_seconds():
            unreadable.append(f"{name}: {frames / rate:.1f} s long")
        else:
            readable.append(name)
    if unreadable:
        warnings.warn(f"{source}: skipping {len(unreadable)} unreadable audio file(s): "
                      + "; ".join(unreadable), stacklevel=2)
    if not readable:
        raise DataError(f"{source}: no readable audio files matching {pattern!r} "
                        f"({len(unreadable)} unreadable)")
    return readable


@functools.lru_cache(maxsize=NOISE_CACHE_FILES)
def _recording(path: str, sample_rate: int) -> np.ndarray:
    """A file's audio, mono at ``sample_rate``, float64 and read-only (it is shared)."""
    wave = audio.load(path, sample_rate)[0][0].numpy().astype(np.float64)
    wave.setflags(write=False)
    return wave


@dataclass(frozen=True)
class RecordedNoise(Degradation):
    """Additive recorded noise: a file of ``source`` (a folder or a manifest; names matching
    ``pattern``, e.g. ``ambi_*``), looped to the length from a drawn offset, at an SNR drawn
    from ``snr_db``. Files are listed and their headers checked once, on first use (see
    :func:`readable_audio_files`); their audio is read when drawn, at the signal's rate, and
    cached per process."""

    source: str
    pattern: str = "*"
    snr_db: tuple[float, float] = (0.0, 10.0)
    name: str = "recorded_noise"

    @functools.cached_property
    def files(self) -> list[str]:
        return readable_audio_files(self.source, self.pattern)

    def draw(self, rng: np.random.Generator) -> Params:
        files = self.files
        return {"file": files[int(rng.integers(len(files)))], "offset": float(rng.uniform()),
                "snr_db": _uniform(rng, self.snr_db)}

    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        noise = looped_from(_recording(params["file"], sample_rate), params["offset"], wave.size)
        return add_at_snr(wave, noise, params["snr_db"])


def band_limit(wave: np.ndarray, sample_rate: int, low_hz: float, high_hz: float
               ) -> np.ndarray:
    """Zero every DFT bin of the whole signal outside [``low_hz``, ``high_hz``] (an ideal,
    zero-phase band-pass)."""
    spectrum = np.fft.rfft(np.asarray(wave, dtype=np.float64))
    frequencies = np.fft.rfftfreq(wave.size, 1.0 / sample_rate)
    spectrum[(frequencies < low_hz) | (frequencies > high_hz)] = 0.0
    return np.fft.irfft(spectrum, n=wave.size).astype(np.float32)


@dataclass(frozen=True)
class LowPass(Degradation):
    """Ideal low-pass at a cutoff drawn from ``cutoff_hz`` (bandwidth loss)."""

    cutoff_hz: tuple[float, float] = (1000.0, 6000.0)
    name: str = "low_pass"

    def draw(self, rng: np.random.Generator) -> Params:
        return {"cutoff_hz": _uniform(rng, self.cutoff_hz)}

    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        return band_limit(wave, sample_rate, 0.0, params["cutoff_hz"])


@dataclass(frozen=True)
class BandPass(Degradation):
    """Telephone-like band limiting: ideal band-pass with edges drawn from ``low_hz`` and
    ``high_hz``."""

    low_hz: tuple[float, float] = (100.0, 500.0)
    high_hz: tuple[float, float] = (2500.0, 4000.0)
    name: str = "band_pass"

    def draw(self, rng: np.random.Generator) -> Params:
        return {"low_hz": _uniform(rng, self.low_hz), "high_hz": _uniform(rng, self.high_hz)}

    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        return band_limit(wave, sample_rate, params["low_hz"], params["high_hz"])


@dataclass(frozen=True)
class MuLaw(Degradation):
    """mu-law companding quantisation (ITU-T G.711 style, mu = 2^bits - 1) with ``bits`` drawn
    from the range; the signal is peak-normalised before and the gain restored after."""

    bits: tuple[int, int] = (3, 8)
    name: str = "mu_law"

    def draw(self, rng: np.random.Generator) -> Params:
        return {"bits": int(rng.integers(self.bits[0], self.bits[1] + 1))}

    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        peak = float(np.max(np.abs(wave))) or 1.0
        mu = 2.0 ** params["bits"] - 1.0
        x = np.asarray(wave, np.float64) / peak
        companded = np.sign(x) * np.log1p(mu * np.abs(x)) / math.log1p(mu)
        levels = 2.0 ** params["bits"]
        quantised = np.round((companded + 1.0) / 2.0 * (levels - 1)) / (levels - 1) * 2.0 - 1.0
        expanded = np.sign(quantised) * np.expm1(np.abs(quantised) * math.log1p(mu)) / mu
        return (peak * expanded).astype(np.float32)


@dataclass(frozen=True)
class Clipping(Degradation):
    """Hard clipping at a fraction of the peak drawn from ``fraction``."""

    fraction: tuple[float, float] = (0.02, 0.5)
    name: str = "clipping"

    def draw(self, rng: np.random.Generator) -> Params:
        return {"fraction": _uniform(rng, self.fraction)}

    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        limit = params["fraction"] * float(np.max(np.abs(wave)))
        return np.clip(wave, -limit, limit).astype(np.float32)


def synthetic_rir(sample_rate: int, rt60: float, direct_to_reverb_db: float, seed: int
                  ) -> np.ndarray:
    """A room impulse response: a unit direct path followed by Gaussian noise decaying 60 dB in
    ``rt60`` seconds (Polack's statistical model), scaled to the direct-to-reverberant ratio."""
    length = max(int(rt60 * sample_rate), 2)
    t = np.arange(1, length) / sample_rate
    tail = np.random.default_rng(seed).standard_normal(length - 1) * np.exp(
        -math.log(1000.0) * t / rt60)
    tail *= math.sqrt(10.0 ** (-direct_to_reverb_db / 10.0) / np.sum(tail ** 2))
    return np.concatenate([[1.0], tail])


@dataclass(frozen=True)
class Reverb(Degradation):
    """Convolution with a :func:`synthetic_rir`; output rescaled to the input's RMS."""

    rt60: tuple[float, float] = (0.2, 1.2)
    direct_to_reverb_db: tuple[float, float] = (-6.0, 10.0)
    name: str = "reverb"

    def draw(self, rng: np.random.Generator) -> Params:
        return {"rt60": _uniform(rng, self.rt60),
                "direct_to_reverb_db": _uniform(rng, self.direct_to_reverb_db),
                "rir_seed": int(rng.integers(2**31))}

    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        from scipy.signal import fftconvolve

        rir = synthetic_rir(sample_rate, params["rt60"], params["direct_to_reverb_db"],
                            params["rir_seed"])
        wet = fftconvolve(np.asarray(wave, np.float64), rir)[: wave.size]
        return at_power_of(wet, wave)


def at_power_of(signal: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``signal`` scaled to the mean-square power of ``reference``, float32."""
    power = _power(signal)
    scale = math.sqrt(_power(reference) / power) if power > 0 else 1.0
    return (signal * scale).astype(np.float32)


def sabine_absorption(rt60: float, room_m: Sequence[float], speed_of_sound: float) -> float:
    """The energy absorption coefficient, equal on every wall, that gives a shoebox room the
    reverberation time ``rt60`` by Sabine's formula RT60 = 24 ln(10) V / (c S a)."""
    volume = math.prod(room_m)
    surface = 2.0 * sum(a * b for a, b in itertools.combinations(room_m, 2))
    return 24.0 * math.log(10.0) * volume / (speed_of_sound * surface * rt60)


def room_rir(sample_rate: int, room_m: Sequence[float], rt60: float,
             source_m: Sequence[float], microphone_m: Sequence[float], max_order: int,
             tail_seed: int) -> tuple[np.ndarray, int]:
    """The impulse response of a shoebox room from source to microphone, and the index of its
    direct path.

    Image sources up to ``max_order`` (Allen & Berkley 1979, with pyroomacoustics; walls of
    :func:`sabine_absorption`) give the early response. They hold every reflection path shorter
    than (max_order + 1) times the room's smallest l1 l2 / sqrt(l1^2 + l2^2) (the sphere that
    ``pyroomacoustics.inverse_sabine`` sizes the order by); from there on, while the response
    has not decayed by 60 dB, it continues as Gaussian noise decaying at the ``rt60`` rate
    (Polack's model, the hybrid of Lehmann & Johansson 2010), level-matched to the last 20 ms
    of the complete image-source part. A few milliseconds per response at 16 kHz.
    """
    import pyroomacoustics as pra

    speed_of_sound = float(pra.constants.get("c"))
    room = pra.ShoeBox(list(room_m), fs=sample_rate, max_order=max_order,
                       materials=pra.Material(sabine_absorption(rt60, room_m, speed_of_sound)))
    room.add_source(list(source_m))
    room.add_microphone(list(microphone_m))
    room.compute_rir()
    rir = np.asarray(room.rir[0][0], np.float64)
    filter_delay = pra.constants.get("frac_delay_length") // 2
    direct = round(math.dist(source_m, microphone_m) / speed_of_sound * sample_rate) + filter_delay
    radius = (max_order + 1) * min(a * b / math.hypot(a, b)
                                   for a, b in itertools.combinations(room_m, 2))
    window = int(0.02 * sample_rate)
    complete = max(int(radius / speed_of_sound * sample_rate) + filter_delay, direct + 1 + window)
    end = direct + int(math.ceil(rt60 * sample_rate))
    if complete >= end:
        return rir, direct
    early = np.pad(rir, (0, max(complete - rir.size, 0)))[:complete]
    decay = 6.0 * math.log(10.0) / (rt60 * sample_rate)  # power falls 60 dB in rt60
    level = np.sum(early[complete - window:] ** 2) / np.sum(
        np.exp(-decay * np.arange(complete - window, complete)))
    times = np.arange(complete, end)
    tail = np.random.default_rng(tail_seed).standard_normal(times.size) * np.sqrt(
        level * np.exp(-decay * times))
    return np.concatenate([early, tail]), direct


@dataclass(frozen=True)
class RoomReverb(Degradation):
    """A simulated shoebox room (:func:`room_rir`): room sides drawn from ``length_m``,
    ``width_m``, ``height_m``, RT60 from ``rt60``, source and microphone anywhere at least
    ``wall_distance_m`` from the walls. The output is aligned to the direct path (so it stays
    time-aligned with the dry input) and rescaled to the input's RMS."""

    length_m: tuple[float, float] = (3.0, 10.0)
    width_m: tuple[float, float] = (3.0, 8.0)
    height_m: tuple[float, float] = (2.4, 4.0)
    rt60: tuple[float, float] = (0.2, 1.0)
    wall_distance_m: float = 0.5
    max_order: int = 12
    name: str = "room_reverb"

    def __post_init__(self) -> None:
        import pyroomacoustics as pra

        smallest = min(self.length_m[0], self.width_m[0], self.height_m[0])
        if smallest <= 2 * self.wall_distance_m:
            raise ConfigError(f"RoomReverb: a {smallest:g} m side leaves no place "
                              f"{self.wall_distance_m:g} m from both walls")
        largest = (self.length_m[1], self.width_m[1], self.height_m[1])
        if sabine_absorption(self.rt60[0], largest, pra.constants.get("c")) > 1.0:
            raise ConfigError(f"RoomReverb: rt60 {self.rt60[0]:g} s is shorter than a "
                              f"{' x '.join(f'{s:g}' for s in largest)} m room allows with "
                              "fully absorbing walls (Sabine); raise rt60 or shrink the room")

    def draw(self, rng: np.random.Generator) -> Params:
        room = [_uniform(rng, self.length_m), _uniform(rng, self.width_m),
                _uniform(rng, self.height_m)]

        def position() -> list[float]:
            return [_uniform(rng, (self.wall_distance_m, side - self.wall_distance_m))
                    for side in room]

        return {"room_m": room, "rt60": _uniform(rng, self.rt60), "source_m": position(),
                "microphone_m": position(), "tail_seed": int(rng.integers(2**31))}

    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        from scipy.signal import fftconvolve

        rir, direct = room_rir(sample_rate, params["room_m"], params["rt60"], params["source_m"],
                               params["microphone_m"], self.max_order, params["tail_seed"])
        wet = fftconvolve(np.asarray(wave, np.float64), rir)[direct: direct + wave.size]
        return at_power_of(wet, wave)


@dataclass(frozen=True)
class PacketLoss(Degradation):
    """Packets of ``packet_ms`` zeroed independently with a probability drawn from ``rate``
    (no concealment)."""

    rate: tuple[float, float] = (0.05, 0.3)
    packet_ms: float = 20.0
    name: str = "packet_loss"

    def draw(self, rng: np.random.Generator) -> Params:
        return {"rate": _uniform(rng, self.rate), "loss_seed": int(rng.integers(2**31))}

    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        packet = max(int(self.packet_ms * sample_rate / 1000.0), 1)
        count = -(-wave.size // packet)
        lost = np.random.default_rng(params["loss_seed"]).uniform(size=count) < params["rate"]
        mask = np.repeat(~lost, packet)[: wave.size]
        return (wave * mask).astype(np.float32)


@dataclass(frozen=True)
class GriffinLimResynthesis(Degradation):
    """Resynthesis from the STFT magnitude with Griffin-Lim (Griffin & Lim 1984, momentum 0.99
    as Perraudin et al. 2013) from a seeded random phase; fewer iterations, worse phase."""

    iterations: tuple[int, int] = (4, 64)
    n_fft: int = 512
    hop_length: int = 128
    name: str = "griffin_lim"

    def draw(self, rng: np.random.Generator) -> Params:
        return {"iterations": int(rng.integers(self.iterations[0], self.iterations[1] + 1)),
                "phase_seed": int(rng.integers(2**31))}

    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        window = torch.hann_window(self.n_fft, dtype=torch.float64)
        signal = torch.from_numpy(np.asarray(wave, np.float64))

        def stft(x: torch.Tensor) -> torch.Tensor:
            return torch.stft(x, self.n_fft, self.hop_length, window=window, return_complex=True)

        def istft(spectrum: torch.Tensor) -> torch.Tensor:
            return torch.istft(spectrum, self.n_fft, self.hop_length, window=window,
                               length=wave.size)

        magnitude = stft(signal).abs()
        generator = torch.Generator().manual_seed(params["phase_seed"])
        phase = 2 * math.pi * torch.rand(magnitude.shape, generator=generator,
                                         dtype=torch.float64)
        spectrum = torch.polar(magnitude, phase)
        previous = torch.zeros_like(spectrum)
        for _ in range(params["iterations"]):
            rebuilt = stft(istft(spectrum))
            accelerated = rebuilt + 0.99 * (rebuilt - previous)
            previous = rebuilt
            spectrum = magnitude * accelerated / accelerated.abs().clamp_min(1e-12)
        return istft(spectrum).numpy().astype(np.float32)


@dataclass(frozen=True)
class Clean(Degradation):
    """No degradation: anchors the top of the quality scale."""

    name: str = "clean"

    def draw(self, rng: np.random.Generator) -> Params:
        return {}

    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        return np.asarray(wave, np.float32).copy()


@dataclass(frozen=True)
class Resample(Degradation):
    """Bandwidth loss by a sample-rate round trip: down to a rate drawn from ``rates`` and back
    (torchaudio's windowed-sinc resampler both ways), what a narrowband recording looks like
    once it is brought to the model's rate."""

    rates: tuple[int, ...] = (8000,)
    name: str = "resample"

    def draw(self, rng: np.random.Generator) -> Params:
        return {"rate": int(self.rates[int(rng.integers(len(self.rates)))])}

    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        import torchaudio.functional as AF

        if params["rate"] >= sample_rate:
            return np.asarray(wave, np.float32).copy()
        signal = torch.from_numpy(np.asarray(wave, np.float32))
        low = AF.resample(signal, sample_rate, params["rate"])
        back = AF.resample(low, params["rate"], sample_rate)
        return audio_length(back.numpy(), wave.size)


def audio_length(wave: np.ndarray, length: int) -> np.ndarray:
    """``wave`` cut or zero-padded to ``length`` samples, float32."""
    out = np.zeros(length, np.float32)
    out[: min(length, wave.size)] = wave[:length]
    return out


def _resampled(wave: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    return audio.resample(torch.from_numpy(np.asarray(wave, np.float32)), orig_rate,
                          new_rate).numpy()


def align(delayed: np.ndarray, reference: np.ndarray, max_shift: int) -> np.ndarray:
    """``delayed`` shifted by the lag, at most ``max_shift`` samples either way, at which its
    cross-correlation with ``reference`` peaks (none when nothing correlates), then cut or
    zero-padded to the reference's length; float32."""
    from scipy.signal import correlate, correlation_lags

    correlation = correlate(delayed, reference, mode="full", method="fft")
    lags = correlation_lags(delayed.size, reference.size, mode="full")
    inside = np.abs(lags) <= max_shift
    best = int(np.argmax(correlation[inside]))
    lag = int(lags[inside][best]) if correlation[inside][best] > 0 else 0
    shifted = delayed[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag), delayed])
    return audio_length(shifted, reference.size)


CODECS = {"opus": ("libopus", "ogg"), "mp3": ("libmp3lame", "mp3")}
"""The lossy codecs :class:`Codec` runs through PyAV: name -> (FFmpeg encoder, container)."""


def codec_round_trip(wave: np.ndarray, sample_rate: int, encoder: str, container: str,
                     bit_rate: int) -> tuple[np.ndarray, int]:
    """Encode (T,) float audio with an FFmpeg ``encoder`` at ``bit_rate`` bits/s into
    ``container`` in memory and decode it again: the decoded (T',) audio and its rate (Opus
    decodes at 48 kHz). The container's trimming (Opus pre-skip, LAME's gapless header)
    removes most of the codec delay."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as output:
        stream = cast("av.AudioStream", output.add_stream(encoder, rate=sample_rate,
                                                          layout="mono"))
        stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(np.asarray(wave, np.float32)[None], format="flt",
                                           layout="mono")
        frame.sample_rate, frame.pts = sample_rate, 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            output.mux(packet)
    buffer.seek(0)
    with av.open(buffer, "r") as source:
        stream = source.streams.audio[0]
        chunks = [decoded.to_ndarray().reshape(-1) for decoded in source.decode(stream)]
        rate = int(stream.codec_context.sample_rate)
    return (np.concatenate(chunks) if chunks else np.zeros(0, np.float32)), rate


@dataclass(frozen=True)
class Codec(Degradation):
    """Lossy compression by a real codec, in memory through PyAV: ``codec`` "opus" (libopus in
    Ogg) or "mp3" (LAME) at a bitrate drawn from ``bitrate_kbps``. The signal is encoded at its
    own rate when the encoder takes it (else at the next rate up that it takes), decoded,
    resampled back, and shifted by the cross-correlation peak within ``max_delay_ms`` to remove
    what delay the decoder's trimming leaves, so the output is time-aligned with the input."""

    codec: str = "opus"
    bitrate_kbps: tuple[float, float] = (6.0, 16.0)
    max_delay_ms: float = 20.0
    name: str = "codec"

    def __post_init__(self) -> None:
        import av

        if self.codec not in CODECS:
            raise ConfigError(f"Codec.codec: {self.codec!r} is not one of {', '.join(CODECS)}")
        encoder = CODECS[self.codec][0]
        try:
            av.Codec(encoder, "w")
        except ValueError:
            raise ConfigError(f"Codec.codec: {self.codec} needs the {encoder} encoder, which this "
                              f"PyAV build ({av.__version__}) lacks") from None

    def draw(self, rng: np.random.Generator) -> Params:
        return {"bitrate_kbps": _uniform(rng, self.bitrate_kbps)}

    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        import av

        encoder, container = CODECS[self.codec]
        rates = sorted(av.Codec(encoder, "w").audio_rates or [sample_rate])
        rate = next((r for r in rates if r >= sample_rate), rates[-1])
        decoded, decoded_rate = codec_round_trip(
            _resampled(wave, sample_rate, rate), rate, encoder, container,
            round(params["bitrate_kbps"] * 1000))
        back = _resampled(decoded, decoded_rate, sample_rate)
        return align(back, np.asarray(wave, np.float32),
                     round(self.max_delay_ms * sample_rate / 1000))


@dataclass(frozen=True)
class NeuralCodec(Degradation):
    """Compression by a neural codec (one of ours, or any :class:`CodecTokens`): tokens and back
    at the codec's rate, with a bandwidth drawn from ``bandwidth_kbps`` (empty: the codec's
    own).

    ``model`` is the codec or a loader of it without arguments, called once, on first use. The
    data layer does not import the model loader, so a config names it: ``model: {_target_:
    audiogen.train.loading.trained_codec, _partial_: true, path: exp/codec/rvq/exp}``.
    """

    model: CodecTokens | Callable[[], CodecTokens]
    bandwidth_kbps: tuple[float, ...] = ()
    name: str = "neural_codec"

    def __post_init__(self) -> None:
        if isinstance(self.model, (str, os.PathLike)) or not callable(self.model):
            raise ConfigError(
                f"NeuralCodec.model: {self.model!r} is not a codec or a loader of one; write "
                "{_target_: audiogen.train.loading.trained_codec, _partial_: true, path: "
                f"{self.model!s}}}")

    @functools.cached_property
    def codec(self) -> CodecTokens:
        """The loaded codec in eval mode; every bandwidth of ``bandwidth_kbps`` is checked."""
        codec = self.model if isinstance(self.model, CodecTokens) else self.model()
        if not isinstance(codec, CodecTokens):
            raise ConfigError(f"NeuralCodec.model: loaded a {type(codec).__name__}, not a codec")
        for kbps in self.bandwidth_kbps:
            self._at(codec, kbps)
        return codec.eval()

    @staticmethod
    def _at(codec: CodecTokens, kbps: float | None) -> CodecTokens:
        if kbps is None:
            return codec
        if not hasattr(codec, "set_bandwidth"):
            raise ConfigError(f"NeuralCodec.bandwidth_kbps: {type(codec).__name__} has one "
                              "bandwidth; leave bandwidth_kbps empty")
        other = shallow_copy(codec)  # shares the weights; its own number of levels
        getattr(other, "set_bandwidth")(kbps)  # noqa: B009 (not every CodecTokens has one)
        return other

    def draw(self, rng: np.random.Generator) -> Params:
        choices = self.bandwidth_kbps
        return {"bandwidth_kbps": float(choices[int(rng.integers(len(choices)))])
                if choices else None}

    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        codec = self._at(self.codec, params["bandwidth_kbps"])
        signal = torch.from_numpy(_resampled(wave, sample_rate, codec.sample_rate))[None]
        with torch.no_grad():
            decoded = codec.decode(codec.tokens(signal))[0].numpy()
        return audio_length(_resampled(decoded, codec.sample_rate, sample_rate), wave.size)


@dataclass(frozen=True)
class OneOf(Degradation):
    """One of ``choices`` per application, picked with probabilities ``weights`` (uniform when
    empty); params record the pick by index and name."""

    choices: Sequence[Degradation]
    weights: Sequence[float] = ()
    name: str = "one_of"

    def __post_init__(self) -> None:
        if not self.choices:
            raise ConfigError("OneOf: choices is empty")
        if self.weights and (len(self.weights) != len(self.choices) or min(self.weights) < 0
                             or sum(self.weights) <= 0):
            raise ConfigError(f"OneOf: weights {list(self.weights)} must be {len(self.choices)} "
                              "non-negative numbers with a positive sum")

    def draw(self, rng: np.random.Generator) -> Params:
        weights = np.asarray(self.weights or [1.0] * len(self.choices), np.float64)
        index = int(rng.choice(len(self.choices), p=weights / weights.sum()))
        choice = self.choices[index]
        return {"index": index, "condition": choice.name, "params": choice.draw(rng)}

    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        return self.choices[params["index"]].apply(wave, sample_rate, params["params"])

    def condition(self, params: Params) -> str:
        return self.choices[params["index"]].condition(params["params"])


@dataclass(frozen=True)
class Chain(Degradation):
    """Each of ``stages`` in order (e.g. reverberation, then noise); stage ``i`` is applied with
    probability ``probabilities[i]`` (always when empty)."""

    stages: Sequence[Degradation]
    probabilities: Sequence[float] = ()
    name: str = "chain"

    def __post_init__(self) -> None:
        if self.probabilities and len(self.probabilities) != len(self.stages):
            raise ConfigError(f"Chain: {len(self.probabilities)} probabilities for "
                              f"{len(self.stages)} stages")

    def draw(self, rng: np.random.Generator) -> Params:
        chance = self.probabilities or [1.0] * len(self.stages)
        return {"stages": [{"condition": stage.name, "params": stage.draw(rng)}
                           if rng.uniform() < p else None
                           for stage, p in zip(self.stages, chance)]}

    def apply(self, wave: np.ndarray, sample_rate: int, params: Params) -> np.ndarray:
        out = np.asarray(wave, np.float32)
        for stage, drawn in zip(self.stages, params["stages"]):
            if drawn is not None:
                out = stage.apply(out, sample_rate, drawn["params"])
        return np.asarray(out, np.float32)

    def condition(self, params: Params) -> str:
        """The applied stages' conditions joined by ``+`` ("clean" when none was applied)."""
        return "+".join(stage.condition(drawn["params"])
                        for stage, drawn in zip(self.stages, params["stages"])
                        if drawn is not None) or "clean"


def standard_set(pool: Sequence[np.ndarray]) -> list[Degradation]:
    """Every degradation that needs no other source than ``pool`` (the noise maskers), with its
    default ranges."""
    return [Clean(), WhiteNoise(), Babble(pool), SpeechShapedNoise(pool), LowPass(), BandPass(),
            MuLaw(), Clipping(), Reverb(), PacketLoss(), GriffinLimResynthesis(), ColouredNoise(),
            RoomReverb(), Codec("opus", (6.0, 16.0), name="opus"),
            Codec("mp3", (8.0, 32.0), name="mp3")]


def item_seed(seed: int, key: str, copy: int) -> np.random.SeedSequence:
    """The seed of one degraded copy of one utterance, independent of corpus order."""
    return np.random.SeedSequence([seed, zlib.crc32(key.encode()), copy])


def degrade(wave: np.ndarray, sample_rate: int, degradation: Degradation,
            rng: np.random.Generator) -> tuple[np.ndarray, Params]:
    """Draw parameters and apply; peaks above 0.99 are scaled down (recorded as ``gain``)."""
    params = degradation.draw(rng)
    out = degradation.apply(wave, sample_rate, params)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > 0.99:
        params["gain"] = 0.99 / peak
        out = (out * params["gain"]).astype(np.float32)
    return out, params


def degrade_manifest(source: str | Path, out: str | Path, conditions: Sequence[str] | None = None,
                     copies: int = 2, seed: int = 0, speakers: Sequence[str] | None = None,
                     exclude_speakers: Sequence[str] = (), pool_size: int = 64,
                     max_items: int | None = None, max_seconds: float | None = None
                     ) -> list[manifest.Utterance]:
    """Degrade every utterance of ``source`` ``copies`` times and write ``out/manifest.jsonl``.

    Each copy picks one of ``conditions`` (names; default all of :func:`standard_set`) and
    draws its parameters from :func:`item_seed`. Only utterances of ``speakers`` (default all)
    not in ``exclude_speakers`` and at most ``max_seconds`` long are used. Babble and
    speech-shaped maskers come from up to ``pool_size`` of those utterances by other speakers
    than the one degraded when there are any (the pool is chosen by ``seed``), so held-out
    speakers never leak in as maskers. Manifest rows keep the speaker and add ``clean_path``,
    ``condition`` and ``params``. Unreadable utterances are skipped and named in
    ``out/skipped.txt``.
    """
    out = Path(out)
    rows = manifest.read(source)
    rows = [row for row in rows if (speakers is None or row.speaker in set(speakers))
            and row.speaker not in set(exclude_speakers)
            and (max_seconds is None or row.duration <= max_seconds)]
    if not rows:
        raise DataError(f"{source}: no utterances to degrade (speakers={speakers}, "
                        f"excluded={list(exclude_speakers)})")
    pool_rows = _pool(rows, pool_size, seed)
    rows = rows[:max_items] if max_items is not None else rows
    pools = {speaker: [w for r, w in pool_rows if r.speaker != speaker] or
             [w for _, w in pool_rows] for speaker in {row.speaker for row in rows}}
    sets = {speaker: {d.name: d for d in standard_set(pool)} for speaker, pool in pools.items()}
    names = list(conditions or next(iter(sets.values())))
    unknown = [name for name in names if name not in next(iter(sets.values()))]
    if unknown:
        raise ConfigError(f"unknown degradation(s) {unknown}; valid: "
                          f"{list(next(iter(sets.values())))}")
    degraded, skipped = [], []
    for row in tqdm(rows, desc="degrade", unit="utt", dynamic_ncols=True):
        try:
            wave = audio.load(row.path)[0][0].numpy()
        except Exception as error:
            skipped.append(f"{row.id}\t{error}")
            continue
        available = sets[row.speaker]
        for copy in range(copies):
            rng = np.random.default_rng(item_seed(seed, row.id, copy))
            name = names[int(rng.integers(len(names)))]
            wave_out, params = degrade(wave, row.sample_rate, available[name], rng)
            key = f"{row.id}__{copy}"
            path = audio.save(out / "wavs" / f"{key}.wav", wave_out, row.sample_rate)
            degraded.append(manifest.Utterance(
                key, str(path), wave_out.size / row.sample_rate, row.sample_rate, row.speaker,
                extra={"clean_path": row.path, "condition": name, "params": params}))
    manifest.write(out / "manifest.jsonl", degraded)
    atomic_write_text(out / "skipped.txt", "".join(f"{line}\n" for line in skipped))
    return degraded


def _pool(rows: list[manifest.Utterance], size: int, seed: int
          ) -> list[tuple[manifest.Utterance, np.ndarray]]:
    order = np.random.default_rng(seed).permutation(len(rows))[:size]
    pool = []
    for index in order:
        try:
            pool.append((rows[index], audio.load(rows[index].path)[0][0].numpy()))
        except Exception:
            continue
    return pool


def write_test_set(source: str | Path, out_dir: str | Path, degradation: Degradation,
                   seed: int, max_items: int | None = None, max_seconds: float | None = None,
                   sample_rate: int | None = None
                   ) -> tuple[list[manifest.Utterance], list[tuple[str, str]]]:
    """Write a fixed degraded test set; returns its rows and the skipped (id, reason) pairs.

    ``source`` is a manifest or a folder of audio (ids: paths relative to it without suffix;
    no speaker). Each utterance at most ``max_seconds`` long (the first ``max_items`` of them)
    is read (resampled to ``sample_rate`` when given) and degraded with parameters drawn from
    ``item_seed(seed, id, 0)``, so a rerun writes identical files: ``out/degraded/<id>.wav``,
    the clean copy ``out/clean/<id>.wav`` at the same rate and length (``audiogen evaluate --ref
    out/clean`` pairs them by name), ``out/manifest.jsonl`` of the degraded files (the source
    rows plus ``clean_path``, ``condition`` and ``params``) and ``out/skipped.txt`` (one ``id
    <tab> reason`` line per unreadable utterance). A degradation that fails (a missing noise
    source) stops the run. A test set is written once: an ``out`` that already has a manifest is
    refused.
    """
    out = Path(out_dir)
    if (out / "manifest.jsonl").exists():
        raise DataError(f"{out}: already holds a test set (manifest.jsonl); write another folder")
    available, skipped = _utterances(Path(source))
    rows = [row for row in available
            if max_seconds is None or row.duration <= max_seconds][:max_items]
    if not rows:
        raise DataError(f"{source}: no utterances to degrade"
                        + (f" of at most {max_seconds:g} s" if max_seconds is not None else ""))
    written: list[manifest.Utterance] = []
    for row in tqdm(rows, desc="degrade", unit="utt", dynamic_ncols=True):
        name = Path(f"{row.id}.wav")
        if name.is_absolute() or ".." in name.parts:
            skipped.append((row.id, "the id is not a relative file name"))
            continue
        try:
            wave, rate = audio.load(row.path, sample_rate)
        except AudioError as error:
            skipped.append((row.id, str(error)))
            continue
        rng = np.random.default_rng(item_seed(seed, row.id, 0))
        degraded, params = degrade(wave[0].numpy(), rate, degradation, rng)
        path = audio.save(out / "degraded" / name, degraded, rate)
        audio.save(out / "clean" / name, wave[0], rate)
        written.append(replace(row, path=str(path), duration=degraded.size / rate,
                               sample_rate=rate, extra={
                                   **row.extra, "clean_path": str(Path("clean") / name),
                                   "condition": degradation.condition(params),
                                   "params": params}))
    manifest.write(out / "manifest.jsonl", written)
    atomic_write_text(out / "skipped.txt", "".join(f"{key}\t{reason}\n" for key, reason in skipped))
    return written, skipped


def _utterances(source: Path) -> tuple[list[manifest.Utterance], list[tuple[str, str]]]:
    """The rows of a manifest, or of a folder's audio files (and those whose header is
    unreadable, with the reason)."""
    if not source.is_dir():
        return manifest.read(source), []
    rows, unreadable = [], []
    for path in audio_files(source):
        key = path.relative_to(source).with_suffix("").as_posix()
        try:
            rate, frames, _ = audio.info(path)
        except AudioError as error:
            unreadable.append((key, str(error)))
            continue
        rows.append(manifest.Utterance(key, str(path), frames / rate, rate, speaker=""))
    return rows, unreadable
