"""Krippendorff's α with a seeded bootstrap confidence interval over items."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import krippendorff
import numpy as np
import pandas as pd

from calibration.bootstrap import (
    as_level,
    cluster_codes,
    fast_bootstrap,
    percentile_interval,
    value_counts,
)
from calibration.data import to_wide
from calibration.errors import CalibrationError
from calibration.levels import LEVELS

__all__ = ["LEVELS", "AlphaResult", "Coded", "Domain", "alpha", "numeric_matrix"]

# A scale's levels in order: a list, or an array of numbers.
Domain = Sequence[Any] | np.ndarray


@dataclass(frozen=True)
class AlphaResult:
    """α, its bootstrap interval, and what it rests on; `reason` says why α is NaN."""

    value: float
    low: float
    high: float
    n_items: int
    n_raters: int
    level: str
    ci: float
    n_boot: int
    n_boot_valid: int = 0
    reason: str | None = None

    def __str__(self) -> str:
        if self.reason and np.isnan(self.value):
            return f"α undefined: {self.reason}"
        return (
            f"α = {self.value:.3f} [{self.low:.3f}, {self.high:.3f}] ({self.level}, "
            f"{self.n_items} items, {self.n_raters} raters)"
        )


def _undefined(level: str, ci: float, n_boot: int, n_items: int, n_raters: int, reason: str):
    nan = float("nan")
    return AlphaResult(nan, nan, nan, n_items, n_raters, level, ci, n_boot, 0, reason)


def _as_wide(data: Any) -> pd.DataFrame:
    if isinstance(data, np.ndarray):
        return pd.DataFrame(data)
    if not isinstance(data, pd.DataFrame):
        raise CalibrationError("data must be a pandas DataFrame (wide or long) or a 2-D array")
    if {"item", "rater", "score"} <= set(data.columns):
        long = data if "criterion" in data.columns else data.assign(criterion="score")
        wide = to_wide(long)
    else:
        wide = data.set_index("item") if "item" in data.columns else data
    # Resamples draw item positions: a fixed item order makes the interval depend on the
    # data and the seed only, not on how the table happened to be sorted.
    return wide.sort_index(key=lambda index: index.astype(str))


class Coded(NamedTuple):
    """Scores as an items × raters float matrix over an ordered value domain."""

    matrix: np.ndarray
    values: np.ndarray  # the domain as numbers (codes for text labels)
    labels: list[Any]  # the domain as the user wrote it
    problem: str | None  # why the scores cannot be used at this level, or None


def _unusable(problem: str) -> Coded:
    return Coded(np.empty((0, 0)), np.empty(0), [], problem)


def _code_labels(values: np.ndarray, domain: Domain | None) -> Coded:
    # Text labels (categorical scales) are coded by their position in the scale.
    missing = pd.isna(values)
    present = {str(v) for v in values[~missing]}
    labels = [str(v) for v in domain] if domain is not None else sorted(present)
    unknown = sorted(present - set(labels))
    if unknown:
        return _unusable(f"scores {unknown[:3]} are not in the scale {labels}")
    codes = {label: float(i) for i, label in enumerate(labels)}
    matrix = np.full(values.shape, np.nan)
    matrix[~missing] = [codes[str(v)] for v in values[~missing]]
    return Coded(matrix, np.arange(len(labels), dtype=float), labels, None)


def numeric_matrix(wide: pd.DataFrame, level: str, domain: Domain | None = None) -> Coded:
    """Code a wide table for α: numbers as they are, nominal text labels by scale position.

    Text at the ordinal, interval or ratio level, and scores outside `domain`, make the
    table unusable; `problem` then says why.
    """
    values = wide.to_numpy(dtype=object)
    missing = pd.isna(values)
    text = sorted({str(v) for v in values[~missing] if isinstance(v, str)})
    if text and level != "nominal":
        return _unusable(f"non-numeric scores {text[:3]} cannot be used at the {level} level")
    if text or (domain is not None and any(isinstance(v, str) for v in domain)):
        return _code_labels(values, domain)
    matrix = np.where(missing, np.nan, values).astype(float)
    observed = np.unique(matrix[~np.isnan(matrix)])
    if domain is None:
        return Coded(matrix, observed, [float(v) for v in observed], None)
    full = np.asarray(domain, dtype=float)
    outside = sorted(set(observed.tolist()) - set(full.tolist()))
    if outside:
        return _unusable(f"scores {outside[:3]} are outside the scale {list(domain)}")
    return Coded(matrix, full, list(domain), None)


def alpha(
    data: pd.DataFrame | np.ndarray,
    level: str = "ordinal",
    ci: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    domain: Domain | None = None,
    clusters: Sequence[Any] | np.ndarray | None = None,
) -> AlphaResult:
    """Krippendorff's α of `data` with a percentile bootstrap interval over items.

    `data`: a wide DataFrame (rows = items, columns = raters, NaN = missing), a long one
    (item, rater, score; one criterion), or an items × raters array. `level`: nominal,
    ordinal, interval or ratio. `domain`: the scale's levels in order, when known. The point
    estimate is `krippendorff.alpha`; resampling draws items with replacement (seeded), or
    with `clusters` (a label per row of `data`: the case) whole clusters, so that items of one
    case stay together.
    Undefined cases give NaN with a `reason` instead of an error.
    """
    if level not in LEVELS:
        raise CalibrationError(f"level must be one of {LEVELS}, got {level!r}")
    if not 0 < ci < 1:
        raise CalibrationError(f"ci must be between 0 and 1, got {ci}")
    wide = _as_wide(data)
    matrix, values, _, problem = numeric_matrix(wide, level, domain)
    if problem:
        return _undefined(level, ci, n_boot, 0, 0, problem)
    pairable = (~np.isnan(matrix)).sum(axis=1) >= 2
    matrix = matrix[pairable]
    if clusters is not None and len(clusters) != len(pairable):
        raise CalibrationError(f"clusters: {len(clusters)} labels for {len(pairable)} items")
    codes = (
        None if clusters is None else cluster_codes(np.asarray(clusters, dtype=object)[pairable])
    )
    n_items = int(pairable.sum())
    n_raters = int((~np.isnan(matrix)).any(axis=0).sum())
    if wide.shape[1] < 2:
        return _undefined(level, ci, n_boot, n_items, n_raters, "fewer than two raters")
    if n_items == 0:
        return _undefined(level, ci, n_boot, 0, n_raters, "no item was rated by two raters")
    if len(np.unique(matrix[~np.isnan(matrix)])) < 2:
        reason = "all ratings are identical, so there is no variation to agree on"
        return _undefined(level, ci, n_boot, n_items, n_raters, reason)
    reliability = matrix.T  # krippendorff wants raters × items
    kind = as_level(level)
    value = float(krippendorff.alpha(reliability, value_domain=values, level_of_measurement=kind))
    if n_boot <= 0:
        nan = float("nan")
        return AlphaResult(value, nan, nan, n_items, n_raters, level, ci, 0)
    counts = value_counts(reliability, values)
    boots = fast_bootstrap(counts, values, level, n_boot, seed, codes)
    low, high, n_valid = percentile_interval(boots, ci)
    return AlphaResult(value, low, high, n_items, n_raters, level, ci, n_boot, n_valid)
