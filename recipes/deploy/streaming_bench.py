"""Measure streaming synthesis (audiogen.bench.streaming.bench_stream) for several vocoders on
the same speech and write the rows as JSON: the table of the Streaming section of README.md.

    python recipes/deploy/streaming_bench.py --manifest exp/data/test.jsonl --seconds 10 \
        --model NAME=PATH_OR_CONFIG [--model ...] --chunk-ms 16,80,96 --threads 1 \
        --out recipes/deploy/streaming_results.json

A YAML config builds a randomly initialised model (seed 0): latency, speed and exactness do not
depend on training. The speech is the manifest's longest utterances, joined up to --seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import torch

import audiogen
from audiogen import audio
from audiogen.api import Vocoder
from audiogen.bench.streaming import bench_stream
from audiogen.data import manifest


def speech(manifest_path: Path, seconds: float, sample_rate: int) -> tuple[torch.Tensor, list]:
    """The longest utterances of a manifest joined up to ``seconds``, and their ids."""
    utterances = sorted(manifest.read(manifest_path), key=lambda u: -u.duration)
    waves, ids, total = [], [], 0.0
    for utterance in utterances:
        if total >= seconds:
            break
        wave, _ = audio.load(utterance.path, sample_rate)
        waves.append(wave[0])
        ids.append(utterance.id)
        total += wave.shape[-1] / sample_rate
    return torch.cat(waves)[None, : int(seconds * sample_rate)], ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--model", action="append", required=True, help="NAME=PATH")
    parser.add_argument("--chunk-ms", default="16,80,96")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    chunk_ms = [float(value) for value in args.chunk_ms.split(",")]
    load_before = os.getloadavg()[0]
    rows, source = [], {}
    for entry in args.model:
        name, path = entry.split("=", 1)
        torch.manual_seed(0)
        vocoder = audiogen.load(path)
        assert isinstance(vocoder, Vocoder)
        wave, ids = speech(args.manifest, args.seconds, vocoder.sample_rate)
        source = {"manifest": str(args.manifest), "ids": ids, "seconds": wave.shape[-1] /
                  vocoder.sample_rate}
        for row in bench_stream(vocoder.task, vocoder.encode(wave), chunk_ms, args.threads,
                                args.repeats, name):
            rows.append({**row, "model": path})
            print(json.dumps(rows[-1]), flush=True)
    result = {"speech": source, "torch": torch.__version__, "machine": platform.machine(),
              "cpu_count": os.cpu_count(), "load_average_1min": [load_before, os.getloadavg()[0]],
              "rows": rows}
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
