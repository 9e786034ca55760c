"""``audiogen train``: train (or resume) an experiment from a config."""

from __future__ import annotations

import argparse

from audiogen.cli.common import Subcommands


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


def register(commands: Subcommands) -> None:
    """Add ``audiogen train``."""
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
