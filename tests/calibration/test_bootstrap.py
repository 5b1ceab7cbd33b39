"""The fast bootstrap against the `krippendorff` package and against the plain loop."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest

from calibration.bootstrap import (
    alphas_from_coincidences,
    fast_bootstrap,
    item_coincidences,
    percentile_interval,
    plain_bootstrap,
    value_counts,
)

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def _ratings(seed: int, n_items: int = 300, n_raters: int = 4, levels: int = 5) -> np.ndarray:
    """Raters × items, correlated through a shared item quality, 15% missing."""
    rng = np.random.default_rng(seed)
    quality = rng.integers(1, levels + 1, size=n_items)
    noise = rng.integers(-1, 2, size=(n_raters, n_items)) * (rng.random((n_raters, n_items)) < 0.4)
    data = np.clip(quality + noise, 1, levels).astype(float)
    data[rng.random(data.shape) < 0.15] = np.nan
    return data


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_item_coincidences_give_the_package_alpha(level: str, seed: int) -> None:
    data = _ratings(seed)
    domain = np.unique(data[~np.isnan(data)])
    stack, inverse = item_coincidences(value_counts(data, domain))
    summed = stack[inverse].sum(axis=0)[np.newaxis]
    ours = alphas_from_coincidences(summed, domain, level)[0]
    theirs = krippendorff.alpha(data, value_domain=domain, level_of_measurement=level)
    assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("level", LEVELS)
def test_fast_bootstrap_equals_plain_loop(level: str) -> None:
    data = _ratings(5, n_items=200)
    domain = np.unique(data[~np.isnan(data)])
    fast = fast_bootstrap(value_counts(data, domain), domain, level, n_boot=200, seed=11)
    plain = plain_bootstrap(data, domain, level, n_boot=200, seed=11)
    # Same seed, same resampled items: every resample's α agrees, so the intervals do too.
    np.testing.assert_allclose(fast, plain, rtol=1e-10, atol=1e-12)
    fast_ci = percentile_interval(fast, 0.95)[:2]
    plain_ci = percentile_interval(plain, 0.95)[:2]
    assert np.round(fast_ci, 2).tolist() == np.round(plain_ci, 2).tolist()


def test_bootstrap_is_seeded() -> None:
    data = _ratings(3)
    domain = np.unique(data[~np.isnan(data)])
    counts = value_counts(data, domain)
    first = fast_bootstrap(counts, domain, "ordinal", n_boot=100, seed=4)
    again = fast_bootstrap(counts, domain, "ordinal", n_boot=100, seed=4)
    other = fast_bootstrap(counts, domain, "ordinal", n_boot=100, seed=5)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_resamples_without_variation_are_undefined_not_zero() -> None:
    # Two items: one where raters agree on 1, one where they agree on 2. A resample that
    # draws the same item twice has no variation: α must be NaN there, not a number.
    data = np.array([[1.0, 2.0], [1.0, 2.0]])
    domain = np.array([1.0, 2.0])
    alphas = fast_bootstrap(value_counts(data, domain), domain, "nominal", n_boot=50, seed=0)
    assert np.isnan(alphas).any()
    assert set(alphas[~np.isnan(alphas)]) == {1.0}
    low, high, valid = percentile_interval(alphas, 0.95)
    assert (low, high) == (1.0, 1.0)
    assert valid == int((~np.isnan(alphas)).sum())
