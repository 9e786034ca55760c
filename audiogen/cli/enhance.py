"""``audiogen enhance`` and ``audiogen convert``: audio-to-audio models over files (denoising,
bandwidth extension, codec repair; voice conversion)."""

from __future__ import annotations

import argparse

from audiogen.cli.common import Subcommands, add_model_job_arguments, report_job


def cmd_enhance(args: argparse.Namespace) -> int:
    from audiogen.inference.enhance import convert, enhance

    job = convert if args.command == "convert" else enhance
    report = job(args.model, args.input, args.out, steps=args.steps, device=args.device,
                 seed=args.seed, chunk_seconds=args.chunk_seconds, limit=args.limit,
                 ema=args.weights == "ema")
    return report_job(args.out, len(report.written), report.skipped,
                      noun=f"files ({report.audio_seconds:.1f} s of audio)")


def register(commands: Subcommands) -> None:
    """Add ``audiogen enhance`` and ``audiogen convert``."""
    inputs = ("wav file, folder or manifest (.jsonl); audio at other rates is resampled to the "
              "model's")
    enhance = commands.add_parser("enhance", help="restore audio with an audio-to-audio model "
                                  "(denoising, bandwidth extension, codec repair)")
    add_model_job_arguments(enhance, "shipped model name, experiment or checkpoint folder, or "
                            "the YAML config of a training-free enhancer", inputs)
    convert = commands.add_parser("convert", help="voice conversion: speak the inputs in the "
                                  "voice of a vocoder trained on SSL units of one speaker")
    add_model_job_arguments(convert, "experiment or checkpoint folder of a unit (or SSL-feature) "
                            "vocoder trained on the target voice", inputs)
    for parser in (enhance, convert):
        parser.add_argument("--chunk-seconds", type=float, default=10.0,
                            help="longer files are processed in overlapping chunks of this "
                            "length")
        parser.set_defaults(handler=cmd_enhance)
