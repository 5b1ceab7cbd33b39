"""A calibration on record: `judge calibrate --save`, shown by the next `judge score` / report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from calibration.record import DB_NAME, save_verdicts, status_lines
from judge.cli import cli
from judge.store.results import iter_records
from tests.llm_server import LLMServer

FIXTURES = Path(__file__).parents[1] / "fixtures"
JUDGE = "openai/gpt-4o-mini"


def _predictions(tmp_path: Path, n: int) -> Path:
    cases = [json.loads(line) for line in (FIXTURES / "predictions.jsonl").read_text().splitlines()]
    rows = [
        {
            **(c := cases[i % len(cases)]),
            "title": f"case {i}",
            "CLINICAL_HISTORY": f"{c['CLINICAL_HISTORY']} (variant {i})",
        }
        for i in range(n)
    ]
    path = tmp_path / "predictions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_saved_calibration_is_shown_by_the_next_score(
    llm_server: LLMServer, tmp_path: Path, judge_home: Path
) -> None:
    predictions, out = _predictions(tmp_path, 32), tmp_path / "r.jsonl"
    score = ["score", str(predictions), "--judge", JUDGE, "--api-base", llm_server.url]
    first = CliRunner().invoke(cli, [*score, "--out", str(out)])
    assert first.exit_code == 0, first.output
    # Nothing calibrated yet: one line, not one per criterion and judge.
    judged = len({j.criterion for r in iter_records(out) for j in r.judgments if j.judge == JUDGE})
    assert f"calibration: none of the {judged} criteria × 1 judge(s) is calibrated" in first.output
    assert f"evidence_grounding / {JUDGE}: not calibrated" not in first.output

    # Three clinicians who agree with the judge on every item: the judge ties each of them
    # everywhere, so d = 0 < ε on every item and each annotator is rejected (ω = 1).
    rows = [
        {"item": r.id, "criterion": j.criterion, "rater": rater, "score": j.score}
        for r in iter_records(out)
        for j in r.judgments
        if j.judge == JUDGE and j.step is None
        for rater in ("dr_a", "dr_b", "dr_c")
    ]
    human = tmp_path / "human.csv"
    pd.DataFrame(rows).to_csv(human, index=False)
    saved = CliRunner().invoke(
        cli, ["calibrate", "--judge", str(out), "--human", str(human), "--n-boot", "0", "--save"]
    )
    assert saved.exit_code == 0, saved.output
    assert "Alternative annotator test" in saved.output
    assert f"alt-test verdict(s) to {judge_home / DB_NAME}" in saved.output

    again = CliRunner().invoke(cli, [*score, "--out", str(tmp_path / "r2.jsonl")])
    assert again.exit_code == 0, again.output
    line = next(x for x in again.output.splitlines() if x.startswith("calibration: evidence_gr"))
    assert f"evidence_grounding / {JUDGE}: alt-test passed, ω = 1.00 (ε = 0.2, 32 items" in line
    report = CliRunner().invoke(cli, ["report", str(out)])
    assert report.exit_code == 0, report.output
    assert f"evidence_grounding / {JUDGE}: alt-test passed" in report.output
    page = out.with_suffix(".html").read_text()
    status = page[page.index('id="calibration-status"') :]
    assert f"<li>evidence_grounding / {JUDGE}: alt-test passed, ω = 1.00" in status


def test_another_rubric_or_prompt_version_is_not_a_pass(tmp_path: Path) -> None:
    db = tmp_path / DB_NAME
    table = pd.DataFrame(
        [{"criterion": "c", "judge": "j", "passed": True, "omega": 1.0, "advantage": 0.9}]
    )
    save_verdicts(
        db,
        table,
        rubric_hash="r1",
        prompt_hash="p1",
        rubric="ddx v1",
        epsilon=0.2,
        counts={"c": (40, 3)},
        when="2026-11-30T10:00:00+00:00",
    )
    common = {"criteria": ["c"], "judges": ["j"]}
    assert status_lines(db, rubric_hash="r2", prompt_hash="p1", **common) == [
        "c / j: calibrated on another rubric version (ddx v1, 2026-11-30); not valid for this run"
    ]
    assert (
        "another prompt version"
        in status_lines(db, rubric_hash="r1", prompt_hash="p2", **common)[0]
    )
    assert status_lines(db, rubric_hash="r1", prompt_hash="p1", **common) == [
        "c / j: alt-test passed, ω = 1.00 (ε = 0.2, 40 items, 3 humans, 2026-11-30)"
    ]
    # A later failed verdict on the same hashes is the one shown.
    save_verdicts(
        db,
        table.assign(passed=False, omega=0.0),
        rubric_hash="r1",
        prompt_hash="p1",
        rubric="ddx v1",
        epsilon=0.2,
        counts={},
        when="2026-12-01T10:00:00+00:00",
    )
    assert (
        "alt-test failed, ω = 0.00"
        in status_lines(db, rubric_hash="r1", prompt_hash="p1", **common)[0]
    )
    assert status_lines(tmp_path / "none.sqlite", rubric_hash="r1", prompt_hash="p1", **common) == [
        "c / j: not calibrated"
    ]


def _untestable(judge: str = "j") -> pd.DataFrame:
    """The alt-test table of 8 items rated by 3 clinicians: fewer than the 30 items each
    annotator needs, so no annotator can be tested (synthetic scores)."""
    from calibration.validity import alt_test_table

    rows = [
        {"item": f"i{i}", "criterion": "c", "rater": rater, "rater_kind": kind,
         "score": 1 + i % 3}
        for i in range(8)
        for rater, kind in (("dr_a", "human"), ("dr_b", "human"), ("dr_c", "human"),
                            (judge, "judge"))
    ]  # fmt: skip
    return alt_test_table(pd.DataFrame(rows))


def test_an_alt_test_without_a_testable_annotator_is_not_tested_not_failed(
    tmp_path: Path,
) -> None:
    db = tmp_path / DB_NAME
    table = _untestable()
    save_verdicts(db, table, rubric_hash="r1", prompt_hash="p1", rubric="ddx v1", epsilon=0.2,
                  counts={"c": (8, 3)}, when="2026-11-30T10:00:00+00:00")  # fmt: skip
    (line,) = status_lines(db, rubric_hash="r1", prompt_hash="p1", criteria=["c"], judges=["j"])
    assert "failed" not in line
    assert line == (
        "c / j: alt-test not tested: no annotator rated the 30 items each needs "
        "(ε = 0.2, 8 items, 3 humans, 2026-11-30)"
    )


def test_old_records_load_and_an_untested_one_is_not_shown_as_failed(tmp_path: Path) -> None:
    """A record written before the verdict was kept (migrations 1-3): passed = 0 with ω NULL
    was an alt-test nobody could be tested in; with ω, a failure."""
    from contextlib import closing

    from calibration.record import MIGRATIONS
    from judge.store import sqlite

    db = tmp_path / DB_NAME
    with closing(sqlite.open_migrated(db, MIGRATIONS[:3])) as connection:
        connection.executemany(
            "INSERT INTO calibrations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [("r1", "p1", "ddx v1", "c", "j", 0, None, None, 0.2, 8, 3, "2026-11-30T10:00:00"),
             ("r1", "p1", "ddx v1", "d", "j", 0, 0.0, 0.4, 0.2, 40, 3, "2026-11-30T10:00:00"),
             ("r1", "p1", "ddx v1", "e", "j", 1, 1.0, 0.9, 0.2, 40, 3, "2026-11-30T10:00:00")],
        )  # fmt: skip
    lines = status_lines(
        db, rubric_hash="r1", prompt_hash="p1", criteria=["c", "d", "e"], judges=["j"]
    )
    assert lines[0].startswith("c / j: alt-test not tested: ")
    assert lines[1].startswith("d / j: alt-test failed, ω = 0.00")
    assert lines[2].startswith("e / j: alt-test passed, ω = 1.00")


def test_qualification_lines_without_a_record_collapse_to_one(tmp_path: Path) -> None:
    """Criteria with no qualification on record are named on one line; one with a record
    keeps its own line."""
    from calibration.record import qualification_lines, save_qualification

    db = tmp_path / DB_NAME
    common = {"rubric_hash": "r1", "prompt_hash": "p1", "judges": ["j"]}
    criteria = ["a", "b", "c", "d"]
    assert qualification_lines(db, criteria=criteria, **common) == [
        "none of the 4 criteria × 1 judge(s) has a qualification on record (judge qualify "
        "records one)"
    ]
    row = {
        "rubric_hash": "r1", "prompt_hash": "p1", "rubric": "ddx v1", "criterion": "b",
        "judge": "j", "verdict": "qualified", "reason": "", "pairs": 5, "detected": 5,
        "low": 0.5, "high": 1.0, "false_moves": 0, "false_total": 5, "noise_moves": 0,
        "noise_total": 5, "noise_samples": 3, "noise_temperature": 0.7, "bank": "ddx.yaml",
        "bank_version": "1.1", "bank_hash": "h",
    }  # fmt: skip
    save_qualification(db, [row], when="2026-11-30T10:00:00+00:00")
    lines = qualification_lines(db, criteria=criteria, **common)
    assert lines == [
        "b / j: QUALIFIED (5/5 defects detected, 95% CI 0.50-1.00; 0/5 false moves; noise "
        "0/5; bank v1.1, 2026-11-30)",
        "no qualification on record for a / j, c / j, d / j (judge qualify records one)",
    ]
    # The calibration status reads the same way.
    assert status_lines(db, criteria=criteria, **common) == [
        "none of the 4 criteria × 1 judge(s) is calibrated (judge calibrate --alt-test --save "
        "records a verdict)"
    ]
    table = pd.DataFrame([{"criterion": "b", "judge": "j", "passed": True, "omega": 1.0}])
    save_verdicts(db, table, rubric_hash="r1", prompt_hash="p1", rubric="ddx v1",
                  epsilon=0.2, counts={"b": (40, 3)}, when="2026-11-30T10:00:00+00:00")  # fmt: skip
    assert status_lines(db, criteria=criteria, **common)[1:] == [
        "not calibrated: a / j, c / j, d / j (judge calibrate --alt-test --save records a verdict)"
    ]
