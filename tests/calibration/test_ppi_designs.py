"""Clustered and stratified PPI: the point estimates against ppi_py and direct formulas, the
cluster-robust interval against a cluster bootstrap of the same estimate, and both intervals'
coverage in seeded simulations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ppi_py import ppi_mean_ci, ppi_mean_pointestimate

from calibration.errors import CalibrationError
from calibration.ppi import ppi_mean
from calibration.ppi_designs import ppi_mean_clustered, ppi_mean_stratified


def _clustered(seed: int, n_clusters: int = 60, size: int = 5, share: float = 0.4):
    """Cases with a shared effect on every item (human and judge alike), a biased judge,
    and a random share of items rated by people. True mean 0."""
    rng = np.random.default_rng(seed)
    case = np.repeat(np.arange(n_clusters), size)
    effect = rng.normal(0, 1.0, n_clusters)[case]
    truth = effect + rng.normal(0, 0.5, len(case))
    judged = truth + 0.3 + rng.normal(0, 0.3, len(case))
    items = pd.Index([f"i{i}" for i in range(len(case))])
    rated = rng.random(len(case)) < share
    judge = pd.Series(judged, index=items)
    human = pd.Series(truth[rated], index=items[rated])
    return judge, human, pd.Series(case.astype(str), index=items)


def test_the_point_estimate_is_ppi_pys() -> None:
    judge, human, clusters = _clustered(0)
    result = ppi_mean_clustered(judge, human, clusters)
    labeled = judge.index.isin(human.index)
    expected = ppi_mean_pointestimate(
        human.reindex(judge.index[labeled]).to_numpy(), judge[labeled].to_numpy(),
        judge[~labeled].to_numpy(),
    )  # fmt: skip
    assert result.estimate == pytest.approx(float(np.ravel(expected)[0]))


def test_one_item_per_cluster_gives_ppi_pys_interval() -> None:
    judge, human, _ = _clustered(1, n_clusters=300, size=1, share=0.3)
    singletons = pd.Series(judge.index, index=judge.index)
    ours = ppi_mean_clustered(judge, human, singletons)
    labeled = judge.index.isin(human.index)
    low, high = ppi_mean_ci(
        human.reindex(judge.index[labeled]).to_numpy(), judge[labeled].to_numpy(),
        judge[~labeled].to_numpy(), alpha=0.05,
    )  # fmt: skip
    assert ours.width == pytest.approx(float(np.ravel(high)[0] - np.ravel(low)[0]), rel=0.02)


def test_the_interval_matches_a_cluster_bootstrap_of_the_same_estimate() -> None:
    judge, human, clusters = _clustered(2)
    result = ppi_mean_clustered(judge, human, clusters)
    rng = np.random.default_rng(0)
    groups = {c: list(items) for c, items in clusters.groupby(clusters).groups.items()}
    names = list(groups)
    draws = []
    for _ in range(400):
        picked = rng.choice(len(names), size=len(names))
        items, j_vals, h_vals, h_items = [], [], [], []
        for k, g in enumerate(picked):
            for item in groups[names[g]]:
                new = f"{k}-{item}"
                items.append(new)
                j_vals.append(judge[item])
                if item in human.index:
                    h_items.append(new)
                    h_vals.append(human[item])
        draws.append(
            ppi_mean(pd.Series(j_vals, index=items), pd.Series(h_vals, index=h_items)).estimate
        )
    boot_se = float(np.std(draws, ddof=1))
    ours_se = result.width / (2 * 1.959964)
    assert ours_se == pytest.approx(boot_se, rel=0.15)
    plain = ppi_mean(judge, human)
    assert plain.width < 0.8 * result.width  # the independent-items interval is too narrow


def test_cluster_robust_coverage_holds_where_the_plain_interval_undercovers() -> None:
    covered_cr = covered_plain = 0
    sims = 200
    for seed in range(sims):
        judge, human, clusters = _clustered(100 + seed, n_clusters=40)
        cr = ppi_mean_clustered(judge, human, clusters)
        plain = ppi_mean(judge, human)
        covered_cr += cr.low <= 0 <= cr.high
        covered_plain += plain.low <= 0 <= plain.high
    assert covered_cr / sims >= 0.90
    assert covered_plain / sims < 0.85


def test_clusters_must_cover_every_item_and_be_several() -> None:
    judge, human, clusters = _clustered(3)
    with pytest.raises(CalibrationError, match="has no cluster"):
        ppi_mean_clustered(judge, human, clusters.iloc[1:])
    with pytest.raises(CalibrationError, match="two or more clusters"):
        ppi_mean_clustered(judge, human, clusters.map(lambda _: "one"))


def _strata(seed: int):
    """Two strata: CT (judge +1 too high, half of it rated) and MR (judge right, a tenth
    rated). True mean 0 in both."""
    rng = np.random.default_rng(seed)
    n = 400
    stratum = np.where(np.arange(n) < n // 2, "CT", "MR")
    truth = rng.normal(0, 1, n)
    judged = truth + np.where(stratum == "CT", 1.0, 0.0) + rng.normal(0, 0.3, n)
    rated = rng.random(n) < np.where(stratum == "CT", 0.5, 0.1)
    items = pd.Index([f"i{i}" for i in range(n)])
    return (
        pd.Series(judged, index=items),
        pd.Series(truth[rated], index=items[rated]),
        pd.Series(stratum, index=items),
    )


def test_stratified_estimate_is_the_weighted_sum_of_per_stratum_ppi() -> None:
    judge, human, strata = _strata(0)
    result = ppi_mean_stratified(judge, human, strata, power_tuning=False)
    expected = 0.0
    for name in ("CT", "MR"):
        items = strata.index[strata == name]
        j = judge[items]
        rated = j.index.isin(human.index)
        # plain PPI (λ = 1) within the stratum, weighted by its share of the judged items
        part = j[~rated].mean() + (human.reindex(j.index[rated]) - j[rated]).mean()
        expected += len(items) / len(judge) * part
    assert result.estimate == pytest.approx(expected)


def test_stratified_ppi_covers_where_unequal_sampling_biases_the_plain_one() -> None:
    covered_strat = covered_plain = 0
    sims = 150
    for seed in range(sims):
        judge, human, strata = _strata(500 + seed)
        strat = ppi_mean_stratified(judge, human, strata)
        plain = ppi_mean(judge, human)
        covered_strat += strat.low <= 0 <= strat.high
        covered_plain += plain.low <= 0 <= plain.high
    assert covered_strat / sims >= 0.90
    assert covered_plain / sims < 0.5
