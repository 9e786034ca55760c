"""``audiogen export``: a trained or shipped generator as an ONNX graph."""

from __future__ import annotations

import argparse

from audiogen.cli.common import Subcommands


def cmd_export(args: argparse.Namespace) -> int:
    from audiogen.export.onnx import export_onnx

    path = export_onnx(args.model, args.out, steps=args.steps, solver=args.solver,
                       grid=args.grid, fp16=args.fp16, phase_init=args.phase_init)
    precision = "fp16" if args.fp16 else "fp32"
    print(f"wrote {path} ({precision}); run it with: audiogen synthesize {path} --input WAVS "
          "--out DIR")
    return 0


def register(commands: Subcommands) -> None:
    """Add ``audiogen export``."""
    export = commands.add_parser("export", help="export a vocoder, audio-to-audio model or codec "
                                 "decoder to ONNX (fixed step count, solver unrolled)")
    export.add_argument("model", help="shipped model name, experiment or checkpoint folder")
    export.add_argument("--format", choices=["onnx"], default="onnx")
    export.add_argument("--out", required=True, help="the .onnx file to write")
    export.add_argument("--steps", type=int, help="solver steps unrolled into the graph "
                        "(default: the model's)")
    export.add_argument("--solver", help="euler, heun, midpoint, dpm_solver_pp_2m or ddim "
                        "(default: the model's)")
    export.add_argument("--grid", help="time grid (default: the model's)")
    export.add_argument("--fp16", action="store_true", help="float16 weights and arithmetic, "
                        "float32 inputs and outputs")
    export.add_argument("--phase-init", choices=["random", "zero"],
                        help="start phase of a mel inversion (or of a Griffin-Lim prior) in the "
                        "graph, replacing a PGHI start, which has no graph form")
    export.set_defaults(handler=cmd_export)
