"""The humans' own agreement, per criterion: what the alt-test paper's Table 1 reports for its
annotators (Calderon, Reichart & Dror, ACL 2025), beside Krippendorff's α.

Humans' agreement belongs beside every judge–human figure: a judge cannot be asked to agree with
people better than they agree with each other. The paper's definitions, as its Table 1 caption
words them: "the proportion of pairwise agreements between human annotators (Agree) and Fleiss's
κ" for discrete tasks; "the mean absolute error between annotators (MAE) and the average Pearson
correlation" for continuous ones; I.p.A and A.p.I are items per annotator and annotators per item.
Its code does not hold these computations; the readings chosen here (Agree: the share of agreeing
rater pairs over every item's pairs; MAE and Pearson: means over rater pairs of their co-rated
items) are the ones that reproduce its published values (examples/alttest_table1.py).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from calibration.data import collapse_repeats, normalize_long, to_wide
from calibration.errors import CalibrationError
from calibration.levels import level_of
from calibration.multirater import fleiss
from calibration.reliability import alpha, numeric_matrix

__all__ = ["human_human"]

# A rater pair enters the pairwise means when it shares two items (a Pearson correlation needs
# two); with 3 the paper's 10k Prompts MAE (0.84) is not reproduced (0.87).
MIN_SHARED = 2


def _pairs(matrix: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each rater pair's co-rated scores (pairs sharing fewer than MIN_SHARED items dropped)."""
    out = []
    for a, b in itertools.combinations(range(matrix.shape[1]), 2):
        both = ~np.isnan(matrix[:, a]) & ~np.isnan(matrix[:, b])
        if both.sum() >= MIN_SHARED:
            out.append((matrix[both, a], matrix[both, b]))
    return out


def _pair_agreement(matrix: np.ndarray) -> float:
    """The share of agreeing rater pairs, over every pair of ratings of every item."""
    agree = total = 0
    for row in matrix:
        values = row[~np.isnan(row)]
        if len(values) < 2:
            continue
        same = values[:, None] == values[None, :]
        agree += int((same.sum() - len(values)) // 2)
        total += len(values) * (len(values) - 1) // 2
    return agree / total if total else float("nan")


def _mean_over_pairs(pairs: list[tuple[np.ndarray, np.ndarray]], stat: str) -> float:
    from scipy.stats import pearsonr
    from sklearn.metrics import cohen_kappa_score

    values = []
    for a, b in pairs:
        if stat == "mae":
            values.append(float(np.abs(a - b).mean()))
        elif len(np.unique(a)) > 1 and len(np.unique(b)) > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if stat == "pearson":
                    values.append(float(pearsonr(a, b).statistic))
                else:  # categories as codes: sklearn refuses fractional levels (0.25, 0.5)
                    _, codes = np.unique(np.concatenate([a, b]), return_inverse=True)
                    values.append(float(cohen_kappa_score(codes[: len(a)], codes[len(a) :])))
    return float(np.mean(values)) if values else float("nan")


def _criterion_row(long: pd.DataFrame, level: str, domain: Any) -> dict[str, Any]:
    humans = sorted(long["rater"].unique())
    wide = to_wide(long, raters=humans)
    matrix, values, _labels, problem = numeric_matrix(wide, level, domain)
    rated = (~np.isnan(matrix)).sum(axis=1)
    row: dict[str, Any] = {
        "level": level,
        "n_humans": len(humans),
        "n_items": int((rated >= 2).sum()),
        "items_per_human": float((~np.isnan(matrix)).sum(axis=0).mean()),
        "humans_per_item": float(rated[rated > 0].mean()) if (rated > 0).any() else np.nan,
    }
    notes: list[str] = [problem] if problem else []
    discrete = level != "interval"
    numeric = level != "nominal"
    pairs = _pairs(matrix) if not problem else []
    row["agree"] = _pair_agreement(matrix) if discrete and not problem else np.nan
    row["kappa_pairwise"] = _mean_over_pairs(pairs, "kappa") if discrete else np.nan
    row["mae"] = _mean_over_pairs(pairs, "mae") if numeric else np.nan
    row["pearson"] = _mean_over_pairs(pairs, "pearson") if numeric else np.nan
    row["n_pairs"] = len(pairs)
    row["fleiss_kappa"], row["fleiss_kappa_n"] = np.nan, 0
    if discrete and not problem:
        result = fleiss(matrix)
        row["fleiss_kappa"], row["fleiss_kappa_n"] = result.value, result.n_items
        notes.extend(result.notes)
    a = alpha(matrix, level, n_boot=0, domain=values) if not problem else None
    row["alpha"] = a.value if a is not None else np.nan
    if a is not None and a.reason:
        notes.append(a.reason)
    if len(humans) < 2:
        notes.append("one human: no agreement to measure")
    row["notes"] = "; ".join(notes)
    return row


def human_human(
    long_df: pd.DataFrame,
    levels: Mapping[str, str] | None = None,
    domains: Mapping[str, Any] | None = None,
    default_level: str = "ordinal",
) -> pd.DataFrame:
    """The humans' agreement with each other, one row per criterion: pairwise raw agreement
    (`agree`), mean pairwise Cohen's κ, MAE and Pearson, Fleiss' κ (with the items it used) and
    Krippendorff's α. Judges' rows in `long_df` are ignored."""
    long = normalize_long(long_df)
    long = long[long["rater_kind"] == "human"]
    if long.empty:
        raise CalibrationError("no human scores: the human–human table needs them")
    rows = []
    for criterion, sub in long.groupby("criterion", sort=True):
        level = level_of((levels or {}).get(str(criterion), default_level))
        sub, _ = collapse_repeats(sub, level)
        row = _criterion_row(sub, level, (domains or {}).get(str(criterion)))
        rows.append({"criterion": criterion, **row})
    return pd.DataFrame(rows)
