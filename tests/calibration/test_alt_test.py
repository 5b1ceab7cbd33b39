"""calibration.alt_test against the authors' code (nitaytech/AltTest) on real SQuALITY ratings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import calibration
from calibration.errors import CalibrationError

ROOT = Path(__file__).resolve().parents[2]
# /work/shared beside the main checkout (ROOT.parent) or beside a worktree folder (parents[1]).
DATA = next(
    (
        base / "shared" / "data" / "squality-human-eval" / "all-responses.jsonl"
        for base in (ROOT.parent, ROOT.parents[1])
        if (base / "shared" / "data" / "squality-human-eval").is_dir()
    ),
    ROOT.parent / "shared" / "data" / "squality-human-eval" / "all-responses.jsonl",
)
DIMENSIONS = ("correctness", "selection", "overall")

# (metric, dimension, rater playing the judge): (ω, advantage probability, {human: p-value}).
# Printed by the authors' own `alt_test` -- github.com/nitaytech/AltTest, commit
# 18428b1f4f34ac61c4978bc180263b90111e7337, `alt_test_example.ipynb`, its first two code cells
# executed unchanged (by_procedure wrapped only to record the p-values it is given) -- on SQuALITY
# (all-responses.jsonl): one rater's scores as `llm_annotations`, the other three raters as
# `humans_annotations`, epsilon=0.2 and the other defaults. "neg_rmse" on the 0-100 ratings;
# "accuracy" on the ratings cut at 50 (score >= 50 -> 1, else 0). Run 2026-12-01, scipy 1.17.1.
REFERENCE = {
    ("neg_rmse", "correctness", "rater 2"): (
        1.0,
        0.7311111111111112,
        {
            "rater 3": 5.785654702312976e-07,
            "rater 6": 1.0683790040575093e-28,
            "rater 8": 2.0086412401963414e-07,
        },
    ),
    ("neg_rmse", "correctness", "rater 3"): (
        0.6666666666666666,
        0.6466666666666666,
        {
            "rater 2": 0.32272278841294766,
            "rater 6": 2.0926246988958162e-27,
            "rater 8": 0.017736659917210924,
        },
    ),
    ("neg_rmse", "correctness", "rater 6"): (
        0.0,
        0.2088888888888889,
        {
            "rater 2": 0.9999999999907864,
            "rater 3": 0.9999999998534836,
            "rater 8": 0.9999999875553264,
        },
    ),
    ("neg_rmse", "correctness", "rater 8"): (
        0.6666666666666666,
        0.6422222222222222,
        {
            "rater 2": 0.4275618447346708,
            "rater 3": 0.000412389108268408,
            "rater 6": 6.90937270839277e-24,
        },
    ),
    ("neg_rmse", "selection", "rater 2"): (
        0.0,
        0.48444444444444446,
        {
            "rater 3": 0.05593308379334342,
            "rater 6": 0.14211706433380075,
            "rater 8": 0.5346908086620725,
        },
    ),
    ("neg_rmse", "selection", "rater 3"): (
        0.6666666666666666,
        0.56,
        {
            "rater 2": 0.0003632113372135677,
            "rater 6": 0.09885232608838905,
            "rater 8": 0.009538546161100054,
        },
    ),
    ("neg_rmse", "selection", "rater 6"): (
        1.0,
        0.6311111111111112,
        {
            "rater 2": 1.543499238244011e-05,
            "rater 3": 1.8664891187529117e-05,
            "rater 8": 0.00148698851557784,
        },
    ),
    ("neg_rmse", "selection", "rater 8"): (
        1.0,
        0.5977777777777777,
        {
            "rater 2": 1.866487077684482e-07,
            "rater 3": 0.00217143646789633,
            "rater 6": 0.011144565239565044,
        },
    ),
    ("neg_rmse", "overall", "rater 2"): (
        0.0,
        0.46222222222222226,
        {
            "rater 3": 0.24977920775661813,
            "rater 6": 0.13336052906166046,
            "rater 8": 0.36623222334693106,
        },
    ),
    ("neg_rmse", "overall", "rater 3"): (
        1.0,
        0.5777777777777778,
        {
            "rater 2": 1.0278882521036905e-05,
            "rater 6": 0.017282205228441577,
            "rater 8": 0.0023213304853726665,
        },
    ),
    ("neg_rmse", "overall", "rater 6"): (
        1.0,
        0.5777777777777778,
        {
            "rater 2": 4.4241856285620804e-05,
            "rater 3": 0.0008411941379302697,
            "rater 8": 0.0062738337483269286,
        },
    ),
    ("neg_rmse", "overall", "rater 8"): (
        1.0,
        0.5688888888888889,
        {
            "rater 2": 1.95354726110763e-06,
            "rater 3": 0.009999270346524109,
            "rater 6": 0.0062738337483269286,
        },
    ),
    ("accuracy", "correctness", "rater 2"): (
        1.0,
        0.9066666666666667,
        {
            "rater 3": 3.7825964254592855e-06,
            "rater 6": 3.2798533154376713e-19,
            "rater 8": 1.6930739322635125e-08,
        },
    ),
    ("accuracy", "correctness", "rater 3"): (
        1.0,
        0.928888888888889,
        {
            "rater 2": 5.796660580626233e-10,
            "rater 6": 1.3175346640695074e-21,
            "rater 8": 5.840132082356007e-11,
        },
    ),
    ("accuracy", "correctness", "rater 6"): (
        0.0,
        0.6,
        {
            "rater 2": 0.9786382281081293,
            "rater 3": 0.9983399701393567,
            "rater 8": 0.8768273374410009,
        },
    ),
    ("accuracy", "correctness", "rater 8"): (
        1.0,
        0.8844444444444445,
        {
            "rater 2": 5.151126631055575e-07,
            "rater 3": 2.0352097812618696e-07,
            "rater 6": 6.960210279839582e-14,
        },
    ),
    ("accuracy", "selection", "rater 2"): (
        0.6666666666666666,
        0.8355555555555556,
        {
            "rater 3": 0.01785105060625638,
            "rater 6": 4.779791160469103e-05,
            "rater 8": 0.10037878359718817,
        },
    ),
    ("accuracy", "selection", "rater 3"): (
        1.0,
        0.9288888888888889,
        {
            "rater 2": 1.0337248493411661e-14,
            "rater 6": 6.2574833206111145e-09,
            "rater 8": 1.8265717837106097e-08,
        },
    ),
    ("accuracy", "selection", "rater 6"): (
        1.0,
        0.9288888888888889,
        {
            "rater 2": 7.312132896428972e-10,
            "rater 3": 7.62317523494764e-10,
            "rater 8": 3.236649222853958e-12,
        },
    ),
    ("accuracy", "selection", "rater 8"): (
        1.0,
        0.9555555555555556,
        {
            "rater 2": 6.308713245548868e-18,
            "rater 3": 1.5468965128834507e-12,
            "rater 6": 1.8095772077862134e-13,
        },
    ),
    ("accuracy", "overall", "rater 2"): (
        1.0,
        0.8666666666666667,
        {
            "rater 3": 0.00016240794650016938,
            "rater 6": 8.761765635780197e-06,
            "rater 8": 0.009970226041823144,
        },
    ),
    ("accuracy", "overall", "rater 3"): (
        1.0,
        0.9288888888888889,
        {
            "rater 2": 5.7276657703385924e-12,
            "rater 6": 9.779110160799963e-08,
            "rater 8": 3.1509416681731954e-11,
        },
    ),
    ("accuracy", "overall", "rater 6"): (
        1.0,
        0.9422222222222222,
        {
            "rater 2": 1.9090101530483734e-11,
            "rater 3": 1.2038921764318816e-12,
            "rater 8": 3.053594487495928e-12,
        },
    ),
    ("accuracy", "overall", "rater 8"): (
        1.0,
        0.9511111111111111,
        {
            "rater 2": 4.256750440031192e-17,
            "rater 3": 3.1509416681731954e-11,
            "rater 6": 3.053594487495928e-12,
        },
    ),
}


def _squality() -> pd.DataFrame:
    rows = []
    with DATA.open(encoding="utf-8") as handle:
        for line in handle:
            passage = json.loads(line)
            for question, systems in passage["questions"].items():
                for system, entry in systems.items():
                    for review in entry["reviews"]:
                        for dim in DIMENSIONS:
                            rows.append({
                                "item": f"{passage['passage-id']}/{question}/{system}",
                                "criterion": dim,
                                "rater": f"rater {review['worker_id']}",
                                "score": review[f"{dim}-rating"],
                            })  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def squality() -> pd.DataFrame:
    if not DATA.exists():
        pytest.skip(f"SQuALITY human-eval data not found at {DATA}")
    return _squality()


@pytest.mark.parametrize(("metric", "dimension", "judge"), sorted(REFERENCE))
def test_alt_test_reproduces_the_authors_code_on_squality(
    squality: pd.DataFrame, metric: str, dimension: str, judge: str
) -> None:
    omega, advantage, p_values = REFERENCE[(metric, dimension, judge)]
    sub = squality[squality["criterion"] == dimension].copy()
    if metric == "accuracy":
        sub["score"] = (sub["score"] >= 50).astype(int)
    result = calibration.alt_test(
        sub[sub["rater"] == judge][["item", "score"]], sub[sub["rater"] != judge], metric=metric
    )
    assert result.omega == pytest.approx(omega, abs=1e-6)
    assert result.advantage == pytest.approx(advantage, abs=1e-6)
    assert result.passed is (omega >= 0.5)
    rows = result.annotators.set_index("rater")
    assert sorted(rows.index) == sorted(p_values)
    for rater, p in p_values.items():
        assert rows.loc[rater, "p_value"] == pytest.approx(p, abs=1e-6)
        assert rows.loc[rater, "n"] == 150
    # The 75 responses this rater never reviewed are said, not silently dropped.
    assert any("75 human-rated item(s) have no judge score" in n for n in result.notes)


def _synthetic(n_items: int, raters: tuple[str, ...], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 6, size=n_items)
    return pd.DataFrame([
        {"item": f"i{i}", "rater": r, "score": int(np.clip(truth[i] + rng.integers(-1, 2), 1, 5))}
        for i in range(n_items) for r in raters
    ])  # fmt: skip


def test_an_annotator_below_the_minimum_is_skipped_and_said() -> None:
    humans = _synthetic(40, ("a", "b", "c"))
    humans = humans[~((humans["rater"] == "c") & (humans["item"].str[1:].astype(int) >= 20))]
    judge = humans[humans["rater"] == "a"][["item", "score"]]
    result = calibration.alt_test(judge, humans)
    rows = result.annotators.set_index("rater")
    assert bool(rows.loc["c", "skipped"]) and rows.loc["c", "reason"] == "20 item(s) < 30"
    assert np.isnan(rows.loc["c", "p_value"]) and not rows.loc["c", "rejected"]
    assert not rows.loc["a", "skipped"] and not rows.loc["b", "skipped"]
    assert "annotator 'c' skipped: 20 item(s) < 30" in result.notes
    assert result.omega == rows.loc[["a", "b"], "rejected"].mean()


def test_no_testable_annotator_is_not_tested_with_the_reason() -> None:
    humans = _synthetic(10, ("a", "b"))
    result = calibration.alt_test(humans[humans["rater"] == "a"][["item", "score"]], humans)
    assert np.isnan(result.omega) and result.passed is False
    assert result.annotators["skipped"].all()
    assert result.verdict == "not tested" and result.tested == 0
    assert result.reason == "no annotator rated the 30 items each needs"
    assert f"not tested: {result.reason}" in result.notes and "failed" not in str(result)


def test_items_with_one_human_are_left_out_and_counted() -> None:
    humans = _synthetic(35, ("a", "b"))
    single = pd.DataFrame([{"item": f"solo{i}", "rater": "a", "score": 3} for i in range(5)])
    judge = pd.concat([humans[humans["rater"] == "a"], single])[["item", "score"]]
    result = calibration.alt_test(judge, pd.concat([humans, single]))
    assert set(result.annotators["n"]) == {35}
    assert "5 judged item(s) have fewer than 2 human ratings; left out" in result.notes


def test_a_judge_identical_to_one_human_beats_that_human_by_ties() -> None:
    humans = _synthetic(60, ("a", "b", "c"), seed=3)
    judge = humans[humans["rater"] == "a"][["item", "score"]]
    rows = calibration.alt_test(judge, humans).annotators.set_index("rater")
    # Against "a" itself every item is a tie: both indicators are 1, d = 0 < ε on every item,
    # so H0 (mean d ≥ ε) is rejected outright.
    assert rows.loc["a", "rho_judge"] == rows.loc["a", "rho_human"] == 1.0
    assert rows.loc["a", "p_value"] == 0.0 and rows.loc["a", "rejected"]


@pytest.mark.parametrize(
    ("judge", "humans", "message"),
    [
        (pd.DataFrame({"item": ["x"]}), pd.DataFrame(), "judge frame lacks column(s) ['score']"),
        (
            pd.DataFrame({"item": ["x"], "score": [1]}),
            pd.DataFrame({"item": ["x", "x"], "rater": ["a", "a"], "score": [1, 2]}),
            "humans frame scores item 'x', rater 'a' more than once",
        ),
    ],
)
def test_bad_frames_are_refused_with_the_reason(
    judge: pd.DataFrame, humans: pd.DataFrame, message: str
) -> None:
    with pytest.raises(CalibrationError, match=re.escape(message)):
        calibration.alt_test(judge, humans)


def test_unknown_metric_is_refused() -> None:
    frame = pd.DataFrame({"item": ["x"], "rater": ["a"], "score": [1]})
    with pytest.raises(CalibrationError, match="unknown alt-test metric 'f1'"):
        calibration.alt_test(frame[["item", "score"]], frame, metric="f1")


def test_out_of_scale_scores_are_left_out_of_the_alt_test_as_of_the_agreement() -> None:
    # One clinician typed 9 on a 1-5 scale on some items. The agreement table left them out
    # (it reported the criterion unusable) while the alt-test ran on them; both leave out the
    # same scores now, and say so.
    from calibration.agreement_table import agreement
    from calibration.validity import alt_test_table

    rng = np.random.default_rng(3)
    rows = []
    for i in range(40):
        truth = int(rng.integers(1, 6))
        for rater in ("dr_a", "dr_b", "dr_c"):
            typo = rater == "dr_a" and i < 8
            rows.append((f"i{i:02d}", "g", rater, "human", 9 if typo else truth))
        rows.append((f"i{i:02d}", "g", "judge", "judge", truth))
    long = pd.DataFrame(rows, columns=["item", "criterion", "rater", "rater_kind", "score"])
    domains = {"g": [1, 2, 3, 4, 5]}
    kept = long[long["score"] != 9]
    table = agreement(long, domains=domains, n_boot=0).set_index("judge")
    assert "8 score(s) outside the scale" in table.loc["judge", "notes"]
    assert table.loc["judge", "alpha_with_judge"] == pytest.approx(
        agreement(kept, domains=domains, n_boot=0)
        .set_index("judge")
        .loc["judge", "alpha_with_judge"]
    )
    with_typos = alt_test_table(long, {"g": "ordinal"}, domains=domains).iloc[0]
    without = alt_test_table(kept, {"g": "ordinal"}).iloc[0]
    assert "8 score(s) outside the scale" in with_typos["notes"]
    assert (with_typos["omega"], with_typos["advantage"], with_typos["skipped"]) == (
        without["omega"],
        without["advantage"],
        without["skipped"],
    )
