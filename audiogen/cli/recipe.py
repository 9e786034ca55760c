"""``audiogen recipe run|show``: a recipe's stages, each one ``audiogen`` command line."""

from __future__ import annotations

import argparse

from audiogen.cli.common import Subcommands, parse_assignments


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


def register(commands: Subcommands) -> None:
    """Add ``audiogen recipe``."""
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
