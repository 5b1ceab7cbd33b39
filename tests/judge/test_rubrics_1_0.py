"""The built-in rubrics 1.0: what the clinician-informed review changed is in the anchors the
judges and the raters see."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judge.contracts import Prediction
from judge.judging.prompts import render_prompt
from judge.load.rubric import builtin_rubrics, load_rubric

CASE = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "predictions.jsonl").read_text().splitlines()[0]
)


@pytest.mark.parametrize("rubric_id", ["ddx", "ddx-steps", "education", "twi"])
def test_every_builtin_is_1_0_and_says_what_changed(rubric_id: str) -> None:
    # ddx, ddx-steps and education are at 1.1 (computed criteria and gates); 1.0's notes stay.
    assert load_rubric(rubric_id).version == ("1.0" if rubric_id == "twi" else "1.1")
    header = builtin_rubrics()[rubric_id].read_text().split("\nid: ")[0]
    assert "Version 1.0 (from 0.1" in header and "How" in header


def test_ddx_counts_only_correct_reasons_and_keeps_one_home_per_defect() -> None:
    ddx = load_rubric("ddx")
    elimination = ddx.criterion("distractor_elimination")
    assert "correct, case-specific reason" in elimination.question
    assert "false reason" in elimination.scale.anchors[1]  # type: ignore[union-attr]
    grounding = ddx.criterion("evidence_grounding").scale.anchors  # type: ignore[union-attr]
    assert "invents" in grounding[1] and "hallucination" in grounding[1]
    assert "discriminating" in ddx.criterion("evidence_grounding").question
    assert "the case offers" in ddx.criterion("clinical_integration").scale.anchors[5]  # type: ignore[union-attr]
    accuracy = ddx.criterion("medical_accuracy")
    assert "general medical knowledge" in accuracy.question
    assert "never an imprecision" in accuracy.scale.anchors[4]  # type: ignore[union-attr]
    assert "diagnostic of" in accuracy.scale.anchors[3]  # type: ignore[union-attr]
    assert "contradicts" in ddx.criterion("hallucination").question
    assert "does not mention" in ddx.criterion("unsupported_fact").question
    harm = ddx.criterion("miss_harm")
    assert harm.if_correct == 1 and "time-critical" in harm.scale.anchors[5]  # type: ignore[union-attr]
    assert ddx.criterion("letter_consistency").method == "letter_consistency"


def test_education_reads_the_cases_checklist_when_it_has_one() -> None:
    education = load_rubric("education")
    row = CASE | {
        "prediction_discussion": "Appendicitis: a non-compressible appendix over 6 mm.",
        "teaching_points": ["Non-compressible appendix over 6 mm", "Surgical referral is urgent"],
    }
    prompt = render_prompt(education, Prediction(**row))
    assert prompt is not None
    user = prompt.messages[1]["content"]
    assert "Teaching-point checklist" in user and "Surgical referral is urgent" in user
    without = render_prompt(education, Prediction(**(row | {"teaching_points": None})))
    assert without is not None and "(not given)" in without.messages[1]["content"]
    # A checklist in HealthBench's shape: its positive items are the points, not the negative.
    items = [
        {"criterion": "Names the appendix diameter threshold", "points": 5, "tags": []},
        {"criterion": "Recommends discharge without review", "points": -7, "tags": []},
    ]
    hb = render_prompt(education, Prediction(**(row | {"teaching_points": None, "rubrics": items})))
    assert hb is not None
    section = hb.messages[1]["content"].split("Teaching-point checklist", 1)[1][:300]
    assert "Names the appendix diameter threshold" in section
    assert "without review" not in hb.messages[1]["content"]
    given = render_prompt(education, Prediction(**(row | {"rubrics": items})))
    assert given is not None and "Names the appendix" not in given.messages[1]["content"]
    coverage = education.criterion("key_point_coverage").scale.anchors  # type: ignore[union-attr]
    assert "2 of 3" in coverage[4] and "3-4 of 6" in coverage[3]
    assert "four distractors" in education.criterion("mimics").question
    assert "no treatment or follow-up needed" in education.criterion("clinical_relevance").question
    assert "omission" in education.criterion("safety").question
    assert education.criterion("harm_severity").higher_is_better is False
