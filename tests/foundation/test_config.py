from pathlib import Path

import pytest

from audiogen import config as cfg
from audiogen.errors import ConfigError
from audiogen.train.experiment import check_sections
from audiogen.train.options import TrainerOptions


def test_base_includes_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("a: {b: 1, c: [1, 2]}\nname: base\n")
    (tmp_path / "child.yaml").write_text("base: base.yaml\na: {b: 5}\n")
    config = cfg.load(tmp_path / "child.yaml", ["a.c=[3]", "new.key=1e-4", "name=null"])
    assert config == {"a": {"b": 5, "c": [3]}, "name": None, "new": {"key": 1e-4}}


def test_circular_include_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(ConfigError, match="circular"):
        cfg.load(tmp_path / "a.yaml")


def test_instantiate_builds_nested_targets() -> None:
    node = {"_target_": "audiogen.representations.LogMel", "sample_rate": 16000, "n_mels": 40}
    mel = cfg.instantiate(node)
    assert mel.spec["n_mels"] == 40 and mel.spec["sample_rate"] == 16000


def test_unknown_key_names_key_and_choices() -> None:
    node = {"_target_": "audiogen.representations.LogMel", "sample_rate": 16000, "nmels": 40}
    with pytest.raises(ConfigError, match=r"task: unknown key 'nmels'; valid keys: .*n_mels"):
        cfg.instantiate(node, where="task")


def test_bad_type_and_literal_choices() -> None:
    with pytest.raises(ConfigError, match=r"mel\.sample_rate: expected int"):
        cfg.instantiate({"_target_": "audiogen.representations.LogMel",
                         "sample_rate": "16k"}, where="mel")
    with pytest.raises(ConfigError, match="one of 'ln', 'log10', 'db'"):
        cfg.instantiate({"_target_": "audiogen.representations.LogMel",
                         "sample_rate": 16000, "log": "log2"})


def test_missing_required_and_disallowed_target() -> None:
    with pytest.raises(ConfigError, match="missing required key 'sample_rate'"):
        cfg.instantiate({"_target_": "audiogen.representations.LogMel"})
    with pytest.raises(ConfigError, match="not in an allowed package"):
        cfg.instantiate({"_target_": "os.system", "command": "true"})


def test_options_dataclass_errors() -> None:
    with pytest.raises(ConfigError, match="trainer: unknown key 'max_step'"):
        cfg.build(TrainerOptions, {"max_step": 3}, where="trainer")
    with pytest.raises(ConfigError, match="mixed_precision: expected one of 'no', 'bf16'"):
        cfg.build(TrainerOptions, {"mixed_precision": "fp8"}, where="trainer")
    with pytest.raises(ConfigError, match="unknown section 'trainr'"):
        check_sections({"task": {}, "trainr": {}})


def test_bad_override_syntax() -> None:
    with pytest.raises(ConfigError, match="key.path=value"):
        cfg.apply_override({}, "no_equals_sign")


def test_references_are_resolved_once_written(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        "rep: {n_mels: 80, hop: 256}\nnet: {in_channels: '${rep.n_mels}', both: ['${rep.hop}']}\n")
    config = cfg.load(tmp_path / "c.yaml", ["rep.n_mels=100"])
    assert config["net"] == {"in_channels": 100, "both": [256]}
    (tmp_path / "bad.yaml").write_text("a: '${b.c}'\n")
    with pytest.raises(ConfigError, match=r"reference \$\{b.c\}: no such key"):
        cfg.load(tmp_path / "bad.yaml")
    (tmp_path / "loop.yaml").write_text("a: '${b}'\nb: '${a}'\n")
    with pytest.raises(ConfigError, match="circular reference"):
        cfg.load(tmp_path / "loop.yaml")


def test_partial_nodes_are_completed_by_code() -> None:
    node = {"_target_": "audiogen.representations.LogMel", "_partial_": True, "n_mels": 40}
    make = cfg.instantiate(node, where="rep")
    mel = make(sample_rate=8000)
    assert mel.spec["sample_rate"] == 8000 and mel.spec["n_mels"] == 40
    with pytest.raises(ConfigError, match="rep: unknown key 'rate'"):
        make(rate=8000)
    with pytest.raises(ConfigError, match="rep: unknown key 'nmels'"):
        cfg.instantiate({**node, "nmels": 3}, where="rep")


def test_new_target_replaces_but_untargeted_base_merges(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("task: {rep: {n: 1}}\nnet: {_target_: a.B, x: 1}\n")
    (tmp_path / "c.yaml").write_text("base: base.yaml\ntask: {_target_: a.T, y: 2}\n"
                                     "net: {_target_: a.C, z: 3}\n")
    config = cfg.load(tmp_path / "c.yaml")
    assert config["task"] == {"rep": {"n": 1}, "_target_": "a.T", "y": 2}
    assert config["net"] == {"_target_": "a.C", "z": 3}
