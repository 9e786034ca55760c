import json
from pathlib import Path

import pytest
import torch

from audiogen import recipe
from audiogen.cli import call_in_process, main
from audiogen.errors import ConfigError


def make_recipe(root: Path, stages: str, variables: str = "") -> Path:
    directory = root / "recipes" / "demo" / "tiny"
    directory.mkdir(parents=True)
    (directory / "recipe.yaml").write_text(f"description: a test recipe\n{variables}{stages}")
    return directory


STAGES = """stages:
  - {name: show, run: [recipe, show, "{recipe}"]}
  - {name: show_again, run: [recipe, show, "{target}"]}
"""


def test_stages_run_stamp_and_skip(tmp_path: Path) -> None:
    directory = make_recipe(tmp_path, STAGES, 'vars: {target: "{recipe}"}\n')
    out = tmp_path / "out"
    first = recipe.run(directory, out=out)
    assert [status for _, status in first] == ["done", "done"]
    stamp = json.loads((out / ".stages" / "01_show.done").read_text())
    assert stamp["args"] == ["recipe", "show", str(directory)]
    second = recipe.run(directory, out=out)
    assert [status for _, status in second] == ["skipped", "skipped"]
    only_second = recipe.run(directory, out=out, first=2, last=2, force=True)
    assert [(s.name, status) for s, status in only_second] == [("show_again", "done")]


def test_changed_command_reruns_the_stage(tmp_path: Path) -> None:
    directory = make_recipe(tmp_path, STAGES, 'vars: {target: "{recipe}"}\n')
    out = tmp_path / "out"
    recipe.run(directory, out=out)
    rerun = recipe.run(directory, out=out, overrides={"target": f"{directory}/."})
    assert [status for _, status in rerun] == ["skipped", "done"]


def test_unknown_var_and_bad_recipe(tmp_path: Path) -> None:
    directory = make_recipe(tmp_path, STAGES, 'vars: {target: "{recipe}"}\n')
    with pytest.raises(ConfigError, match="recipe var 'targt' is unknown; valid vars: target"):
        recipe.run(directory, out=tmp_path / "o", overrides={"targt": 1})
    with pytest.raises(ConfigError, match="not a recipe"):
        recipe.read(tmp_path)


@pytest.mark.parametrize("in_process", [False, True], ids=["subprocess", "in_process"])
def test_failing_stage_reports_number_and_keeps_earlier_stamps(tmp_path: Path, in_process: bool
                                                               ) -> None:
    stages = """stages:
  - {name: ok, run: [recipe, show, "{recipe}"]}
  - {name: broken, run: [train, "{recipe}/missing.yaml", --exp, "{out}/exp"]}
"""
    directory = make_recipe(tmp_path, stages)
    with pytest.raises(ConfigError, match=r"stage 2 \(broken\) failed with exit code 1"):
        recipe.run(directory, out=tmp_path / "out",
                   call=call_in_process if in_process else None)
    assert (tmp_path / "out" / ".stages" / "01_ok.done").is_file()
    assert not (tmp_path / "out" / ".stages" / "02_broken.done").exists()


def test_in_process_stages_call_the_cli_and_stamp_as_subprocesses_do(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    stages = STAGES + """  - {name: train, run: [recipe, show, "{recipe}"], distributed: true}
  - {name: usage, run: [recipe, no_such_command]}
"""
    directory = make_recipe(tmp_path, stages, 'vars: {target: "{recipe}"}\n')
    spawned: list[list[str]] = []
    monkeypatch.setattr(recipe.subprocess, "call", lambda argv: spawned.append(argv) or 0)
    done = recipe.run(directory, out=tmp_path / "out", last=3, call=call_in_process)
    assert [status for _, status in done] == ["done"] * 3 and not spawned
    assert capsys.readouterr().out.count("a test recipe") == 3  # recipe show ran here, 3 times
    stamp = json.loads((tmp_path / "out" / ".stages" / "02_show_again.done").read_text())
    assert stamp["args"] == ["recipe", "show", str(directory)]
    # a distributed stage on 2 processes still goes through torchrun
    recipe.run(directory, out=tmp_path / "two", first=3, last=3, nproc=2, call=call_in_process)
    assert spawned == [[*recipe.launcher(recipe.Stage(3, "train", [], True), 2),
                        "recipe", "show", str(directory)]]
    assert "torch.distributed.run" in spawned[0]
    # bad usage exits 2 from argparse, as the subprocess would
    with pytest.raises(ConfigError, match=r"stage 4 \(usage\) failed with exit code 2"):
        recipe.run(directory, out=tmp_path / "out", call=call_in_process)


def test_in_process_stage_keeps_the_torch_thread_count(monkeypatch: pytest.MonkeyPatch) -> None:
    threads = torch.get_num_threads()
    # a stand-in for a command that sets it, as the trainer's num_threads option does
    monkeypatch.setattr("audiogen.cli.main", lambda args: torch.set_num_threads(threads + 1) or 0)
    assert call_in_process(["train", "x.yaml"]) == 0
    assert torch.get_num_threads() == threads


def test_list_vars_are_spliced() -> None:
    stage = recipe.Stage(1, "x", ["data", "build", "{extra}", "--out", "{out}/d"])
    args = recipe.command(stage, {"extra": ["a", "--voices", "v1"], "out": "/o"})
    assert args == ["data", "build", "a", "--voices", "v1", "--out", "/o/d"]


def test_cli_errors_are_one_line_with_exit_code_1(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    code = main(["recipe", "run", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "not a recipe" in err and "Traceback" not in err
