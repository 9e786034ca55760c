"""Codec speed: encode + decode of the same audio length by our codec(s) and EnCodec, side by side.

Each repeat round times every system once (interleaved, so a shared machine's load drifts over
all of them alike); a system's time is the median over rounds after a warm-up. Random weights are
fine for speed: EnCodec is the ``encodec`` package's own 24 kHz model built with
``pretrained=False``; ours are built from configs (or loaded from an experiment).
"""

from __future__ import annotations

import functools
import statistics
from typing import Any

import torch

from audiogen import config as cfg
from audiogen.bench.timing import gmacs, interleaved_seconds
from audiogen.errors import ConfigError
from audiogen.models.codec import remove_weight_norm
from audiogen.representations.codec import CodecTokens, NeuralCodec


def codec_from_config(path: str, bandwidth: float | None) -> NeuralCodec:
    """The (randomly initialised) codec of a codec training config, weight norm folded."""
    node = dict(cfg.get(cfg.load(path), "task.representation") or {})
    if not str(node.get("_target_", "")).endswith("NeuralCodec"):
        raise ConfigError(f"{path}: task.representation is not a NeuralCodec")
    codec: NeuralCodec = cfg.instantiate({**node, "bandwidth": bandwidth},
                                         where="task.representation")
    remove_weight_norm(codec)
    return codec.eval()


class PackageEncodec(torch.nn.Module):
    """The ``encodec`` package's model, called exactly as its README does (speed reference)."""

    def __init__(self, bandwidth: float, model: str = "encodec_24khz") -> None:
        super().__init__()
        from encodec import EncodecModel

        self.network = getattr(EncodecModel, f"encodec_model_{model.split('_')[1]}")(
            pretrained=False)
        if bandwidth not in self.network.target_bandwidths:
            raise ConfigError(f"EnCodec bandwidth {bandwidth:g} kbps is not supported; choose "
                              f"from {', '.join(f'{b:g}' for b in self.network.target_bandwidths)}")
        self.network.set_target_bandwidth(bandwidth)
        self.sample_rate, self.bandwidth = int(self.network.sample_rate), bandwidth
        self.n_q = int(round(bandwidth * 1000 / (self.network.frame_rate * 10)))

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        frames = self.network.encode(wave[:, None].expand(-1, self.network.channels, -1))
        return self.network.decode(frames)


def _round_trip(system: torch.nn.Module) -> Any:
    if isinstance(system, CodecTokens):
        return lambda wave: system.decode(system.tokens(wave))
    return system


def bench_codecs(systems: dict[str, torch.nn.Module], seconds: float = 10.0,
                 repeats: int = 5, threads: int | None = None, warmup: int = 1,
                 seed: int = 0) -> list[dict[str, Any]]:
    """Median encode+decode wall time of ``seconds`` of noise-like audio per system.

    Each system gets audio at its own sample rate. Returns rows with system, sample_rate,
    bandwidth, n_q, seconds (median), xRT (audio seconds per wall second), all timings,
    parameters and GMACs of one round trip.
    """
    if threads:
        torch.set_num_threads(threads)
    generator = torch.Generator().manual_seed(seed)
    runs = {}
    for name, system in systems.items():
        rate = int(getattr(system, "sample_rate"))  # noqa: B009
        wave = 0.1 * torch.randn(1, int(seconds * rate), generator=generator)
        runs[name] = functools.partial(_round_trip(system.eval()), wave)
    times = interleaved_seconds(runs, repeats, warmup)
    rows = []
    for name, system in systems.items():
        median = statistics.median(times[name])
        params = sum(p.numel() for p in system.parameters())
        rows.append({"system": name, "sample_rate": int(getattr(system, "sample_rate")),  # noqa: B009
                     "bandwidth_kbps": float(getattr(system, "bandwidth")),  # noqa: B009
                     "n_q": int(getattr(system, "n_q")),  # noqa: B009
                     "audio_seconds": seconds, "seconds": median, "xrt": seconds / median,
                     "times": times[name], "params": params, "gmacs": gmacs(runs[name]),
                     "threads": torch.get_num_threads()})
    return rows
