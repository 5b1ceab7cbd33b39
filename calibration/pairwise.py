"""One rater (a judge, or a panel) against a reference (the humans' mean or majority).

Which library does what: the correlations and the Pearson interval (Fisher z) come from
`scipy.stats`; the Spearman interval from `scipy.stats.bootstrap` (percentile, paired,
seeded); the Kendall interval is Fisher z with the Fieller–Hartley–Pearson variance;
Cohen's κ (unweighted, linear, quadratic), MCC and the confusion matrix come from
`sklearn.metrics`; κ's interval is a percentile bootstrap. With case clusters, every interval
is a cluster bootstrap (`calibration.bootstrap.resample_indices`). Each function returns NaN
with a reason when the statistic is undefined.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from calibration.bootstrap import percentile_interval, resample_indices

__all__ = ["agreement_rates", "confusion", "correlations", "kappa_interval", "kappas"]

Stats = dict[str, Any]
NAN = float("nan")


def _constant(values: np.ndarray) -> bool:
    return len(np.unique(values)) < 2


def _spearman_batch(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spearman's ρ of many resamples at once: Pearson's r of the ranks."""
    from scipy import stats

    ra = stats.rankdata(a, axis=axis)
    rb = stats.rankdata(b, axis=axis)
    ra = ra - ra.mean(axis=axis, keepdims=True)
    rb = rb - rb.mean(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        den = np.sqrt((ra * ra).sum(axis=axis) * (rb * rb).sum(axis=axis))
        return np.asarray((ra * rb).sum(axis=axis) / den)


def _kendall_interval(tau: float, n: int, ci: float) -> Stats:
    """Fisher-z interval with var(z) = 0.437 / (n − 4) (Fieller, Hartley & Pearson 1957).

    Analytic, because resampling `scipy.stats.kendalltau` costs about 0.5 s per 1,000 draws.
    """
    from scipy import stats

    if n <= 4 or abs(tau) >= 1:
        return {"kendall_low": NAN, "kendall_high": NAN}
    half = stats.norm.ppf(0.5 + ci / 2) * np.sqrt(0.437 / (n - 4))
    z = np.arctanh(tau)
    return {"kendall_low": float(np.tanh(z - half)), "kendall_high": float(np.tanh(z + half))}


def _cluster_intervals(
    x: np.ndarray, y: np.ndarray, ci: float, n_boot: int, seed: int, clusters: np.ndarray
) -> Stats:
    """Percentile intervals of the three correlations from one cluster bootstrap."""
    from scipy import stats

    draws = []
    for idx in resample_indices(len(x), n_boot, seed, clusters):
        a, b = x[idx], y[idx]
        if _constant(a) or _constant(b):
            continue
        draws.append(
            (
                float(_spearman_batch(a, b)),
                float(stats.kendalltau(a, b).statistic),
                float(np.corrcoef(a, b)[0, 1]),
            )
        )
    out: Stats = {}
    table = np.array(draws).reshape(-1, 3)
    for k, name in enumerate(("spearman", "kendall", "pearson")):
        low, high, _ = percentile_interval(table[:, k], ci)
        out.update({f"{name}_low": low, f"{name}_high": high})
    return out


def correlations(
    x: np.ndarray,
    y: np.ndarray,
    ci: float,
    n_boot: int,
    seed: int,
    clusters: np.ndarray | None = None,
) -> tuple[Stats, list[str]]:
    """Spearman, Kendall and Pearson of paired numbers, each with a `ci` interval. With
    `clusters` (codes 0..G−1 per pair), all three intervals come from a cluster bootstrap."""
    from scipy import stats

    out: Stats = {}
    names = ("spearman", "kendall", "pearson")
    for name in names:
        out.update({name: NAN, f"{name}_low": NAN, f"{name}_high": NAN})
    if len(x) < 3:
        return out, [f"correlations need 3 or more paired items, have {len(x)}"]
    if _constant(x) or _constant(y):
        return out, ["correlations undefined: one side gives the same score to every item"]
    pearson = stats.pearsonr(x, y)
    interval = pearson.confidence_interval(confidence_level=ci)
    out.update(pearson=pearson.statistic, pearson_low=interval.low, pearson_high=interval.high)
    out["spearman"] = float(stats.spearmanr(x, y).statistic)
    if n_boot > 0:
        res = stats.bootstrap(
            (x, y), _spearman_batch, paired=True, vectorized=True, n_resamples=n_boot,
            confidence_level=ci, method="percentile", rng=np.random.default_rng(seed),
        )  # fmt: skip
        out.update(spearman_low=res.confidence_interval.low)
        out.update(spearman_high=res.confidence_interval.high)
    kendall = float(stats.kendalltau(x, y).statistic)
    out.update(kendall=kendall, **_kendall_interval(kendall, len(x), ci))
    if clusters is not None and n_boot > 0:
        out.update(_cluster_intervals(x, y, ci, n_boot, seed, clusters))
        return out, [f"correlation intervals: cluster bootstrap over {clusters.max() + 1} clusters"]
    return out, []


def kappa_interval(
    x: np.ndarray,
    y: np.ndarray,
    labels: Sequence[Any] | np.ndarray,
    ci: float,
    n_boot: int,
    seed: int,
    clusters: np.ndarray | None = None,
) -> Stats:
    """Percentile bootstrap interval of Cohen's κ, over items or, with `clusters`, over
    whole clusters."""
    from sklearn.metrics import cohen_kappa_score

    if n_boot <= 0 or len(x) < 2:
        return {"kappa_low": NAN, "kappa_high": NAN}
    x, y, labels = _ranks(x, y, labels)
    draws = np.empty(n_boot)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b, idx in enumerate(resample_indices(len(x), n_boot, seed, clusters)):
            draws[b] = cohen_kappa_score(y[idx], x[idx], labels=labels)
    low, high, _ = percentile_interval(draws, ci)
    return {"kappa_low": low, "kappa_high": high}


def kappas(
    x: np.ndarray, y: np.ndarray, labels: Sequence[Any] | np.ndarray, ordered: bool
) -> tuple[Stats, list[str]]:
    """Cohen's κ unweighted, linear and quadratic (weights need an ordered scale), and MCC."""
    from sklearn.metrics import cohen_kappa_score, matthews_corrcoef

    out: Stats = {"kappa": NAN, "kappa_linear": NAN, "kappa_quadratic": NAN, "mcc": NAN}
    notes: list[str] = []
    if len(x) < 2:
        return out, [f"κ needs 2 or more paired items, have {len(x)}"]
    if _constant(np.concatenate([x, y])):
        return out, ["κ undefined: judge and humans give one and the same score everywhere"]
    x, y, labels = _ranks(x, y, labels)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["kappa"] = float(cohen_kappa_score(y, x, labels=labels))
        if ordered:
            for weights in ("linear", "quadratic"):
                value = cohen_kappa_score(y, x, labels=labels, weights=weights)
                out[f"kappa_{weights}"] = float(value)
        else:
            notes.append("weighted κ needs an ordered scale")
    if len(labels) == 2:
        out["mcc"] = float(matthews_corrcoef(y, x))
    return out, notes


def agreement_rates(
    x: np.ndarray, y_mean: np.ndarray, x_major: np.ndarray, y_major: np.ndarray, numeric: bool
) -> Stats:
    """Mean bias (judge − human mean), exact and within-one agreement with the majority."""
    out: Stats = {"bias": NAN, "exact": NAN, "within_one": NAN}
    if len(x_major):
        out["exact"] = float(np.mean(x_major == y_major))
    if numeric and len(x):
        out["bias"] = float(np.mean(x - y_mean))
    if numeric and len(x_major):
        gap = np.abs(x_major.astype(float) - y_major.astype(float))
        out["within_one"] = float(np.mean(gap <= 1))
    return out


def confusion(x: np.ndarray, y: np.ndarray, labels: Sequence[Any] | np.ndarray) -> list[list[int]]:
    """Counts with rows = human majority, columns = judge, in `labels` order."""
    from sklearn.metrics import confusion_matrix

    if len(x) == 0:
        return []
    with warnings.catch_warnings():
        # sklearn warns when one label is used throughout, even with `labels` given.
        warnings.simplefilter("ignore", UserWarning)
        x, y, ranks = _ranks(x, y, labels)
        return confusion_matrix(y, x, labels=ranks).tolist()


def _ranks(
    x: np.ndarray, y: np.ndarray, labels: Sequence[Any] | np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Each value as its category's rank in `labels`: sklearn takes fractional levels (0.5,
    1.5) for a continuous target and refuses them, and weighted κ weighs by rank anyway."""
    extra = sorted(set(np.concatenate([x, y]).tolist()) - set(labels))  # none in practice
    rank = {value: i for i, value in enumerate([*labels, *extra])}
    return np.array([rank[v] for v in x]), np.array([rank[v] for v in y]), list(rank.values())
