"""Computed scores in a results file are not an LLM judge: `judge calibrate` leaves them out of
the alt-test (said once) and compares them with the humans as computed values.

The records are in the shape `judge score` writes for ddx: `final_answer` computed on every
item, `miss_harm` judged by the LLM judge where the answer is wrong and computed as "no harm"
(the `if_correct` level) where it is right (judge.judging.harm). Scores are synthetic.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from calibration.loaders import load_human_scores, load_judge_results
from calibration.record import DB_NAME
from calibration.validity import alt_test_table
from judge.cli import cli
from judge.contracts.results import ResultRecord
from judge.judging.accuracy import DETERMINISTIC

JUDGE = "judge-a"
N = 80  # 40 wrong answers judged by the LLM judge: above the 30 items an annotator needs


def _harm(i: int) -> int:
    return 2 + i % 3  # the harm of a miss, 2-4 (synthetic)


def _results(path: Path) -> Path:
    lines = []
    for i in range(N):
        correct = i % 2 == 0
        computed = {"criterion": "final_answer", "judge": DETERMINISTIC, "status": "scored",
                    "score": int(correct)}  # fmt: skip
        harm = (
            {"criterion": "miss_harm", "judge": DETERMINISTIC, "status": "scored", "score": 1}
            if correct
            else {"criterion": "miss_harm", "judge": JUDGE, "status": "scored", "score": _harm(i)}
        )
        record = ResultRecord.model_validate({
            "id": f"case-{i:02d}", "line": i + 1, "status": "scored",
            "scores": {"final_answer": int(correct), "miss_harm": harm["score"]},
            "judgments": [computed, harm], "judges": [JUDGE], "meta": {},
            "rubric": {"id": "ddx", "version": "1.1", "hash": "r1"}, "prompt_hash": "p1",
            "judge_version": "0.1.0", "created_at": "2026-12-01T00:00:00Z",
        })  # fmt: skip
        lines.append(record.model_dump_json())
    path.write_text("\n".join(lines) + "\n")
    return path


def _humans(path: Path) -> Path:
    """Three clinicians: the judge's harm where it judged, no harm (1) where the answer was
    right, and the computed accuracy; dr_c off by one level on every fifth item."""
    rows = []
    for i in range(N):
        correct = i % 2 == 0
        for rater in ("dr_a", "dr_b", "dr_c"):
            harm = 1 if correct else _harm(i)
            if rater == "dr_c" and i % 5 == 0:
                harm = min(5, harm + 1)
            rows.append({"item": f"case-{i:02d}", "criterion": "miss_harm", "rater": rater,
                         "score": harm})  # fmt: skip
            rows.append({"item": f"case-{i:02d}", "criterion": "final_answer", "rater": rater,
                         "score": int(correct)})  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_the_computed_judge_name_is_judges() -> None:
    from calibration.data import COMPUTED  # spelt there: calibration reads JSON only

    assert COMPUTED == DETERMINISTIC


def test_computed_scores_are_not_an_alt_test_judge(tmp_path: Path) -> None:
    results, human = _results(tmp_path / "r.jsonl"), _humans(tmp_path / "h.csv")
    long = pd.concat([load_judge_results(results), load_human_scores(human)])
    table = alt_test_table(long, {"final_answer": "binary", "miss_harm": "ordinal"})
    assert table[["criterion", "judge"]].values.tolist() == [["miss_harm", JUDGE]]
    assert table.attrs["computed"] == ["final_answer", "miss_harm"]
    (row,) = table.to_dict("records")
    assert row["tested"] == 3 and row["verdict"] in ("passed", "failed")


def test_calibrate_says_once_that_computed_scores_are_left_out(
    tmp_path: Path, judge_home: Path
) -> None:
    results, human = _results(tmp_path / "r.jsonl"), _humans(tmp_path / "h.csv")
    done = CliRunner().invoke(
        cli,
        ["calibrate", "--judge", str(results), "--human", str(human), "--rubric", "ddx",
         "--n-boot", "0", "--save"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    alt = done.output[done.output.index("Alternative annotator test") :]
    assert DETERMINISTIC not in alt and "cannot pass" not in done.output
    assert alt.count("computed scores") == 1
    assert "final_answer, miss_harm: computed scores, not an LLM judge's: left out of the " in alt
    # The agreement table still compares the computed values with the clinicians.
    agreement = done.output[: done.output.index("Alternative annotator test")]
    assert DETERMINISTIC in agreement
    with sqlite3.connect(judge_home / DB_NAME) as connection:
        saved = connection.execute("SELECT criterion, judge FROM calibrations").fetchall()
    assert saved == [("miss_harm", JUDGE)]


def test_computed_scores_are_no_panel_member_for_trust_or_escalate(
    tmp_path: Path, judge_home: Path
) -> None:
    """miss_harm has one LLM judge: its confidence is constant, whatever the computed values
    beside it (they never score the items it judges)."""
    results, human = _results(tmp_path / "r.jsonl"), _humans(tmp_path / "h.csv")
    done = CliRunner().invoke(
        cli,
        ["calibrate", "--judge", str(results), "--human", str(human), "--rubric", "ddx",
         "--n-boot", "0", "--guarantee", "0.8"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "miss_harm: one judge with one sample: its confidence is constant" in done.output


def test_computed_scores_are_no_panel_member_in_the_agreement_table(tmp_path: Path) -> None:
    """The computed miss_harm covers the correct answers and the judge the wrong ones: each
    keeps its own row, and with one LLM judge there is no "panel" row made of the two halves."""
    from calibration.agreement_table import PANEL, agreement

    results, human = _results(tmp_path / "r.jsonl"), _humans(tmp_path / "h.csv")
    long = pd.concat([load_judge_results(results), load_human_scores(human)])
    table = agreement(long, {"final_answer": "nominal", "miss_harm": "ordinal"}, n_boot=0)
    harm = table[table["criterion"] == "miss_harm"]
    assert sorted(harm["judge"]) == sorted([DETERMINISTIC, JUDGE])
    assert PANEL not in set(table["judge"]) and set(harm["n_judges"]) == {1}
    # With a second LLM judge the panel is the two LLM judges, never the computed scores.
    twin = long[(long["rater"] == JUDGE)].assign(rater="judge-b")
    both = agreement(pd.concat([long, twin]), {"miss_harm": "ordinal"}, n_boot=0)
    panel = both[(both["criterion"] == "miss_harm") & (both["judge"] == PANEL)]
    assert len(panel) == 1 and panel["n_judges"].item() == 2
    assert panel["n_items"].item() == N // 2  # the wrong answers, which the judges scored


def test_computed_scores_are_no_judge_in_the_latent_model(tmp_path: Path) -> None:
    """Dawid–Skene models judges' errors; the computed miss_harm values (the correct answers)
    are no judge's votes: with one LLM judge there is nothing to fit, with two the fit's
    raters are the two."""
    from calibration.study import Study, latent_fits

    results, human = _results(tmp_path / "r.jsonl"), _humans(tmp_path / "h.csv")
    long = pd.concat([load_judge_results(results), load_human_scores(human)])
    nominal = {"miss_harm": "categorical", "final_answer": "binary"}
    one = Study(long=long, results_file=True, judge_path=str(results))
    assert latent_fits(one, nominal, "dawid-skene") == {}
    twin = long[(long["rater"] == JUDGE)].assign(rater="judge-b")
    two = Study(long=pd.concat([long, twin]), results_file=True, judge_path=str(results))
    (fit,) = latent_fits(two, nominal, "dawid-skene").values()
    assert set(fit.labels["rater"]) == {JUDGE, "judge-b"}
    assert fit.labels["item"].nunique() == N // 2
