"""Phase retrieval from a mel spectrogram by alternating projections.

Two methods share one loop. Each iteration projects onto the set of consistent spectrograms,
t = STFT(iSTFT(X)), then extrapolates: fast Griffin-Lim (Perraudin et al. 2013) sets
c = t + momentum * (t - t_prev); accelerated Griffin-Lim (Nenov et al., ICASSP 2023) first
smooths t towards a second extrapolation d, t <- (1 - gamma) d_prev + gamma t, with
d = t + beta * (t - t_prev). ``gamma = 1`` is fast Griffin-Lim. The magnitude step then maps c
to the next X:

- ``"griffin_lim"`` (Griffin & Lim 1984): the magnitude is fixed to one estimate made once from
  the mel (the filterbank's pseudo-inverse). Its errors (the smeared, inconsistent magnitude)
  and the phase retrieval compound: this is the usual quality floor.
- ``"mel_consistent"``: the magnitude is re-estimated at every iteration from the consistent
  spectrogram itself, rescaled bin by bin so that its mel matches the target mel (a
  multiplicative update: each bin gets the filter-weighted mean of its bands' target/current
  ratios). The fine structure (harmonics) comes from the consistent signal, the band energies
  from the mel, so magnitude and phase are estimated jointly, in the spirit of the consistency
  based mel inversions of Masuyama et al. (arXiv 2307.12232). No training; it needs only the
  filterbank.

The starting phase is uniform random, zero, or ``"pghi"``: phase gradient heuristic
integration (:mod:`audiogen.representations.pghi`) from the starting magnitude, which reaches
a given quality in about half the iterations of a random start.
"""

from __future__ import annotations

import math
import warnings
from typing import Literal, Protocol

import torch

from audiogen.representations.base import Representation

Method = Literal["griffin_lim", "mel_consistent"]
METHODS: tuple[str, ...] = ("griffin_lim", "mel_consistent")
PhaseInit = Literal["random", "zero", "pghi"]
PHASE_INITS: tuple[str, ...] = ("random", "zero", "pghi")


def band_spread(filters: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(F, mels): each bin's filter weights normalised to sum to one (zero for bins in no band,
    DC and Nyquist), which maps per-band ratios to their filter-weighted mean per bin."""
    return filters.T / filters.sum(dim=0).clamp_min(eps)[:, None]


def mel_band_gain(magnitude: torch.Tensor, filters: torch.Tensor, target_mel: torch.Tensor,
                  power: float = 1.0, eps: float = 1e-8,
                  spread: torch.Tensor | None = None) -> torch.Tensor:
    """Per-bin gain that moves ``magnitude`` (B, F, frames) towards the mel ``target_mel``
    (B, mels, frames) of ``filters`` (mels, F) applied to magnitude**power: each bin's gain is
    the filter-weighted mean of target/current over the bands it belongs to, taken to 1/power.
    ``spread`` is :func:`band_spread` of ``filters``, computed once by callers that iterate.
    """
    current = _band_product(filters, magnitude if power == 1.0 else magnitude.pow(power))
    ratio = target_mel / current.clamp_min(eps)  # bins in no band (DC, Nyquist) get gain 0
    spread = band_spread(filters, eps) if spread is None else spread
    gain = _band_product(spread, ratio)
    return gain if power == 1.0 else gain.pow(1.0 / power)


def _band_product(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``matrix @ x`` for x (B, cols, frames); a sparse CSR ``matrix`` (a mel filterbank has
    about two non-zeros per bin, so its product is ~5x cheaper than the dense one) is applied
    item by item."""
    if matrix.layout != torch.sparse_csr:
        return torch.matmul(matrix, x)
    return torch.stack([torch.sparse.mm(matrix, item) for item in x])


def invert_mel(stft: Representation, magnitude: torch.Tensor, n_iter: int,
               method: Method = "griffin_lim", filters: torch.Tensor | None = None,
               target_mel: torch.Tensor | None = None, power: float = 1.0,
               momentum: float = 0.99, phase: torch.Tensor | PhaseInit = "random",
               generator: torch.Generator | None = None, beta: float = 0.0,
               gamma: float = 1.0) -> torch.Tensor:
    """Complex spectrogram (B, F, frames) whose magnitude ``magnitude`` starts the iteration.

    ``stft`` is an :class:`~audiogen.representations.spectral.STFT` (its ``complex_stft`` and
    ``decode`` define consistency). ``"mel_consistent"`` needs ``filters`` (mels, F) and the
    linear-amplitude ``target_mel`` (B, mels, frames) of ``filters @ |X|**power``. ``phase``
    starts the iteration: a tensor (B, F, frames), or one of :data:`PHASE_INITS` (``"random"``
    draws from ``generator``; ``"pghi"`` integrates the phase gradients of ``magnitude``).
    The returned spectrogram is the last consistent estimate with the last magnitude, so
    ``stft.decode`` of it is the waveform. ``momentum`` (alpha), ``beta`` and ``gamma`` are the
    acceleration's (module docstring); the first iteration takes c = d = t.

    The iteration runs without autograd, frames-major (B, frames, F: each FFT over contiguous
    memory) and in buffers allocated once (:class:`Consistency`): allocating a few MB per
    operation made glibc return and re-fault the pages on every iteration, which cost up to
    7x the arithmetic for 10 s of audio. The result is a (B, F, frames) view.
    """
    if method not in METHODS:
        raise ValueError(f"unknown mel inversion method {method!r}; choose from "
                         f"{', '.join(METHODS)}")
    if method == "mel_consistent" and (filters is None or target_mel is None):
        raise ValueError("method 'mel_consistent' needs filters and target_mel")
    with torch.no_grad():
        phase = initial_phase(stft, magnitude, phase, generator)
        project = Consistency(stft, magnitude.shape[0], magnitude.shape[-1])  # type: ignore
        gain_of = (_MelGain(filters, target_mel, power)  # type: ignore[arg-type]
                   if method == "mel_consistent" else _FixedGain(magnitude))
        spectrum = torch.polar(magnitude, phase).transpose(1, 2).contiguous()
        previous, rebuilt = torch.empty_like(spectrum), torch.empty_like(spectrum)
        accelerated = torch.empty_like(spectrum)
        second = torch.empty_like(spectrum) if gamma != 1.0 else None  # d
        size = torch.empty(spectrum.shape, dtype=magnitude.dtype)
        for iteration in range(n_iter):
            project(spectrum, out=rebuilt)
            real = torch.view_as_real(rebuilt)
            if iteration == 0:
                accelerated.copy_(rebuilt)
                if second is not None:
                    second.copy_(rebuilt)
            else:  # each extrapolation is one lerp over the real view: a + w (b - a)
                if second is not None:
                    torch.lerp(torch.view_as_real(second), real, gamma, out=real)
                    torch.lerp(torch.view_as_real(previous), real, 1.0 + beta,
                               out=torch.view_as_real(second))
                torch.lerp(torch.view_as_real(previous), real, 1.0 + momentum,
                           out=torch.view_as_real(accelerated))
            previous, rebuilt = rebuilt, previous
            # |X| * gain * X / |X|: the unit phasor cancels
            torch.mul(accelerated, gain_of(complex_magnitude(accelerated, out=size)),
                      out=spectrum)
    return spectrum.transpose(1, 2)


class StftLike(Protocol):
    """What :class:`Consistency` needs of :class:`~audiogen.representations.spectral.STFT`."""

    n_fft: int
    hop_length: int
    padding: str
    pad_mode: str
    window: torch.Tensor

    def decode(self, features: torch.Tensor) -> torch.Tensor: ...

    def complex_stft(self, wave: torch.Tensor) -> torch.Tensor: ...


class Consistency:
    """X -> STFT(iSTFT(X)) for spectrograms (B, frames, F) of a fixed shape, into ``out``.

    When the hop divides n_fft the two transforms are fused and every intermediate lives in a
    buffer made here (irfft, window, overlap-add as n_fft / hop shifted block adds, the
    precomputed window-envelope division, the edge padding of ``stft.complex_stft``, unfold,
    window, rfft); otherwise ``stft.complex_stft(stft.decode(.))`` is called. Both give the
    same result up to float rounding.
    """

    def __init__(self, stft: StftLike, batch: int, frames: int) -> None:
        self.stft = stft
        n_fft, hop = stft.n_fft, stft.hop_length
        self.fused = n_fft % hop == 0 and stft.padding in ("same", "center")
        if not self.fused:
            return
        self.n_fft, self.hop, self.frames, self.parts = n_fft, hop, frames, n_fft // hop
        window = stft.window.float()
        left = (n_fft - window.shape[0]) // 2
        self.window = torch.nn.functional.pad(window, (left, n_fft - window.shape[0] - left))
        self.length = (frames - 1) * hop + n_fft
        self.pad = n_fft // 2 if stft.padding == "center" else (n_fft - hop) // 2
        self.reflect = stft.pad_mode == "reflect"
        blocks = self.window.square().reshape(self.parts, hop)
        envelope = torch.zeros(frames + self.parts - 1, hop)
        for part in range(self.parts):
            envelope[part:part + frames] += blocks[part]
        self.inverse_envelope = 1.0 / envelope.reshape(-1)[self.pad:self.length - self.pad
                                                           ].clamp_min(1e-11)
        self.time_frames = torch.empty(batch, frames, n_fft)
        self.blocks = torch.empty(batch, frames + self.parts - 1, hop)
        self.padded = torch.zeros(batch, self.length)

    def __call__(self, spectrum: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        if not self.fused:
            wave = self.stft.decode(spectrum.transpose(1, 2))
            return out.copy_(self.stft.complex_stft(wave).transpose(1, 2))
        n_fft, hop, frames, pad, length = (self.n_fft, self.hop, self.frames, self.pad,
                                           self.length)
        time_frames = torch.fft.irfft(spectrum, n=n_fft, dim=-1, out=self.time_frames)
        time_frames.mul_(self.window)
        self.blocks.zero_()
        split = time_frames.view(-1, frames, self.parts, hop)
        for part in range(self.parts):  # overlap-add: each quarter frame onto its block
            self.blocks[:, part:part + frames].add_(split[:, :, part])
        wave = self.blocks.view(self.blocks.shape[0], -1)
        padded = self.padded
        torch.mul(wave[:, pad:length - pad], self.inverse_envelope, out=padded[:, pad:length - pad])
        if self.reflect:  # as torch's reflect padding: the edge sample is not repeated
            padded[:, :pad].copy_(padded[:, pad + 1:2 * pad + 1].flip(-1))
            padded[:, length - pad:].copy_(padded[:, length - 2 * pad - 1:length - pad - 1]
                                           .flip(-1))
        torch.mul(padded.unfold(-1, n_fft, hop), self.window, out=self.time_frames)
        return torch.fft.rfft(self.time_frames, dim=-1, out=out)


class _FixedGain:
    """Griffin-Lim's magnitude step: the gain target / |X| onto a fixed magnitude."""

    def __init__(self, magnitude: torch.Tensor) -> None:
        self.target = magnitude.transpose(1, 2).contiguous()

    def __call__(self, size: torch.Tensor) -> torch.Tensor:
        return torch.div(self.target, size.clamp_min_(1e-8), out=size)


class _MelGain:
    """The mel-consistent magnitude step (:func:`mel_band_gain`) on a frames-major magnitude
    (B, frames, F): each item's filterbank products go through sparse CSR matrices into
    buffers; the gain is returned frames-major (B, frames, F), in a buffer of its own."""

    def __init__(self, filters: torch.Tensor, target_mel: torch.Tensor, power: float) -> None:
        with warnings.catch_warnings():  # "sparse CSR support is in beta": products are exact
            warnings.simplefilter("ignore", UserWarning)
            self.filters = filters.float().to_sparse_csr()
            self.spread = band_spread(filters.float()).to_sparse_csr()
        self.target, self.power = target_mel.float(), power
        batch, _, frames = target_mel.shape
        self.current = torch.empty(batch, filters.shape[0], frames)
        self.gain = torch.empty(batch, filters.shape[1], frames)
        self.frames_major = torch.empty(batch, frames, filters.shape[1])

    def __call__(self, size: torch.Tensor) -> torch.Tensor:
        source = size if self.power == 1.0 else size.pow(self.power)
        for index in range(size.shape[0]):
            torch.mm(self.filters, source[index].T, out=self.current[index])
        # bins in no band (DC, Nyquist) get gain 0
        torch.div(self.target, self.current.clamp_min_(1e-8), out=self.current)
        for index in range(size.shape[0]):
            torch.mm(self.spread, self.current[index], out=self.gain[index])
        if self.power != 1.0:
            self.gain.pow_(1.0 / self.power)
        # one transposing copy, so that the product with the spectrum reads both contiguously
        return self.frames_major.copy_(self.gain.transpose(1, 2))


def invert_mel_parts(stft: Representation, magnitude: torch.Tensor, n_iter: int,
                     method: Method = "griffin_lim", filters: torch.Tensor | None = None,
                     target_mel: torch.Tensor | None = None, power: float = 1.0,
                     momentum: float = 0.99, phase: PhaseInit = "random", beta: float = 0.0,
                     gamma: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`invert_mel` on real and imaginary parts (B, F, frames), for graphs without
    complex tensors (ONNX export): the same iteration through ``stft.parts`` and
    ``stft.decode_parts``. A random start phase is drawn with ``rand_like`` (a random op of
    the graph); PGHI is refused (a heap-ordered integration has no graph form)."""
    if phase not in ("random", "zero"):
        raise ValueError(f"phase init {phase!r} has no graph form; use 'random' or 'zero'")
    if method == "mel_consistent" and (filters is None or target_mel is None):
        raise ValueError("method 'mel_consistent' needs filters and target_mel")
    start = (torch.zeros_like(magnitude) if phase == "zero"
             else 2 * math.pi * torch.rand_like(magnitude))
    spread = band_spread(filters) if filters is not None else None
    real, imag = magnitude * start.cos(), magnitude * start.sin()
    previous = second = (real, imag)
    for iteration in range(n_iter):
        rebuilt = stft.parts(stft.decode_parts(real, imag))  # type: ignore[operator]
        if iteration == 0:
            fast_real, fast_imag = previous = second = rebuilt
        else:
            if gamma != 1.0:
                rebuilt = (torch.lerp(second[0], rebuilt[0], gamma),
                           torch.lerp(second[1], rebuilt[1], gamma))
                second = (torch.lerp(previous[0], rebuilt[0], 1.0 + beta),
                          torch.lerp(previous[1], rebuilt[1], 1.0 + beta))
            fast_real = torch.lerp(previous[0], rebuilt[0], 1.0 + momentum)
            fast_imag = torch.lerp(previous[1], rebuilt[1], 1.0 + momentum)
            previous = rebuilt
        size = torch.sqrt(fast_real.square() + fast_imag.square())
        if method == "mel_consistent":
            gain = mel_band_gain(size, filters, target_mel,  # type: ignore[arg-type]
                                 power, spread=spread)
        else:
            gain = magnitude / size.clamp_min(1e-8)
        real, imag = fast_real * gain, fast_imag * gain
    return real, imag


def complex_magnitude(spectrum: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """|X| of a complex tensor as sqrt(re^2 + im^2): equal to ``abs`` up to rounding (it does not
    guard against overflow as ``hypot`` does, which spectrogram values never reach) and about 3x
    faster on CPU, where ``abs`` dominated an iteration. ``out`` (real, the same shape) receives
    it in place, for loops that allocate nothing."""
    if out is None:
        out = torch.empty(spectrum.shape, dtype=spectrum.real.dtype, device=spectrum.device)
    torch.mul(spectrum.real, spectrum.real, out=out)
    return out.addcmul_(spectrum.imag, spectrum.imag).sqrt_()


def initial_phase(stft: Representation, magnitude: torch.Tensor,
                  phase: torch.Tensor | PhaseInit,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """The starting phase (B, F, frames) for ``magnitude``: given, or made by a named rule."""
    if isinstance(phase, torch.Tensor):
        return phase
    if phase == "zero":
        return torch.zeros_like(magnitude)
    if phase == "pghi":
        from audiogen.representations.pghi import pghi_phase

        return pghi_phase(magnitude, stft.n_fft, stft.hop_length,  # type: ignore[arg-type]
                          stft.win_length, stft.window_name,  # type: ignore[arg-type]
                          generator=generator)
    if phase != "random":
        raise ValueError(f"unknown phase init {phase!r}; choose from {', '.join(PHASE_INITS)}")
    device = generator.device if generator is not None else None
    uniform = torch.rand(magnitude.shape, generator=generator, device=device)
    return 2 * math.pi * uniform.to(magnitude.device)
