"""The speed benchmark counts what it should and reports the documented fields."""

from __future__ import annotations

import torch
from torch import nn

from audiogen.bench.timing import median_seconds, params_and_gmacs
from audiogen.bench.vocoder import bench_vocoder

FIELDS = {"system", "steps", "xrt", "params", "gmacs_per_audio_second", "device", "threads",
          "batch_size"}


def test_params_and_gmacs_match_a_linear_layer() -> None:
    layer = nn.Linear(64, 32)
    unused = nn.Linear(5, 5)
    root = nn.ModuleDict({"used": layer, "unused": unused})
    x = torch.randn(10, 64)
    params, gmacs = params_and_gmacs(lambda: layer(x), root)
    assert params == 64 * 32 + 32
    assert abs(gmacs - 10 * 64 * 32 / 1e9) < 1e-12


def test_median_seconds_is_positive() -> None:
    assert median_seconds(lambda: torch.randn(100).sum(), repeats=3) > 0


def test_rows_for_steps_and_one_step_models() -> None:
    configs = {"flow": "recipes/vocoder/fm_mel/debug.yaml",
               "gan": "recipes/vocoder/gan_mel/debug.yaml"}
    rows = bench_vocoder(configs, None, [1, 2], seconds=0.5, batch_size=1, threads=2, peers=[],
                         repeats=1)
    assert [(r["system"], r["steps"]) for r in rows] == [("flow", 1), ("flow", 2), ("gan", 1)]
    for entry in rows:
        assert FIELDS <= set(entry) and entry["xrt"] > 0 and entry["params"] > 0
    flow_1, flow_2 = rows[0], rows[1]
    assert flow_2["gmacs_per_audio_second"] > 1.5 * flow_1["gmacs_per_audio_second"]


def test_value_differences_of_two_evaluations() -> None:
    from audiogen.bench.evaluation import value_differences

    def results(values: list[float | None]) -> dict[str, object]:
        return {"metrics": ["mos"], "per_item": [
            {"system": "gen", "id": str(index), "mos": value}
            for index, value in enumerate(values)]}

    table = value_differences(results([1.0, 2.0, 3.0, None]), results([1.5, 2.0, 2.0, 4.0]))
    assert table["mos"]["n"] == 3
    assert abs(table["mos"]["mean_abs"] - 0.5) < 1e-12 and table["mos"]["max_abs"] == 1.0
