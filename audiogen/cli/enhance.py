"""``audiogen enhance``: restore audio with an audio-to-audio model (denoiser, bandwidth
extender, codec repair)."""

from __future__ import annotations

import argparse

from audiogen.cli.common import Subcommands, report_job


def cmd_enhance(args: argparse.Namespace) -> int:
    from audiogen.inference.enhance import enhance

    report = enhance(args.model, args.input, args.out, steps=args.steps, device=args.device,
                     seed=args.seed, chunk_seconds=args.chunk_seconds, limit=args.limit,
                     ema=args.weights == "ema")
    return report_job(args.out, len(report.written), report.skipped,
                      noun=f"files ({report.audio_seconds:.1f} s of audio)")


def register(commands: Subcommands) -> None:
    """Add ``audiogen enhance``."""
    parser = commands.add_parser("enhance", help="restore audio with an audio-to-audio model "
                                 "(denoising, bandwidth extension, codec repair)")
    parser.add_argument("model", help="shipped model name, experiment or checkpoint folder, or "
                        "the YAML config of a training-free enhancer")
    parser.add_argument("--input", required=True, help="wav file, folder or manifest (.jsonl); "
                        "audio at other rates is resampled to the model's")
    parser.add_argument("--out", required=True, help="output folder (mirrors input names)")
    parser.add_argument("--steps", type=int, help="solver steps (default: the model's)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk-seconds", type=float, default=10.0,
                        help="longer files are restored in overlapping chunks of this length")
    parser.add_argument("--weights", choices=["ema", "model"], default="ema",
                        help="the EMA weights (when trained with EMA) or the raw model's")
    parser.add_argument("--limit", type=int, help="only N inputs, evenly spaced over the list")
    parser.set_defaults(handler=cmd_enhance)
