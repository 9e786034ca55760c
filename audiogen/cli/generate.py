"""``audiogen generate``: audio from label prompts with a prompt-conditioned model."""

from __future__ import annotations

import argparse

from audiogen.cli.common import Subcommands, report_job
from audiogen.errors import ConfigError


def cmd_generate(args: argparse.Namespace) -> int:
    from audiogen.inference.generate import generate_files, read_prompts

    prompts = [*(args.prompt or []), *(read_prompts(args.prompts) if args.prompts else [])]
    if not prompts:
        raise ConfigError("give --prompt TEXT or --prompts FILE")
    report = generate_files(args.model, prompts, args.out, n=args.n, steps=args.steps,
                            guidance=args.cfg, seed=args.seed,
                            negative_prompt=args.negative_prompt, solver=args.solver,
                            grid=args.grid, device=args.device, ema=args.weights == "ema",
                            batch_size=args.batch_size)
    clipped = [f"{report.clipped} clipped at full scale"] if report.clipped else []
    return report_job(args.out, len(report.written), [], summary=clipped,
                      noun=f"files ({report.audio_seconds:.1f} s of audio)")


def register(commands: Subcommands) -> None:
    """Add ``audiogen generate``."""
    parser = commands.add_parser("generate", help="generate audio from label prompts "
                                 "(e.g. \"digit=7 speaker=jackson\")")
    parser.add_argument("model", help="experiment or checkpoint folder of a prompt-conditioned "
                        "generator, or a shipped one's name")
    parser.add_argument("--prompt", action="append", help="labels as name=value words; labels "
                        "may be left out; repeat for several prompts")
    parser.add_argument("--prompts", help="file with one prompt per line")
    parser.add_argument("--negative-prompt", help="guide away from these labels instead of "
                        "from the unconditional model")
    parser.add_argument("--n", type=int, default=1, help="clips per prompt (seeds SEED, "
                        "SEED+1, ...)")
    parser.add_argument("--steps", type=int, help="solver steps (default: the model's)")
    parser.add_argument("--cfg", type=float, help="classifier-free guidance scale; 1 is the "
                        "conditional model alone (default: the model's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--solver", help="euler, heun, midpoint, dpm_solver_pp_2m, ddim, ddpm")
    parser.add_argument("--grid", help="time grid: uniform, quadratic, karras, log_snr")
    parser.add_argument("--batch-size", type=int, default=16, help="clips generated at once "
                        "(the clips do not depend on it)")
    parser.add_argument("--out", required=True, help="output folder: a wav and a JSON per clip")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--weights", choices=["ema", "model"], default="ema",
                        help="the EMA weights (when trained with EMA) or the raw model's")
    parser.set_defaults(handler=cmd_generate)
