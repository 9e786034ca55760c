"""Streaming synthesis with a frame vocoder: mel chunks in, audio chunks out, equal to offline.

A :class:`~audiogen.models.vocoders.FrameVocoder` made of a
:class:`~audiogen.models.backbones.ConvNeXtBackbone` and an
:class:`~audiogen.models.heads.ISTFTHead` ("same" padding) streams exactly:

- every length-keeping convolution keeps the last ``kernel_size - 1`` frames of its input as
  the left context of the next chunk (zeros at the start: the offline zero padding), and can
  compute an output frame once its ``lookahead`` frames to the right have arrived; all other
  layers act per frame. The backbone as a whole lags its input by its ``lookahead``.
- the inverse STFT overlap-adds each frame's windowed inverse FFT; a sample is final once
  every frame that overlaps it has been added, so the last ``n_fft - hop`` samples (and
  their squared-window envelope) are carried to the next chunk.
- :meth:`FrameStreamer.flush` ends the stream as offline synthesis ends it: each convolution
  gets its right zero padding in turn, and the overlap-add tail is trimmed like the offline
  "same" padding.

So the concatenated chunks equal offline synthesis up to float rounding, for any chunking
(``tests/inference/test_streaming.py``). The worst-case wait of a sample, when mel frames
arrive in real time (frame n once its hop has passed) in chunks of C frames, is
:func:`algorithmic_latency_samples`: (C + lookahead) * hop + (n_fft - hop) / 2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import torch
from torch.nn import functional as F

from audiogen.errors import AudiogenError
from audiogen.models.backbones import ConvNeXtBackbone
from audiogen.models.heads import ISTFTHead
from audiogen.models.vocoders import FrameVocoder
from audiogen.nn.convnext import ConvNeXtBlock, LookaheadConv1d
from audiogen.representations.spectral import overlap_add

__all__ = ["FrameStreamer", "algorithmic_latency_samples", "stream", "streamable_generator"]


def streamable_generator(task: torch.nn.Module) -> FrameVocoder:
    """The frame vocoder of ``task`` that :class:`FrameStreamer` can stream, or an
    :class:`AudiogenError` that says why ``task`` cannot stream."""
    name = type(task).__name__
    generator = getattr(task, "generator", None)
    if not isinstance(generator, FrameVocoder):
        raise AudiogenError(f"{name} cannot stream: {_why_not(task)}; streaming needs a "
                            "one-step frame vocoder (a ConvNeXt backbone with an inverse-STFT "
                            "head, e.g. the GAN vocoder)")
    backbone, head = generator.backbone, generator.head
    if not isinstance(backbone, ConvNeXtBackbone) or backbone.time_embedding is not None:
        raise AudiogenError(f"{name} cannot stream: its backbone "
                            f"({type(backbone).__name__}) is not a ConvNeXt stack without "
                            "time conditioning")
    if not isinstance(head, ISTFTHead) or head.padding != "same":
        raise AudiogenError(f"{name} cannot stream: its head ({type(head).__name__}) is not an "
                            "inverse-STFT head with padding 'same'")
    return generator


def _why_not(task: torch.nn.Module) -> str:
    """Why a task without a frame vocoder cannot stream, in its own terms."""
    iterations = getattr(task, "n_iter", None)
    if iterations is not None:  # GriffinLim: phase retrieval over the whole spectrogram
        return (f"its phase retrieval ({iterations} iterations of {getattr(task, 'method', '')})"
                " updates the whole spectrogram at every iteration, so each sample depends on "
                "every frame of the utterance")
    prior = getattr(task, "prior", None)
    if prior is not None:
        reason = (f"it integrates an ODE over the whole state ({getattr(task, 'steps', '?')} "
                  "solver steps of a time-conditioned network)")
        if getattr(prior, "n_iter", None) is not None:
            reason += (f", starting from a {type(prior).__name__} whose phase retrieval "
                       "iterates over the whole spectrogram")
        return reason
    return "it has no frame vocoder"


def algorithmic_latency_samples(chunk_frames: int, lookahead: int, hop_length: int,
                                n_fft: int) -> int:
    """Worst-case wait (samples) between a sample's time and its emission when mel frames
    arrive in real time in chunks of ``chunk_frames``: the chunk (C * hop), the backbone's
    lookahead (lookahead * hop) and the inverse STFT's overlap ((n_fft - hop) / 2: a sample
    is final only once every frame whose window covers it is added)."""
    return (chunk_frames + lookahead) * hop_length + (n_fft - hop_length) // 2


class _ConvContext:
    """The input frames one :class:`LookaheadConv1d` still needs as left context."""

    def __init__(self, conv: LookaheadConv1d) -> None:
        self.conv = conv
        self.frames: torch.Tensor | None = None

    def window(self, x: torch.Tensor, last: bool) -> torch.Tensor | None:
        """The carried frames and ``x`` (B, C, n) (and, when ``last``, the right zero
        padding), or None while that is shorter than the kernel."""
        if self.frames is None:  # the start of the stream: the offline left zero padding
            self.frames = x.new_zeros(x.shape[0], x.shape[1], self.conv.history)
        window = torch.cat([self.frames, x], dim=-1)
        if last:
            window = F.pad(window, (0, self.conv.lookahead))
        size = self.conv.kernel_size[0]
        self.frames = window[..., window.shape[-1] - min(size - 1, window.shape[-1]):]
        return window if window.shape[-1] >= size else None


class _StreamingISTFT:
    """Overlap-add of an :class:`ISTFTHead`'s frames as they come, normalised by the squared
    window's overlap-add as offline (:func:`~audiogen.representations.spectral.istft`)."""

    def __init__(self, head: ISTFTHead) -> None:
        self.n_fft, self.hop_length = head.n_fft, head.hop_length
        window = head.window
        left = (self.n_fft - window.shape[-1]) // 2
        self.window = F.pad(window, (left, self.n_fft - window.shape[-1] - left))
        self.trim = (self.n_fft - self.hop_length) // 2  # the "same" padding at each end
        self.to_drop = self.trim
        self.tail: torch.Tensor | None = None  # (B, n_fft - hop): partial sums
        self.envelope_tail = self.window.new_zeros(1, self.n_fft - self.hop_length)

    def __call__(self, spectrum: torch.Tensor, last: bool) -> torch.Tensor:
        """Complex (B, F, n) frames (n may be 0) -> the samples final now (B, samples)."""
        batch, count = spectrum.shape[0], spectrum.shape[-1]
        overlap = self.n_fft - self.hop_length
        if self.tail is None:
            self.tail = self.window.new_zeros(batch, overlap)
        if count:
            frames = torch.fft.irfft(spectrum, n=self.n_fft, dim=1, norm="backward")
            wave = overlap_add(frames * self.window[None, :, None], self.hop_length)
            square = self.window.square()[None, :, None].expand(1, self.n_fft, count)
            envelope = overlap_add(square, self.hop_length)
            wave[:, :overlap] += self.tail
            envelope[:, :overlap] += self.envelope_tail
        else:
            wave, envelope = self.tail, self.envelope_tail
        ready = count * self.hop_length + (self.trim if last else 0)
        self.tail, self.envelope_tail = wave[:, ready:], envelope[:, ready:]
        out = wave[:, :ready] / envelope[:, :ready].clamp_min(1e-11)
        dropped = min(self.to_drop, out.shape[-1])
        self.to_drop -= dropped
        return out[:, dropped:]


class FrameStreamer:
    """Streams a :class:`FrameVocoder`: :meth:`push` features (B, C, n) chunk by chunk, then
    :meth:`flush`; the outputs concatenated equal ``generator(features)`` up to float
    rounding, frames * hop samples in all. Output lags input by :attr:`lookahead` frames plus
    the overlap of the inverse STFT. One streamer serves one stream (it carries its state)."""

    def __init__(self, generator: FrameVocoder) -> None:
        self.generator = generator
        backbone = generator.backbone
        head = generator.head
        if not isinstance(backbone, ConvNeXtBackbone) or not isinstance(head, ISTFTHead):
            raise AudiogenError("FrameStreamer needs a ConvNeXtBackbone and an ISTFTHead; use "
                                "streamable_generator to check a model")
        self.backbone, self.head = backbone, head
        self.blocks = [block for block in backbone.blocks if isinstance(block, ConvNeXtBlock)]
        self.contexts = [_ConvContext(conv) for conv in
                         [backbone.embed, *(block.depthwise for block in self.blocks)]]
        self.istft = _StreamingISTFT(head)
        self.batch_size: int | None = None
        self.finished = False

    @property
    def lookahead(self) -> int:
        """Frames of right context the backbone waits for."""
        return self.backbone.lookahead

    @torch.no_grad()
    def push(self, features: torch.Tensor) -> torch.Tensor:
        """Features (B, C, n) (n may be 0) -> the audio (B, samples) that is final now."""
        return self._step(features, last=False)

    @torch.no_grad()
    def flush(self, features: torch.Tensor | None = None) -> torch.Tensor:
        """End the stream (after optional last ``features``) -> the remaining audio."""
        if features is None:
            embed = self.backbone.embed
            features = embed.weight.new_zeros(self.batch_size or 1, embed.in_channels, 0)
        return self._step(features, last=True)

    def _step(self, features: torch.Tensor, last: bool) -> torch.Tensor:
        if self.finished:
            raise AudiogenError("this stream was flushed; start a new one")
        if self.batch_size not in (None, features.shape[0]):
            raise AudiogenError(f"this stream has batch size {self.batch_size}, got a chunk "
                                f"of {features.shape[0]}")
        self.batch_size, self.finished = features.shape[0], last
        x = features.to(self.backbone.embed.weight.dtype)
        x = self._layer(0, x, last, self._embed)
        for index, block in enumerate(self.blocks, start=1):
            x = self._layer(index, x, last, block.forward_context)
        if x.shape[-1]:
            spectrum = self.head.spectrum(self.backbone.output_norm(x))
        else:  # nothing new for the head; the overlap-add may still release its tail
            spectrum = x.new_zeros(x.shape[0], self.head.n_fft // 2 + 1, 0)
        with torch.autocast(features.device.type, enabled=False):
            return self.istft(spectrum, last)

    def _embed(self, window: torch.Tensor) -> torch.Tensor:
        return self.backbone.input_norm(self.backbone.embed.valid(window))

    def _layer(self, index: int, x: torch.Tensor, last: bool,
               layer: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """Convolution ``index`` (then what follows it up to the next one) on the frames it
        can compute now: (B, C, n) -> (B, dim, m), m = 0 while it waits for context."""
        window = self.contexts[index].window(x, last)
        if window is None:
            return x.new_zeros(x.shape[0], self.backbone.dim, 0)
        return layer(window)


def stream(generator: FrameVocoder, chunks: Iterable[torch.Tensor]) -> Iterator[torch.Tensor]:
    """Streaming synthesis: features chunks (B, C, n_i) or (C, n_i) -> audio chunks
    (B, samples): one per input chunk (empty while the lookahead fills), then the flush."""
    streamer = FrameStreamer(generator)
    for chunk in chunks:
        yield streamer.push(chunk if chunk.dim() == 3 else chunk[None])
    yield streamer.flush()
