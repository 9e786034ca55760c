"""``audiogen bench vocoder|eval|stream|codec``: speed of vocoders and peers, of an evaluation
per hour of audio, of streaming synthesis, and of codecs side by side."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from audiogen.cli.common import Subcommands, comma_list, named_paths, parse_assignments
from audiogen.errors import ConfigError


def _print_rows(rows: list[dict[str, Any]], json_path: str | None,
                hidden: tuple[str, ...] = ()) -> None:
    """One JSON line per row (floats rounded, ``hidden`` fields left out); all rows to
    ``json_path`` when given."""
    from audiogen.utils import atomic_write_json

    for entry in rows:
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v
                          for k, v in entry.items() if k not in hidden}))
    if json_path:
        atomic_write_json(Path(json_path), rows)


def _config_name(path: Path) -> str:
    return path.parent.name


def cmd_bench_vocoder(args: argparse.Namespace) -> int:
    from audiogen.bench.vocoder import bench_vocoder

    configs = named_paths(args.config, "--config", "[NAME=]CONFIG", _config_name)
    rows = bench_vocoder(configs, args.checkpoint, [int(s) for s in comma_list(args.steps)],
                         args.seconds, args.batch_size, args.threads,
                         comma_list(args.peers), args.repeats)
    _print_rows(rows, args.json)
    return 0


def cmd_bench_eval(args: argparse.Namespace) -> int:
    from audiogen.bench.evaluation import bench_eval, format_table
    from audiogen.utils import atomic_write_json

    if args.repeats < 1:
        raise ConfigError("--repeats must be at least 1")
    result = bench_eval(args.ref, args.gen, comma_list(args.metrics),
                        args.repeats, args.workers, parse_assignments(args.option, "--option"))
    print(format_table(result))
    if args.json:
        atomic_write_json(Path(args.json), result)
    return 0


def cmd_bench_eval_values(args: argparse.Namespace) -> int:
    from audiogen.bench.evaluation import value_differences
    from audiogen.eval import results
    from audiogen.utils import atomic_write_json

    table = value_differences(results.read(Path(args.before)), results.read(Path(args.after)))
    for metric, entry in table.items():
        print(json.dumps({"metric": metric, **{k: round(v, 6) if isinstance(v, float) else v
                                               for k, v in entry.items()}}))
    if args.json:
        atomic_write_json(Path(args.json), table)
    return 0


def cmd_bench_codec(args: argparse.Namespace) -> int:
    from torch import nn

    from audiogen.bench.codec import PackageEncodec, bench_codecs, codec_from_config
    from audiogen.inference.tokens import load_codec
    from audiogen.models.codec import remove_weight_norm

    systems: dict[str, nn.Module] = {}
    for name, path in named_paths(args.config, "--config", "[NAME=]CONFIG",
                                  _config_name).items():
        systems[name] = codec_from_config(path, args.bandwidth)
    for name, path in named_paths(args.codec, "--codec", "[NAME=]EXP").items():
        if name in systems:
            raise ConfigError(f"--codec {name!r} is also the name of a --config")
        systems[name] = remove_weight_norm(load_codec(path, args.bandwidth))
    if args.encodec:
        systems["encodec_24khz (package)"] = PackageEncodec(args.encodec_bandwidth)
    _print_rows(bench_codecs(systems, args.seconds, args.repeats, args.threads), args.json,
                hidden=("times",))
    return 0


def cmd_bench_stream(args: argparse.Namespace) -> int:
    import torch

    from audiogen.bench.streaming import bench_stream
    from audiogen.inference.inputs import list_inputs
    from audiogen.inference.synthesize import features_of, resolve_model

    items = list_inputs(args.input)
    if len(items) != 1:
        raise ConfigError(f"--input {args.input}: give one wav or .npz file, not {len(items)}")
    task = resolve_model(args.model, "cpu")
    features = features_of(task, items[0], torch.device("cpu"))
    rows = bench_stream(task, features, [float(c) for c in comma_list(args.chunk_ms)],
                        args.threads, args.repeats, system=args.name or args.model)
    _print_rows(rows, args.json)
    return 0


def register(commands: Subcommands) -> None:
    """Add ``audiogen bench`` and its subcommands."""
    bench = commands.add_parser("bench", help="speed benchmarks")
    sub = bench.add_subparsers(dest="bench_command", required=True)
    vocoder = sub.add_parser("vocoder", help="xRT, params and MACs of vocoders and peers")
    vocoder.add_argument("--config", action="append", metavar="[NAME=]CONFIG",
                         help="a vocoder config (random weights are fine for speed)")
    vocoder.add_argument("--checkpoint", help="a trained experiment or checkpoint")
    vocoder.add_argument("--steps", default="1,2,4,8")
    vocoder.add_argument("--seconds", type=float, default=5.0)
    vocoder.add_argument("--batch-size", type=int, default=1)
    vocoder.add_argument("--threads", type=int, default=2)
    vocoder.add_argument("--peers", default="diffwave,vocos", help="diffwave, vocos or empty")
    vocoder.add_argument("--repeats", type=int, default=10)
    vocoder.add_argument("--json", help="write the rows here")
    vocoder.set_defaults(handler=cmd_bench_vocoder)

    evaluation = sub.add_parser("eval", help="evaluation speed: seconds per hour of audio, per "
                                "metric and in total")
    evaluation.add_argument("--ref", required=True, help="reference folder or manifest")
    evaluation.add_argument("--gen", required=True, help="generated folder or manifest")
    evaluation.add_argument("--metrics", default="pesq_wb,stoi,mcd,f0_rmse,dnsmos_ovrl")
    evaluation.add_argument("--repeats", type=int, default=1, help="medians over repeats")
    evaluation.add_argument("--workers", type=int, default=2,
                            help="processes (as audiogen evaluate)")
    evaluation.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                            help="metric option, as audiogen evaluate (repeatable)")
    evaluation.add_argument("--json", help="write the measurements here")
    evaluation.set_defaults(handler=cmd_bench_eval)

    values = sub.add_parser("eval-values", help="per-metric mean and max |difference| between "
                            "the per-item values of two evaluations")
    values.add_argument("before", help="results.json of the first evaluation")
    values.add_argument("after", help="results.json of the second evaluation")
    values.add_argument("--json", help="write the table here")
    values.set_defaults(handler=cmd_bench_eval_values)

    stream = sub.add_parser("stream", help="streaming synthesis: algorithmic latency, ms per "
                            "chunk, RTF and SNR against offline, per chunk size")
    stream.add_argument("model", help="a frame vocoder: experiment, checkpoint or shipped name")
    stream.add_argument("--input", required=True, help="one wav (encoded with the model's "
                        "features) or .npz feature file")
    stream.add_argument("--chunk-ms", default="16,64,96", help="comma-separated chunk lengths")
    stream.add_argument("--threads", type=int, default=1)
    stream.add_argument("--repeats", type=int, default=3)
    stream.add_argument("--name", help="system name in the rows (default: the model argument)")
    stream.add_argument("--json", help="write the rows here")
    stream.set_defaults(handler=cmd_bench_stream)

    codec = sub.add_parser("codec", help="encode+decode speed of our codec and EnCodec, side "
                           "by side")
    codec.add_argument("--config", action="append", metavar="[NAME=]CONFIG",
                       help="a codec training config (random weights)")
    codec.add_argument("--codec", action="append", metavar="[NAME=]EXP",
                       help="a trained codec experiment")
    codec.add_argument("--no-encodec", dest="encodec", action="store_false",
                       help="leave out the encodec package's 24 kHz model")
    codec.add_argument("--bandwidth", type=float, default=6.0, help="kbps of our codecs")
    codec.add_argument("--encodec-bandwidth", type=float, default=6.0,
                       help="kbps of EnCodec (1.5, 3, 6, 12 or 24)")
    codec.add_argument("--seconds", type=float, default=10.0)
    codec.add_argument("--repeats", type=int, default=5)
    codec.add_argument("--threads", type=int, default=1)
    codec.add_argument("--json", help="write the rows here")
    codec.set_defaults(handler=cmd_bench_codec)
