"""The human–human table: each figure against an independent computation (itertools and
pandas here; statsmodels for Fleiss' κ on a complete design)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

import calibration
from tests.calibration.test_incomplete_designs import POOL, _long
from tests.calibration.test_published import FLEISS_1971


def test_pairwise_agreement_mae_and_pearson_on_an_incomplete_design() -> None:
    row = calibration.human_human(_long(POOL), levels={"q": "ordinal"}).iloc[0]
    agree = total = 0
    maes, rs = [], []
    for item in POOL:
        seen = item[~np.isnan(item)]
        for a, b in itertools.combinations(seen, 2):
            agree, total = agree + (a == b), total + 1
    wide = pd.DataFrame(POOL)
    for a, b in itertools.combinations(wide.columns, 2):
        both = wide[[a, b]].dropna()
        if len(both) >= 2:
            maes.append((both[a] - both[b]).abs().mean())
            if both[a].nunique() > 1 and both[b].nunique() > 1:
                rs.append(both[a].corr(both[b]))
    assert row["agree"] == pytest.approx(agree / total)
    assert row["mae"] == pytest.approx(np.mean(maes))
    assert row["pearson"] == pytest.approx(np.mean(rs))
    assert round(row["fleiss_kappa"], 5) == 0.65656  # irrCAC 0.4.4, as in test_incomplete_designs
    assert (row["n_humans"], row["n_items"], row["fleiss_kappa_n"]) == (6, 23, 24)
    assert -1 <= row["kappa_pairwise"] <= 1 and not np.isnan(row["alpha"])


def test_fleiss_1971_through_the_table_and_labels_as_text() -> None:
    names = {1: "depression", 2: "personality", 3: "schizophrenia", 4: "neurosis", 5: "other"}
    labelled = np.vectorize(names.get, otypes=[object])(FLEISS_1971.astype(int))
    rows = [
        (f"p{i}", "dx", f"psychiatrist{j}", "human", label)
        for i, labels in enumerate(labelled)
        for j, label in enumerate(labels)
    ]
    frame = pd.DataFrame(rows, columns=["item", "criterion", "rater", "rater_kind", "score"])
    row = calibration.human_human(frame, levels={"dx": "nominal"}).iloc[0]
    assert round(row["fleiss_kappa"], 3) == 0.430  # Fleiss (1971), Table 1: κ = .430
    assert np.isnan(row["mae"]) and np.isnan(row["pearson"])  # nominal: no distances


def test_judges_are_not_humans_and_one_human_is_said() -> None:
    frame = pd.DataFrame(
        [
            ("i1", "q", "h1", "human", 3),
            ("i2", "q", "h1", "human", 4),
            ("i1", "q", "j", "judge", 3),
        ],
        columns=["item", "criterion", "rater", "rater_kind", "score"],
    )
    row = calibration.human_human(frame).iloc[0]
    assert row["n_humans"] == 1 and "one human" in row["notes"]
    with pytest.raises(calibration.CalibrationError, match="no human scores"):
        calibration.human_human(frame[frame["rater_kind"] == "judge"])
