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
