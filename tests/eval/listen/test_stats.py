"""Statistics against hand computations, closed forms and direct scipy calls."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from audiogen.eval.listen import stats


def test_mean_ci_of_known_numbers() -> None:
    summary = stats.mean_ci([3, 4, 5, 4, 4])
    # mean 4, s = sqrt(2/4), t(0.975, 4) = 2.7764451052 (statistical tables)
    assert summary.mean == pytest.approx(4.0)
    assert summary.std == pytest.approx(math.sqrt(0.5))
    assert summary.ci95 == pytest.approx(2.7764451052 * math.sqrt(0.5) / math.sqrt(5), rel=1e-8)
    assert (summary.low, summary.high) == pytest.approx((4 - summary.ci95, 4 + summary.ci95))
    assert math.isnan(stats.mean_ci([2.0]).ci95) and stats.mean_ci([]).n == 0


def test_holm_on_known_pvalues() -> None:
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 -> max(0.06, 0.04) = 0.06
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert stats.holm([]) == []


def test_kendalls_w_matches_closed_form_without_ties() -> None:
    ranks = {"r1": [1, 2, 3, 4], "r2": [1, 3, 2, 4], "r3": [2, 1, 3, 4]}
    # rank sums 4, 6, 8, 12; mean 7.5; S = 35; W = 12 S / (m^2 (n^3 - n)) = 420 / 540
    agreement = stats.kendalls_w({rater: dict(enumerate(values))
                                  for rater, values in ranks.items()})
    assert agreement.w == pytest.approx(420 / 540)
    assert (agreement.raters, agreement.objects) == (3, 4)
    perfect = stats.kendalls_w({r: {k: float(k) for k in range(5)} for r in "abc"})
    assert perfect.w == pytest.approx(1.0)
    assert "two raters" in stats.kendalls_w({"a": {1: 1.0, 2: 2.0, 3: 3.0}}).note


def test_kendalls_w_uses_only_objects_every_rater_rated() -> None:
    ratings = {"r1": {"x": 1.0, "y": 2.0, "z": 3.0, "extra": 5.0},
               "r2": {"x": 1.0, "y": 2.0, "z": 3.0}}
    agreement = stats.kendalls_w(ratings)
    assert agreement.objects == 3 and agreement.w == pytest.approx(1.0)


def test_compare_uses_wilcoxon_when_paired_and_mann_whitney_otherwise() -> None:
    a = {("r1", "i1"): 4.0, ("r1", "i2"): 5.0, ("r2", "i1"): 4.0, ("r2", "i2"): 3.0,
         ("r3", "i1"): 5.0, ("r3", "i2"): 4.0}
    b = {key: value - offset for (key, value), offset in zip(a.items(), [1, 2, 0.5, 1, 3, 1])}
    paired = stats.compare(a, b, "a", "b")
    keys = sorted(a, key=repr)
    direct = scipy_stats.wilcoxon([a[k] - b[k] for k in keys])
    assert paired.test == "wilcoxon" and paired.n == 6
    assert paired.p == pytest.approx(direct.pvalue)
    assert paired.difference == pytest.approx(np.mean([1, 2, 0.5, 1, 3, 1]))
    unpaired = stats.compare({1: 1.0, 2: 2.0, 3: 2.0}, {4: 4.0, 5: 5.0, 6: 3.0}, "x", "y")
    direct_u = scipy_stats.mannwhitneyu([1, 2, 2], [4, 5, 3], alternative="two-sided")
    assert unpaired.test == "mann-whitney" and unpaired.p == pytest.approx(direct_u.pvalue)
    identical = stats.compare({1: 3.0, 2: 4.0}, {1: 3.0, 2: 4.0}, "x", "y")
    assert identical.p == 1.0


def test_pairwise_is_holm_corrected_as_one_family() -> None:
    rng = np.random.default_rng(0)
    keys = [(f"r{i}", "item") for i in range(12)]
    groups = {name: {k: float(v) for k, v in zip(keys, rng.normal(shift, 1, 12))}
              for name, shift in [("a", 0.0), ("b", 1.5), ("c", 0.2)]}
    comparisons = stats.pairwise(groups)
    assert [(c.a, c.b) for c in comparisons] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert [c.p_holm for c in comparisons] == pytest.approx(stats.holm([c.p for c in
                                                                        comparisons]))


def test_binomial_preference_matches_closed_form() -> None:
    result = stats.preference(9, 1, "a", "b")
    # P(X >= 9) + P(X <= 1) for X ~ Bin(10, 0.5) = 2 * 11 / 1024
    assert result.p == pytest.approx(22 / 1024)
    assert result.share_a == pytest.approx(0.9) and result.low < 0.9 < result.high
    assert stats.preference(5, 5, "a", "b").p == pytest.approx(1.0)


def test_one_sample_wilcoxon() -> None:
    values = [1.0, 2.0, 1.0, 3.0, -1.0, 2.0]
    assert stats.one_sample(values)[1] == pytest.approx(scipy_stats.wilcoxon(values).pvalue)
    assert stats.one_sample([0.0, 0.0]) == (0.0, 1.0)


def test_mushra_post_screening_rule() -> None:
    hidden = {"good": [100, 95, 92, 100, 88, 100, 100, 100, 100, 100],  # 10% below 90
              "edge": [100] * 17 + [80] * 3,  # exactly 15%: kept (rule is "more than")
              "bad": [100, 70, 60, 100, 95, 100, 100, 100, 100, 100]}  # 20% below 90
    excluded = stats.mushra_excluded({k: [float(v) for v in s] for k, s in hidden.items()})
    assert excluded == {"bad": pytest.approx(0.2)}
