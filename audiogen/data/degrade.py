"""Controlled speech degradations: each draws its parameters from a seed, then applies them
deterministically (the augmentation contract of audiotools / descript-audio-codec).

A :class:`Degradation` has ``draw(rng) -> params`` and ``apply(wave, sample_rate, params) ->
wave``; every random quantity an application needs (a noise realisation, lost packets) is drawn
in ``draw`` as an integer seed, so ``apply`` with the same params gives the same samples. Outputs
keep the input length. :func:`degrade_manifest` degrades a corpus into a labelled-to-be manifest.
"""

from __future__ import annotations

import abc
import functools
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from tqdm import tqdm

from audiogen import audio
from audiogen.data import manifest
from audiogen.errors import ConfigError, DataError
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
            talker = np.asarray(self.pool[index], dtype=np.float64)
            start = int(offset * talker.size)
            looped = np.resize(np.roll(talker, -start), wave.size)
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
        power = _power(wet)
        scale = math.sqrt(_power(wave) / power) if power > 0 else 1.0
        return (wet * scale).astype(np.float32)


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


def standard_set(pool: Sequence[np.ndarray]) -> list[Degradation]:
    """Every degradation with its default ranges; noise maskers come from ``pool``."""
    return [Clean(), WhiteNoise(), Babble(pool), SpeechShapedNoise(pool), LowPass(), BandPass(),
            MuLaw(), Clipping(), Reverb(), PacketLoss(), GriffinLimResynthesis()]


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
