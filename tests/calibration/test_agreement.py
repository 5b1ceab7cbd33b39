"""`calibration.agreement` and `calibrate_files`: the per-criterion, per-judge table."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import calibration

LEVELS = {"evidence_grounding": "ordinal", "hallucination": "binary"}


def _long(rows: list[tuple[str, str, str, str, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["item", "criterion", "rater", "rater_kind", "score"])


@pytest.fixture
def table(results_file: Path, human_file: Path) -> pd.DataFrame:
    return calibration.calibrate_files(results_file, human_file, levels=LEVELS, n_boot=200)


def test_one_row_per_criterion_and_judge_plus_panel(table: pd.DataFrame) -> None:
    keys = list(zip(table["criterion"], table["judge"], strict=True))
    assert keys == [
        ("evidence_grounding", "judge-a"),
        ("evidence_grounding", "judge-b"),
        ("evidence_grounding", "panel"),
        ("hallucination", "judge-a"),
    ]
    assert (table["n_items"] == 28).all()
    assert (table["n_humans"] == 3).all()
    assert table.attrs["notes"][0] == "3 unscored judgment(s) skipped"
    assert any("2 judged item(s) have no human score" in n for n in table.attrs["notes"])


def test_a_good_judge_beats_a_backwards_one(table: pd.DataFrame) -> None:
    rows = table.set_index(["criterion", "judge"])
    good = rows.loc[("evidence_grounding", "judge-a")]
    bad = rows.loc[("evidence_grounding", "judge-b")]
    assert good["spearman"] > 0.7 and bad["spearman"] < -0.7
    assert good["spearman_low"] < good["spearman"] < good["spearman_high"]
    assert good["kendall_low"] < good["kendall"] < good["kendall_high"]
    assert good["pearson_low"] < good["pearson"] < good["pearson_high"]
    assert good["kappa_quadratic"] > good["kappa"] > bad["kappa"]
    assert good["alpha_with_judge"] > bad["alpha_with_judge"]
    assert good["alpha_humans_low"] < good["alpha_humans"] < good["alpha_humans_high"]
    # The panel of a good and a backwards judge: α among the judges is negative.
    assert good["alpha_judges"] < 0
    for form in ("icc1", "icc2", "icc3", "icc1k", "icc2k", "icc3k"):
        assert -1 <= good[f"{form}_humans"] <= 1
    assert sum(map(sum, good["confusion"])) <= 28


def test_binary_criterion_is_nominal_with_mcc(table: pd.DataFrame) -> None:
    row = table.set_index(["criterion", "judge"]).loc[("hallucination", "judge-a")]
    assert row["level"] == "nominal"
    assert -1 <= row["mcc"] <= 1 and -1 <= row["kappa"] <= 1
    assert math.isnan(row["spearman"]) and math.isnan(row["icc1_humans"])
    assert not math.isnan(row["fleiss_kappa_humans"])
    assert row["labels"] == [0, 1]


def test_a_judge_equal_to_the_human_majority_agrees_perfectly() -> None:
    rows = []
    for i, (a, b, c) in enumerate([(1, 1, 2), (2, 2, 2), (3, 3, 4), (4, 4, 4), (5, 5, 5)]):
        rows += [(f"i{i}", "q", "h1", "human", a), (f"i{i}", "q", "h2", "human", b)]
        rows += [(f"i{i}", "q", "h3", "human", c), (f"i{i}", "q", "llm", "judge", a)]
    row = calibration.agreement(_long(rows), n_boot=50).iloc[0]
    assert (row["kappa"], row["kappa_quadratic"], row["exact"], row["within_one"]) == (1, 1, 1, 1)
    assert row["confusion"] == np.diag([1, 1, 1, 1, 1]).tolist()
    assert row["bias"] == pytest.approx(-2 / 15)  # the judge is the majority, not the mean


def test_ties_in_the_human_majority_are_left_out_and_reported() -> None:
    rows = [("a", "q", "h1", "human", 1), ("a", "q", "h2", "human", 2),
            ("a", "q", "llm", "judge", 1), ("b", "q", "h1", "human", 3),
            ("b", "q", "h2", "human", 3), ("b", "q", "llm", "judge", 3),
            ("c", "q", "h1", "human", 4), ("c", "q", "h2", "human", 4),
            ("c", "q", "llm", "judge", 4)]  # fmt: skip
    row = calibration.agreement(_long(rows), n_boot=0).iloc[0]
    assert "1 item(s) with tied human majority" in row["notes"]
    assert sum(map(sum, row["confusion"])) == 2


def test_human_only_criterion_gives_one_row() -> None:
    rows = [(i, "q", r, "human", s) for i, r, s in
            [("a", "h1", 1), ("a", "h2", 2), ("b", "h1", 3), ("b", "h2", 3), ("c", "h1", 5),
             ("c", "h2", 4)]]  # fmt: skip
    table = calibration.agreement(_long(rows), n_boot=100)
    assert len(table) == 1 and table["judge"].iloc[0] is None
    assert table["alpha_humans"].iloc[0] > 0.5


def test_undefined_statistics_say_why() -> None:
    rows = []
    for i in range(4):
        rows += [(f"i{i}", "q", "h1", "human", 3), (f"i{i}", "q", "h2", "human", 3)]
        rows += [(f"i{i}", "q", "llm", "judge", 3)]
    row = calibration.agreement(_long(rows), n_boot=50).iloc[0]
    assert math.isnan(row["alpha_humans"]) and math.isnan(row["kappa"])
    assert "all ratings are identical" in row["notes"]
    assert "same score" in row["notes"]


def test_non_numeric_ordinal_scores_are_reported_not_guessed() -> None:
    rows = [("a", "q", "h1", "human", "good"), ("a", "q", "llm", "judge", 3)]
    row = calibration.agreement(_long(rows)).iloc[0]
    assert "non-numeric scores ['good']" in row["notes"]
    assert "alpha_humans" not in row or math.isnan(row["alpha_humans"])


def test_categorical_labels_at_the_nominal_level() -> None:
    labels = ["benign", "malignant", "normal"]
    rows = []
    for i, (h, j) in enumerate(zip(labels * 3, labels * 2 + labels[::-1], strict=True)):
        rows += [(f"i{i}", "dx", "h1", "human", h), (f"i{i}", "dx", "h2", "human", h)]
        rows += [(f"i{i}", "dx", "llm", "judge", j)]
    row = calibration.agreement(
        _long(rows), levels={"dx": "categorical"}, domains={"dx": labels}, n_boot=50
    ).iloc[0]
    assert row["labels"] == labels and row["alpha_humans"] == 1.0
    assert row["exact"] == pytest.approx(7 / 9)
    assert math.isnan(row["kappa_linear"])  # no order, no weights


def test_repeated_samples_are_collapsed() -> None:
    rows = [("a", "q", "h1", "human", 1), ("a", "q", "h2", "human", 1),
            ("b", "q", "h1", "human", 4), ("b", "q", "h2", "human", 5),
            ("a", "q", "llm", "judge", 1), ("a", "q", "llm", "judge", 2),
            ("b", "q", "llm", "judge", 5)]  # fmt: skip
    row = calibration.agreement(_long(rows), n_boot=0).iloc[0]
    assert "1 repeated score(s) collapsed" in row["notes"]
    assert row["n_items"] == 2


def test_a_rater_cannot_be_both_human_and_judge() -> None:
    rows = [("a", "q", "x", "human", 1), ("a", "q", "x", "judge", 1)]
    with pytest.raises(calibration.CalibrationError, match="both human and judge"):
        calibration.agreement(_long(rows))


def test_files_without_common_ids_are_refused(results_file: Path, tmp_path: Path) -> None:
    human = tmp_path / "human.csv"
    human.write_text("item,criterion,rater,score\n1,evidence_grounding,dr,3\n")
    with pytest.raises(calibration.CalibrationError, match=r"share no item id.*'case-00'.*'1'"):
        calibration.calibrate_files(results_file, human)


def test_levels_from_the_ddx_rubric() -> None:
    rubric = pytest.importorskip("judge.load.rubric")
    levels, domains = calibration.scales_from_rubric(rubric.load_rubric("ddx"))
    assert calibration.level_of(levels["hallucination"]) == "nominal"
    assert calibration.level_of(levels["evidence_grounding"]) == "ordinal"
    assert domains["evidence_grounding"] == [1, 2, 3, 4, 5]
