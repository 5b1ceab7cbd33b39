"""A run's answers (issue 24 §1, §4; review H1, M11): accuracy over every case beside the share
answered, the harmful-miss rate and the mean harm among wrong answers, in the summary, in
`judge score`'s output and in the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner

import judge
from judge.aggregate.answers import answer_line
from judge.aggregate.summary import SummaryBuilder
from judge.cli import cli
from judge.contracts import ResultRecord, RubricRef
from judge.load.rubric import load_rubric
from judge.report import build_report

CHAT = Path(__file__).parents[1] / "fixtures" / "chat.jsonl"
DDX = load_rubric("ddx")


def _record(item: str, **scores: Any) -> ResultRecord:
    return ResultRecord(
        id=item,
        line=1,
        status="scored",
        scores=scores,
        judgments=[],
        rubric=RubricRef(id="ddx", version=DDX.version, hash="h"),
        prompt_hash="p",
        judge_version="v",
        created_at="t",
    )


def test_the_summary_counts_harm_among_wrong_answers_over_every_case() -> None:
    builder = SummaryBuilder(DDX)
    for record in [
        _record("right", final_answer=1, answered=1, miss_harm=1),
        _record("hedge", final_answer=0, answered=0, miss_harm=None),
        _record("harmful", final_answer=0, answered=1, miss_harm=5),
        _record("benign", final_answer=0, answered=1, miss_harm=2),
    ]:
        builder.add(record)
    summary = builder.build()
    found = summary.answers
    assert found is not None
    assert (found.n, found.accuracy, found.answered) == (4, 0.25, 0.75)
    assert (found.n_harmful, found.harmful_miss_rate) == (1, 0.25)  # over all four cases
    assert (found.n_harm_wrong, found.mean_harm_wrong) == (2, 3.5)  # the hedge has no harm
    # The criterion's own mean mixes in the correct answer's computed 1.
    harm = next(c for c in summary.criteria if c.id == "miss_harm")
    assert harm.mean is not None and round(harm.mean, 4) == round(8 / 3, 4)
    assert answer_line(found) == (
        "answers: accuracy 0.25, answered 0.75 of 4 cases; harmful misses (miss_harm >= 4) "
        "0.25 (1 of 4 cases), mean miss_harm among 2 wrong answers 3.50"
    )


def test_a_rubric_without_a_final_answer_has_no_answers() -> None:
    assert SummaryBuilder(load_rubric("education")).build().answers is None


def test_score_and_report_show_accuracy_beside_the_answer_rate(tmp_path: Path) -> None:
    # The chat fixture: two open-ended rows (unscored), one hedge (0), one wrong, two right.
    out = tmp_path / "results.jsonl"
    printed = CliRunner().invoke(
        cli, ["score", str(CHAT), "--rubric", "accuracy", "--out", str(out)]
    )
    assert printed.exit_code == 0, printed.output
    line = "answers: accuracy 0.50, answered 0.75 of 4 cases"
    assert line in " ".join(printed.output.split())
    assert line in build_report(out)
    assert judge.score(CHAT, "accuracy").summary.answers is not None
