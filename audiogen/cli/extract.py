"""``audiogen extract features|ssl|units|mfcc|tokens``: what a model reads, computed from audio
ahead of time (conditioning features, SSL features, k-means units, MFCCs, codec tokens)."""

from __future__ import annotations

import argparse
from typing import Any

from audiogen.cli.codec import add_codec_options, report_tokens
from audiogen.cli.common import Subcommands, report_job
from audiogen.errors import ConfigError


def parse_layer(value: str) -> int | str:
    """``weighted`` or a layer number."""
    if value == "weighted":
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"layer must be an integer or 'weighted', got "
                                         f"{value!r}") from None


def cmd_extract_features(args: argparse.Namespace) -> int:
    from audiogen.inference.synthesize import extract_features

    written, skipped = extract_features(args.model, args.input, args.out)
    report_job(args.out, written, skipped, noun="feature files")
    return 0


def _report_features(report: Any, out: str) -> int:
    return report_job(out, report.written, report.skipped, kept=report.kept,
                      summary=[f"padded {len(report.padded)} short inputs"],
                      lines=[f"padded {name}: shorter than the receptive field (one frame)"
                             for name in report.padded])


def cmd_extract_ssl(args: argparse.Namespace) -> int:
    from audiogen.inference.features import extract
    from audiogen.representations.ssl import SSLFeatures

    ssl = SSLFeatures(args.model, args.layer, padding=args.padding)
    return _report_features(extract(ssl, args.input, args.out, args.batch_size, args.device),
                            args.out)


def cmd_extract_mfcc(args: argparse.Namespace) -> int:
    from audiogen.inference.features import extract
    from audiogen.representations.cepstral import MFCC

    return _report_features(extract(MFCC(args.sample_rate), args.input, args.out,
                                    args.batch_size), args.out)


def unit_representation(args: argparse.Namespace) -> Any:
    """Units over SSL features (``--ssl``/``--layer``) or over MFCCs (``--ssl mfcc``)."""
    from audiogen.representations.cepstral import MFCC
    from audiogen.representations.ssl import SSLFeatures
    from audiogen.representations.units import Codebook, UnitRepresentation

    if args.ssl == "mfcc":
        features: Any = MFCC(Codebook.load(args.kmeans).features_spec.get("sample_rate", 16000))
    else:
        if args.layer is None:
            raise ConfigError("--layer is required with an SSL model")
        features = SSLFeatures(args.ssl, args.layer, padding=args.padding)
    return UnitRepresentation(features, args.kmeans)


def cmd_extract_units(args: argparse.Namespace) -> int:
    from audiogen.inference.features import extract

    return _report_features(extract(unit_representation(args), args.input, args.out,
                                    args.batch_size, args.device, dedup=args.dedup), args.out)


def cmd_extract_tokens(args: argparse.Namespace) -> int:
    from audiogen.inference.tokens import extract_tokens, load_codec

    codec = load_codec(args.codec, args.bandwidth, args.codec_checkpoint, args.device)
    print(f"codec {args.codec}: {codec.bandwidth:g} kbps, n_q={codec.n_q}, "
          f"{codec.frame_rate:g} frames/s, {codec.sample_rate} Hz")
    report = extract_tokens(codec, args.input, args.out, args.device, args.batch_size)
    return report_tokens(report, "wrote", args.out)


def _add_io(parser: argparse.ArgumentParser, device: bool = True) -> None:
    parser.add_argument("--input", required=True, help="audio file, folder or manifest")
    parser.add_argument("--out", required=True, help="output folder (one .npz feature file "
                        "per input); rerunning resumes")
    parser.add_argument("--batch-size", type=int, default=1)
    if device:
        parser.add_argument("--device", default="cpu")
        parser.add_argument("--padding", choices=["none", "same"], default="none",
                            help="'same': T // hop frames, aligned with a same-padded STFT")


def register(commands: Subcommands) -> None:
    """Add ``audiogen extract`` and its subcommands."""
    extract = commands.add_parser("extract", help="compute features for later generation")
    sub = extract.add_subparsers(dest="extract_command", required=True)
    features = sub.add_parser("features", help="a model's conditioning features, as .npz with "
                              "their spec")
    features.add_argument("model", help="experiment or checkpoint folder")
    features.add_argument("--input", required=True, help="wav file, folder or manifest")
    features.add_argument("--out", required=True)
    features.set_defaults(handler=cmd_extract_features)

    ssl = sub.add_parser("ssl", help="hidden states of an SSL model (wav2vec2, HuBERT, WavLM, "
                         "data2vec-audio) as (dim, frames) .npz")
    ssl.add_argument("--model", required=True, help="model folder or hub id")
    ssl.add_argument("--layer", required=True, type=parse_layer,
                     help="hidden_states index (0 = input of the first transformer layer)")
    _add_io(ssl)
    ssl.set_defaults(handler=cmd_extract_ssl)

    units = sub.add_parser("units", help="k-means unit ids of SSL (or MFCC) features as "
                           "(1, frames) .npz")
    units.add_argument("--ssl", required=True, help="model folder or hub id, or 'mfcc'")
    units.add_argument("--layer", type=parse_layer)
    units.add_argument("--kmeans", required=True, help="k-means folder from 'units fit'")
    units.add_argument("--dedup", action="store_true", help="collapse repeated units")
    _add_io(units)
    units.set_defaults(handler=cmd_extract_units)

    mfcc = sub.add_parser("mfcc", help="39-dim MFCCs with deltas at 100 Hz as .npz")
    mfcc.add_argument("--sample-rate", type=int, default=16000)
    _add_io(mfcc, device=False)
    mfcc.set_defaults(handler=cmd_extract_mfcc)

    tokens = sub.add_parser("tokens", help="codec tokens, (n_q, frames) .npz per input")
    add_codec_options(tokens)
    tokens.add_argument("--bandwidth", type=float, help="kbps (EnCodec default 6; our codec: "
                        "all levels)")
    tokens.add_argument("--input", required=True, help="audio file, folder or manifest")
    tokens.add_argument("--out", required=True)
    tokens.add_argument("--batch-size", type=int, default=1)
    tokens.set_defaults(handler=cmd_extract_tokens)
