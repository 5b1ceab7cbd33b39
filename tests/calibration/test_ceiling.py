"""calibration.human_ceiling: HealthBench's leave-one-out pairwise agreement, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

import calibration
from calibration.errors import CalibrationError

# Three clinicians (A, B, C; C skipped i3) and a judge J, binary labels.
#        i1  i2  i3  i4
#   A     1   0   1   1
#   B     1   0   0   1
#   C     0   0   -   1
#   J     1   1   0   1
HUMANS = pd.DataFrame(
    [("i1", "A", 1), ("i1", "B", 1), ("i1", "C", 0), ("i2", "A", 0), ("i2", "B", 0),
     ("i2", "C", 0), ("i3", "A", 1), ("i3", "B", 0), ("i4", "A", 1), ("i4", "B", 1),
     ("i4", "C", 1)],
    columns=["item", "rater", "score"],
)  # fmt: skip
JUDGE = pd.DataFrame({"item": ["i1", "i2", "i3", "i4"], "score": [1, 1, 0, 1]})

# By hand, as healthbench_meta_eval.compute_metrics_for_rater_by_class counts pairs:
# J against all humans, 11 pairs (self, other):
#   i1 (1,1)(1,1)(1,0)  i2 (1,0)x3  i3 (0,1)(0,0)  i4 (1,1)x3
#   precision+ = 5/9 (self = 1), precision- = 1/2, recall+ = 5/6 (other = 1), recall- = 1/5
#   F1+ = 2/3, F1- = 2/7, balanced = 10/21
# A against B, C (7 pairs): P+ 3/5, P- 1, R+ 1, R- 1/2 -> F1+ 3/4, F1- 2/3 -> 17/24
# B against A, C (7 pairs): P+ 3/4, P- 2/3, R+ 3/4, R- 2/3 -> 17/24
# C against A, B (6 pairs): P+ 1, P- 1/2, R+ 1/2, R- 1 -> F1 2/3 each -> 2/3
# Cross-checked once (2026-12-01) with openai/simple-evals@ee3b0318 healthbench_meta_eval.py's
# compute_metrics_for_rater_by_class on this case: pairwise_*_f1_balanced 0.47619 (model),
# 0.70833 (A, B), 0.66667 (C).
EXPECTED = {
    "A": (17 / 24, 4, 7),
    "B": (17 / 24, 4, 7),
    "C": (2 / 3, 3, 6),
    "judge": (10 / 21, 4, 11),
}


def test_balanced_f1_matches_the_hand_computed_healthbench_case() -> None:
    table = calibration.human_ceiling(JUDGE, HUMANS)
    got = {r.rater: (r.value, r.n, r.pairs) for r in table.itertuples()}
    assert got.keys() == EXPECTED.keys()
    for rater, (value, n, pairs) in EXPECTED.items():
        assert got[rater][0] == pytest.approx(value, abs=1e-12)
        assert got[rater][1:] == (n, pairs)
    assert list(table["rater"]) == ["A", "B", "C", "judge"]
    assert list(table["rank"]) == [1, 1, 3, 4]
    assert table.attrs["judge_rank"] == 4 and table.attrs["n_humans"] == 3


def test_a_class_without_pairs_gives_nan_as_healthbench_gives_none() -> None:
    assert np.isnan(calibration.balanced_f1([1, 1], [1, 1]))
    assert calibration.balanced_f1([1, 0], [0, 1]) == 0.0  # both F1 are 0, not undefined


def test_ordinal_kappa_pools_the_same_pairs() -> None:
    humans = pd.DataFrame(
        [("i1", "A", 1), ("i1", "B", 2), ("i2", "A", 3), ("i2", "B", 3), ("i3", "A", 5),
         ("i3", "B", 4), ("i3", "C", 5), ("i4", "A", 2), ("i4", "C", 1)],
        columns=["item", "rater", "score"],
    )  # fmt: skip
    judge = pd.DataFrame({"item": ["i1", "i2", "i3", "i4"], "score": [2, 3, 4, 2]})
    table = calibration.human_ceiling(judge, humans, "kappa_quadratic").set_index("rater")
    # The judge's pairs, by hand: i1 (2,1)(2,2) i2 (3,3)(3,3) i3 (4,5)(4,4)(4,5) i4 (2,2)(2,1)
    mine, others = [2, 2, 3, 3, 4, 4, 4, 2, 2], [1, 2, 3, 3, 5, 4, 5, 2, 1]
    assert table.loc["judge", "value"] == pytest.approx(
        cohen_kappa_score(mine, others, weights="quadratic")
    )
    # A against B and C: i1 (1,2) i2 (3,3) i3 (5,4)(5,5) i4 (2,1)
    assert table.loc["A", "value"] == pytest.approx(
        cohen_kappa_score([1, 3, 5, 5, 2], [2, 3, 4, 5, 1], weights="quadratic")
    )
    alpha_table = calibration.human_ceiling(judge, humans, "alpha").set_index("rater")
    assert -1 <= alpha_table.loc["judge", "value"] <= 1


@pytest.mark.parametrize(
    ("judge", "metric", "message"),
    [
        (JUDGE.assign(score=[1, 2, 0, 1]), "balanced_f1", "judge has 2"),
        (JUDGE, "f1", "unknown ceiling metric 'f1'"),
    ],
)
def test_bad_input_is_refused(judge: pd.DataFrame, metric: str, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        calibration.human_ceiling(judge, HUMANS, metric)
