"""Affine path targets, prediction conversions and the path loss against closed forms."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from audiogen.generative.objective import TimeDensity, min_snr_weight, path_loss, sample_time
from audiogen.generative.paths import PREDICTIONS, AffinePath, Prediction
from audiogen.generative.schedules import CondOT, DiscreteVP, VPCosine, VPLinear

SCHEDULES = {
    "cond_ot": CondOT(),
    "vp_cosine": VPCosine(),
    "vp_linear": VPLinear(),
    "discrete_vp": DiscreteVP(torch.linspace(1e-4, 0.05, 50)),
}


def draw(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Data x_1 (4, 2, 5), noise x_0 drawn with another scale (any prior), times t (4,)."""
    x_1 = 0.5 + 0.3 * draw((4, 2, 5), 0)
    x_0 = 2.0 * draw((4, 2, 5), 1)
    t = torch.tensor([0.07, 0.33, 0.61, 0.93], dtype=torch.float64)
    return x_1, x_0, t


def song_vp(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(alpha_t, sigma_t) of the VP SDE with beta in [0.1, 20] (Song et al. 2021), (B, 1, 1)."""
    s = (1 - t).reshape(-1, 1, 1)
    alpha = torch.exp(-0.25 * s**2 * 19.9 - 0.05 * s)
    return alpha, torch.sqrt(1 - alpha**2)


def test_cond_ot_sample_is_linear_interpolation_with_velocity_target() -> None:
    x_1, x_0, t = batch()
    x_t, target = AffinePath(CondOT()).sample(x_1, x_0, t)
    t3 = t.reshape(-1, 1, 1)
    torch.testing.assert_close(x_t, t3 * x_1 + (1 - t3) * x_0)
    torch.testing.assert_close(target, x_1 - x_0)


def test_targets_match_their_definitions_on_vp_linear() -> None:
    x_1, x_0, t = batch()
    path = AffinePath(VPLinear())
    alpha, sigma = song_vp(t)
    torch.testing.assert_close(path.target("eps", x_1, x_0, t), x_0)
    torch.testing.assert_close(path.target("data", x_1, x_0, t), x_1)
    torch.testing.assert_close(path.target("v", x_1, x_0, t), alpha * x_0 - sigma * x_1)
    step = 1e-6
    x_hi, _ = path.sample(x_1, x_0, t + step)
    x_lo, _ = path.sample(x_1, x_0, t - step)
    torch.testing.assert_close(
        path.target("velocity", x_1, x_0, t), (x_hi - x_lo) / (2 * step), rtol=1e-6, atol=1e-7
    )


@pytest.mark.parametrize("name", SCHEDULES)
@pytest.mark.parametrize(("kind", "to"), list(itertools.product(PREDICTIONS, PREDICTIONS)))
def test_conversions_round_trip_between_all_kinds(
    name: str, kind: Prediction, to: Prediction
) -> None:
    x_1, x_0, t = batch()
    path = AffinePath(SCHEDULES[name])
    x_t, prediction = path.sample(x_1, x_0, t, kind)
    converted = path.convert(prediction, kind, to, x_t, t)
    torch.testing.assert_close(converted, path.target(to, x_1, x_0, t), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", SCHEDULES)
def test_every_kind_gives_the_same_velocity(name: str) -> None:
    x_1, x_0, t = batch()
    path = AffinePath(SCHEDULES[name])
    x_t, velocity = path.sample(x_1, x_0, t, "velocity")
    for kind in PREDICTIONS:
        prediction = path.target(kind, x_1, x_0, t)
        torch.testing.assert_close(path.to_velocity(prediction, kind, x_t, t), velocity)


def test_eps_to_velocity_on_cond_ot_closed_form() -> None:
    x_1, x_0, t = batch()
    path = AffinePath(CondOT())
    x_t, _ = path.sample(x_1, x_0, t)
    expected = (x_t - x_0) / t.reshape(-1, 1, 1)
    torch.testing.assert_close(path.to_velocity(x_0, "eps", x_t, t), expected)


def test_v_to_data_and_eps_on_vp_follow_salimans_and_ho() -> None:
    x_1, x_0, t = batch()
    path = AffinePath(VPLinear())
    alpha, sigma = song_vp(t)
    x_t = alpha * x_1 + sigma * x_0
    v = alpha * x_0 - sigma * x_1
    torch.testing.assert_close(path.to_data(v, "v", x_t, t), alpha * x_t - sigma * v)
    torch.testing.assert_close(path.to_eps(v, "v", x_t, t), sigma * x_t + alpha * v)
    torch.testing.assert_close(path.to_v(x_0, "eps", x_t, t), v)


def test_scalar_time_broadcasts_and_float32_inputs_stay_float32() -> None:
    x_1, x_0, _ = batch()
    path = AffinePath(VPCosine())
    x_t, target = path.sample(x_1.float(), x_0.float(), 0.4, "eps")
    assert x_t.dtype == target.dtype == torch.float32
    alpha = math.sin(0.4 * math.pi / 2.016) / math.cos(0.008 * math.pi / 2.016)
    expected = alpha * x_1 + math.sqrt(1 - alpha**2) * x_0
    torch.testing.assert_close(x_t, expected.float())


def test_unknown_prediction_kind_names_the_choices() -> None:
    x_1, x_0, t = batch()
    with pytest.raises(ValueError, match="'data'"):
        AffinePath(CondOT()).target("x0", x_1, x_0, t)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", PREDICTIONS)
def test_perfect_prediction_has_zero_loss_and_errors_do_not(kind: Prediction) -> None:
    x_1, x_0, t = batch()
    path = AffinePath(VPLinear())
    target = path.target(kind, x_1, x_0, t)
    assert path_loss(target, kind, x_1, x_0, t, path).item() == 0.0
    assert path_loss(target + 0.1, kind, x_1, x_0, t, path).item() == pytest.approx(0.01)


def test_loss_is_the_mean_squared_velocity_error_on_cond_ot() -> None:
    x_1, x_0, t = batch()
    output = draw(x_1.shape, 2)
    loss = path_loss(output, "velocity", x_1, x_0, t, AffinePath(CondOT()))
    torch.testing.assert_close(loss, ((output - (x_1 - x_0)) ** 2).mean())


def test_user_weight_and_mask_reduce_over_valid_frames_only() -> None:
    x_1, x_0, t = batch()
    output = draw(x_1.shape, 2)
    weight = torch.linspace(0.5, 2.0, 5, dtype=torch.float64)
    lengths = [5, 3, 4, 1]
    mask = torch.zeros(4, 1, 5, dtype=torch.float64)
    for row, length in enumerate(lengths):
        mask[row, :, :length] = 1
    garbage = output.clone()
    garbage[mask.expand_as(output) == 0] = 1e6
    loss = path_loss(
        garbage, "velocity", x_1, x_0, t, AffinePath(CondOT()), weight=weight, mask=mask
    )
    squared = weight * (output - (x_1 - x_0)) ** 2
    expected = sum(squared[row, :, :length].sum() for row, length in enumerate(lengths))
    torch.testing.assert_close(loss, expected / (2 * sum(lengths)))


def test_min_snr_weights_match_hang_et_al_on_vp() -> None:
    _, _, t = batch()
    alpha, sigma = song_vp(t)
    snr = (alpha / sigma).flatten() ** 2
    gamma = 5.0
    clipped = torch.clamp(snr, max=gamma)
    schedule = VPLinear()
    torch.testing.assert_close(min_snr_weight("data", t, schedule, gamma), clipped)
    torch.testing.assert_close(min_snr_weight("eps", t, schedule, gamma), clipped / snr)
    torch.testing.assert_close(min_snr_weight("v", t, schedule, gamma), clipped / (snr + 1))


def test_min_snr_velocity_weight_on_cond_ot_is_data_error_scaled() -> None:
    t = torch.tensor([0.0, 0.2, 0.5, 0.8, 1.0], dtype=torch.float64)
    snr = (t / (1 - t)) ** 2
    expected = torch.clamp(snr, max=5.0) * (1 - t) ** 2
    torch.testing.assert_close(min_snr_weight("velocity", t, CondOT(), 5.0), expected)


@pytest.mark.parametrize("name", SCHEDULES)
def test_min_snr_weights_are_finite_at_both_ends(name: str) -> None:
    ends = torch.tensor([0.0, 1.0], dtype=torch.float64)
    for kind in PREDICTIONS:
        assert bool(torch.isfinite(min_snr_weight(kind, ends, SCHEDULES[name], 5.0)).all()), kind
    torch.testing.assert_close(
        min_snr_weight("data", ends[1:], SCHEDULES[name], 5.0),
        torch.tensor([5.0], dtype=torch.float64),
    )


def test_min_snr_loss_applies_the_weight_per_sample() -> None:
    x_1, x_0, t = batch()
    path = AffinePath(VPLinear())
    output = draw(x_1.shape, 3)
    alpha, sigma = song_vp(t)
    snr = (alpha / sigma) ** 2
    expected = (torch.clamp(snr, max=5.0) / snr * (output - x_0) ** 2).mean()
    loss = path_loss(output, "eps", x_1, x_0, t, path, weighting="min_snr", gamma=5.0)
    torch.testing.assert_close(loss, expected)


def empirical_cdf(samples: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    return (samples[None, :] <= points[:, None]).double().mean(dim=1)


def test_time_densities_follow_their_distributions() -> None:
    points = torch.tensor([0.1, 0.3, 0.5, 0.7, 0.9], dtype=torch.float64)
    draws = 40_000

    def sample(density: TimeDensity, loc: float = 0.0, scale: float = 1.0) -> torch.Tensor:
        generator = torch.Generator().manual_seed(7)
        t = sample_time(draws, density, generator, loc=loc, scale=scale, dtype=torch.float64)
        assert t.shape == (draws,) and bool(((t >= 0) & (t <= 1)).all())
        return t

    torch.testing.assert_close(empirical_cdf(sample("uniform"), points), points, atol=0.01, rtol=0)
    logits = torch.logit(sample("logit_normal", loc=0.5, scale=0.8))
    assert logits.mean().item() == pytest.approx(0.5, abs=0.02)
    assert logits.std().item() == pytest.approx(0.8, abs=0.02)
    cosmap_cdf = 2 / math.pi * torch.atan(points / (1 - points))
    torch.testing.assert_close(
        empirical_cdf(sample("cosmap"), points), cosmap_cdf, atol=0.01, rtol=0
    )
    with pytest.raises(ValueError, match="uniform"):
        sample_time(2, "beta")  # type: ignore[arg-type]
