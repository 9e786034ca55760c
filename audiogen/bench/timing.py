"""Timing and counting for every benchmark: wall-clock medians, parameters and MACs of one call.

Times are :func:`time.perf_counter` seconds; medians exclude warm-up calls. MACs are counted by
:class:`torch.utils.flop_counter.FlopCounterMode` during one call (FLOPs / 2).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def elapsed_seconds(run: Callable[[], Any]) -> float:
    """Wall-clock seconds of one call of ``run`` (as it is: no warm-up, no inference mode)."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def median_seconds(run: Callable[[], Any], repeats: int, warmup: int = 2) -> float:
    """Median wall-clock seconds of ``run()`` over ``repeats`` calls after ``warmup`` calls."""
    with torch.inference_mode():
        for _ in range(warmup):
            run()
        return statistics.median(elapsed_seconds(run) for _ in range(repeats))


def interleaved_seconds(runs: Mapping[str, Callable[[], Any]], repeats: int, warmup: int = 1
                        ) -> dict[str, list[float]]:
    """Seconds of each run per round, the runs called in turn within a round (so the load of a
    shared machine drifts over all of them alike); the first ``warmup`` rounds are dropped."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    with torch.inference_mode():
        for round_index in range(warmup + repeats):
            for name, run in runs.items():
                seconds = elapsed_seconds(run)
                if round_index >= warmup:
                    times[name].append(seconds)
    return times


def gmacs(run: Callable[[], Any]) -> float:
    """Multiply-accumulates (10^9) of one call of ``run``."""
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        run()
    return counter.get_total_flops() / 2e9


def params_and_gmacs(run: Callable[[], Any], root: nn.Module) -> tuple[int, float]:
    """(parameters of the modules under ``root`` that ran, GMACs) for one call of ``run``."""
    used: set[nn.Module] = set()
    hooks = [m.register_forward_hook(lambda module, *_: used.add(module))
             for m in root.modules()]
    try:
        macs = gmacs(run)
    finally:
        for hook in hooks:
            hook.remove()
    parameters = {id(p): p.numel() for m in used for p in m.parameters(recurse=False)}
    return sum(parameters.values()), macs


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """Measured fp32 matmul throughput of this process (GFLOP/s)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    seconds = median_seconds(lambda: a @ b, repeats)
    return 2 * size**3 / seconds / 1e9
