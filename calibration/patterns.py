"""Krippendorff's α from counts of rating patterns, in memory that does not grow with items.

A run of a million items scored by a three-judge panel on a 1–5 scale has at most 6³ distinct
rating patterns per criterion (5 levels or missing, per judge). α depends on the items only
through the coincidence matrix, a sum of per-item contributions, so counting patterns and
weighting each pattern's contribution gives exactly the α of the full table. The pieces are
the `krippendorff` package's own (through `calibration.bootstrap`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from calibration.bootstrap import alphas_from_coincidences, item_coincidences, value_counts
from calibration.errors import CalibrationError

__all__ = ["alpha_from_patterns"]


def alpha_from_patterns(
    patterns: Mapping[tuple[Any, ...], int], domain: Sequence[Any], level: str = "ordinal"
) -> float:
    """α of a table given as {rating pattern: number of items with it}.

    A pattern holds one score per rater (None = missing); every pattern has the same length.
    `domain` is the scale's levels in order (numbers, or labels for a nominal scale, which are
    coded by position). NaN when α is undefined (no pairable values, or no variation).
    """
    if not patterns:
        return float("nan")
    widths = {len(p) for p in patterns}
    if len(widths) != 1:
        raise CalibrationError("every rating pattern must have one score per rater")
    levels = list(domain)
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in levels)
    codes = {v: float(v) if numeric else float(i) for i, v in enumerate(levels)}
    values = np.asarray([codes[v] for v in levels], dtype=float)
    try:
        reliability = np.array(
            [[np.nan if s is None else codes[s] for s in p] for p in patterns], dtype=float
        ).T
    except KeyError as exc:
        raise CalibrationError(f"score {exc.args[0]!r} is not in the scale {levels}") from exc
    stack, inverse = item_coincidences(value_counts(reliability, values))
    weights = np.bincount(inverse, weights=list(patterns.values()), minlength=len(stack))
    o = np.tensordot(weights, stack, axes=1)
    return float(alphas_from_coincidences(o[np.newaxis], values, level)[0])
