"""``audiogen synthesize``: vocode audio (copy-synthesis) or saved features with a model."""

from __future__ import annotations

import argparse

from audiogen.cli.common import Subcommands, report_job


def cmd_synthesize(args: argparse.Namespace) -> int:
    from audiogen.inference.synthesize import synthesize

    report = synthesize(args.model, args.input, args.out, steps=args.steps, solver=args.solver,
                        grid=args.grid, device=args.device, batch_size=args.batch_size,
                        seed=args.seed, limit=args.limit, ema=args.weights == "ema")
    return report_job(args.out, len(report.written), report.skipped,
                      noun=f"files ({report.audio_seconds:.1f} s of audio)")


def register(commands: Subcommands) -> None:
    """Add ``audiogen synthesize``."""
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
