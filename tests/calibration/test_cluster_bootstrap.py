"""Cluster bootstrap of α, κ and the correlations: singleton clusters draw exactly the item
bootstrap, and a case effect shared by a case's items widens the intervals, as resampling
whole cases should."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import calibration
from calibration.agreement_table import agreement
from calibration.bootstrap import plain_bootstrap, resample_indices


def test_singleton_clusters_are_the_item_bootstrap() -> None:
    items = list(resample_indices(20, 5, seed=3))
    clusters = list(resample_indices(20, 5, seed=3, clusters=np.arange(20)))
    assert all((a == b).all() for a, b in zip(items, clusters, strict=True))


def test_a_cluster_resample_keeps_every_item_of_a_drawn_case() -> None:
    codes = np.repeat(np.arange(4), 3)  # 4 cases × 3 items
    for idx in resample_indices(12, 20, seed=0, clusters=codes):
        assert len(idx) == 12
        drawn = pd.Series(codes[idx]).value_counts()
        assert (drawn % 3 == 0).all()  # whole cases only


def _cases(seed: int, n_cases: int = 30, per_case: int = 6) -> pd.DataFrame:
    """Three humans and a judge; a case effect shared by every item (and rater) of a case, and
    a judge's slip shared by a case's items (it misreads the case, not one item)."""
    rng = np.random.default_rng(seed)
    rows = []
    for case in range(n_cases):
        effect, slip = rng.normal(0, 1.2), rng.normal(0, 0.8)
        for k in range(per_case):
            truth = effect + rng.normal(0, 0.6)
            item = f"c{case}-{k}"
            for rater, kind, noise in (("h1", "human", 0.5), ("h2", "human", 0.5),
                                       ("h3", "human", 0.5), ("j", "judge", 0.7)):  # fmt: skip
                offset = slip if kind == "judge" else 0.0
                score = int(np.clip(np.round(3 + truth + offset + rng.normal(0, noise)), 1, 5))
                rows.append((item, "q", rater, kind, score, f"c{case}"))
    return pd.DataFrame(rows, columns=["item", "criterion", "rater", "rater_kind", "score", "case"])


def test_cluster_intervals_are_wider_on_clustered_data() -> None:
    frame = _cases(0)
    cases = dict(zip(frame["item"], frame["case"], strict=False))
    long = frame.drop(columns="case")
    plain = agreement(long, n_boot=500).set_index("judge").loc["j"]
    clustered = agreement(long, n_boot=500, clusters=cases).set_index("judge").loc["j"]
    for stat in ("alpha_humans", "alpha_with_judge", "spearman", "pearson", "kappa"):
        assert plain[stat] == pytest.approx(clustered[stat])  # the estimates do not move
        width = plain[f"{stat}_high"] - plain[f"{stat}_low"]
        wider = clustered[f"{stat}_high"] - clustered[f"{stat}_low"]
        assert wider > 1.1 * width, stat
    assert "cluster bootstrap over 30 clusters" in clustered["notes"]


def test_fast_cluster_bootstrap_is_the_packages_alpha_on_the_same_resamples() -> None:
    frame = _cases(1, n_cases=8, per_case=3)
    long = frame[frame["rater_kind"] == "human"].drop(columns="case")
    wide = calibration.to_wide(long)
    codes = np.repeat(np.arange(8), 3)
    fast = calibration.alpha(wide, level="ordinal", n_boot=50, seed=2, clusters=codes)
    slow = plain_bootstrap(wide.to_numpy(dtype=float).T, np.arange(1.0, 6.0), "ordinal", 50, 2,
                           codes)  # fmt: skip
    tail = (1 - 0.95) / 2
    low, high = np.nanquantile(slow, [tail, 1 - tail])
    assert (fast.low, fast.high) == pytest.approx((low, high))


def test_an_item_without_a_cluster_is_named() -> None:
    frame = _cases(2, n_cases=3, per_case=2)
    cases = dict(zip(frame["item"], frame["case"], strict=False))
    cases.pop("c1-0")
    with pytest.raises(calibration.CalibrationError, match="'c1-0' has no cluster"):
        agreement(frame.drop(columns="case"), n_boot=10, clusters=cases)
