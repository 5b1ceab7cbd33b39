"""Many-rater coefficients besides α: Fleiss' κ and the six Shrout–Fleiss ICC forms, on the
designs real studies have, where each item is rated by a varying subset of a rater pool.

- **Fleiss' κ** needs each item's category counts, not who rated it. When every item has the
  same number of ratings it is Fleiss (1971), computed by `statsmodels.stats.inter_rater`
  (`aggregate_raters`, `fleiss_kappa`). When the number varies it is Gwet's generalisation
  (Gwet 2014, *Handbook of Inter-Rater Reliability*, 4th ed., §2.5; the "Fleiss' generalized
  kappa" of Gwet's irrCAC package). irrCAC 0.4.4 pins scipy 1.12 and pandas < 3, so it cannot be
  installed beside judge; its formula is a few lines, written here and pinned in the tests to
  values irrCAC printed. With a constant number of ratings the two formulas coincide.
- **ICC(1) and ICC(1,k)** are one-way: the only forms that fit rotating raters. With a varying
  number of ratings per item they use the unbalanced one-way ANOVA (k0 as the "average" number of
  ratings; Searle 1971, and McGraw & Wong 1996 for the forms), pinned in the tests against
  pingouin on complete designs and against formula code on incomplete ones.
- **ICC(2), ICC(3) and their k forms** are two-way (rater effects), so they need items rated by
  every rater: they use complete items only (pingouin's `intraclass_corr`), and say so.

Every coefficient reports how many items it used; a note says so when that is fewer than the
items with ratings.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["ICC_FORMS", "ManyRater", "fleiss", "icc"]

# Shrout & Fleiss (1979) names, in the row order pingouin reports them (ICC(1,1), ICC(A,1),
# ICC(C,1), ICC(1,k), ICC(A,k), ICC(C,k)): A = absolute agreement = case 2, C = consistency
# = case 3.
ICC_FORMS = ("icc1", "icc2", "icc3", "icc1k", "icc2k", "icc3k")
_ONE_WAY = ("icc1", "icc1k")


@dataclass
class ManyRater:
    """A coefficient (or the ICC forms) with the items it used and why it is undefined or
    rests on fewer items than were rated."""

    values: dict[str, float]
    n_items: int
    notes: list[str] = field(default_factory=list)

    @property
    def value(self) -> float:
        return next(iter(self.values.values()))

    @property
    def reason(self) -> str | None:
        return "; ".join(self.notes) or None


def _counts(matrix: np.ndarray) -> np.ndarray:
    """Items × categories: how many raters put each item in each category (rows with no
    rating dropped)."""
    rated = matrix[(~np.isnan(matrix)).any(axis=1)]
    categories = np.unique(rated[~np.isnan(rated)])
    return (rated[:, :, np.newaxis] == categories[np.newaxis, np.newaxis, :]).sum(axis=1)


def _gwet_fleiss(counts: np.ndarray) -> float:
    """Gwet's generalised Fleiss' κ (identity weights) from item × category counts: observed
    agreement over items with two or more ratings, chance agreement from the mean of each
    item's category shares over every rated item."""
    per_item = counts.sum(axis=1)
    two = per_item >= 2
    agree = (counts[two] * (counts[two] - 1)).sum(axis=1) / (per_item[two] * (per_item[two] - 1))
    pa = float(agree.mean())
    shares = (counts / per_item[:, np.newaxis]).mean(axis=0)
    pe = float((shares**2).sum())
    return (pa - pe) / (1 - pe)


def fleiss(matrix: np.ndarray) -> ManyRater:
    """Fleiss' κ of an items × raters matrix of category codes (NaN: not rated)."""
    from statsmodels.stats.inter_rater import fleiss_kappa

    out = ManyRater({"fleiss_kappa": float("nan")}, 0)
    if matrix.shape[1] < 2:
        out.notes.append("Fleiss' κ needs two or more raters")
        return out
    counts = _counts(matrix)
    per_item = counts.sum(axis=1)
    pairable = int((per_item >= 2).sum())
    if pairable < 2:
        out.notes.append("Fleiss' κ needs two items with two or more ratings")
        return out
    if counts.shape[1] < 2:
        out.notes.append("Fleiss' κ undefined: one category used throughout")
        return out
    out.n_items = len(counts)
    if len(np.unique(per_item)) == 1:
        out.values["fleiss_kappa"] = float(fleiss_kappa(counts, method="fleiss"))
    else:
        out.values["fleiss_kappa"] = _gwet_fleiss(counts)
        note = "Fleiss' κ generalised for a varying number of ratings per item"
        note += f" ({per_item.min()}–{per_item.max()}; Gwet 2014)"
        if pairable < len(counts):
            single = len(counts) - pairable
            note += f"; {single} item(s) with one rating enter chance agreement only"
        out.notes.append(note)
    return out


def _one_way(matrix: np.ndarray) -> tuple[dict[str, float], int]:
    """Unbalanced one-way random-effects ICC(1) and ICC(1,k) over items with ≥ 2 ratings."""
    rows = [r[~np.isnan(r)] for r in matrix]
    rows = [r for r in rows if len(r) >= 2]
    n = len(rows)
    k = np.array([len(r) for r in rows], dtype=float)
    total = k.sum()
    grand = float(np.concatenate(rows).mean())
    means = np.array([r.mean() for r in rows])
    msb = float((k * (means - grand) ** 2).sum() / (n - 1))
    msw = float(sum(((r - r.mean()) ** 2).sum() for r in rows) / (total - n))
    k0 = (total - (k**2).sum() / total) / (n - 1)
    icc1 = (msb - msw) / (msb + (k0 - 1) * msw)
    icc1k = (msb - msw) / msb
    return {"icc1": float(icc1), "icc1k": float(icc1k)}, n


def _two_way(complete: np.ndarray) -> dict[str, float]:
    import pingouin

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
    return dict(zip(ICC_FORMS, (float(v) for v in table["ICC"]), strict=True))


def icc(matrix: np.ndarray) -> ManyRater:
    """The six Shrout–Fleiss ICCs of an items × raters matrix (NaN: not rated): the one-way
    forms over every item with two or more ratings, the two-way forms on complete items."""
    out = ManyRater(dict.fromkeys(ICC_FORMS, float("nan")), 0)
    if matrix.shape[1] < 2:
        out.notes.append("ICC needs two or more raters")
        return out
    ratings = (~np.isnan(matrix)).sum(axis=1)
    pairable = matrix[ratings >= 2]
    if len(pairable) < 3:
        out.notes.append("ICC needs three items with two or more ratings")
        return out
    values = pairable[~np.isnan(pairable)]
    if len(np.unique(values)) < 2:
        out.notes.append("ICC undefined: every rating is the same")
        return out
    complete = matrix[ratings == matrix.shape[1]]
    if len(complete) == len(pairable):
        out.values.update(_two_way(complete))
        out.n_items = len(complete)
        return out
    one_way, out.n_items = _one_way(matrix)
    out.values.update(one_way)
    if len(complete) >= 3 and len(np.unique(complete)) >= 2:
        two_way = _two_way(complete)
        out.values.update({f: v for f, v in two_way.items() if f not in _ONE_WAY})
        out.notes.append(
            f"ICC(1) and ICC(1,k) one-way over {len(pairable)} items with a varying number of "
            f"raters; the two-way forms on the {len(complete)} items every rater rated"
        )
    else:
        out.notes.append(
            f"ICC(1) and ICC(1,k) one-way over {len(pairable)} items with a varying number of "
            f"raters; the two-way forms need three items every rater rated ({len(complete)})"
        )
    return out
