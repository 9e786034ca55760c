"""Measure ONNX export against PyTorch on real speech and write the rows as JSON: the table of
the "ONNX export" section of README.md.

    python recipes/deploy/onnx_bench.py --model denoise-16k --model exp/gan400 \
        --wavs ../shared/data/ljspeech_mini/LJSpeech-1.1/wavs --seconds 5 --threads 2 \
        --repeats 7 --out recipes/deploy/results.json

``--phase-init zero`` (or random) exports a mel inversion with that start phase and gives
PyTorch the same start (the shipped inversions start from PGHI, which has no graph form).

For each model, fp32 and fp16: export (``audiogen.export.onnx.export_onnx``, what
``audiogen export`` runs), then on one 5 s stretch of speech (the first files of --wavs joined,
resampled to the model's rate): max abs difference between the onnxruntime and the PyTorch
output, PESQ-wb of each output against the clean speech and their difference, and the real-time
factor of each (audio seconds per compute second, batch 1, median of --repeats timed runs after
one warm-up, the two runtimes alternating in the same process on --threads threads). A vocoder
gets the torch log-mel of the speech (the same features to both); an enhancer gets the speech
with white noise at 10 dB SNR (seed 0). Flow models get the same start noise in both.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from audiogen import audio
from audiogen.api import Enhancer, load
from audiogen.export.onnx import ExportError, export_onnx
from audiogen.export.runtime import OnnxGenerator


def speech(folder: Path, seconds: float, sample_rate: int) -> np.ndarray:
    """The first files of ``folder`` joined up to ``seconds`` at ``sample_rate``."""
    waves, total = [], 0
    for path in sorted(folder.glob("*.wav")):
        wave, _ = audio.load(path, sample_rate)
        waves.append(wave[0].numpy())
        total += wave.shape[-1]
        if total >= seconds * sample_rate:
            break
    return np.concatenate(waves)[: int(seconds * sample_rate)].astype(np.float32)


def timed(run: Any) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def pytorch_output(task: Any, enhancer: bool, x: np.ndarray, noise: np.ndarray | None
                   ) -> np.ndarray:
    """The PyTorch model's output for ``x`` (features, or audio for an enhancer)."""
    with torch.no_grad():
        tensor = torch.from_numpy(x)
        noise_t = None if noise is None else torch.from_numpy(noise)
        if enhancer:
            if noise_t is None:
                return task.enhance(tensor).numpy()
            features = task.encode_whole_frames(tensor)
            return task.generate(features, noise=noise_t)[..., : x.shape[-1]].numpy()
        if noise_t is not None:
            return task.generate(tensor, noise=noise_t).numpy()
        return task.synthesize(tensor).numpy()


def onnx_output(runtime: OnnxGenerator, x: np.ndarray, noise: np.ndarray | None
                ) -> np.ndarray:
    """The exported graph's output for ``x`` with the same start noise."""
    feeds = {runtime.inputs[0]: x}
    if noise is not None:
        feeds["noise"] = noise
    return runtime.session.run(None, feeds)[0]


def measure(name: str, folder: Path, out: Path, seconds: float, threads: int,
            repeats: int, phase_init: str | None = None) -> list[dict[str, Any]]:
    import pesq

    model = load(name)
    task = model.task  # type: ignore[union-attr]
    if phase_init is not None:  # the same start phase in PyTorch as in the graph
        task.phase_init = phase_init
    clean = speech(folder, seconds, task.sample_rate)
    if isinstance(model, Enhancer):
        rng = np.random.default_rng(0)
        noise = rng.standard_normal(clean.shape).astype(np.float32)
        scale = np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2) / 10 ** (10 / 10))
        x = (clean + scale * noise)[None]
    else:
        with torch.no_grad():
            x = task.representation.encode(torch.from_numpy(clean)[None]).numpy()
    rows = []
    for fp16 in (False, True):
        path = out / f"{Path(name).name}{'-fp16' if fp16 else ''}.onnx"
        started = time.perf_counter()
        try:
            export_onnx(name, path, fp16=fp16, phase_init=phase_init)
        except ExportError as error:  # e.g. fp16 of a mel inversion: recorded, not measured
            rows.append({"model": name, "precision": "fp16" if fp16 else "fp32",
                         "refused": str(error)})
            print(json.dumps(rows[-1]))
            continue
        export_seconds = time.perf_counter() - started
        runtime = OnnxGenerator(path, threads=threads)
        noise_np = None
        if "noise" in runtime.inputs:
            noise_np = np.random.default_rng(1).standard_normal(runtime.noise_shape(x),
                                                                dtype=np.float32)

        run_torch = partial(pytorch_output, task, isinstance(model, Enhancer), x, noise_np)
        run_onnx = partial(onnx_output, runtime, x, noise_np)
        torch.set_num_threads(threads)
        reference, exported = run_torch(), run_onnx()  # also the warm-up
        torch_times, onnx_times = [], []
        for _ in range(repeats):
            torch_times.append(timed(run_torch))
            onnx_times.append(timed(run_onnx))
        length = min(reference.shape[-1], clean.shape[-1])
        scores = [pesq.pesq(16000, clean[:length], out[0, :length], "wb")
                  for out in (reference, exported)]
        audio_seconds = x.shape[-1] / task.sample_rate if isinstance(model, Enhancer) else (
            reference.shape[-1] / task.sample_rate)
        rows.append({
            "model": name, "precision": "fp16" if fp16 else "fp32",
            "inputs": runtime.inputs, "sampling": json.loads(runtime.meta.get("sampling",
                                                                              "null")),
            "max_abs_error": float(np.abs(exported - reference).max()),
            "output_peak": float(np.abs(reference).max()),
            "pesq_wb_pytorch": round(scores[0], 4), "pesq_wb_onnx": round(scores[1], 4),
            "pesq_wb_difference": round(abs(scores[0] - scores[1]), 4),
            "xrt_pytorch": round(audio_seconds / statistics.median(torch_times), 1),
            "xrt_onnxruntime": round(audio_seconds / statistics.median(onnx_times), 1),
            "onnx_megabytes": round(path.stat().st_size / 1e6, 1),
            "export_seconds": round(export_seconds, 1),
        })
        print(json.dumps(rows[-1]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True)
    parser.add_argument("--wavs", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--onnx-dir", type=Path, default=Path("exp/deploy"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--phase-init", choices=["random", "zero"],
                        help="start phase of a mel inversion in both runtimes (as `audiogen "
                        "export --phase-init`)")
    args = parser.parse_args()
    import onnxruntime

    rows = [row for name in args.model for row in measure(
        name, args.wavs, args.onnx_dir, args.seconds, args.threads, args.repeats,
        args.phase_init)]
    result = {"date": time.strftime("%Y-%m-%d"), "seconds": args.seconds,
              "threads": args.threads, "repeats": args.repeats, "batch": 1,
              "machine": platform.processor() or platform.machine(),
              "torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
              "rows": rows}
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
