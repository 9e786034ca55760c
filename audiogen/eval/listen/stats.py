"""Statistics of listening tests; every test statistic comes from ``scipy.stats``.

- Means with a two-sided 95% confidence interval from the t distribution:
  ``mean ± t_{0.975, n-1} · s / √n`` (s: sample standard deviation).
- Pairwise comparisons: Wilcoxon signed-rank test on paired scores (the same rater and item
  rated both systems) or the Mann-Whitney U test when no pairs exist; p-values of a family
  corrected by Holm's step-down method (Holm 1979).
- AB preference: exact two-sided binomial test against 50 %.
- Rater agreement: Kendall's coefficient of concordance W = χ²_F / (m (n - 1)) from
  Friedman's χ²_F (``scipy.stats.friedmanchisquare``, tie-corrected) over m raters who all
  rated the same n objects, with Friedman's p-value.
- MUSHRA post-screening (ITU-R BS.1534-3, 4.1.2): a rater who scores the hidden reference
  below 90 in more than 15 % of the trials is excluded.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

MUSHRA_REFERENCE_MIN = 90.0
MUSHRA_MAX_FRACTION = 0.15


@dataclass(frozen=True)
class Summary:
    """Mean, standard deviation, 95% CI half-width (t distribution) and count."""

    mean: float
    std: float
    ci95: float
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.ci95

    @property
    def high(self) -> float:
        return self.mean + self.ci95


def mean_ci(values: Sequence[float], level: float = 0.95) -> Summary:
    """Mean ± t-interval half-width; the width is NaN for fewer than two values."""
    array = np.asarray(values, dtype=np.float64)
    n = int(array.size)
    if n == 0:
        return Summary(math.nan, math.nan, math.nan, 0)
    if n == 1:
        return Summary(float(array[0]), math.nan, math.nan, 1)
    std = float(array.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * std / math.sqrt(n)
    return Summary(float(array.mean()), std, half, n)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1), input order."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted.tolist()


@dataclass(frozen=True)
class Comparison:
    """A two-sided test between systems ``a`` and ``b``; ``difference`` is mean(a) - mean(b)
    over the scores used (paired differences for Wilcoxon)."""

    a: str
    b: str
    test: str
    n: int
    difference: float
    statistic: float
    p: float
    p_holm: float = math.nan


def compare(a: dict[Hashable, float], b: dict[Hashable, float], name_a: str, name_b: str
            ) -> Comparison:
    """Wilcoxon signed-rank on scores sharing a key (rater, item); Mann-Whitney U otherwise."""
    shared = sorted(set(a) & set(b), key=repr)
    if shared:
        differences = np.array([a[key] - b[key] for key in shared])
        if not np.any(differences):
            return Comparison(name_a, name_b, "wilcoxon", len(shared), 0.0, 0.0, 1.0)
        result = stats.wilcoxon(differences)
        return Comparison(name_a, name_b, "wilcoxon", len(shared), float(differences.mean()),
                          float(result.statistic), float(result.pvalue))
    x, y = list(a.values()), list(b.values())
    result = stats.mannwhitneyu(x, y, alternative="two-sided")
    return Comparison(name_a, name_b, "mann-whitney", len(x) + len(y),
                      float(np.mean(x) - np.mean(y)), float(result.statistic),
                      float(result.pvalue))


def pairwise(groups: dict[str, dict[Hashable, float]]) -> list[Comparison]:
    """Every pair of systems compared by :func:`compare`, Holm-corrected as one family."""
    raw = [compare(groups[a], groups[b], a, b) for a, b in itertools.combinations(groups, 2)
           if groups[a] and groups[b]]
    adjusted = holm([c.p for c in raw])
    return [Comparison(c.a, c.b, c.test, c.n, c.difference, c.statistic, c.p, p)
            for c, p in zip(raw, adjusted)]


def one_sample(values: Sequence[float]) -> tuple[float, float]:
    """Wilcoxon signed-rank test of a median of zero: (statistic, p); p = 1 if all are 0."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return math.nan, math.nan
    if not np.any(array):
        return 0.0, 1.0
    result = stats.wilcoxon(array)
    return float(result.statistic), float(result.pvalue)


@dataclass(frozen=True)
class Preference:
    """AB result: wins of ``a`` and ``b``, share of ``a`` with its exact 95% CI, p-value."""

    a: str
    b: str
    wins_a: int
    wins_b: int
    share_a: float
    low: float
    high: float
    p: float
    p_holm: float = math.nan


def preference(wins_a: int, wins_b: int, name_a: str, name_b: str) -> Preference:
    """Exact binomial test of ``wins_a`` out of ``wins_a + wins_b`` against 0.5."""
    n = wins_a + wins_b
    if n == 0:
        return Preference(name_a, name_b, 0, 0, math.nan, math.nan, math.nan, math.nan)
    result = stats.binomtest(wins_a, n, 0.5)
    interval = result.proportion_ci(0.95, method="exact")
    return Preference(name_a, name_b, wins_a, wins_b, wins_a / n, float(interval.low),
                      float(interval.high), float(result.pvalue))


@dataclass(frozen=True)
class Agreement:
    """Kendall's W over ``raters`` raters and ``objects`` common objects (or why not)."""

    w: float
    chi2: float
    p: float
    raters: int
    objects: int
    note: str = ""


def kendalls_w(ratings: dict[str, dict[Hashable, float]]) -> Agreement:
    """Kendall's W of raters over the objects every one of them rated (at least 2 x 3)."""
    raters = [rater for rater, scores in ratings.items() if scores]
    if len(raters) < 2:
        return Agreement(math.nan, math.nan, math.nan, len(raters), 0,
                         "needs at least two raters")
    common = set.intersection(*(set(ratings[rater]) for rater in raters))
    objects = sorted(common, key=repr)
    if len(objects) < 3:
        return Agreement(math.nan, math.nan, math.nan, len(raters), len(objects),
                         "needs at least three objects rated by every rater")
    matrix = np.array([[ratings[rater][key] for key in objects] for rater in raters])
    if np.all(matrix == matrix[:, :1]):
        return Agreement(math.nan, math.nan, math.nan, len(raters), len(objects),
                         "every rater gave one score to everything (no ranking)")
    chi2, p = stats.friedmanchisquare(*matrix.T)
    m, n = matrix.shape
    return Agreement(float(chi2) / (m * (n - 1)), float(chi2), float(p), m, n)


def mushra_excluded(hidden_reference: dict[str, list[float]],
                    minimum: float = MUSHRA_REFERENCE_MIN,
                    max_fraction: float = MUSHRA_MAX_FRACTION) -> dict[str, float]:
    """Raters to exclude under BS.1534-3 post-screening: ``{rater: fraction of trials with
    the hidden reference below minimum}`` for those whose fraction exceeds ``max_fraction``."""
    excluded = {}
    for rater, scores in hidden_reference.items():
        if not scores:
            continue
        fraction = sum(score < minimum for score in scores) / len(scores)
        if fraction > max_fraction:
            excluded[rater] = fraction
    return excluded
