"""The human ceiling: how well humans agree with each other, and where the judge stands.

As HealthBench's meta-evaluation computes it (Arora et al. 2025, *HealthBench: Evaluating
Large Language Models Towards Improved Human Health*; openai/simple-evals
`healthbench_meta_eval.py`, `compute_metrics_for_rater_by_class`): each human is scored
against the other humans on the same items (leave one out), the judge against all humans.

- Binary (`balanced_f1`): every (rater's label, other rater's label) pair on an item counts;
  precision of a class is the agreement over pairs where the rater said that class, recall
  over pairs where the other rater did; F1 per class (0 when precision and recall are both 0),
  and the two classes' F1 averaged.
- Ordinal (`kappa_quadratic`, `kappa_linear`, `alpha`) and continuous (`alpha_interval`): the
  same pooled pairs, scored by weighted Cohen's κ (scikit-learn) or Krippendorff's α (ordinal
  or interval level) over the pairs as units (`krippendorff`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

from calibration.errors import CalibrationError
from calibration.reliability import alpha

__all__ = ["CEILING_METRICS", "balanced_f1", "human_ceiling"]

CEILING_METRICS = ("balanced_f1", "kappa_quadratic", "kappa_linear", "alpha", "alpha_interval")


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    if precision == 0 and recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _share(agree: np.ndarray, where: np.ndarray) -> float | None:
    return float(agree[where].mean()) if where.any() else None


def balanced_f1(mine: Sequence[Any] | np.ndarray, others: Sequence[Any] | np.ndarray) -> float:
    """HealthBench's pairwise balanced F1 of label pairs (rater's, other's); 1/True = positive.

    NaN when a class's precision or recall has no pair (HealthBench's None).
    """
    a, b = np.asarray(mine, dtype=bool), np.asarray(others, dtype=bool)
    agree = a == b
    per_class = [
        _f1(_share(agree, a == label), _share(agree, b == label)) for label in (True, False)
    ]
    if per_class[0] is None or per_class[1] is None:
        return float("nan")
    return (per_class[0] + per_class[1]) / 2


def _pairs(mine: pd.Series, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """Every (mine, other) label pair on the items `mine` rated; and how many items had one."""
    others = table.reindex(mine.index)
    stacked = others.stack().dropna()  # pandas 3's stack keeps missing ratings: drop them
    items = stacked.index.get_level_values(0)
    return mine.loc[items].to_numpy(), stacked.to_numpy(), int(items.nunique())


def _score(a: np.ndarray, b: np.ndarray, metric: str, domain: Sequence[Any] | None) -> float:
    if len(a) == 0:
        return float("nan")
    if metric == "balanced_f1":
        return balanced_f1(a, b)
    if metric in ("kappa_quadratic", "kappa_linear"):
        if len(set(a) | set(b)) < 2:
            return float("nan")
        weights = "quadratic" if metric == "kappa_quadratic" else "linear"
        return float(cohen_kappa_score(a, b, weights=weights, labels=domain))
    pairs = pd.DataFrame({"self": a.astype(float), "peer": b.astype(float)})
    level = "interval" if metric == "alpha_interval" else "ordinal"
    return alpha(pairs, level=level, domain=domain, n_boot=0).value


def _binary(values: pd.Series, name: str) -> pd.Series:
    numeric = pd.to_numeric(values.map(lambda v: float(v) if isinstance(v, bool) else v),
                            errors="coerce")  # fmt: skip
    bad = values[~numeric.isin([0.0, 1.0])]
    if len(bad):
        raise CalibrationError(
            f"balanced_f1 needs binary scores (0/1 or true/false); {name} has {bad.iloc[0]}"
        )
    return numeric


def _numeric(values: pd.Series, name: str) -> pd.Series:
    numeric = pd.to_numeric(values, errors="coerce")
    bad = values[numeric.isna()]
    if len(bad):
        raise CalibrationError(f"{name} has a non-numeric score {bad.iloc[0]!r} for κ / α")
    return numeric.astype(float)


def human_ceiling(
    judge: pd.DataFrame,
    humans: pd.DataFrame,
    metric: str = "balanced_f1",
    *,
    name: str = "judge",
    domain: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Each human against the other humans, and the judge against all humans: one row each.

    `judge`: columns item, score. `humans`: columns item, rater, score. Returns rater, kind
    ("judge" / "human"), value, n (items with at least one other rating), pairs and rank
    (1 = highest value), sorted by value. ``attrs["judge_rank"]`` and ``attrs["n_humans"]``
    say where the judge stands. `domain`: the ordinal scale's levels (κ's labels, α's domain).
    """
    if metric not in CEILING_METRICS:
        raise CalibrationError(
            f"unknown ceiling metric {metric!r}; use one of {list(CEILING_METRICS)}"
        )
    for frame, columns, label in ((judge, ("item", "score"), "judge"),
                                  (humans, ("item", "rater", "score"), "humans")):  # fmt: skip
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise CalibrationError(f"{label} frame lacks column(s) {missing}")
    h = humans.dropna(subset=["score"]).astype({"item": str, "rater": str})
    j = judge.dropna(subset=["score"]).astype({"item": str})
    if h.duplicated(["item", "rater"]).any() or j["item"].duplicated().any():
        raise CalibrationError(
            "give one score per item and rater (collapse repeated samples first)"
        )
    if name in set(h["rater"]):
        raise CalibrationError(
            f"a human rater is named {name!r}, the judge's name; pass another name"
        )
    coerce = _binary if metric == "balanced_f1" else _numeric
    h = h.assign(score=coerce(h["score"], "humans"))
    j = j.assign(score=coerce(j["score"], "judge"))
    table = h.pivot(index="item", columns="rater", values="score")
    rows = []
    for rater in table.columns:
        a, b, n = _pairs(table[rater].dropna(), table.drop(columns=rater))
        rows.append({"rater": str(rater), "kind": "human", "value": _score(a, b, metric, domain),
                     "n": n, "pairs": len(a)})  # fmt: skip
    a, b, n = _pairs(j.set_index("item")["score"], table)
    rows.append({"rater": name, "kind": "judge", "value": _score(a, b, metric, domain), "n": n,
                 "pairs": len(a)})  # fmt: skip
    out = pd.DataFrame(rows).sort_values("value", ascending=False, kind="stable")
    out["rank"] = out["value"].rank(ascending=False, method="min").astype("Int64")
    out = out.reset_index(drop=True)
    out.attrs["judge_rank"] = out.loc[out["kind"] == "judge", "rank"].iloc[0]
    out.attrs["n_humans"] = len(table.columns)
    out.attrs["metric"] = metric
    return out
