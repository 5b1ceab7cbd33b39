"""A probe's statistics per criterion: the mean score shift on the [0, 1] scale and in the
criterion's own units, its interval, and the verdict (the rule is in judge/study/probe.py).

Paired (length, order, injection): the percentile bootstrap interval of the mean of the
per-item differences, resampling items (`calibration.compare.paired_interval`, as `judge
compare` reports a drift; Efron & Tibshirani 1993, "An Introduction to the Bootstrap",
ch. 13). Unpaired (self): Welch's t interval of the difference of two means (scipy's
`ttest_ind(equal_var=False).confidence_interval`; Welch 1947, Biometrika 34:28-35), pinned in
tests/judge/study/test_probe.py to R's `t.test(extra ~ group, data = sleep)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from judge.aggregate.normalise import normalise
from judge.contracts import Criterion

__all__ = [
    "CI",
    "MIN_EFFECT",
    "N_BOOT",
    "Shift",
    "is_score",
    "paired_shift",
    "unpaired_shift",
    "verdict",
]

CI = 0.95
N_BOOT = 2000
# The smallest shift on the [0, 1] scale called a bias: a fifth of a level of a 1-5 scale
# (one level is 0.25), and 5 points of a yes/no criterion's rate.
MIN_EFFECT = 0.05


@dataclass(frozen=True)
class Shift:
    """One criterion's result. `shift`, `low`, `high`: on [0, 1] (1 the best answer);
    `*_units`: in the criterion's own scale (a higher level is +). `up`/`down`: items whose
    score rose/fell (paired kinds); `n_same`/`n_other`: the two groups of `self`."""

    criterion: str
    n: int
    shift: float
    low: float
    high: float
    shift_units: float
    low_units: float
    high_units: float
    verdict: str
    up: int | None = None
    down: int | None = None
    n_same: int | None = None
    n_other: int | None = None


def verdict(low: float, high: float, shift: float, min_effect: float) -> str:
    """ "biased": the interval excludes 0 and |shift| ≥ min_effect; "no bias": the interval
    lies within ±min_effect; else "inconclusive" (also when there is no interval)."""
    if math.isnan(low) or math.isnan(high):
        return "inconclusive"
    if (low > 0 or high < 0) and abs(shift) >= min_effect:
        return "biased"
    if -min_effect < low and high < min_effect:
        return "no bias"
    return "inconclusive"


def paired_shift(
    criterion: Criterion,
    pairs: list[tuple[dict[str, Any] | None, dict[str, Any] | None]],
    min_effect: float,
    seed: int,
) -> Shift:
    """The mean of treated − control over the items both scored (`pairs`: each item's two
    score mappings, None where the item was not judged)."""
    from calibration.compare import paired_interval

    raw = [
        (float(t[criterion.id]), float(c[criterion.id]))
        for t, c in pairs
        if t is not None
        and c is not None
        and is_score(t.get(criterion.id))
        and is_score(c.get(criterion.id))
    ]
    units = np.array([t - c for t, c in raw], dtype=float)
    unit = np.array([normalise(criterion, t) - normalise(criterion, c) for t, c in raw])
    items = np.arange(len(raw))
    # The same seed for both scales: the same resamples, so the two intervals agree.
    low, high = paired_interval(unit, items, CI, N_BOOT, seed)
    low_u, high_u = paired_interval(units, items, CI, N_BOOT, seed)
    shift = float(unit.mean()) if len(raw) else math.nan
    return Shift(
        criterion.id,
        len(raw),
        shift,
        low,
        high,
        float(units.mean()) if len(raw) else math.nan,
        low_u,
        high_u,
        verdict(low, high, shift, min_effect),
        up=int((units > 0).sum()),
        down=int((units < 0).sum()),
    )


def unpaired_shift(
    criterion: Criterion,
    scores: list[dict[str, Any] | None],
    same: list[bool],
    min_effect: float,
) -> Shift:
    """The mean score of the items where `same` is true minus that of the others."""
    groups: dict[bool, list[float]] = {True: [], False: []}
    for found, mine in zip(scores, same, strict=True):
        if found is not None and is_score(found.get(criterion.id)):
            groups[mine].append(float(found[criterion.id]))
    raw_same, raw_other = (np.array(groups[k], dtype=float) for k in (True, False))
    unit_same, unit_other = (
        np.array([normalise(criterion, v) for v in groups[k]]) for k in (True, False)
    )
    shift, low, high = _welch(unit_same, unit_other)
    shift_u, low_u, high_u = _welch(raw_same, raw_other)
    return Shift(
        criterion.id,
        len(raw_same) + len(raw_other),
        shift,
        low,
        high,
        shift_u,
        low_u,
        high_u,
        verdict(low, high, shift, min_effect),
        n_same=len(raw_same),
        n_other=len(raw_other),
    )


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """mean(a) − mean(b) and Welch's t interval (nan with fewer than two in a group)."""
    if len(a) < 2 or len(b) < 2:
        diff = float(a.mean() - b.mean()) if len(a) and len(b) else math.nan
        return diff, math.nan, math.nan
    diff = float(a.mean() - b.mean())
    if a.var() == 0 and b.var() == 0:
        # No spread in either group: the interval's width, t × standard error, is 0 (scipy
        # would return nan from its 0/0 degrees of freedom).
        return diff, diff, diff
    from scipy import stats

    interval = stats.ttest_ind(a, b, equal_var=False).confidence_interval(CI)
    return diff, float(interval.low), float(interval.high)


def is_score(value: Any) -> bool:
    """A finite number (not a bool, not a label): a score a shift can be taken of."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
