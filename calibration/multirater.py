"""Many-rater coefficients besides α: Fleiss' κ and the six Shrout–Fleiss ICC forms.

Fleiss' κ comes from `statsmodels.stats.inter_rater` (`aggregate_raters`, `fleiss_kappa`);
the ICCs from `pingouin.intraclass_corr`. Both need every rater to rate every item, so only
complete items are used (listwise deletion), and the count is reported.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

__all__ = ["ICC_FORMS", "fleiss", "icc"]

# Shrout & Fleiss (1979) names, in the row order pingouin reports them (ICC(1,1), ICC(A,1),
# ICC(C,1), ICC(1,k), ICC(A,k), ICC(C,k)): A = absolute agreement = case 2, C = consistency
# = case 3.
ICC_FORMS = ("icc1", "icc2", "icc3", "icc1k", "icc2k", "icc3k")


def _complete(matrix: np.ndarray) -> np.ndarray:
    return matrix[~np.isnan(matrix).any(axis=1)]


def fleiss(matrix: np.ndarray) -> tuple[float, str | None]:
    """Fleiss' κ of an items × raters matrix of category codes, on complete items."""
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    complete = _complete(matrix)
    if matrix.shape[1] < 2:
        return float("nan"), "Fleiss' κ needs two or more raters"
    if len(complete) < 2:
        return float("nan"), "Fleiss' κ needs two items rated by every rater"
    if len(np.unique(complete)) < 2:
        return float("nan"), "Fleiss' κ undefined: one category used throughout"
    table, _ = aggregate_raters(complete)
    return float(fleiss_kappa(table, method="fleiss")), None


def icc(matrix: np.ndarray) -> tuple[dict[str, float], str | None]:
    """The six Shrout–Fleiss ICCs of an items × raters matrix, on complete items."""
    import pingouin

    out = dict.fromkeys(ICC_FORMS, float("nan"))
    complete = _complete(matrix)
    if matrix.shape[1] < 2:
        return out, "ICC needs two or more raters"
    if len(complete) < 3:
        return out, "ICC needs three items rated by every rater"
    if len(np.unique(complete)) < 2:
        return out, "ICC undefined: every rating is the same"
    n_items, n_raters = complete.shape
    long = pd.DataFrame(
        {
            "item": np.repeat(np.arange(n_items), n_raters),
            "rater": np.tile(np.arange(n_raters), n_items),
            "score": complete.reshape(-1),
        }
    )
    with warnings.catch_warnings():
        # pingouin 0.7 trips pandas 3 deprecation warnings the user can do nothing about.
        warnings.simplefilter("ignore")
        table = pingouin.intraclass_corr(long, targets="item", raters="rater", ratings="score")
    return dict(zip(ICC_FORMS, (float(v) for v in table["ICC"]), strict=True)), None
