"""Dawid–Skene pinned to crowd-kit 1.4.2's `DawidSkene` on a synthetic panel (the values below
were printed by crowd-kit in a venv of its own: `DawidSkene(n_iter=100, tol=1e-5).fit(data)`
with task/worker/label columns; crowd-kit cannot be a dependency, see calibration/latent.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calibration.errors import CalibrationError
from calibration.latent import dawid_skene, error_correlation, mace

# 40 items × 4 judges of falling accuracy (0.9, 0.75, 0.6, 0.45); "." = not labelled.
ROWS = [
    "a..a", "aaa.", "bbbc", "bbb.", "ccc.", "aaab", "a.aa", "aa.a", "a.a.", "acaa",
    "aa.a", "ccbc", "aaaa", "aaa.", "b.aa", "aa.b", "cc.c", "ccc.", "aaaa", "bbb.",
    "acca", "bbcc", "aaaa", "ccc.", "bbb.", "a.a.", "aaaa", "bbb.", "aa.c", "cccc",
    "abcc", "aaac", "aaaa", "abcb", ".a.b", "aaaa", "..b.", "aaa.", "a.bc", "bbbb",
]  # fmt: skip


def _panel() -> pd.DataFrame:
    rows = [
        (f"i{i:02d}", f"j{j}", c)
        for i, row in enumerate(ROWS)
        for j, c in enumerate(row)
        if c != "."
    ]
    return pd.DataFrame(rows, columns=["item", "rater", "score"])


def test_dawid_skene_matches_crowd_kit() -> None:
    result = dawid_skene(_panel())
    # crowd-kit: len(loss_history_) == 8; labels_ in item order; priors_; probas_ rows.
    assert result.n_iter == 8
    assert "".join(result.labels) == "aabbcaaaaaacaaaaccabcbacbaabacbaabaababb"
    assert result.priors.round(6).to_dict() == {"a": 0.549529, "b": 0.268383, "c": 0.182088}
    assert result.probas.loc["i00"].round(6).to_dict() == {"a": 0.981132, "b": 0.0, "c": 0.018868}
    # crowd-kit's errors_.loc["j3"]: answered (rows) × true (columns).
    assert result.confusion["j3"].round(6).to_dict("index") == {
        "a": {"a": 0.705556, "b": 0.0, "c": 0.247075},
        "b": {"a": 0.176666, "b": 0.33926, "c": 0.0},
        "c": {"a": 0.117777, "b": 0.66074, "c": 0.752925},
    }


def test_the_worst_judge_gets_the_least_diagonal_confusion() -> None:
    confusion = dawid_skene(_panel()).confusion
    diagonal = {j: float(np.trace(m.to_numpy())) / 3 for j, m in confusion.items()}
    assert min(diagonal, key=diagonal.__getitem__) == "j3"  # accuracy 0.45 by construction
    assert all(v > 0.75 for j, v in diagonal.items() if j != "j3")


def test_bad_panels_are_refused() -> None:
    panel = _panel()
    with pytest.raises(CalibrationError, match="two or more raters"):
        dawid_skene(panel[panel["rater"] == "j0"])
    with pytest.raises(CalibrationError, match="twice"):
        dawid_skene(pd.concat([panel, panel.head(1)]))
    with pytest.raises(CalibrationError, match="columns"):
        dawid_skene(panel.rename(columns={"score": "label"}))


def test_judges_that_make_the_same_mistakes_correlate() -> None:
    truth = pd.Series(list("aabbccaabbcc"), index=[f"i{i}" for i in range(12)])
    twin = list("abbbccabbbca")  # wrong on i1, i6, i11
    other = list("aabcccaabbbc")  # wrong on i3, i10
    judges = pd.DataFrame({"x": twin, "y": twin, "z": other}, index=truth.index)
    corr = error_correlation(judges, truth)
    assert corr.loc["x", "y"] == pytest.approx(1.0)
    assert corr.loc["x", "z"] < 0


def test_mace_matches_crowd_kit_on_sorted_data() -> None:
    # crowd-kit 1.4.2 `MACE().fit(data)` (defaults: vb, 50 iterations, seed 0), data sorted by
    # worker then task so that its first-appearance numbering is the sorted one.
    result = mace(_panel())
    assert "".join(result.labels) == "aabbcaaaaaacaaaaccabcbacbaabaccaabaababb"
    assert result.probas.loc["i02"].round(6).to_dict() == {
        "a": 0.000149,
        "b": 0.999325,
        "c": 0.000526,
    }
    assert result.probas.loc["i33"].round(6).to_dict() == {
        "a": 0.090931,
        "b": 0.818357,
        "c": 0.090712,
    }
    # crowd-kit's spamming_ rows (spams, knows): j0 [0.169986, 0.817198], j3 [0.511998, 0.469991]
    assert result.competence is not None
    assert result.competence["j0"] == pytest.approx(0.817198 / (0.169986 + 0.817198), abs=1e-6)
    assert result.competence["j3"] == pytest.approx(0.469991 / (0.511998 + 0.469991), abs=1e-6)
    for matrix in result.confusion.values():
        assert np.allclose(matrix.sum(axis=0), 1.0)
