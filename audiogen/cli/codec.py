"""``audiogen decode tokens`` and ``audiogen codec report``: codec tokens back to audio, and a
codec's bitrate, codebook use and quality per bandwidth. (``extract tokens`` and ``bench codec``
live with their groups and share the options below.)"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from audiogen.cli.common import Subcommands, comma_list, report_job

CODEC_HELP = "encodec_24khz, encodec_48khz, or a trained codec experiment folder"


def add_codec_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """``--codec``, ``--codec-checkpoint`` and ``--device``."""
    parser.add_argument("--codec", required=required, help=CODEC_HELP)
    parser.add_argument("--codec-checkpoint", help="EnCodec weights file (state dict, "
                        ".safetensors or torch); default: the encodec package's cache")
    parser.add_argument("--device", default="cpu")


def report_tokens(report: Any, verb: str, out: str) -> int:
    """The job report of a token job, its notes (resampling, downmixing) summarised."""
    notes = report.notes
    return report_job(out, len(report.written), report.skipped, verb=verb, kept=len(report.kept),
                      lines=[f"{len(notes)} note(s), e.g. {notes[0][0]}: {notes[0][1]}"]
                      if notes else [])


def cmd_decode_tokens(args: argparse.Namespace) -> int:
    from audiogen.errors import AudiogenError
    from audiogen.inference.tokens import decode_tokens, first_spec, load_codec

    spec = first_spec(args.input)
    name = args.codec or spec.get("model")
    if not name:
        raise AudiogenError("these tokens come from a trained codec: pass --codec EXP_DIR")
    bandwidth = args.bandwidth if args.bandwidth is not None else spec.get("bandwidth")
    codec = load_codec(name, bandwidth, args.codec_checkpoint, args.device)
    return report_tokens(decode_tokens(codec, args.input, args.out, args.device), "decoded",
                         args.out)


def cmd_codec_report(args: argparse.Namespace) -> int:
    from audiogen.eval.codec import codec_report, format_report
    from audiogen.inference.tokens import load_codec

    codecs = {}
    for bandwidth in [float(b) for b in comma_list(args.bandwidths)]:
        codec = load_codec(args.codec, bandwidth, args.codec_checkpoint, args.device)
        codecs[f"{args.name or Path(args.codec).name}_{bandwidth:g}kbps"] = codec
    rows = codec_report(codecs, args.input, args.out,
                        comma_list(args.metrics), args.limit, args.device)
    print(format_report(rows))
    return 0


def register(commands: Subcommands) -> None:
    """Add ``audiogen decode`` and ``audiogen codec``."""
    decode = commands.add_parser("decode", help="decode saved tokens to audio")
    decode_sub = decode.add_subparsers(dest="decode_command", required=True)
    tokens = decode_sub.add_parser("tokens", help="token .npz files -> wav")
    add_codec_options(tokens, required=False)
    tokens.add_argument("--bandwidth", type=float, help="default: the tokens' own")
    tokens.add_argument("--input", required=True, help="folder of token files, or one file")
    tokens.add_argument("--out", required=True)
    tokens.set_defaults(handler=cmd_decode_tokens)

    codec = commands.add_parser("codec", help="codec diagnostics")
    codec_sub = codec.add_subparsers(dest="codec_command", required=True)
    report = codec_sub.add_parser("report", help="bitrate, codebook usage/perplexity and "
                                  "quality per bandwidth")
    add_codec_options(report)
    report.add_argument("--bandwidths", required=True, help="comma-separated kbps")
    report.add_argument("--input", required=True, help="test audio: folder or manifest")
    report.add_argument("--out", required=True)
    report.add_argument("--metrics", default="pesq_wb,stoi,mel_l1")
    report.add_argument("--limit", type=int, help="only N inputs, evenly spaced")
    report.add_argument("--name", help="system name prefix (default: the codec's)")
    report.set_defaults(handler=cmd_codec_report)
