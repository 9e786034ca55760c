"""``audiogen classifier fit|predict``: the held-out label classifier behind the generation
metrics (``prompt_accuracy``, ``classifier_fd``, ``inception_score``, ``diversity``)."""

from __future__ import annotations

import argparse

from audiogen.cli.common import Subcommands, comma_list
from audiogen.errors import ConfigError


def label_fields(text: str) -> dict[str, str]:
    """``"digit=label,speaker"`` -> ``{"digit": "label", "speaker": "speaker"}`` (a bare name
    is read from the manifest field of that name)."""
    fields = {}
    for entry in comma_list(text):
        name, _, field = entry.partition("=")
        if not name or name in fields:
            raise ConfigError(f"--labels: {entry!r} is not NAME or NAME=FIELD, or repeats a "
                              "name")
        fields[name] = field or name
    if not fields:
        raise ConfigError("--labels needs at least one NAME[=FIELD]")
    return fields


def cmd_fit(args: argparse.Namespace) -> int:
    from audiogen.data import manifest
    from audiogen.eval.classifier import FitSettings, fit_classifier

    settings = FitSettings(duration=args.duration, epochs=args.epochs,
                           batch_size=args.batch_size, seed=args.seed)
    classifier = fit_classifier(args.train, label_fields(args.labels), args.valid, settings,
                                args.sample_rate)
    if args.test:
        classifier.info["test_manifest"] = args.test
        classifier.info["test_accuracy"] = classifier.accuracy(manifest.read(args.test))
    out = classifier.save(args.out)
    info = classifier.info
    print(f"classifier: {', '.join(classifier.vocabulary.names)} "
          f"({', '.join(map(str, classifier.vocabulary.sizes))} classes), "
          f"{info['parameters']:,} parameters, {info['fit_seconds']} s -> {out}")
    for split in ("test", "valid"):
        accuracy = info.get(f"{split}_accuracy")
        if accuracy:
            print(f"{split} accuracy: " + ", ".join(f"{name} {100 * value:.1f}%"
                                                    for name, value in accuracy.items()))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from audiogen.eval.classifier import Classifier
    from audiogen.inference.inputs import list_inputs

    classifier = Classifier.load(args.classifier)
    items = list_inputs(args.input)
    prediction = classifier.predict_files([item.path for item in items])
    for index, (item, labels) in enumerate(zip(items, classifier.decide(prediction))):
        print(f"{item.name} -> " + " ".join(
            f"{name}={value} ({prediction.probabilities[name][index].max():.3f})"
            for name, value in labels.items()))
    return 0


def register(commands: Subcommands) -> None:
    """Add ``audiogen classifier``."""
    parser = commands.add_parser("classifier", help="label classifier for judging generated "
                                 "audio: fit, predict")
    sub = parser.add_subparsers(dest="classifier_command", required=True)
    fit = sub.add_parser("fit", help="train on a manifest's label fields (log-mel CNN, one "
                         "head per label)")
    fit.add_argument("--train", required=True, help="training manifest")
    fit.add_argument("--valid", help="validation manifest: keep the epoch of best accuracy")
    fit.add_argument("--test", help="test manifest: report its accuracy (stored in the "
                     "classifier's card)")
    fit.add_argument("--labels", required=True, help="NAME[=FIELD],...: heads named like the "
                     "generator's prompt labels, e.g. digit=label,speaker")
    fit.add_argument("--out", required=True, help="classifier folder to write")
    fit.add_argument("--duration", type=float, default=1.0, help="seconds every clip is cut "
                     "or padded to (the generator's clip length)")
    fit.add_argument("--sample-rate", type=int, help="default: the first training file's")
    fit.add_argument("--epochs", type=int, default=8)
    fit.add_argument("--batch-size", type=int, default=32)
    fit.add_argument("--seed", type=int, default=0)
    fit.set_defaults(handler=cmd_fit)
    predict = sub.add_parser("predict", help="print file -> predicted labels (probability)")
    predict.add_argument("classifier", help="folder from 'audiogen classifier fit'")
    predict.add_argument("--input", required=True, help="audio file, folder or manifest")
    predict.set_defaults(handler=cmd_predict)
