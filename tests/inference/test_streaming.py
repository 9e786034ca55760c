"""Streaming synthesis: streamed chunks equal offline synthesis; the lookahead is what the
model says; the latency formula is the worst wait a stream shows; models that cannot stream
say why."""

from __future__ import annotations

import pytest
import torch

import audiogen
from audiogen import api
from audiogen import config as cfg
from audiogen.errors import AudiogenError
from audiogen.inference.streaming import (
    FrameStreamer,
    algorithmic_latency_samples,
    stream,
)
from audiogen.models.backbones import ConvNeXtBackbone
from audiogen.models.heads import ISTFTHead
from audiogen.models.vocoders import FrameVocoder
from audiogen.train.experiment import build_task


def tiny_vocoder(lookahead: int | None, n_fft: int = 64, hop_length: int = 16,
                 win_length: int | None = None, dtype: torch.dtype = torch.float64
                 ) -> FrameVocoder:
    torch.manual_seed(0)
    backbone = ConvNeXtBackbone(10, 16, 32, 3, lookahead=lookahead)
    head = ISTFTHead(16, n_fft, hop_length, win_length)
    for parameter in head.projection.parameters():  # a louder, more varied spectrum
        torch.nn.init.normal_(parameter, std=0.3)
    return FrameVocoder(backbone, head).to(dtype).eval()


def snr_db(reference: torch.Tensor, estimate: torch.Tensor) -> float:
    reference, estimate = reference.detach().double(), estimate.detach().double()
    error = (reference - estimate).square().sum()
    return float(10 * torch.log10(reference.square().sum() / error.clamp_min(1e-300)))


def split(features: torch.Tensor, sizes: list[int]) -> list[torch.Tensor]:
    """Chunks of the given sizes, the last one taking what is left."""
    starts = [sum(sizes[:i]) for i in range(len(sizes))] + [features.shape[-1]]
    return [features[..., a:b] for a, b in zip(starts, starts[1:], strict=False)]


@pytest.mark.parametrize("lookahead", [None, 2, 0])
@pytest.mark.parametrize("chunk", [1, 3, 7, 40])
def test_streamed_output_equals_offline_output(lookahead: int | None, chunk: int) -> None:
    generator = tiny_vocoder(lookahead)
    features = torch.randn(2, 10, 29, dtype=torch.float64)
    offline = generator(features)
    chunks = list(stream(generator, features.split(chunk, dim=-1)))
    streamed = torch.cat(chunks, dim=-1)
    assert len(chunks) == -(-29 // chunk) + 1  # one per chunk, then the flush
    assert streamed.shape == offline.shape == (2, 29 * 16)
    assert snr_db(offline, streamed) > 200  # float64: equal up to rounding


@pytest.mark.parametrize("n_fft, hop_length, win_length", [(64, 24, None), (64, 16, 48)])
def test_streaming_is_exact_for_other_stft_layouts(n_fft: int, hop_length: int,
                                                   win_length: int | None) -> None:
    """A hop that does not divide n_fft (the fold overlap-add) and a window shorter than n_fft,
    in uneven chunks with empty ones among them, in float32."""
    generator = tiny_vocoder(3, n_fft, hop_length, win_length, torch.float32)
    features = torch.randn(1, 10, 31)
    offline = generator(features)
    streamed = torch.cat(list(stream(generator, split(features, [2, 0, 5, 1, 0, 11]))), -1)
    assert streamed.shape == offline.shape == (1, 31 * hop_length)
    assert snr_db(offline, streamed) > 100


def test_a_flushed_stream_refuses_more_and_batch_sizes_must_match() -> None:
    streamer = FrameStreamer(tiny_vocoder(2))
    streamer.push(torch.randn(2, 10, 4, dtype=torch.float64))
    with pytest.raises(AudiogenError, match="batch size"):
        streamer.push(torch.randn(1, 10, 4, dtype=torch.float64))
    streamer.flush()
    with pytest.raises(AudiogenError, match="flushed"):
        streamer.push(torch.randn(2, 10, 4, dtype=torch.float64))


@pytest.mark.parametrize("lookahead", [0, 2, 5, None])
def test_backbone_lookahead_is_its_right_context(lookahead: int | None) -> None:
    """Perturbing input frame m changes output frames m - lookahead onwards, none before."""
    backbone = ConvNeXtBackbone(10, 16, 32, 3, lookahead=lookahead).double().eval()
    expected = 4 * 3 if lookahead is None else lookahead  # 4 convolutions of kernel 7
    assert backbone.lookahead == expected
    assert_right_context(backbone, 10, expected)


def assert_right_context(backbone: ConvNeXtBackbone, channels: int, lookahead: int) -> None:
    frames, m = 80, 50
    x = torch.randn(1, channels, frames, dtype=torch.float64)
    y = x.clone()
    y[..., m] += 1.0
    with torch.no_grad():
        changed = (backbone(x) - backbone(y)).abs().amax(dim=1)[0] > 1e-12
    first = int(changed.nonzero()[0])
    assert first == m - lookahead


def test_default_lookahead_is_the_symmetric_padding() -> None:
    """lookahead=None computes what a plain Conv1d with padding kernel_size // 2 computes, with
    the same parameter names, so existing checkpoints load and behave as before."""
    symmetric = ConvNeXtBackbone(10, 16, 32, 3).double()
    explicit = ConvNeXtBackbone(10, 16, 32, 3, lookahead=12).double()
    assert list(symmetric.state_dict()) == list(explicit.state_dict())
    explicit.load_state_dict(symmetric.state_dict())
    x = torch.randn(2, 10, 9, dtype=torch.float64)
    reference = torch.nn.functional.conv1d(x, symmetric.embed.weight, symmetric.embed.bias,
                                           padding=3)
    torch.testing.assert_close(symmetric.embed(x), reference)
    torch.testing.assert_close(symmetric(x), explicit(x))
    with pytest.raises(ValueError, match="lookahead"):
        ConvNeXtBackbone(10, 16, 32, 3, lookahead=25)


def test_the_low_latency_recipe_has_the_lookahead_its_config_names() -> None:
    config = cfg.load("recipes/vocoder/gan_mel/lowlatency.yaml")
    lookahead = config["task"]["generator"]["backbone"]["lookahead"]
    torch.manual_seed(0)
    generator = cfg.instantiate(config["task"]["generator"], where="task.generator")
    assert isinstance(generator, FrameVocoder)
    backbone = generator.backbone.double().eval()
    assert isinstance(backbone, ConvNeXtBackbone) and backbone.lookahead == lookahead
    assert_right_context(backbone, config["task"]["representation"]["n_mels"], lookahead)


@pytest.mark.parametrize("chunk, lookahead", [(1, 2), (4, 0), (6, 3)])
def test_latency_formula_is_the_worst_wait_of_a_real_time_stream(chunk: int,
                                                                 lookahead: int) -> None:
    """Frames arrive in real time (frame n once its hop has passed), ``chunk`` at a time; each
    output sample waits from its own time to the push that emits it."""
    n_fft, hop = 64, 16
    streamer = FrameStreamer(tiny_vocoder(lookahead, n_fft, hop))
    features = torch.randn(1, 10, 60, dtype=torch.float64)
    emitted, worst = 0, 0
    for index, part in enumerate(features.split(chunk, dim=-1)):
        arrival = (index * chunk + part.shape[-1]) * hop
        count = streamer.push(part).shape[-1]
        if count:
            worst = max(worst, arrival - emitted)  # the oldest newly emitted sample waits most
        emitted += count
    assert worst == algorithmic_latency_samples(chunk, lookahead, hop, n_fft)


def test_vocoder_stream_through_the_public_api() -> None:
    torch.manual_seed(0)
    task = build_task(cfg.load("recipes/vocoder/gan_mel/debug.yaml",
                               ["task.generator.backbone.lookahead=2"]))
    del task.discriminators
    vocoder = api.Vocoder(task)
    features = vocoder.encode(0.1 * torch.randn(16000 // 4))
    chunks = features.split(5, dim=-1)
    streamed = torch.cat(list(vocoder.stream(chunks)), dim=-1)
    offline = vocoder(features)
    assert streamed.shape == offline.shape
    assert snr_db(offline, streamed) > 100


def test_models_that_cannot_stream_say_why() -> None:
    inversion = audiogen.load("mel-consistent-16k")
    assert isinstance(inversion, api.Vocoder)
    with pytest.raises(AudiogenError, match="phase retrieval .* whole spectrogram"):
        inversion.stream([torch.zeros(1, 80, 4)])
    torch.manual_seed(0)
    flow = api.Vocoder(build_task(cfg.load("recipes/vocoder/fm_mel/debug.yaml")))
    with pytest.raises(AudiogenError, match="GriffinLimPrior whose phase retrieval"):
        flow.stream([torch.zeros(1, 80, 4)])
