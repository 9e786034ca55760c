"""``audiogen extract ssl|units|mfcc``, ``audiogen units fit|report`` and
``audiogen ssl export|probe``: self-supervised features, k-means units and their diagnostics."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from audiogen.errors import AudiogenError, ConfigError


def parse_layer(value: str) -> int | str:
    """``weighted`` or a layer number."""
    if value == "weighted":
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"layer must be an integer or 'weighted', got "
                                         f"{value!r}") from None


def _print_report(report: Any, out: str) -> int:
    print(f"wrote {report.written} files to {out} (kept {report.kept} from before); "
          f"skipped {len(report.skipped)}; padded {len(report.padded)} short inputs")
    for name in report.padded:
        print(f"  padded {name}: shorter than the receptive field (one frame)")
    for name, reason in report.skipped:
        print(f"  skipped {name}: {reason}")
    return 0 if report.written or report.kept or not report.skipped else 1


# ------------------------------------------------------------------------- extract
def cmd_extract_ssl(args: argparse.Namespace) -> int:
    from audiogen.inference.features import extract
    from audiogen.representations.ssl import SSLFeatures

    ssl = SSLFeatures(args.model, args.layer, padding=args.padding)
    report = extract(ssl, args.input, args.out, args.batch_size, args.device)
    return _print_report(report, args.out)


def cmd_extract_mfcc(args: argparse.Namespace) -> int:
    from audiogen.inference.features import extract
    from audiogen.representations.cepstral import MFCC

    report = extract(MFCC(args.sample_rate), args.input, args.out, args.batch_size)
    return _print_report(report, args.out)


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

    report = extract(unit_representation(args), args.input, args.out, args.batch_size,
                     args.device, dedup=args.dedup)
    return _print_report(report, args.out)


def _add_io(parser: argparse.ArgumentParser, device: bool = True) -> None:
    parser.add_argument("--input", required=True, help="audio file, folder or manifest")
    parser.add_argument("--out", required=True, help="output folder (.npy per input + "
                        "spec.json); rerunning resumes")
    parser.add_argument("--batch-size", type=int, default=1)
    if device:
        parser.add_argument("--device", default="cpu")
        parser.add_argument("--padding", choices=["none", "same"], default="none",
                            help="'same': T // hop frames, aligned with a same-padded STFT")


def add_extract(sub: argparse._SubParsersAction) -> None:
    ssl = sub.add_parser("ssl", help="hidden states of an SSL model (wav2vec2, HuBERT, WavLM, "
                         "data2vec-audio) as (frames, dim) .npy")
    ssl.add_argument("--model", required=True, help="model folder or hub id")
    ssl.add_argument("--layer", required=True, type=parse_layer,
                     help="hidden_states index (0 = input of the first transformer layer)")
    _add_io(ssl)
    ssl.set_defaults(handler=cmd_extract_ssl)
    units = sub.add_parser("units", help="k-means unit ids of SSL (or MFCC) features as "
                           "(frames,) .npy")
    units.add_argument("--ssl", required=True, help="model folder or hub id, or 'mfcc'")
    units.add_argument("--layer", type=parse_layer)
    units.add_argument("--kmeans", required=True, help="k-means folder from 'units fit'")
    units.add_argument("--dedup", action="store_true", help="collapse repeated units")
    _add_io(units)
    units.set_defaults(handler=cmd_extract_units)
    mfcc = sub.add_parser("mfcc", help="39-dim MFCCs with deltas at 100 Hz as .npy")
    mfcc.add_argument("--sample-rate", type=int, default=16000)
    _add_io(mfcc, device=False)
    mfcc.set_defaults(handler=cmd_extract_mfcc)


# ------------------------------------------------------------------------- units
def cmd_units_fit(args: argparse.Namespace) -> int:
    from audiogen.inference.features import read_folder, read_folder_spec
    from audiogen.representations.units import fit_kmeans

    spec = read_folder_spec(args.features)
    arrays = read_folder(args.features)
    if not arrays or any(a.ndim != 2 for a in arrays.values()):
        raise AudiogenError(f"{args.features}: needs (frames, dim) feature files")
    for k in args.k:
        book = fit_kmeans(arrays.values(), k, spec["representation"], seed=args.seed,
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
    from audiogen.inference.features import read_folder, read_folder_spec
    from audiogen.utils import atomic_write_json, atomic_write_text

    spec = read_folder_spec(args.units)
    if "dedup" not in spec:
        raise AudiogenError(f"{args.units}: not a units folder (extract units)")
    units = read_folder(args.units)
    num_units = int(spec["representation"]["num_units"])
    usage = usage_statistics(list(units.values()), num_units, float(spec["frame_rate"]))
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


def add_units(commands: argparse._SubParsersAction) -> None:
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


# ------------------------------------------------------------------------- ssl
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

    models = {}
    for entry in args.model:
        name, _, path = entry.rpartition("=") if "=" in entry else ("", "", entry)
        models[name or Path(path).name] = path
    train = manifest.read(args.train)
    test = manifest.read(args.test)
    if args.limit:
        train = [train[(i * len(train)) // args.limit] for i in range(min(args.limit,
                                                                          len(train)))]
    labels = [name for name in args.labels.split(",") if name]
    rows = probe(train, test, labels, models)
    table = markdown_table(rows, labels)
    print(table)
    if args.out:
        atomic_write_text(Path(args.out), table)
        atomic_write_json(Path(args.out).with_suffix(".json"), rows)
    return 0


def add_ssl(commands: argparse._SubParsersAction) -> None:
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


def register(commands: argparse._SubParsersAction,
             groups: dict[str, argparse._SubParsersAction]) -> None:
    """Add ``extract ssl|units|mfcc``, ``units`` and ``ssl`` to the CLI."""
    add_extract(groups["extract"])
    add_units(commands)
    add_ssl(commands)
