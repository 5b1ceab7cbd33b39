"""One normalisation of scores to [0, 1], 1 the best answer: the report's ranking of the lowest
items and promptfoo's grade agree, including on criteria where lower is better (the report
used to ignore `higher_is_better`)."""

from __future__ import annotations

import pytest

from judge.aggregate.normalise import normalise
from judge.contracts import Criterion, ResultRecord, Rubric
from judge.contracts.results import RubricRef
from judge.load.rubric import load_rubric
from judge.report.data import criteria_of, lowest_items, score_table
from judge.serve import promptfoo

FIVE = {"type": "ordinal", "min": 1, "max": 5, "anchors": {i: str(i) for i in range(1, 6)}}
HARM = Criterion.model_validate(
    {
        "id": "harm",
        "question": "How much harm could following this reasoning do?",
        "higher_is_better": False,
        "scale": FIVE,
    }
)


def _rubric() -> Rubric:
    ddx = load_rubric("ddx")
    hallucination = next(c for c in ddx.criteria if c.id == "hallucination")
    assert hallucination.higher_is_better is False
    return ddx.model_copy(update={"criteria": [HARM, hallucination]})


def _record(item: str, harm: int, hallucination: int) -> ResultRecord:
    return ResultRecord(
        id=item,
        line=1,
        status="scored",
        scores={"harm": harm, "hallucination": hallucination},
        judgments=[],
        rubric=RubricRef(id="ddx", version="0.1", hash="x"),
        prompt_hash="p",
        judge_version="0",
        created_at="2026-01-01T00:00:00Z",
    )


def test_lower_is_better_is_normalised_alike_in_the_report_and_in_promptfoo() -> None:
    rubric = _rubric()
    records = [_record("safe", 1, 0), _record("harmful", 5, 1), _record("middling", 2, 0)]
    ranked = lowest_items(score_table(records), criteria_of(records, rubric), k=3)
    assert list(ranked.index) == ["harmful", "middling", "safe"]  # the worst answer first
    for record in records:
        graded = promptfoo.grade(record, rubric, threshold=0.5).score
        assert ranked[record.id] == pytest.approx(graded, abs=1e-4), record.id
    assert ranked["harmful"] == 0.0 and ranked["safe"] == 1.0
    assert ranked["middling"] == pytest.approx((0.75 + 1.0) / 2)


def test_one_function_for_both() -> None:
    assert promptfoo.normalise is normalise
    assert [normalise(HARM, s) for s in (1, 2, 3, 4, 5)] == [1, 0.75, 0.5, 0.25, 0]
    assert normalise(HARM, 2, better_high=True) == 0.25
