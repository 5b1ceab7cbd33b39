"""Bootstrap of Krippendorff's α over items, fast and plain.

α is computed from a coincidence matrix that is a sum of per-item contributions, so a
resample of items is a weighted sum of those contributions (weights = how often each item was
drawn). Items with the same value counts contribute the same matrix, so they are grouped into
patterns first: a resample then costs one bincount and one small matrix product instead of a
full `krippendorff.alpha` call. The per-pattern matrices, the distance metrics and the random
coincidences all come from the `krippendorff` package's own helpers, so both paths share its
definitions; `tests/calibration/test_bootstrap.py` checks the fast path against the package.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import krippendorff
import numpy as np
import numpy.typing as npt
from krippendorff import krippendorff as kd

__all__ = [
    "alphas_from_coincidences",
    "as_level",
    "cluster_codes",
    "fast_bootstrap",
    "item_coincidences",
    "percentile_interval",
    "plain_bootstrap",
    "resample_indices",
    "value_counts",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int_]


def as_level(level: str) -> krippendorff.LevelOfMeasurement:
    """`level` typed as the package wants it (callers have checked it against LEVELS)."""
    return cast("krippendorff.LevelOfMeasurement", level)


def resample_indices(
    n_items: int, n_boot: int, seed: int, clusters: IntArray | None = None
) -> Iterator[IntArray]:
    """The item indices of each resample; both bootstrap paths draw exactly these.

    `clusters` (a code per item, 0..G−1): a cluster bootstrap, which draws G whole clusters
    with replacement and keeps every item of each, so items of one case stay together.
    Singleton clusters draw exactly the items' resamples."""
    rng = np.random.default_rng(seed)
    if clusters is None:
        for _ in range(n_boot):
            yield rng.integers(0, n_items, size=n_items)
        return
    n_clusters = int(clusters.max()) + 1
    members = [np.flatnonzero(clusters == c) for c in range(n_clusters)]
    for _ in range(n_boot):
        yield np.concatenate([members[c] for c in rng.integers(0, n_clusters, size=n_clusters)])


def cluster_codes(clusters: Any) -> IntArray:
    """Cluster labels (one per item, any hashable) as codes 0..G−1 for `resample_indices`."""
    import pandas as pd

    codes, _ = pd.factorize(pd.Series(list(clusters)), sort=True)
    return np.asarray(codes, dtype=np.int_)


def value_counts(reliability: FloatArray, domain: FloatArray) -> IntArray:
    """(items, values) counts of raters giving each value; `reliability` is raters × items."""
    return kd._reliability_data_to_value_counts(reliability, domain)


def item_coincidences(counts: IntArray) -> tuple[FloatArray, IntArray]:
    """Coincidence matrix of each distinct value-count pattern, and each item's pattern."""
    patterns, inverse = np.unique(counts, axis=0, return_inverse=True)
    stack: FloatArray = np.stack([kd._coincidences(p[np.newaxis, :]) for p in patterns])
    return stack, inverse.reshape(-1)


def alphas_from_coincidences(o: FloatArray, domain: FloatArray, level: str) -> FloatArray:
    """α of each (V, V) coincidence matrix in a (B, V, V) stack, as `krippendorff.alpha` does."""
    metric = kd._distance_metric(as_level(level))
    n_v = o.sum(axis=1)  # (B, V): o is symmetric, so row and column sums agree
    n = n_v.sum(axis=1)
    if level == "ordinal":
        # The ordinal distance depends on the value frequencies of the resample.
        d: FloatArray = np.stack([kd._distances(domain, metric, nv) for nv in n_v])
    else:
        d = np.broadcast_to(kd._distances(domain, metric, n_v[0]), o.shape)
    outer = n_v[:, :, np.newaxis] * n_v[:, np.newaxis, :]
    diag = n_v[:, :, np.newaxis] * np.eye(o.shape[1])[np.newaxis]
    with np.errstate(divide="ignore", invalid="ignore"):
        e = (outer - diag) / (n - 1)[:, np.newaxis, np.newaxis]
        d_o = (o * d).sum(axis=(1, 2))
        d_e = (e * d).sum(axis=(1, 2))
        alphas = 1 - d_o / d_e
    # No pairable value or no variation in the resample: α is undefined there.
    alphas[(n <= 1) | ~(d_e > 0)] = np.nan
    return np.asarray(alphas, dtype=np.float64)


def fast_bootstrap(
    counts: IntArray,
    domain: FloatArray,
    level: str,
    n_boot: int,
    seed: int,
    clusters: IntArray | None = None,
) -> FloatArray:
    """α of `n_boot` item (or cluster) resamples from per-pattern coincidences (see module
    docstring)."""
    stack, inverse = item_coincidences(counts)
    k, v = stack.shape[0], stack.shape[1]
    weights = np.empty((n_boot, k))
    for b, idx in enumerate(resample_indices(len(inverse), n_boot, seed, clusters)):
        weights[b] = np.bincount(inverse[idx], minlength=k)
    o = (weights @ stack.reshape(k, v * v)).reshape(n_boot, v, v)
    return alphas_from_coincidences(o, domain, level)


def plain_bootstrap(
    reliability: FloatArray,
    domain: FloatArray,
    level: str,
    n_boot: int,
    seed: int,
    clusters: IntArray | None = None,
) -> FloatArray:
    """α of the same resamples by calling `krippendorff.alpha` once per resample (slow)."""
    out = np.empty(n_boot)
    for b, idx in enumerate(resample_indices(reliability.shape[1], n_boot, seed, clusters)):
        try:
            with np.errstate(divide="ignore", invalid="ignore"):
                out[b] = krippendorff.alpha(
                    reliability[:, idx], value_domain=domain, level_of_measurement=as_level(level)
                )
        except ValueError:  # e.g. no pairable unit in this resample
            out[b] = np.nan
    return out


def percentile_interval(alphas: FloatArray, ci: float) -> tuple[float, float, int]:
    """Percentile interval of the defined bootstrap values, and how many were defined."""
    valid = alphas[np.isfinite(alphas)]
    if len(valid) == 0:
        return float("nan"), float("nan"), 0
    tail = (1 - ci) / 2
    low, high = np.quantile(valid, [tail, 1 - tail])
    return float(low), float(high), len(valid)
