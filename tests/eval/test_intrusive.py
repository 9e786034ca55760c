"""Intrusive metrics: wrappers equal direct library calls, identity is best, noise is worse."""

from __future__ import annotations

import functools

import numpy as np
import pesq
import pytest
from pystoi import stoi

from audiogen.eval import registry
from audiogen.eval.base import Scorer, to_rate
from audiogen.eval.intrusive import si_sdr, snr

from .signals import speech_like, with_noise

SNRS = (30.0, 20.0, 10.0, 0.0)


def scorer(name: str, **options: object) -> Scorer:
    built = registry.build(registry.resolve([name]), options)[0]
    assert isinstance(built, Scorer)
    return built


@functools.cache
def default_scorer(name: str) -> Scorer:
    return scorer(name)


def value(name: str, generated: np.ndarray, reference: np.ndarray, rate: int = 16000) -> float:
    result = default_scorer(name).score(generated, reference, rate)[name]
    assert isinstance(result, float)
    return result


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return speech_like()


def test_si_sdr_reproduces_the_published_example() -> None:
    # torchmetrics' documented example (zero_mean=False): 18.4030 dB
    target = np.array([3.0, -0.5, 2.0, 7.0])
    estimate = np.array([2.5, 0.0, 2.0, 8.0])
    assert si_sdr(estimate, target) == pytest.approx(18.4030, abs=5e-5)


def test_si_sdr_is_scale_invariant_and_snr_is_not(clean: np.ndarray) -> None:
    noisy = with_noise(clean, 10.0)
    assert si_sdr(0.3 * noisy, clean) == pytest.approx(si_sdr(noisy, clean), abs=1e-5)
    assert snr(noisy, clean) == pytest.approx(10.0, abs=0.05)
    assert snr(0.3 * noisy, clean) < 5.0


def test_pesq_wrappers_equal_direct_calls(clean: np.ndarray) -> None:
    noisy = with_noise(clean, 15.0)
    assert value("pesq_wb", noisy, clean) == pesq.pesq(16000, clean, noisy, "wb")
    narrow_clean, narrow_noisy = (to_rate(x, 16000, 8000) for x in (clean, noisy))
    assert value("pesq_nb", narrow_noisy, narrow_clean, 8000) == pesq.pesq(
        8000, narrow_clean, narrow_noisy, "nb")
    assert value("pesq_nb", noisy, clean) == pesq.pesq(8000, narrow_clean, narrow_noisy, "nb")


def test_stoi_wrappers_equal_direct_calls(clean: np.ndarray) -> None:
    noisy = with_noise(clean, 5.0)
    assert value("stoi", noisy, clean) == stoi(clean, noisy, 16000)
    assert value("estoi", noisy, clean) == pytest.approx(stoi(clean, noisy, 16000, extended=True),
                                                         rel=1e-12)


@pytest.mark.parametrize("name", ["pesq_wb", "stoi", "si_sdr"])
def test_identity_is_best_and_noise_is_monotonically_worse(name: str, clean: np.ndarray
                                                           ) -> None:
    best = value(name, clean, clean)
    scores = [value(name, with_noise(clean, level), clean) for level in SNRS]
    assert all(best > score for score in scores)
    assert all(a > b for a, b in zip(scores, scores[1:])), scores


def test_identity_gives_the_top_of_each_scale(clean: np.ndarray) -> None:
    assert value("pesq_wb", clean, clean) == pytest.approx(4.64, abs=0.01)
    assert value("stoi", clean, clean) == pytest.approx(1.0, abs=1e-6)
    assert value("si_sdr", clean, clean) > 100.0


def test_stoi_with_too_few_frames_raises_instead_of_returning_a_floor() -> None:
    short = speech_like(0.12)
    with pytest.raises(RuntimeWarning):
        scorer("stoi").score(short, short, 16000)
