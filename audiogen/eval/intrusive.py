"""Intrusive waveform metrics: PESQ (ITU-T P.862 / P.862.2), STOI / ESTOI, SI-SDR and SNR.

Each compares a generated signal with its sample-aligned reference of the same length.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

from audiogen.eval.base import RESAMPLER, Metric, Score, Scorer, library, to_rate

START_ALIGNED = "none: start-aligned, both trimmed to the shorter signal"

PESQ_WB = Metric("pesq_wb", "Wideband PESQ, ITU-T P.862.2 MOS-LQO (1.04-4.64)", True, True,
                 16000, "pesq_wb")
PESQ_NB = Metric("pesq_nb", "Narrowband PESQ, ITU-T P.862 mapped to MOS-LQO by P.862.1 "
                 "(1.02-4.55)", True, True, 8000, "pesq_nb")
STOI = Metric("stoi", "Short-time objective intelligibility (Taal et al. 2011), 0-1", True, True,
              None, "stoi")
ESTOI = Metric("estoi", "Extended STOI (Jensen & Taal 2016), 0-1", True, True, None, "estoi")
SI_SDR = Metric("si_sdr", "Scale-invariant signal-to-distortion ratio (Le Roux et al. 2019)",
                True, True, None, "waveform", "dB")
SNR = Metric("snr", "Signal-to-noise ratio of the reference to the difference signal", True, True,
             None, "waveform", "dB")
METRICS = (PESQ_WB, PESQ_NB, STOI, ESTOI, SI_SDR, SNR)


def si_sdr(estimate: np.ndarray, target: np.ndarray, zero_mean: bool = False) -> float:
    """Scale-invariant SDR in dB of ``estimate`` (T,) against ``target`` (T,) (Le Roux et al.
    2019, "SDR - half-baked or well done?", eq. 3): the target is scaled by the least-squares
    gain before the error is measured. Computed in float64 with machine-epsilon guards, so
    identical signals give a large finite value.
    """
    estimate, target = _float64(estimate), _float64(target)
    if zero_mean:
        estimate, target = estimate - estimate.mean(), target - target.mean()
    eps = np.finfo(np.float64).eps
    scale = (estimate @ target + eps) / (target @ target + eps)
    projection = scale * target
    error = estimate - projection
    return float(10.0 * np.log10((projection @ projection + eps) / (error @ error + eps)))


def snr(estimate: np.ndarray, target: np.ndarray) -> float:
    """Plain SNR in dB: target energy over the energy of ``target - estimate`` (no rescaling)."""
    estimate, target = _float64(estimate), _float64(target)
    eps = np.finfo(np.float64).eps
    error = target - estimate
    return float(10.0 * np.log10((target @ target + eps) / (error @ error + eps)))


class Pesq(Scorer):
    """PESQ with the ``pesq`` package (the ITU reference C code); both signals are resampled to
    16 kHz (wideband, P.862.2) or 8 kHz (narrowband, P.862 + P.862.1 mapping) first."""

    def __init__(self, metrics: Sequence[Metric]) -> None:
        super().__init__(metrics)
        (metric,) = self.metrics
        self.mode = "wb" if metric is PESQ_WB else "nb"
        self.sample_rate = int(metric.sample_rate or 16000)

    def score(self, generated: np.ndarray, reference: np.ndarray | None, sample_rate: int
              ) -> Score:
        import pesq

        reference = _require(reference)
        degraded = to_rate(generated, sample_rate, self.sample_rate)
        clean = to_rate(reference, sample_rate, self.sample_rate)
        value = pesq.pesq(self.sample_rate, clean, degraded, self.mode)
        return {self.names[0]: float(value)}

    def card(self, name: str) -> dict[str, Any]:
        standard = "ITU-T P.862.2" if self.mode == "wb" else "ITU-T P.862 + P.862.1 mapping"
        return {**library("pesq"), "sample_rate": self.sample_rate, "resampler": RESAMPLER,
                "mode": f"{self.mode} ({standard}); pesq normalises both signals by their "
                        "joint peak", "alignment": "PESQ's internal time alignment "
                                                   "after start-aligned trimming"}


class Stoi(Scorer):
    """STOI or ESTOI with ``pystoi`` at the pair's rate; pystoi resamples to 10 kHz itself and
    drops frames 40 dB below the loudest (as in Taal et al. 2011). pystoi's warning that too
    few frames remain (it then returns 1e-5) is raised as an error instead."""

    def __init__(self, metrics: Sequence[Metric]) -> None:
        super().__init__(metrics)
        (metric,) = self.metrics
        self.extended = metric is ESTOI

    def score(self, generated: np.ndarray, reference: np.ndarray | None, sample_rate: int
              ) -> Score:
        from pystoi import stoi

        reference = _require(reference)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            value = stoi(reference, generated, sample_rate, extended=self.extended)
        return {self.names[0]: float(value)}

    def card(self, name: str) -> dict[str, Any]:
        return {**library("pystoi"), "sample_rate": "signal's rate (pystoi resamples to 10 kHz)",
                "resampler": "pystoi internal (scipy.signal.resample_poly)",
                "mode": "extended (ESTOI)" if self.extended else "classic (STOI)",
                "alignment": START_ALIGNED}


class Waveform(Scorer):
    """SI-SDR and SNR on the raw samples at the pair's rate."""

    def __init__(self, metrics: Sequence[Metric], zero_mean: bool = False) -> None:
        super().__init__(metrics)
        self.zero_mean = zero_mean

    def score(self, generated: np.ndarray, reference: np.ndarray | None, sample_rate: int
              ) -> Score:
        reference = _require(reference)
        functions = {"si_sdr": lambda: si_sdr(generated, reference, self.zero_mean),
                     "snr": lambda: snr(generated, reference)}
        return {name: functions[name]() for name in self.names}

    def card(self, name: str) -> dict[str, Any]:
        return {"library": "audiogen (numpy, float64)", "version": "",
                "sample_rate": "signal's rate", "resampler": "none",
                "mode": f"zero_mean={self.zero_mean} (si_sdr; the torchmetrics default), "
                        "eps = float64 machine epsilon", "alignment": START_ALIGNED}


def _float64(wave: np.ndarray) -> np.ndarray:
    return np.asarray(wave, dtype=np.float64).reshape(-1)


def _require(reference: np.ndarray | None) -> np.ndarray:
    if reference is None:
        raise ValueError("this metric needs a reference signal")
    return reference
