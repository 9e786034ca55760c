"""Codec commands: ``audiogen extract tokens``, ``audiogen decode tokens``, ``audiogen codec
report`` and ``audiogen bench codec``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

CODEC_HELP = "encodec_24khz, encodec_48khz, or a trained codec experiment folder"


def _print_report(report: object, verb: str, out: str) -> None:
    written, kept = getattr(report, "written"), getattr(report, "kept")  # noqa: B009
    skipped, notes = getattr(report, "skipped"), getattr(report, "notes")  # noqa: B009
    print(f"{verb} {len(written)} files to {out}; kept {len(kept)} already there; "
          f"skipped {len(skipped)}")
    for name, reason in skipped:
        print(f"  skipped {name}: {reason}")
    if notes:
        print(f"  {len(notes)} note(s), e.g. {notes[0][0]}: {notes[0][1]}")


def cmd_extract_tokens(args: argparse.Namespace) -> int:
    from audiogen.inference.tokens import extract_tokens, load_codec

    codec = load_codec(args.codec, args.bandwidth, args.codec_checkpoint, args.device)
    print(f"codec {args.codec}: {codec.bandwidth:g} kbps, n_q={codec.n_q}, "
          f"{codec.frame_rate:g} frames/s, {codec.sample_rate} Hz")
    report = extract_tokens(codec, args.input, args.out, args.device, args.batch_size)
    _print_report(report, "wrote", args.out)
    return 0 if report.written or report.kept or not report.skipped else 1


def cmd_decode_tokens(args: argparse.Namespace) -> int:
    from audiogen.errors import AudiogenError
    from audiogen.inference.tokens import decode_tokens, first_spec, load_codec

    spec = first_spec(args.input)
    name = args.codec or spec.get("model")
    if not name:
        raise AudiogenError("these tokens come from a trained codec: pass --codec EXP_DIR")
    bandwidth = args.bandwidth if args.bandwidth is not None else spec.get("bandwidth")
    codec = load_codec(name, bandwidth, args.codec_checkpoint, args.device)
    report = decode_tokens(codec, args.input, args.out, args.device)
    _print_report(report, "decoded", args.out)
    return 0 if report.written or report.kept or not report.skipped else 1


def cmd_codec_report(args: argparse.Namespace) -> int:
    from audiogen.eval.codec import codec_report, format_report
    from audiogen.inference.tokens import load_codec

    codecs = {}
    for bandwidth in [float(b) for b in args.bandwidths.split(",") if b]:
        codec = load_codec(args.codec, bandwidth, args.codec_checkpoint, args.device)
        codecs[f"{args.name or Path(args.codec).name}_{bandwidth:g}kbps"] = codec
    rows = codec_report(codecs, args.input, args.out,
                        [m for m in args.metrics.split(",") if m], args.limit, args.device)
    print(format_report(rows))
    return 0


def cmd_bench_codec(args: argparse.Namespace) -> int:
    from torch import nn

    from audiogen.bench.codec import PackageEncodec, bench_codecs, codec_from_config
    from audiogen.inference.tokens import load_codec
    from audiogen.models.codec import remove_weight_norm
    from audiogen.utils import atomic_write_json

    systems: dict[str, nn.Module] = {}
    for entry in args.config or []:
        name, _, path = entry.rpartition("=") if "=" in entry else ("", "", entry)
        systems[name or Path(path).parent.name] = codec_from_config(path, args.bandwidth)
    for entry in args.codec or []:
        name, _, path = entry.rpartition("=") if "=" in entry else ("", "", entry)
        systems[name or Path(path).name] = remove_weight_norm(load_codec(path, args.bandwidth))
    if args.encodec:
        systems["encodec_24khz (package)"] = PackageEncodec(args.encodec_bandwidth)
    rows = bench_codecs(systems, args.seconds, args.repeats, args.threads)
    for entry in rows:
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v
                          for k, v in entry.items() if k != "times"}))
    if args.json:
        atomic_write_json(Path(args.json), rows)
    return 0


def _add_codec_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--codec", required=required, help=CODEC_HELP)
    parser.add_argument("--codec-checkpoint", help="EnCodec weights file (state dict, "
                        ".safetensors or torch); default: the encodec package's cache")
    parser.add_argument("--device", default="cpu")


def register(commands: argparse._SubParsersAction,
             groups: dict[str, argparse._SubParsersAction]) -> None:
    """Add the codec commands to the parser."""
    extract = groups["extract"].add_parser("tokens", help="codec tokens, one .npz per input")
    _add_codec_options(extract)
    extract.add_argument("--bandwidth", type=float, help="kbps (EnCodec default 6; our codec: "
                         "all levels)")
    extract.add_argument("--input", required=True, help="audio file, folder or manifest")
    extract.add_argument("--out", required=True)
    extract.add_argument("--batch-size", type=int, default=1)
    extract.set_defaults(handler=cmd_extract_tokens)

    decode = commands.add_parser("decode", help="decode saved tokens to audio")
    decode_sub = decode.add_subparsers(dest="decode_command", required=True)
    tokens = decode_sub.add_parser("tokens", help="token .npz files -> wav")
    _add_codec_options(tokens, required=False)
    tokens.add_argument("--bandwidth", type=float, help="default: the tokens' own")
    tokens.add_argument("--input", required=True, help="folder of token files, or one file")
    tokens.add_argument("--out", required=True)
    tokens.set_defaults(handler=cmd_decode_tokens)

    codec = commands.add_parser("codec", help="codec diagnostics")
    codec_sub = codec.add_subparsers(dest="codec_command", required=True)
    report = codec_sub.add_parser("report", help="bitrate, codebook usage/perplexity and "
                                  "quality per bandwidth")
    _add_codec_options(report)
    report.add_argument("--bandwidths", required=True, help="comma-separated kbps")
    report.add_argument("--input", required=True, help="test audio: folder or manifest")
    report.add_argument("--out", required=True)
    report.add_argument("--metrics", default="pesq_wb,stoi,mel_l1")
    report.add_argument("--limit", type=int, help="only N inputs, evenly spaced")
    report.add_argument("--name", help="system name prefix (default: the codec's)")
    report.set_defaults(handler=cmd_codec_report)

    bench = groups["bench"].add_parser("codec", help="encode+decode speed of our codec and "
                                       "EnCodec, side by side")
    bench.add_argument("--config", action="append", metavar="[NAME=]CONFIG",
                       help="a codec training config (random weights)")
    bench.add_argument("--codec", action="append", metavar="[NAME=]EXP",
                       help="a trained codec experiment")
    bench.add_argument("--no-encodec", dest="encodec", action="store_false",
                       help="leave out the encodec package's 24 kHz model")
    bench.add_argument("--bandwidth", type=float, default=6.0, help="kbps of our codecs")
    bench.add_argument("--encodec-bandwidth", type=float, default=6.0,
                       help="kbps of EnCodec (1.5, 3, 6, 12 or 24)")
    bench.add_argument("--seconds", type=float, default=10.0)
    bench.add_argument("--repeats", type=int, default=5)
    bench.add_argument("--threads", type=int, default=1)
    bench.add_argument("--json", help="write the rows here")
    bench.set_defaults(handler=cmd_bench_codec)
