"""ddx-steps' `distractors_ruled_out` (review M13): the options other than the correct and the
chosen one that a factual step argues against, beside `distractors_addressed`, the raw coverage
that counts a wrong answer's steps for its own choice and steps that are not factual."""

from __future__ import annotations

from typing import Any

from judge.aggregate.measures import measure_judgments
from judge.contracts import Judgment, Prediction, Segments
from judge.load.rubric import load_rubric

RUBRIC = load_rubric("ddx-steps")
OPTIONS = {"A": "Appendicitis", "B": "Torsion", "C": "Adenitis", "D": "Ectopic", "E": "Colitis"}


def _step(step: int, factual: bool, options: list[str]) -> list[Judgment]:
    # ddx-steps 1.1 asks is_factual of verifiable steps only (review M16)
    said: dict[str, Any] = {"verifiable": 1, "is_factual": int(factual), "is_critical": 1}
    said["options_addressed"] = options
    if not factual:
        said["error_types"] = ["Medical Knowledge Err"]
    return [
        Judgment(criterion=c, judge="j", step=step, status="scored", score=v)
        for c, v in said.items()
    ]


def _measured(prediction: str, **case: Any) -> dict[str, Judgment]:
    judgments = [
        *_step(1, True, ["B"]),  # for the candidate's own (wrong) choice, B
        *_step(2, False, ["C"]),  # a false elimination of C
        *_step(3, True, ["D", "A"]),  # a factual elimination of D (A is the correct answer)
    ]
    segments = {"steps": Segments(units=["s1", "s2", "s3"], source="judge", judge="j")}
    row = {"title": "t", "options": OPTIONS, "correct_answer": "A", "prediction": prediction}
    found = measure_judgments(
        RUBRIC, judgments, segments, prediction=Prediction.model_validate(row | case)
    )
    return {j.criterion: j for j in found}


def test_only_factual_steps_against_an_option_not_chosen_count() -> None:
    wrong = _measured("B")
    assert wrong["distractors_addressed"].score == 3  # B, C and D: raw coverage
    ruled = wrong["distractors_ruled_out"]
    assert (ruled.status, ruled.score) == ("scored", 1)
    assert ruled.details is not None and ruled.details["options"] == ["D"]


def test_a_correct_answer_leaves_out_only_the_correct_option() -> None:
    # Chose A (correct): step 1's B now counts as argued against; C's step is still false.
    ruled = _measured("A")["distractors_ruled_out"]
    assert ruled.details is not None and ruled.details["options"] == ["B", "D"]


def test_the_must_not_miss_distractor_is_checked_where_the_case_names_it() -> None:
    # M17: D (say, the ectopic pregnancy) is argued against by a factual step; C only falsely.
    assert _measured("B", must_not_miss="D")["dangerous_alternative_ruled_out"].score == 1
    assert _measured("B", must_not_miss="C")["dangerous_alternative_ruled_out"].score == 0
    # The candidate chose it: it was not ruled out.
    assert _measured("D", must_not_miss="D")["dangerous_alternative_ruled_out"].score == 0
    for case, why in [({}, "names no option"), ({"must_not_miss": "A"}, "the correct answer")]:
        found = _measured("B", **case)["dangerous_alternative_ruled_out"]
        assert found.status == "unscored" and why in (found.reason or "")
    assert not RUBRIC.criterion("dangerous_alternative_ruled_out").required
