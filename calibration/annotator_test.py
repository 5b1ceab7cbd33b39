"""The alternative annotator test: may this judge replace a human annotator?

Calderon, N., Reichart, R. & Dror, R. (2025). *The Alternative Annotator Test for
LLM-as-a-Judge: How to Statistically Justify Replacing Human Annotators with LLMs.* ACL 2025.
The procedure follows the authors' reference code (github.com/nitaytech/AltTest,
`alt_test_example.ipynb`, function `alt_test`):

- items keep when the judge scored them and at least `min_humans` humans did (the left-out
  human counts);
- each human h in turn is left out; on each of h's items the judge and h are scored against the
  remaining humans (`accuracy`: share of equal labels; `neg_rmse`: minus the root mean squared
  difference), and W_f = 1 if the judge scores at least as well as h, W_h = 1 if h scores at
  least as well as the judge (a tie counts for both);
- ρ_f = mean W_f (the judge's advantage probability), ρ_h = mean W_h, and a one-sided one-sample
  t-test of d = W_h − W_f against ε (H0: mean d ≥ ε, `scipy.stats.ttest_1samp(..., "less")`);
- humans with fewer than `min_items` items are skipped; Benjamini–Yekutieli at level q across
  the tested humans; ω = share rejected; the judge passes at ω ≥ 0.5.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from calibration.errors import CalibrationError

__all__ = ["METRICS", "AltTestResult", "alt_test"]

METRICS = ("accuracy", "neg_rmse")
Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class AltTestResult:
    """ω (winning rate), the average advantage probability, the verdict, and per-human rows.

    `annotators` has one row per human: rater, n, rho_judge, rho_human, t, p_value, rejected,
    skipped (bool) and reason (why skipped, else ""). `notes` says what was dropped and why;
    `reason`, why the judge was not tested when no annotator could be (else "").
    """

    omega: float
    advantage: float
    passed: bool
    annotators: pd.DataFrame
    epsilon: float
    q: float
    metric: str
    notes: tuple[str, ...] = field(default=())
    reason: str = ""

    @property
    def tested(self) -> int:
        """How many annotators were tested (0: there is no verdict, only `reason`)."""
        return int((~self.annotators["skipped"]).sum()) if len(self.annotators) else 0

    @property
    def verdict(self) -> str:
        """The verdict: "passed", "failed", or "not tested" when no annotator could be: no
        evidence either way, never a failure."""
        return "passed" if self.passed else "failed" if self.tested else "not tested"

    def __str__(self) -> str:
        if not self.tested:
            return f"alt-test not tested: {self.reason}"
        return (
            f"alt-test {self.verdict}: ω = {self.omega:.2f}, advantage = {self.advantage:.2f} "
            f"({self.tested} annotator(s) tested, ε = {self.epsilon}, q = {self.q}, "
            f"{self.metric})"
        )


def _accuracy(pred: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Per item: the share of the remaining humans' labels equal to `pred` (codes, -1 = none)."""
    present = others >= 0
    return (present & (others == pred[:, None])).sum(axis=1) / present.sum(axis=1)


def _neg_rmse(pred: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Per item: minus the root mean squared difference from the remaining humans' scores."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows of NaN are masked out by callers
        return -np.sqrt(np.nanmean((pred[:, None] - others) ** 2, axis=1))


_SCORERS: dict[str, Scorer] = {"accuracy": _accuracy, "neg_rmse": _neg_rmse}


def _check(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> pd.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CalibrationError(f"{name} frame lacks column(s) {missing}; it needs {list(columns)}")
    df = frame[list(columns)].copy()
    df = df[df["score"].notna()]
    for column in columns[:-1]:
        df[column] = df[column].astype(str)
    repeated = df.duplicated(list(columns[:-1]), keep=False)
    if repeated.any():
        first = df[repeated].iloc[0]
        where = ", ".join(f"{c} {first[c]!r}" for c in columns[:-1])
        raise CalibrationError(f"{name} frame scores {where} more than once; give one score each")
    return df


def _matrix(
    judge: pd.DataFrame, humans: pd.DataFrame, metric: str
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The judge's scores and the items × humans matrix, on the judge's items (NaN / -1 = none)."""
    wide = humans.pivot(index="item", columns="rater", values="score")
    wide = wide.reindex(index=judge["item"].tolist())
    raters = [str(r) for r in wide.columns]
    if metric == "accuracy":
        # Labels compare as equal or not: code them jointly, -1 marking a missing rating.
        values = pd.unique(pd.concat([judge["score"], humans["score"]], ignore_index=True))
        lookup = {v: code for code, v in enumerate(values.tolist())}
        j = judge["score"].map(lookup).to_numpy(dtype=float)
        h = wide.map(lambda v: lookup.get(v, -1) if pd.notna(v) else -1).to_numpy(dtype=float)
        return j, h, raters
    try:
        j = pd.to_numeric(judge["score"]).to_numpy(dtype=float)
        h = wide.apply(pd.to_numeric).to_numpy(dtype=float)
    except (TypeError, ValueError) as err:
        raise CalibrationError(f"metric 'neg_rmse' needs numeric scores ({err})") from err
    return j, h, raters


def _rated(h: np.ndarray, metric: str) -> np.ndarray:
    return h >= 0 if metric == "accuracy" else ~np.isnan(h)


def _one_human(
    j: np.ndarray, h: np.ndarray, k: int, scorer: Scorer, metric: str, epsilon: float
) -> dict[str, Any]:
    rated = _rated(h, metric)
    rows = rated[:, k]
    mine = h[rows, k]
    others = np.delete(h[rows], k, axis=1)
    judge_score = scorer(j[rows], others)
    human_score = scorer(mine, others)
    w_f = (judge_score >= human_score).astype(float)
    w_h = (human_score >= judge_score).astype(float)
    d = w_h - w_f
    with warnings.catch_warnings():
        # A constant d has no variance: t is ±inf (p 0 or 1) or NaN, as in the authors' code.
        warnings.simplefilter("ignore", RuntimeWarning)
        test = stats.ttest_1samp(d, epsilon, alternative="less")
    return {
        "rho_judge": float(w_f.mean()),
        "rho_human": float(w_h.mean()),
        "t": float(test.statistic),
        "p_value": float(test.pvalue),
    }


def alt_test(
    judge: pd.DataFrame,
    humans: pd.DataFrame,
    *,
    epsilon: float = 0.2,
    q: float = 0.05,
    metric: str = "neg_rmse",
    min_humans: int = 2,
    min_items: int = 30,
) -> AltTestResult:
    """Run the alternative annotator test of one judge on one criterion.

    `judge`: columns item, score. `humans`: columns item, rater, score. `metric`: "accuracy"
    (binary / categorical labels) or "neg_rmse" (ordinal / continuous scores). `epsilon`: the
    cost-benefit margin (0.2 is the paper's advice for expert annotators; 0.1 for crowd
    workers). Skipped humans are listed with the reason; when no human could be tested, ω is
    NaN, `passed` is False and the verdict is "not tested", with the reason.
    """
    if metric not in _SCORERS:
        raise CalibrationError(f"unknown alt-test metric {metric!r}; use one of {list(METRICS)}")
    j_df = _check(judge, ("item", "score"), "judge")
    h_df = _check(humans, ("item", "rater", "score"), "humans")
    notes: list[str] = []
    unjudged = sorted(set(h_df["item"]) - set(j_df["item"]))
    if unjudged:
        notes.append(f"{len(unjudged)} human-rated item(s) have no judge score; left out")
    j_df = j_df[j_df["item"].isin(set(h_df["item"]))]
    j, h, raters = _matrix(j_df, h_df, metric)
    enough = _rated(h, metric).sum(axis=1) >= min_humans
    if (~enough).any():
        notes.append(
            f"{int((~enough).sum())} judged item(s) have fewer than {min_humans} human ratings; "
            "left out"
        )
    j, h = j[enough], h[enough]
    rows: list[dict[str, Any]] = []
    for k, rater in enumerate(raters):
        n = int(_rated(h, metric)[:, k].sum())
        row: dict[str, Any] = {"rater": rater, "n": n}
        if n < min_items:
            reason = f"{n} item(s) < {min_items}"
            rows.append({**row, "skipped": True, "reason": reason})
            notes.append(f"annotator {rater!r} skipped: {reason}")
            continue
        rows.append({**row, **_one_human(j, h, k, _SCORERS[metric], metric, epsilon)})
        rows[-1].update(skipped=False, reason="")
    return _verdict(rows, epsilon, q, metric, notes, min_items)


def _verdict(
    rows: list[dict[str, Any]],
    epsilon: float,
    q: float,
    metric: str,
    notes: list[str],
    min_items: int,
) -> AltTestResult:
    columns = ["rater", "n", "rho_judge", "rho_human", "t", "p_value", "rejected", "skipped"]
    table = pd.DataFrame(rows, columns=[*columns, "reason"])
    table["skipped"] = table["skipped"].astype(bool)
    tested = ~table["skipped"]
    table["rejected"] = False
    reason = ""
    if tested.any():
        # NaN p-values (undefined t-tests) still count in BY's m and are never rejected.
        p = table.loc[tested, "p_value"].fillna(1.0).to_numpy(dtype=float)
        adjusted = stats.false_discovery_control(p, method="by")
        table.loc[tested, "rejected"] = adjusted <= q
        omega = float(table.loc[tested, "rejected"].mean())
        advantage = float(table.loc[tested, "rho_judge"].mean())
    else:
        omega = advantage = float("nan")
        # How many each rated is in the notes above, annotator by annotator.
        reason = f"no annotator rated the {min_items} items each needs"
        notes.append(f"not tested: {reason}")
    table["rejected"] = table["rejected"].astype(bool)
    return AltTestResult(
        omega=omega,
        advantage=advantage,
        passed=bool(omega >= 0.5),
        annotators=table,
        epsilon=epsilon,
        q=q,
        metric=metric,
        notes=tuple(notes),
        reason=reason,
    )
