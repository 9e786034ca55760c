"""``audiogen units fit|report`` and ``audiogen ssl export|probe``: k-means units and their
diagnostics, and self-supervised models (``extract ssl|units`` lives in the extract group)."""

from __future__ import annotations

import argparse
from pathlib import Path

from audiogen.cli.common import Subcommands, comma_list, named_paths
from audiogen.errors import AudiogenError, ConfigError


def cmd_units_fit(args: argparse.Namespace) -> int:
    from audiogen.inference.feature_files import read_folder
    from audiogen.representations.units import fit_kmeans

    arrays, spec = read_folder(args.features)
    if any(a.dtype.kind != "f" for a in arrays.values()):
        raise AudiogenError(f"{args.features}: needs continuous features (extract ssl|mfcc), "
                            "not units or tokens")
    frames = [a.T for a in arrays.values()]  # (dim, frames) files -> (frames, dim)
    for k in args.k:
        book = fit_kmeans(frames, k, spec, seed=args.seed,
                          max_frames=args.max_frames)
        out = Path(args.out.format(k=k))
        book.save(out)
        print(f"k-means K={k} on {book.info['frames']} frames: inertia/frame "
              f"{book.info['inertia_per_frame']:.4g} -> {out}")
    return 0


def cmd_units_report(args: argparse.Namespace) -> int:
    import numpy as np

    from audiogen.data import manifest
    from audiogen.eval.probe import label_of
    from audiogen.eval.units import markdown_report, purity_pnmi, usage_statistics
    from audiogen.inference.feature_files import read_folder
    from audiogen.utils import atomic_write_json, atomic_write_text

    arrays, spec = read_folder(args.units)
    if spec.get("type") != "units":
        raise AudiogenError(f"{args.units}: not a units folder (extract units)")
    units = {name: ids[0] for name, ids in arrays.items()}  # (1, frames) -> (frames,)
    num_units = int(spec["num_units"])
    frame_rate = float(spec["sample_rate"]) / float(spec["hop_length"])
    usage = usage_statistics(list(units.values()), num_units, frame_rate)
    purity = {}
    if args.manifest:
        rows = {u.id: u for u in manifest.read(args.manifest)}
        for name in args.labels.split(","):
            seq, lab = [], []
            for key, ids in units.items():
                if key in rows and label_of(rows[key], name) is not None:
                    seq.append(ids)
                    lab.append(np.full(ids.size, str(label_of(rows[key], name)), dtype=object))
            if seq:
                purity[name] = purity_pnmi(np.concatenate(seq), np.concatenate(lab))
    title = f"Units: K={num_units}, {Path(args.units).name}"
    text = markdown_report(title, usage, purity)
    print(text)
    if args.out:
        atomic_write_text(Path(args.out), text)
        atomic_write_json(Path(args.out).with_suffix(".json"),
                          {"usage": usage, "purity": purity, "spec": spec})
    return 0


def _add_units(commands: Subcommands) -> None:
    units = commands.add_parser("units", help="fit k-means units and report on them")
    sub = units.add_subparsers(dest="units_command", required=True)
    fit = sub.add_parser("fit", help="MiniBatchKMeans on an extraction folder")
    fit.add_argument("--features", required=True, help="folder from 'extract ssl|mfcc'")
    fit.add_argument("--k", type=int, nargs="+", required=True, help="one or more K")
    fit.add_argument("--out", required=True, help="output folder; '{k}' is replaced by K")
    fit.add_argument("--max-frames", type=int, help="fit on a random subset of frames")
    fit.add_argument("--seed", type=int, default=0)
    fit.set_defaults(handler=cmd_units_fit)
    report = sub.add_parser("report", help="usage, entropy, bitrate, purity and PNMI")
    report.add_argument("--units", required=True, help="folder from 'extract units' (no "
                        "--dedup, so frame labels align)")
    report.add_argument("--manifest", help="manifest with labels for purity/PNMI")
    report.add_argument("--labels", default="label,speaker", help="manifest fields")
    report.add_argument("--out", help="write the markdown report here (and .json beside it)")
    report.set_defaults(handler=cmd_units_report)


def cmd_ssl_export(args: argparse.Namespace) -> int:
    from audiogen.tasks.ssl_pretrain import HubertPretrain
    from audiogen.train.loading import load_task

    task = load_task(args.exp, prefer_ema=not args.raw)
    if not isinstance(task, HubertPretrain):
        raise ConfigError(f"{args.exp}: not an SSL pretraining experiment")
    print(f"exported {task.export(args.out)}")
    return 0


def cmd_ssl_probe(args: argparse.Namespace) -> int:
    from audiogen.data import manifest
    from audiogen.eval.probe import markdown_table, probe
    from audiogen.utils import atomic_write_json, atomic_write_text

    models = named_paths(args.model, "--model")
    train = manifest.read(args.train)
    test = manifest.read(args.test)
    if args.limit:
        train = [train[(i * len(train)) // args.limit] for i in range(min(args.limit,
                                                                          len(train)))]
    labels = comma_list(args.labels)
    rows = probe(train, test, labels, models)
    table = markdown_table(rows, labels)
    print(table)
    if args.out:
        atomic_write_text(Path(args.out), table)
        atomic_write_json(Path(args.out).with_suffix(".json"), rows)
    return 0


def _add_ssl(commands: Subcommands) -> None:
    ssl = commands.add_parser("ssl", help="self-supervised models: export, probe")
    sub = ssl.add_subparsers(dest="ssl_command", required=True)
    export = sub.add_parser("export", help="save a pretrained encoder with save_pretrained")
    export.add_argument("exp", help="experiment or checkpoint folder of an SSL pretraining")
    export.add_argument("--out", required=True)
    export.add_argument("--raw", action="store_true", help="raw weights instead of EMA")
    export.set_defaults(handler=cmd_ssl_export)
    probe = sub.add_parser("probe", help="layer-wise logistic-regression probes vs MFCCs")
    probe.add_argument("--model", action="append", default=[], metavar="[NAME=]PATH",
                       help="SSL model folder or hub id (repeatable)")
    probe.add_argument("--train", required=True, help="training manifest")
    probe.add_argument("--test", required=True, help="test manifest")
    probe.add_argument("--labels", default="label,speaker", help="manifest fields to probe")
    probe.add_argument("--limit", type=int, help="at most N training utterances, spread")
    probe.add_argument("--out", help="markdown table here (and .json beside it)")
    probe.set_defaults(handler=cmd_ssl_probe)


def register(commands: Subcommands) -> None:
    """Add ``audiogen units`` and ``audiogen ssl``."""
    _add_units(commands)
    _add_ssl(commands)
