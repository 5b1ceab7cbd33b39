"""A mean's intervals (calibration/intervals.py) pinned to reference implementations:
statsmodels' `proportion_confint(method="wilson")` and `scipy.stats.bootstrap(method=
"percentile")`, the same draws where the resampling is the same, else within Monte Carlo
error."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import bootstrap
from statsmodels.stats.proportion import proportion_confint

from calibration.intervals import (
    BATCH,
    MAX_DISTINCT,
    cluster_bootstrap,
    value_bootstrap,
    wilson,
)


@pytest.mark.parametrize(
    ("successes", "n", "ci"),
    [(7, 12, 0.95), (0, 10, 0.95), (10, 10, 0.95), (1, 1, 0.95), (37, 120, 0.9), (3, 40, 0.99)],
)
def test_wilson_matches_statsmodels(successes: int, n: int, ci: float) -> None:
    # Reference: statsmodels.stats.proportion.proportion_confint(method="wilson").
    expected = proportion_confint(successes, n, alpha=1 - ci, method="wilson")
    assert wilson(successes, n, ci) == pytest.approx(expected, abs=1e-12)


def test_wilson_of_the_bundled_examples_final_answer() -> None:
    # 7 of 12 right: statsmodels gives [0.3195, 0.8067], "0.58 [0.32, 0.81]" in the summary.
    low, high = wilson(7, 12, 0.95)
    assert (round(low, 4), round(high, 4)) == (0.3195, 0.8067)


def _scipy_percentile(data: np.ndarray, ci: float, n_boot: int, seed: int) -> tuple[float, float]:
    result = bootstrap(
        (data,),
        np.mean,
        n_resamples=n_boot,
        confidence_level=ci,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return result.confidence_interval.low, result.confidence_interval.high


@pytest.mark.parametrize("ci", [0.95, 0.9])
def test_ordinal_mean_bootstrap_agrees_with_scipy(ci: float) -> None:
    # An ordinal criterion (1-5) over 60 items. The summary draws each resample as one
    # multinomial over the levels (the item bootstrap's exact distribution, other draws), so
    # both are Monte Carlo estimates of one interval: with 20,000 resamples each, the ends'
    # Monte Carlo error is about 0.005 here.
    data = np.random.default_rng(3).choice(
        [1.0, 2.0, 3.0, 4.0, 5.0], size=60, p=[0.1, 0.2, 0.3, 0.25, 0.15]
    )
    values, counts = np.unique(data, return_counts=True)
    ours = value_bootstrap(values, counts.astype(float), ci, 20_000, 0)
    reference = _scipy_percentile(data, ci, 20_000, 1)
    assert ours == pytest.approx(reference, abs=0.02)
    # Seeded: the same interval every time.
    assert value_bootstrap(values, counts.astype(float), ci, 20_000, 0) == ours


def test_continuous_mean_past_the_distinct_cap_agrees_with_scipy() -> None:
    # More distinct values than MAX_DISTINCT: binned (module docstring). Against scipy's item
    # bootstrap of the raw values, within Monte Carlo error (SE of the mean here ≈ 0.0029).
    data = np.random.default_rng(5).beta(2, 5, size=3 * MAX_DISTINCT)
    assert len(np.unique(data)) > MAX_DISTINCT
    ours = value_bootstrap(data, np.ones_like(data), 0.95, 4000, 0)
    reference = _scipy_percentile(data, 0.95, 4000, 1)
    assert ours == pytest.approx(reference, abs=0.0015)


def test_cluster_bootstrap_draws_what_scipys_paired_bootstrap_draws() -> None:
    # Per-cluster sums and counts (8 cases, 1-4 samples each); the statistic is the mean of
    # the samples of the resampled cases. scipy resamples pairs (sum, count) with the same
    # generator, seed and batch: the same resamples, so the same interval.
    sums, counts = _clusters(8, 5, 0.6, seed=11)
    reference = _scipy_clusters(sums, counts, 1000, seed=7, batch=BATCH)
    assert cluster_bootstrap(sums, counts, 0.95, 1000, 7) == pytest.approx(reference, abs=1e-12)


def test_clusters_widen_the_interval_of_repeated_samples() -> None:
    # 10 cases judged 5 times each, every sample of a case scoring alike: 50 scores but 10
    # independent facts. The item bootstrap (n = 50) is too narrow; resampling cases is not.
    per_case = np.random.default_rng(2).integers(0, 2, size=10).astype(float)
    scores = np.repeat(per_case, 5)
    values, counts = np.unique(scores, return_counts=True)
    items = value_bootstrap(values, counts.astype(float), 0.95, 2000, 0)
    cases = cluster_bootstrap(per_case * 5, np.full(10, 5.0), 0.95, 2000, 0)
    assert cases[1] - cases[0] > 1.5 * (items[1] - items[0])


def test_many_clusters_drawn_as_a_multinomial_agree_with_scipy() -> None:
    # 3,000 items of 1-6 binary units each: few distinct (sum, count) pairs, so the clusters
    # are drawn as one multinomial over the pairs (other draws than scipy's index draws, the
    # same distribution): within Monte Carlo error (the SE of the rate here is ≈ 0.006).
    sums, counts = _clusters(3000, 7, 0.7, seed=4)
    reference = _scipy_clusters(sums, counts, 4000, seed=1)
    ours = cluster_bootstrap(sums, counts, 0.95, 4000, 0)
    assert ours == pytest.approx(reference, abs=0.002)


def _clusters(k: int, most: int, rate: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`k` clusters of 1 to `most` - 1 binary scores each: their sums and counts."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, most, size=k).astype(float)
    return np.array([rng.binomial(int(c), rate) for c in counts], dtype=float), counts


def _scipy_clusters(
    sums: np.ndarray, counts: np.ndarray, n_boot: int, seed: int, batch: int | None = None
) -> tuple[float, float]:
    """Reference: scipy.stats.bootstrap resampling (sum, count) pairs, the statistic the
    mean of the resampled clusters' scores."""

    def ratio(s: np.ndarray, c: np.ndarray, axis: int = -1) -> np.ndarray:
        return s.sum(axis=axis) / c.sum(axis=axis)

    found = bootstrap(
        (sums, counts),
        ratio,
        paired=True,
        n_resamples=n_boot,
        batch=batch,
        method="percentile",
        rng=np.random.default_rng(seed),
    ).confidence_interval
    return found.low, found.high
