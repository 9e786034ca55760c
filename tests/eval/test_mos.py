"""Predicted MOS: wrappers equal direct speechmos calls; UTMOS needs a local checkpoint."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from speechmos import dnsmos
from speechmos.plcmos import PLCMOS

from audiogen.audio import resample
from audiogen.errors import ConfigError
from audiogen.eval import registry
from audiogen.eval.base import Scorer

from .signals import speech_like, with_noise


def build(*names: str, **options: object) -> Scorer:
    (scorer,) = registry.build(registry.resolve(names), options)
    assert isinstance(scorer, Scorer)
    return scorer


def test_dnsmos_equals_speechmos_run_on_the_same_array() -> None:
    wave = with_noise(speech_like(2.0), 15.0)
    scorer = build("dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "dnsmos_p808")
    ours = scorer.score(wave, None, 16000)
    direct = dnsmos.run(wave, 16000)
    assert ours == {"dnsmos_ovrl": pytest.approx(direct["ovrl_mos"], rel=1e-6),
                    "dnsmos_sig": pytest.approx(direct["sig_mos"], rel=1e-6),
                    "dnsmos_bak": pytest.approx(direct["bak_mos"], rel=1e-6),
                    "dnsmos_p808": pytest.approx(direct["p808_mos"], rel=1e-6)}
    assert scorer.card("dnsmos_ovrl")["checksum"] != scorer.card("dnsmos_p808")["checksum"]


def test_plcmos_is_reproducible_and_equals_a_seeded_direct_call() -> None:
    wave = speech_like(1.0)
    scorer = build("plcmos")
    first = scorer.score(wave, None, 16000)["plcmos"]
    assert scorer.score(wave, None, 16000)["plcmos"] == first
    np.random.seed(0)
    assert first == pytest.approx(PLCMOS()(wave)["plcmos"], rel=1e-6)


def test_utmos_without_a_checkpoint_errors_clearly() -> None:
    with pytest.raises(ConfigError, match="utmos_checkpoint"):
        build("utmos")


class MeanLevel(torch.nn.Module):
    """A stand-in MOS model: 1 + 10 * mean absolute sample."""

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return 1.0 + 10.0 * wave.abs().mean(dim=-1)


def save_script(module: torch.nn.Module, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.script(module).save(str(path))


@pytest.mark.parametrize("suffix", [".pt", ".pt2"])
def test_utmos_runs_a_serialized_checkpoint(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"utmos{suffix}"
    if suffix == ".pt":
        save_script(MeanLevel(), path)
    else:
        example = (torch.zeros(1, 8000),)
        length = torch.export.Dim("length", min=2, max=10**7)
        program = torch.export.export(MeanLevel(), example, dynamic_shapes=({1: length},))
        torch.export.save(program, str(path))
    wave = speech_like(0.5, sample_rate=22050)
    scorer = build("utmos", utmos_checkpoint=str(path))
    expected = 1.0 + 10.0 * float(resample(torch.from_numpy(wave), 22050, 16000).abs().mean())
    assert scorer.score(wave, None, 22050)["utmos"] == pytest.approx(expected, rel=1e-5)
    assert len(scorer.card("utmos")["checksum"]) == 64


def test_utmos_state_dict_needs_its_architecture(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save(torch.nn.Linear(2, 1).state_dict(), path)
    with pytest.raises(ConfigError, match="utmos_module"):
        build("utmos", utmos_checkpoint=str(path))
    scorer = build("utmos", utmos_checkpoint=str(path), utmos_module=torch.nn.Linear(2, 1))
    assert scorer.card("utmos")["embedding_model"] == str(path)


@pytest.mark.parametrize("names", [("dnsmos_ovrl",), ("dnsmos_p808", "dnsmos_bak")])
def test_dnsmos_batched_windows_equal_speechmos_on_a_long_clip(names: tuple[str, ...]) -> None:
    wave = with_noise(speech_like(11.5), 10.0)  # three 9.01 s windows at a 1 s hop
    scorer = build(*names, dnsmos_threads=1)
    direct = dnsmos.run(wave, 16000)
    keys = {"dnsmos_ovrl": "ovrl_mos", "dnsmos_bak": "bak_mos", "dnsmos_p808": "p808_mos"}
    assert scorer.score(wave, None, 16000) == {
        name: pytest.approx(direct[keys[name]], rel=1e-5) for name in names}


@pytest.mark.parametrize("seconds", [0.7, 8.2, 23.7])
def test_dnsmos_shared_trunk_equals_speechmos(seconds: float) -> None:
    """One trunk pass per signal, edges recomputed per window: a 0.7 s clip is tiled to
    11.2 s (3 windows), 8.2 s to 16.4 s (8 windows), 23.7 s has 15 windows."""
    wave = with_noise(speech_like(seconds), 12.0)
    scorer = build("dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", dnsmos_threads=1)
    direct = dnsmos.run(wave, 16000)
    assert scorer.score(wave, None, 16000) == {
        "dnsmos_ovrl": pytest.approx(direct["ovrl_mos"], rel=1e-5),
        "dnsmos_sig": pytest.approx(direct["sig_mos"], rel=1e-5),
        "dnsmos_bak": pytest.approx(direct["bak_mos"], rel=1e-5)}


def test_dnsmos_whole_clip_pass_equals_the_shipped_graph_on_one_window() -> None:
    import onnxruntime

    from audiogen.eval.dnsmos import WINDOW, DnsmosNetwork
    from audiogen.eval.mos import _speechmos_file

    path = _speechmos_file("dnsmos_models", "sig_bak_ovr.onnx")
    wave = with_noise(speech_like(WINDOW / 16000), 8.0)[:WINDOW]
    network = DnsmosNetwork(path, lambda graph: onnxruntime.InferenceSession(
        graph.SerializeToString(), providers=["CPUExecutionProvider"]), chunk_frames=128)
    shipped = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    expected = shipped.run(None, {"input_1": wave[None]})[0]
    np.testing.assert_allclose(network.whole(wave), expected, rtol=1e-5)


def test_dnsmos_whole_short_clips_change_only_short_clips_and_say_so() -> None:
    tiled = build("dnsmos_ovrl", dnsmos_threads=1)
    whole = build("dnsmos_ovrl", dnsmos_threads=1, dnsmos_short_clips="whole")
    long_clip = with_noise(speech_like(9.5), 10.0)
    assert whole.score(long_clip, None, 16000) == tiled.score(long_clip, None, 16000)
    clean, noisy = speech_like(1.5), with_noise(speech_like(1.5), 0.0)
    assert whole.score(clean, None, 16000) != tiled.score(clean, None, 16000)
    assert whole.score(noisy, None, 16000)["dnsmos_ovrl"] < whole.score(clean, None, 16000)[
        "dnsmos_ovrl"]
    assert "not tiled" in whole.card("dnsmos_ovrl")["mode"]
    assert whole.card("dnsmos_ovrl")["revision"] != tiled.card("dnsmos_ovrl")["revision"]
    with pytest.raises(ConfigError, match="dnsmos_short_clips must be one of tile, whole"):
        build("dnsmos_ovrl", dnsmos_short_clips="pad")
