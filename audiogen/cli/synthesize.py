"""``audiogen synthesize``: vocode audio (copy-synthesis) or saved features with a model."""

from __future__ import annotations

import argparse

from audiogen.cli.common import Subcommands, add_model_job_arguments, report_job
from audiogen.errors import ConfigError


def cmd_synthesize(args: argparse.Namespace) -> int:
    if args.model.endswith(".onnx"):  # onnxruntime only: no torch on this path
        from audiogen.export.runtime import synthesize_files

        if getattr(args, "stream", False):
            raise ConfigError(f"{args.model}: an exported graph synthesizes whole files; "
                              "--stream needs the PyTorch model")

        onnx = synthesize_files(args.model, args.input, args.out, seed=args.seed,
                                limit=args.limit, steps=args.steps)
        return report_job(args.out, len(onnx.written), onnx.skipped,
                          noun=f"files ({onnx.audio_seconds:.1f} s of audio)")
    if args.stream:
        from audiogen.bench.streaming import stream_files

        streamed = stream_files(args.model, args.input, args.out, args.chunk_ms, args.threads,
                                args.device, args.limit, ema=args.weights == "ema")
        return report_job(args.out, len(streamed.written), streamed.skipped,
                          noun="files streamed", summary=streamed.summary())
    from audiogen.inference.synthesize import synthesize

    report = synthesize(args.model, args.input, args.out, steps=args.steps, solver=args.solver,
                        grid=args.grid, device=args.device, batch_size=args.batch_size,
                        seed=args.seed, limit=args.limit, ema=args.weights == "ema")
    return report_job(args.out, len(report.written), report.skipped,
                      noun=f"files ({report.audio_seconds:.1f} s of audio)")


def register(commands: Subcommands) -> None:
    """Add ``audiogen synthesize``."""
    synth = commands.add_parser("synthesize", help="vocode audio (copy-synthesis) or saved "
                                "features with a trained model")
    add_model_job_arguments(synth, "shipped model name (e.g. mel-consistent-16k), experiment "
                            "or checkpoint folder, the YAML config of a training-free model, or "
                            "an .onnx file from 'audiogen export' (run with onnxruntime)",
                            "wav file, folder, manifest (.jsonl) or folder of .npz features")
    synth.add_argument("--solver", help="euler, heun, midpoint, dpm_solver_pp_2m, ddim, ddpm")
    synth.add_argument("--grid", help="time grid: uniform, quadratic, karras, log_snr, or betas "
                       "(the model's inference betas, DiffWave's fast schedule)")
    synth.add_argument("--batch-size", type=int, default=1)
    synth.add_argument("--stream", action="store_true", help="synthesize chunk by chunk as a "
                       "streaming server would (frame vocoders); also measures latency, RTF "
                       "and the SNR against offline synthesis (OUT/streaming.json)")
    synth.add_argument("--chunk-ms", type=float, default=100.0,
                       help="with --stream: mel chunk length (rounded down to whole frames)")
    synth.add_argument("--threads", type=int, default=1, help="with --stream: CPU threads")
    synth.set_defaults(handler=cmd_synthesize)
