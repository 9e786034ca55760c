"""Phase from magnitude alone: phase gradient heuristic integration (PGHI).

Průša, Balazs and Søndergaard, "A noniterative method for reconstruction of phase from STFT
magnitude" (IEEE/ACM TASLP 2017). For a Gaussian window the STFT's phase gradient is a
function of the log-magnitude's gradient: a partial's instantaneous frequency follows from
how the magnitude falls off across frequency, an impulse's position within the frame from how
it falls off across time. The phase is then integrated from the largest coefficient outwards
(a max-heap over magnitudes), so that it is carried through the most reliable coefficients
first. Hann and Hamming windows are treated as Gaussians of matched width (the paper's
gamma = 0.25645 L**2 and 0.29794 L**2 for window length L).

Phase convention: that of ``torch.stft`` (each frame's phase referenced to its first sample),
as used by :class:`audiogen.representations.spectral.STFT`.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

WINDOW_GAMMA = {"hann": 0.25645, "hamming": 0.29794}


def phase_gradients(log_magnitude: torch.Tensor, n_fft: int, hop_length: int, win_length: int,
                    window: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Phase advance per hop and per bin, (F, frames) each, from the natural-log magnitude
    (F, frames), by centred differences (zero at the edges)."""
    if window not in WINDOW_GAMMA:
        raise ValueError(f"PGHI supports windows {', '.join(WINDOW_GAMMA)}, not {window!r}")
    gamma = WINDOW_GAMMA[window] * win_length ** 2
    along_bins = torch.zeros_like(log_magnitude)
    along_bins[1:-1] = (log_magnitude[2:] - log_magnitude[:-2]) / 2
    along_frames = torch.zeros_like(log_magnitude)
    along_frames[:, 1:-1] = (log_magnitude[:, 2:] - log_magnitude[:, :-2]) / 2
    bins = torch.arange(log_magnitude.shape[0], dtype=log_magnitude.dtype)[:, None]
    # instantaneous frequency in bins: the bin plus the offset of the Gaussian's peak
    frequency = bins + n_fft ** 2 / (2 * math.pi * gamma) * along_bins
    per_hop = 2 * math.pi * hop_length / n_fft * frequency
    # an impulse at offset u from the window centre turns the phase by -2 pi (n_fft/2 + u)/n_fft
    per_bin = -math.pi - gamma / (hop_length * n_fft) * along_frames
    return per_hop, per_bin


def pghi_phase(magnitude: torch.Tensor, n_fft: int, hop_length: int, win_length: int,
               window: str = "hann", tolerance: float = 1e-3,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Phase (B, F, frames) for the magnitude (B, F, frames) of a one-sided STFT.

    Coefficients more than ``tolerance`` (relative amplitude) below an item's peak carry no
    reliable gradient; they get uniform random phase from ``generator``.
    """
    phases = np.empty(magnitude.shape, np.float64)
    for index, item in enumerate(magnitude.detach().float().cpu()):
        log_magnitude = item.clamp_min(1e-12).log()
        per_hop, per_bin = phase_gradients(log_magnitude, n_fft, hop_length, win_length, window)
        threshold = float(log_magnitude.max()) + math.log(tolerance)
        random = 2 * math.pi * torch.rand(item.shape, generator=generator, dtype=torch.float64)
        phases[index] = _integrate(log_magnitude.numpy(), per_hop.numpy(), per_bin.numpy(),
                                   threshold, random.numpy())
    return torch.from_numpy(phases).to(magnitude.device, magnitude.dtype)


def _integrate(log_magnitude: np.ndarray, per_hop: np.ndarray, per_bin: np.ndarray,
               threshold: float, random: np.ndarray) -> np.ndarray:
    """Heap integration (Algorithm 1 of Průša et al. 2017), compiled with numba on first use."""
    global _compiled
    if _compiled is None:
        import numba

        _compiled = numba.njit(cache=True)(_integrate_python)
    flat = log_magnitude.ravel()
    # only coefficients above the threshold start regions: sort those, largest first (numpy's
    # introsort: 4x faster than its stable sort here; equal magnitudes, whose order it leaves
    # open, do not occur in practice and either order is a valid integration order)
    candidates = np.flatnonzero(flat >= threshold)
    order = candidates[np.argsort(-flat[candidates])]
    return _compiled(log_magnitude, per_hop, per_bin, threshold, random, order)


_compiled: Callable[..., np.ndarray] | None = None


def _integrate_python(log_magnitude: np.ndarray, per_hop: np.ndarray, per_bin: np.ndarray,
                      threshold: float, random: np.ndarray, order: np.ndarray) -> np.ndarray:
    bins, frames = log_magnitude.shape
    flat = log_magnitude.ravel()
    flat_random = random.ravel()
    phase = np.zeros(bins * frames)
    done = np.zeros(bins * frames, np.bool_)
    remaining = 0
    for index in range(bins * frames):
        if flat[index] < threshold:
            done[index] = True
            phase[index] = flat_random[index]
        else:
            remaining += 1
    position = 0
    heap = np.empty(remaining, np.int64)  # a binary max-heap of flat indices, keyed by flat
    size = 0
    while remaining > 0:
        while done[order[position]]:
            position += 1
        start = order[position]  # the largest coefficient not reached yet starts a new region
        done[start] = True
        remaining -= 1
        heap[0] = start
        size = 1
        while size > 0:
            index = heap[0]  # pop the largest
            size -= 1
            last = heap[size]
            parent = 0
            while True:  # sift the last item down from the root
                child = 2 * parent + 1
                if child >= size:
                    break
                if child + 1 < size and flat[heap[child + 1]] > flat[heap[child]]:
                    child += 1
                if flat[heap[child]] <= flat[last]:
                    break
                heap[parent] = heap[child]
                parent = child
            if size > 0:
                heap[parent] = last
            k, n = index // frames, index % frames
            for direction in range(4):
                k1, n1 = k, n
                if direction == 0:
                    n1 += 1
                elif direction == 1:
                    n1 -= 1
                elif direction == 2:
                    k1 += 1
                else:
                    k1 -= 1
                if k1 < 0 or k1 >= bins or n1 < 0 or n1 >= frames:
                    continue
                neighbour = k1 * frames + n1
                if done[neighbour]:
                    continue
                if n1 != n:
                    step = (per_hop[k, n] + per_hop[k1, n1]) / 2
                    phase[neighbour] = phase[index] + (step if n1 > n else -step)
                else:
                    step = (per_bin[k, n] + per_bin[k1, n1]) / 2
                    phase[neighbour] = phase[index] + (step if k1 > k else -step)
                done[neighbour] = True
                remaining -= 1
                child = size  # push: sift up
                size += 1
                while child > 0:
                    parent = (child - 1) // 2
                    if flat[heap[parent]] >= flat[neighbour]:
                        break
                    heap[child] = heap[parent]
                    child = parent
                heap[child] = neighbour
    return phase.reshape(bins, frames)
