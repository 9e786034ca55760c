"""MUSHRA low-pass anchors (ITU-R BS.1534-3: 3.5 kHz mandatory, 7 kHz mid-range anchor).

The filter is a Butterworth low-pass of order ``ORDER`` in second-order sections
(``scipy.signal.butter(..., output="sos")``) applied forwards and backwards
(``scipy.signal.sosfiltfilt``): zero phase, so the anchor stays time-aligned with the
reference, and the magnitude response is squared (effective order 2 x ``ORDER``, -6 dB at
the cutoff).
"""

from __future__ import annotations

import numpy as np
from scipy import signal

ORDER = 10
CUTOFFS_HZ = {"anchor_3500hz": 3500.0, "anchor_7000hz": 7000.0}
DESCRIPTION = (f"Butterworth low-pass, order {ORDER}, second-order sections, applied forwards "
               "and backwards (scipy.signal.sosfiltfilt: zero phase, effective order "
               f"{2 * ORDER}, -6 dB at the cutoff)")


def low_pass(wave: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    """Zero-phase low-pass of ``wave`` (channels, time) or (time,) along its last axis."""
    if not 0 < cutoff_hz < sample_rate / 2:
        raise ValueError(f"cutoff {cutoff_hz} Hz must lie below the Nyquist frequency "
                         f"{sample_rate / 2} Hz")
    sections = signal.butter(ORDER, cutoff_hz, btype="lowpass", fs=sample_rate, output="sos")
    return signal.sosfiltfilt(sections, np.asarray(wave, dtype=np.float64), axis=-1
                              ).astype(np.float32)


def usable(sample_rate: int) -> dict[str, float]:
    """The anchors a reference at ``sample_rate`` can have (cutoff below its Nyquist)."""
    return {name: cutoff for name, cutoff in CUTOFFS_HZ.items() if cutoff < sample_rate / 2}
