"""``audiogen speaker fit|predict``: a closed-set speaker classifier (pooled MFCCs, logistic
regression) for the ``speaker_match`` / ``speaker_prob`` metrics of voice conversion."""

from __future__ import annotations

import argparse

from audiogen.cli.common import Subcommands


def cmd_speaker_fit(args: argparse.Namespace) -> int:
    from audiogen.eval.speaker import fit_speaker_classifier

    classifier = fit_speaker_classifier(args.train, args.valid, args.max_per_speaker,
                                        seed=args.seed)
    out = classifier.save(args.out)
    info = classifier.info
    train_counts, valid_counts = info["train_counts"], info.get("valid_counts", {})
    print(f"speaker classifier: {len(classifier.classes)} speakers, "
          f"{sum(train_counts.values())} training utterances -> {out}")
    print(f"train accuracy {100 * info['train_accuracy']:.1f}%")
    if "valid_accuracy" in info:
        unseen = info["valid_unseen_speakers"]
        note = f" (speakers not in training, counted as errors: {', '.join(unseen)})" \
            if unseen else ""
        print(f"valid accuracy {100 * info['valid_accuracy']:.1f}% over "
              f"{sum(valid_counts.values())} utterances{note}")
    width = max(len("speaker"), *(len(name) for name in {*train_counts, *valid_counts}))
    print(f"{'speaker'.ljust(width)}  train  valid")
    for name in sorted({*train_counts, *valid_counts}):
        print(f"{name.ljust(width)}  {train_counts.get(name, 0):5d}  "
              f"{valid_counts.get(name, 0) if valid_counts else '-':>5}")
    return 0


def cmd_speaker_predict(args: argparse.Namespace) -> int:
    from audiogen.eval.speaker import SpeakerClassifier, predict_files
    from audiogen.inference.inputs import list_inputs

    classifier = SpeakerClassifier.load(args.classifier)
    items = list_inputs(args.input)
    failed = 0
    for item, result in zip(items, predict_files(classifier, [i.path for i in items])):
        if isinstance(result, tuple):
            print(f"{item.name} -> {result[0]} ({result[1]:.3f})")
        else:
            failed += 1
            print(f"  skipped {item.name}: {result}")
    return 1 if failed == len(items) else 0


def register(commands: Subcommands) -> None:
    """Add ``audiogen speaker``."""
    speaker = commands.add_parser("speaker", help="speaker classifier for voice-conversion "
                                  "metrics: fit, predict")
    sub = speaker.add_subparsers(dest="speaker_command", required=True)
    fit = sub.add_parser("fit", help="fit on a manifest's speaker labels (pooled MFCCs, "
                         "logistic regression)")
    fit.add_argument("--train", required=True, help="training manifest (with speakers)")
    fit.add_argument("--valid", help="held-out manifest: report its accuracy")
    fit.add_argument("--out", required=True, help="classifier folder to write")
    fit.add_argument("--max-per-speaker", type=int, help="at most N utterances per speaker, "
                     "evenly spaced")
    fit.add_argument("--seed", type=int, default=0)
    fit.set_defaults(handler=cmd_speaker_fit)
    predict = sub.add_parser("predict", help="print file -> predicted speaker (probability)")
    predict.add_argument("classifier", help="folder from 'audiogen speaker fit'")
    predict.add_argument("--input", required=True, help="audio file, folder or manifest")
    predict.set_defaults(handler=cmd_speaker_predict)
