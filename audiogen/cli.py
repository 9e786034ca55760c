"""``audiogen <command>``: each handler parses its arguments and calls the library.

Exit codes: 0 success, 1 an audiogen error (printed on one line; ``--debug`` shows the
traceback), 2 bad usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any, Callable

from audiogen.config import parse_value
from audiogen.errors import AudiogenError, ConfigError

Handler = Callable[[argparse.Namespace], int]


def parse_assignments(pairs: list[str] | None, flag: str = "--set") -> dict[str, object]:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}`` with YAML-parsed values."""
    result: dict[str, object] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ConfigError(f"{flag} {pair!r} must look like key=value")
        key, value = pair.split("=", 1)
        result[key.strip()] = parse_value(value) if value else ""
    return result


# ------------------------------------------------------------------------- data
def cmd_data_build(args: argparse.Namespace) -> int:
    from audiogen.data.corpora import build_corpus

    options: dict[str, Any] = parse_assignments(args.option, "--option")
    if args.voices:
        options["voices"] = [v for v in args.voices.split(",") if v]
    if args.data_root:
        options["data_root"] = Path(args.data_root)
    report = build_corpus(args.corpus, Path(args.out), **options)
    return 0 if report is not None else 1


def add_data(commands: argparse._SubParsersAction) -> argparse._SubParsersAction | None:
    data = commands.add_parser("data", help="build corpora and manifests")
    sub = data.add_subparsers(dest="data_command", required=True)
    build = sub.add_parser("build", help="build or fetch a corpus; write train/valid/test.jsonl")
    build.add_argument("corpus", help="asterisk (default corpus), sonicpi, gm_notes, ljspeech, "
                       "fsdd")
    build.add_argument("--out", required=True, help="output folder")
    build.add_argument("--voices", help="comma-separated voices (asterisk)")
    build.add_argument("--data-root", help="existing local copy of a public corpus")
    build.add_argument("--option", action="append", metavar="KEY=VALUE",
                       help="other builder option (repeatable)")
    build.set_defaults(handler=cmd_data_build)
    return sub


# ------------------------------------------------------------------------- train
def cmd_train(args: argparse.Namespace) -> int:
    from audiogen import config as cfg
    from audiogen.train.experiment import train

    overrides = list(args.set or [])
    if args.max_minutes is not None:
        overrides.append(f"trainer.max_minutes={args.max_minutes}")
    if args.max_steps is not None:
        overrides.append(f"trainer.max_steps={args.max_steps}")
    if args.device:
        overrides.append(f"trainer.device={args.device}")
    config = cfg.load(args.config, overrides)
    losses = train(config, args.exp)
    if losses:
        print("final: " + ", ".join(f"{k}={v:.4g}" for k, v in losses.items()))
    return 0


def add_train(commands: argparse._SubParsersAction) -> argparse._SubParsersAction | None:
    train = commands.add_parser("train", help="train (or resume) an experiment from a config")
    train.add_argument("config", help="experiment YAML")
    train.add_argument("--exp", required=True, help="experiment folder (resumes if it has "
                       "checkpoints)")
    train.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="config override, e.g. trainer.max_steps=100 (repeatable)")
    train.add_argument("--max-minutes", type=float, help="wall-clock budget")
    train.add_argument("--max-steps", type=int, help="step budget")
    train.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"])
    train.set_defaults(handler=cmd_train)
    return None


# ------------------------------------------------------------------------- recipe
def cmd_recipe_run(args: argparse.Namespace) -> int:
    from audiogen import recipe

    recipe.run(args.recipe, out=args.out, first=args.stage, last=args.stop_stage,
               overrides=parse_assignments(args.set), nproc=args.nproc, force=args.force)
    return 0


def cmd_recipe_show(args: argparse.Namespace) -> int:
    from audiogen import recipe

    parsed = recipe.read(args.recipe)
    print(parsed.description)
    for key, value in parsed.variables.items():
        print(f"  var {key} = {value}")
    for stage in parsed.stages:
        print(f"  stage {stage.number}: {stage.name}: audiogen {' '.join(stage.run)}")
    return 0


def add_recipe(commands: argparse._SubParsersAction) -> argparse._SubParsersAction | None:
    recipe = commands.add_parser("recipe", help="run a recipe's stages")
    sub = recipe.add_subparsers(dest="recipe_command", required=True)
    run = sub.add_parser("run", help="run stages (done stages are skipped)")
    run.add_argument("recipe", help="recipe folder, e.g. recipes/vocoder/quickstart")
    run.add_argument("--out", help="output folder (default exp/<task>/<name>)")
    run.add_argument("--stage", type=int, default=1, help="first stage number")
    run.add_argument("--stop-stage", type=int, help="last stage number")
    run.add_argument("--set", action="append", metavar="VAR=VALUE", help="recipe var override")
    run.add_argument("--nproc", type=int, default=1, help="processes for distributed stages")
    run.add_argument("--force", action="store_true", help="rerun stages marked done")
    run.set_defaults(handler=cmd_recipe_run)
    show = sub.add_parser("show", help="list a recipe's vars and stages")
    show.add_argument("recipe")
    show.set_defaults(handler=cmd_recipe_show)
    return sub


# ------------------------------------------------------------------------- synthesize
def cmd_synthesize(args: argparse.Namespace) -> int:
    from audiogen.inference.synthesize import synthesize

    report = synthesize(args.model, args.input, args.out, steps=args.steps, solver=args.solver,
                        grid=args.grid, device=args.device, batch_size=args.batch_size,
                        seed=args.seed, limit=args.limit, ema=args.weights == "ema")
    print(f"wrote {len(report.written)} files ({report.audio_seconds:.1f} s of audio) to "
          f"{args.out}; skipped {len(report.skipped)}")
    for name, reason in report.skipped:
        print(f"  skipped {name}: {reason}")
    return 0 if report.written or not report.skipped else 1


def add_synthesize(commands: argparse._SubParsersAction) -> argparse._SubParsersAction | None:
    synth = commands.add_parser("synthesize", help="vocode audio (copy-synthesis) or saved "
                                "features with a trained model")
    synth.add_argument("model", help="shipped model name (e.g. mel-consistent-16k), experiment "
                       "or checkpoint folder, or the YAML config of a training-free model")
    synth.add_argument("--input", required=True, help="wav file, folder, manifest (.jsonl) or "
                       "folder of .npz features")
    synth.add_argument("--out", required=True, help="output folder (mirrors input names)")
    synth.add_argument("--steps", type=int, help="solver steps (default: the model's)")
    synth.add_argument("--solver", help="euler, heun, midpoint, dpm_solver_pp_2m, ddim, ddpm")
    synth.add_argument("--grid", help="time grid: uniform, quadratic, karras, log_snr, or betas "
                       "(the model's inference betas, DiffWave's fast schedule)")
    synth.add_argument("--device", default="cpu")
    synth.add_argument("--batch-size", type=int, default=1)
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--weights", choices=["ema", "model"], default="ema",
                       help="the EMA weights (when trained with EMA) or the raw model's")
    synth.add_argument("--limit", type=int,
                       help="only N inputs, evenly spaced over the list (slow samplers)")
    synth.set_defaults(handler=cmd_synthesize)
    return None


# ------------------------------------------------------------------------- extract
def cmd_extract_features(args: argparse.Namespace) -> int:
    from audiogen.inference.synthesize import extract_features

    written, skipped = extract_features(args.model, args.input, args.out)
    print(f"wrote {written} feature files to {args.out}; skipped {len(skipped)}")
    for name, reason in skipped:
        print(f"  skipped {name}: {reason}")
    return 0


def add_extract(commands: argparse._SubParsersAction) -> argparse._SubParsersAction | None:
    extract = commands.add_parser("extract", help="compute features for later generation")
    sub = extract.add_subparsers(dest="extract_command", required=True)
    features = sub.add_parser("features", help="a model's conditioning features, as .npz with "
                              "their spec")
    features.add_argument("model", help="experiment or checkpoint folder")
    features.add_argument("--input", required=True, help="wav file, folder or manifest")
    features.add_argument("--out", required=True)
    features.set_defaults(handler=cmd_extract_features)
    return sub


# ------------------------------------------------------------------------- evaluate
def cmd_evaluate(args: argparse.Namespace) -> int:
    from audiogen.eval import evaluate

    systems: dict[str, str] = {}
    for entry in args.gen:
        name, _, path = entry.rpartition("=") if "=" in entry else ("", "", entry)
        systems[name or Path(path).name] = path
    options: dict[str, Any] = parse_assignments(args.option, "--option")
    results = evaluate(args.ref, systems, [m for m in args.metrics.split(",") if m],
                       Path(args.out), report=Path(args.report) if args.report else None,
                       resume=args.resume, **options)
    print(format_summary(results["summary"]))
    return 0


def format_summary(summary: dict[str, dict[str, dict[str, Any]]]) -> str:
    """A plain-text table: one row per system, mean and 95% CI per metric."""
    metrics = sorted({m for scores in summary.values() for m in scores})
    width = max([16, *(len(system) + 2 for system in summary)])
    lines = ["system".ljust(width) + "".join(m.rjust(20) for m in metrics)]
    for system, scores in summary.items():
        cells = []
        for metric in metrics:
            value = scores.get(metric)
            text = "-"
            if value and value.get("mean") is not None:
                text = f"{value['mean']:.3f}"
                if value.get("ci95"):  # None for one valid item or a set-level metric
                    low, high = value["ci95"]
                    text += f" [{low:.2f},{high:.2f}]"
                else:
                    text += f" (n={value.get('n', 1)})"
            cells.append(text.rjust(20))
        lines.append(system.ljust(width) + "".join(cells))
    return "\n".join(lines)


def add_evaluate(commands: argparse._SubParsersAction) -> argparse._SubParsersAction | None:
    evaluate = commands.add_parser("evaluate", help="objective metrics of generated audio, "
                                   "with metric cards, CIs and an HTML report")
    evaluate.add_argument("--ref", help="reference folder or manifest (not needed by "
                          "reference-free metrics)")
    evaluate.add_argument("--gen", action="append", required=True, metavar="[NAME=]PATH",
                          help="a system's generated folder or manifest (repeatable)")
    evaluate.add_argument("--metrics", required=True, help="comma-separated, e.g. "
                          "pesq_wb,stoi,mstft,mcd,f0_rmse,dnsmos_ovrl")
    evaluate.add_argument("--out", required=True, help="output folder for results.json and "
                          "per_item.csv")
    evaluate.add_argument("--report", help="write a static HTML report here")
    evaluate.add_argument("--resume", action="store_true", help="keep scores already in OUT")
    evaluate.add_argument("--option", action="append", metavar="KEY=VALUE",
                          help="metric option, e.g. utmos_checkpoint=PATH (repeatable)")
    evaluate.set_defaults(handler=cmd_evaluate)
    return None


# ------------------------------------------------------------------------- bench
def cmd_bench_vocoder(args: argparse.Namespace) -> int:
    import json

    from audiogen.bench.vocoder import bench_vocoder
    from audiogen.utils import atomic_write_json

    configs = {}
    for entry in args.config or []:
        name, _, path = entry.rpartition("=") if "=" in entry else ("", "", entry)
        configs[name or Path(path).parent.name] = path
    rows = bench_vocoder(configs, args.checkpoint, [int(s) for s in args.steps.split(",")],
                         args.seconds, args.batch_size, args.threads,
                         [p for p in args.peers.split(",") if p], args.repeats)
    for entry in rows:
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v
                          for k, v in entry.items()}))
    if args.json:
        atomic_write_json(Path(args.json), rows)
    return 0


def add_bench(commands: argparse._SubParsersAction) -> argparse._SubParsersAction | None:
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
    return sub


COMMANDS = [add_data, add_train, add_recipe, add_synthesize, add_extract, add_evaluate,
            add_bench]

# Modules that add commands of their own. Each defines ``register(commands, groups)``:
# ``commands`` is the top-level subparsers action, ``groups`` maps an existing command
# name ("extract", "bench", ...) to its subparsers action, so a module can add
# ``audiogen extract <thing>`` as well as new top-level commands. Keep heavy imports
# inside the handlers: the parser is built on every call.
EXTENSIONS: tuple[str, ...] = ("audiogen.cli_quality", "audiogen.cli_ssl", "audiogen.cli_listen",
                               "audiogen.cli_codec")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="audiogen", description="Recipe-driven audio "
                                     "generation: vocoders, codecs, SSL units, evaluation.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True)
    groups: dict[str, argparse._SubParsersAction] = {}
    for add in COMMANDS:
        group = add(commands)
        if group is not None:
            groups[group.dest.removesuffix("_command")] = group
    for name in EXTENSIONS:
        importlib.import_module(name).register(commands, groups)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except AudiogenError as error:
        if args.debug:
            raise
        print(f"audiogen: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("audiogen: interrupted", file=sys.stderr)
        return 130
