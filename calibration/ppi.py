"""Bias-corrected means of judge scores: prediction-powered inference (PPI / PPI++).

Angelopoulos, A. N., Bates, S., Fannjiang, C., Jordan, M. I. & Zrnic, T. (2023).
*Prediction-powered inference.* Science 382(6671). Power tuning: Angelopoulos, A. N., Duchi,
J. C. & Zrnic, T. (2023). *PPI++: Efficient Prediction-Powered Inference.* arXiv:2311.01453.
Sample sizes: Broska, D., Howes, M. & van Loon, A. (2024). *The Mixed Subjects Design.*

Computed by the authors' package `ppi-python` (`ppi_py`). The judge's scores on all judged
items are the predictions; the human scores on a subset are the gold labels. Items with a human
score are the labeled set (Y, Ŷ); the judged items without one are the unlabeled set, as PPI
assumes the two sets are disjoint. Intervals are the package's normal-approximation intervals.
The guarantee needs the rated items to be a random sample of the judged ones: clinicians who
rate the hard cases, or the cases the judge flagged, bias the estimate, unless the inclusion
probabilities are known. A routed queue (`judge route`) records them: with `weights` (item →
1/π), each rated item's rectifier Y − λŶ is weighted by its inverse inclusion probability and
the judge's term averages every judged item, rated ones included, which is the estimator of
Zrnic, T. & Candès, E. J. (2024). *Active Statistical Inference.* ICML 2024, arXiv:2403.03208
(ppi_py's `w=`, which rescales the weights to mean 1: the Hájek form of the weighted rectifier).
Its interval is ppi_py's, which adds the two terms' variances as if the rated items were not
also in the pool; seeded simulations of routed samples (tests/calibration/test_routing.py)
check that it still covers the pool's mean at least at its level.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

import numpy as np
import pandas as pd
from ppi_py import (
    classical_mean_ci,
    ppi_mean_ci,
    ppi_mean_pointestimate,
    ppi_mean_power,
)
from scipy import stats

from calibration.errors import CalibrationError

__all__ = ["PPIResult", "ppi_by", "ppi_mean", "ppi_paired_difference", "ppi_plan"]


@dataclass(frozen=True)
class PPIResult:
    """The corrected mean with its interval, beside the naive judge mean and the human-only one.

    `estimate` [`low`, `high`]: PPI(++) mean and interval. `naive`: the judge's mean over all
    judged items (biased when the judge is). `classical` [`classical_low`, `classical_high`]:
    the human-only mean and interval on the `n` labeled items. `N`: judged items without a
    human score (with routing weights: every judged item, the rated ones included).
    """

    estimate: float
    low: float
    high: float
    naive: float
    classical: float
    classical_low: float
    classical_high: float
    n: int
    N: int
    ci: float
    power_tuning: bool
    notes: tuple[str, ...] = field(default=())

    @property
    def width(self) -> float:
        return self.high - self.low

    @property
    def classical_width(self) -> float:
        return self.classical_high - self.classical_low

    def as_row(self) -> dict[str, float | int | str]:
        """The result as one row of a table (the notes joined)."""
        return {
            "estimate": self.estimate, "low": self.low, "high": self.high,
            "naive": self.naive, "classical": self.classical,
            "classical_low": self.classical_low, "classical_high": self.classical_high,
            "n": self.n, "N": self.N, "notes": "; ".join(self.notes),
        }  # fmt: skip


def _series(values: pd.Series, name: str) -> pd.Series:
    if not isinstance(values, pd.Series):
        raise CalibrationError(f"{name} must be a pandas Series indexed by item")
    values = values.dropna()
    if values.index.has_duplicates:
        first = values.index[values.index.duplicated()][0]
        raise CalibrationError(f"{name} holds item {first!r} more than once; give one score each")
    try:
        return pd.to_numeric(values).astype(float)
    except (TypeError, ValueError) as err:
        raise CalibrationError(f"{name} scores must be numeric ({err})") from err


class _Split(NamedTuple):
    labeled: pd.Index  # the items with both scores, in the order of y
    y: np.ndarray  # human scores on the labeled items
    yhat: np.ndarray  # the judge's on the same items
    unlabeled: np.ndarray  # the judge's on the items without a human score
    judged: np.ndarray  # the judge's on every judged item
    notes: list[str]


def _split(judge: pd.Series, human: pd.Series) -> _Split:
    """Y, Ŷ on the labeled items and Ŷ on the unlabeled ones, plus the notes."""
    judge, human = _series(judge, "judge"), _series(human, "human")
    notes = []
    unjudged = human.index.difference(judge.index)
    if len(unjudged):
        notes.append(f"{len(unjudged)} human-scored item(s) have no judge score; left out")
        human = human.drop(unjudged)
    if len(human) < 2:
        raise CalibrationError(
            f"PPI needs at least 2 judged items with a human score, got {len(human)}"
        )
    labeled = judge.index.isin(human.index)
    y = human.reindex(judge.index[labeled]).to_numpy()
    return _Split(
        judge.index[labeled],
        y,
        judge[labeled].to_numpy(),
        judge[~labeled].to_numpy(),
        judge.to_numpy(),
        notes,
    )


def ppi_mean(
    judge: pd.Series,
    human: pd.Series,
    *,
    ci: float = 0.95,
    power_tuning: bool = True,
    weights: pd.Series | None = None,
) -> PPIResult:
    """The prediction-powered mean of a score (a rate for 0/1 scores) with its `ci` interval.

    `judge`: the judge's score per item over all judged items; `human`: the human score on the
    rated subset, indexed by item (several raters: pass their mean). `power_tuning`: PPI++
    (λ chosen from the data, clipped to [0, 1]); False is plain PPI (λ = 1). `weights`: item →
    inverse inclusion probability 1/π of a routed sample (`calibration.load_route_weights`);
    every rated item needs one. The human-only figures are then weighted too.
    """
    if not 0 < ci < 1:
        raise CalibrationError(f"ci must be between 0 and 1, got {ci}")
    labeled, y, yhat, yhat_unlabeled, everything, notes = _split(judge, human)
    w = None
    if weights is not None:
        w = _weights_of(labeled, weights)
        queued = pd.Index(weights.dropna().index).intersection(pd.Index(judge.dropna().index))
        unrated = len(queued.difference(labeled))
        if unrated:  # their inclusion probability assumed they would be rated
            notes.append(
                f"{unrated} queued item(s) have no human score: the weights assume the "
                "whole queue is rated"
            )
        # Zrnic & Candès 2024: the judge's term is over the whole pool, whose rated part was
        # not a random sample (the unrated rest is not either).
        yhat_unlabeled = everything
        notes.append(
            "routed: rated items weighted by 1/inclusion probability; the judge term is over "
            "all N judged items"
        )
    elif len(yhat_unlabeled) == 0:
        raise CalibrationError("every judged item has a human score: there is nothing to correct")
    alpha = 1 - ci  # ppi_py's default alpha is 0.1 (a 90% interval): always pass ours.
    lam = None if power_tuning else 1.0
    estimate = ppi_mean_pointestimate(y, yhat, yhat_unlabeled, lam=lam, w=w)
    low, high = ppi_mean_ci(y, yhat, yhat_unlabeled, alpha=alpha, lam=lam, w=w)
    if w is None:
        classical = float(y.mean())
        c_low, c_high = classical_mean_ci(y, alpha=alpha)
    else:  # λ = 0 is the human-only mean, here with the same weights (ppi_py's docstring)
        classical = _scalar(ppi_mean_pointestimate(y, yhat, yhat_unlabeled, lam=0, w=w))
        c_low, c_high = ppi_mean_ci(y, yhat, yhat_unlabeled, alpha=alpha, lam=0, w=w)
    return PPIResult(
        estimate=_scalar(estimate),
        low=_scalar(low),
        high=_scalar(high),
        naive=float(everything.mean()),
        classical=classical,
        classical_low=_scalar(c_low),
        classical_high=_scalar(c_high),
        n=len(y),
        N=len(yhat_unlabeled),
        ci=ci,
        power_tuning=power_tuning,
        notes=tuple(notes),
    )


def _weights_of(items: pd.Index, weights: pd.Series) -> np.ndarray:
    """The routing weights of the rated `items`; every one must have a finite weight ≥ 1."""
    found = pd.to_numeric(weights, errors="coerce").reindex(items)
    missing = found.index[found.isna()]
    if len(missing):
        raise CalibrationError(
            f"{len(missing)} human-scored item(s) are not in the routed queue's weights (first: "
            f"{missing[0]!r}): rate only the queue's items, or leave out --weights"
        )
    if not np.isfinite(found).all() or (found < 1).any():
        raise CalibrationError("routing weights are 1/inclusion probability: finite, at least 1")
    return found.to_numpy(dtype=float)


def _scalar(value: object) -> float:
    return float(np.asarray(value).reshape(-1)[0])


def ppi_by(
    judge: pd.Series,
    human: pd.Series,
    by: pd.Series,
    *,
    ci: float = 0.95,
    power_tuning: bool = True,
    weights: pd.Series | None = None,
    estimator: Callable[[pd.Series, pd.Series], PPIResult] | None = None,
) -> pd.DataFrame:
    """`ppi_mean` over all items and per slice of `by` (item → slice, e.g. modality).

    One row per slice (slice "(all)" first); a slice too small for PPI has NaN figures and
    the reason in `notes`. `weights`: as for `ppi_mean`. `estimator(judge, human)`: another
    estimate than `ppi_mean` (clustered, stratified), applied to every slice alike.
    """
    slices = by.reindex(judge.index)
    mean = estimator or partial(ppi_mean, ci=ci, power_tuning=power_tuning, weights=weights)
    rows = [{"slice": "(all)", **mean(judge, human).as_row()}]
    for value in sorted(slices.dropna().unique(), key=str):
        items = slices.index[slices == value]
        try:
            result = mean(judge[items], human[human.index.isin(items)]).as_row()
        except CalibrationError as err:  # a small slice: said in its row, the others go on
            result = {"n": int(human.index.isin(items).sum()), "N": len(items), "notes": str(err)}
        rows.append({"slice": str(value), **result})
    return pd.DataFrame(rows)


def ppi_paired_difference(
    judge_a: pd.Series,
    judge_b: pd.Series,
    human_a: pd.Series,
    human_b: pd.Series,
    *,
    ci: float = 0.95,
    power_tuning: bool = True,
) -> PPIResult:
    """PPI of the mean difference a − b between two models' scores on the same cases.

    Items pair by index: the judge difference on cases both models' runs judged, the human
    difference on cases humans rated for both models.
    """
    judge = (_series(judge_a, "judge_a") - _series(judge_b, "judge_b")).dropna()
    human = (_series(human_a, "human_a") - _series(human_b, "human_b")).dropna()
    return ppi_mean(judge, human, ci=ci, power_tuning=power_tuning)


def _plan_one(judge: pd.Series, human: pd.Series, width: float, ci: float) -> dict[str, object]:
    _, y, yhat, _, everything, notes = _split(judge, human)
    z = float(stats.norm.ppf(0.5 + ci / 2))
    sigma = float(y.std())
    # A classical interval of this width needs n0 labels; PPI reaches the same width with fewer.
    n0 = (2 * z * sigma / width) ** 2
    row: dict[str, object] = {"n_pilot": len(y), "N": len(everything), "classical_needed": n0}
    if sigma == 0:
        return {**row, "ppi_corr": np.nan, "labels_needed": len(y), "reachable": True,
                "notes": "; ".join([*notes, "the pilot human scores are constant"])}  # fmt: skip
    if float(np.std(yhat)) == 0:
        # No correlation to use (ppi_mean_power's would be NaN): PPI++ tunes λ to 0 and
        # needs the labels a humans-only interval needs.
        needed = math.ceil(n0)
        notes.append("the judge's pilot scores are constant: PPI gains nothing over humans alone")
        return {**row, "ppi_corr": np.nan, "labels_needed": needed,
                "reachable": needed <= len(everything), "notes": "; ".join(notes)}  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        # The judge run is already paid for: predictions cost (almost) nothing, and the judged
        # items bound n + N, so the package's fixed-pool answer is the number of labels.
        plan = ppi_mean_power(
            y, yhat, cost_Y=1.0, cost_Yhat=1e-9, effective_n=n0, n_max=len(everything)
        )
    reachable = not any(issubclass(w.category, UserWarning) for w in caught)
    if not reachable:
        notes.append("the target width is out of reach even with every judged item labeled")
    return {**row, "ppi_corr": float(plan["ppi_corr"]), "labels_needed": int(plan["n"]),
            "reachable": reachable, "notes": "; ".join(notes)}  # fmt: skip


def ppi_plan(
    judge: pd.Series,
    human: pd.Series,
    width: float,
    *,
    ci: float = 0.95,
    by: pd.Series | None = None,
) -> pd.DataFrame:
    """How many human labels reach a `ci` interval of total `width`, from pilot labels.

    Uses the PPI correlation of the pilot data (Broska et al. 2024, as `ppi_py.ppi_mean_power`
    computes it) with the run's judged items as the pool. With `by`, one row per slice too:
    the labels that slice needs for its own interval to reach the width.
    """
    if width <= 0:
        raise CalibrationError(f"the target width must be positive, got {width}")
    rows = [{"slice": "(all)", **_plan_one(judge, human, width, ci)}]
    if by is not None:
        slices = by.reindex(judge.index)
        for value in sorted(slices.dropna().unique(), key=str):
            items = slices.index[slices == value]
            try:
                row = _plan_one(judge[items], human[human.index.isin(items)], width, ci)
            except CalibrationError as err:  # too few pilot labels in this slice: say so
                row = {"N": len(items), "notes": str(err)}
            rows.append({"slice": str(value), **row})
    return pd.DataFrame(rows)
