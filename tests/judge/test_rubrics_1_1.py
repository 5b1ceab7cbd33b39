"""The built-in rubrics 1.1: what the clinical review of 1.0 (shared/reviews/rubrics-1.0-
clinical-review.md) changed is in the anchors and the instructions the judges and the raters
see. Each HIGH fix (H5, H6) and the review's procedure fix (M12) has a test here that failed
on 1.0; H3 is in test_chosen_answer.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from judge.contracts import Prediction
from judge.judging.prompts import render_prompt, render_stage_prompt
from judge.load.rubric import builtin_rubrics, load_rubric

CASE = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "predictions.jsonl").read_text().splitlines()[0]
)
ANCHORED = ["ddx", "ddx-steps", "education", "reference"]


def _header(rubric_id: str) -> str:
    return builtin_rubrics()[rubric_id].read_text().split(f"\nid: {rubric_id}\n")[0]


@pytest.mark.parametrize("rubric_id", ANCHORED)
def test_every_reviewed_builtin_is_1_1_and_says_what_changed(rubric_id: str) -> None:
    assert load_rubric(rubric_id).version == "1.1"
    header = _header(rubric_id)
    assert "Version 1.1 (from 1.0" in header and "How to apply it by hand" in header
    # Each fix is named by its number in the review.
    assert re.search(r"- (H|M)\d+", header)


def test_twi_is_unchanged_at_1_0() -> None:
    assert load_rubric("twi").version == "1.0"


def _system(rubric_id: str) -> str:
    rubric = load_rubric(rubric_id)
    row = CASE | {"prediction_discussion": "A teaching point.", "question": "Which diagnosis?"}
    row |= {"reference_answer": "Acute appendicitis."}
    if rubric.stages:
        verdicts = rubric.stage("verdicts")
        prompt = render_stage_prompt(rubric, verdicts, Prediction(**row), ["One step."])
    else:
        prompt = render_prompt(rubric, Prediction(**row))
    assert prompt is not None
    return str(prompt.messages[0]["content"])


@pytest.mark.parametrize("rubric_id", ["ddx", "education", "reference"])
def test_the_procedure_and_the_tie_break_are_rendered_m12(rubric_id: str) -> None:
    """1.0 kept "choose the lower" and the order of work in YAML comments only: the judge
    never saw them, people did."""
    system = _system(rubric_id)
    assert "when between two levels, choose the lower" in system
    assert "Work in this order" in system or "Work\n  in this order" in system


def test_the_step_procedure_is_rendered() -> None:
    system = _system("ddx-steps")
    assert "verifiable from the text" in system and "labelling a wrong premise" in system


def test_no_false_threshold_anchor_h6() -> None:
    """A 3 mm pyloric wall is at the threshold (>= 3 mm), not wrong; and a wrong threshold is
    knowledge, not image reading."""
    for rubric_id in ANCHORED:
        assert "3 mm pyloric wall" not in _system(rubric_id), rubric_id
    steps = load_rubric("ddx-steps").stage("verdicts")
    labels = next(c for c in steps.criteria if c.id == "error_types").scale.labels  # type: ignore[union-attr]
    image = " ".join(labels["Image Understanding Err"].split())
    knowledge = " ".join(labels["Medical Knowledge Err"].split())
    assert "12 mm for the reported 6 mm" in image
    assert "A wrong decision threshold is Medical Knowledge Err" in image
    assert "2 mm pyloric muscle" in knowledge and "3 mm or more" in knowledge
    accuracy = load_rubric("ddx").criterion("medical_accuracy").scale.anchors  # type: ignore[union-attr]
    assert "2 mm instead of 3 mm" in accuracy[4]


def test_ddx_steps_does_not_claim_the_protocols_meaning_h5() -> None:
    lines = builtin_rubrics()["ddx-steps"].read_text().splitlines()
    text = " ".join(" ".join(line.lstrip("# ") for line in lines).split())
    assert "now has the protocol's intended meaning" not in text
    assert "for the paper's numbers" not in text
    assert "They are not the paper's numbers" in text
    assert 'reference (correct) diagnosis shown as "Final diagnosis"' in text


def test_ddx_counts_only_correct_reasons_and_keeps_one_home_per_defect() -> None:
    ddx = load_rubric("ddx")
    elimination = ddx.criterion("distractor_elimination")
    assert "correct, case-specific reason" in elimination.question
    assert "false reason" in elimination.scale.anchors[1]  # type: ignore[union-attr]
    # M17: the must-not-miss alternative caps the level.
    assert "must-not-miss" in elimination.question
    assert "not the must-not-miss" in elimination.scale.anchors[3]  # type: ignore[union-attr]
    grounding = ddx.criterion("evidence_grounding")
    anchors = grounding.scale.anchors  # type: ignore[union-attr]
    assert "invents" in anchors[1] and "hallucination" in anchors[1]
    # M1: positive evidence only; M6: no gap ("any number") and no overlap ("but one").
    assert "distractor_elimination, not here" in " ".join(grounding.question.split())
    assert "any number" in anchors[2] and "but one" in anchors[4]
    assert "the case offers" in ddx.criterion("clinical_integration").scale.anchors[5]  # type: ignore[union-attr]
    accuracy = ddx.criterion("medical_accuracy")
    assert "general medical knowledge" in accuracy.question
    assert "under unsafe_advice only" in " ".join(accuracy.question.split())  # M2
    assert "one or two imprecisions" in accuracy.scale.anchors[4]  # type: ignore[union-attr]
    assert "never an imprecision" in accuracy.scale.anchors[4]  # type: ignore[union-attr]
    assert "diagnostic of" in accuracy.scale.anchors[3]  # type: ignore[union-attr]
    # M8: saying less is no longer a default 5.
    assert accuracy.not_applicable and not accuracy.required
    assert "contradicts" in ddx.criterion("hallucination").question
    assert "not verifiable" in ddx.criterion("unsupported_fact").question  # M16
    harm = ddx.criterion("miss_harm")
    assert harm.if_correct == 1 and "midgut volvulus called reflux" in harm.scale.anchors[5]  # type: ignore[union-attr]
    assert "hours of delay risk death or organ loss" in harm.scale.anchors[5]  # type: ignore[union-attr]
    # M11: closeness apart from harm, on Bond's scale; out of the composite.
    closeness = ddx.criterion("miss_closeness")
    assert closeness.if_correct == 5 and closeness.weight == 0
    assert ddx.criterion("letter_consistency").method == "letter_consistency"


def test_one_harm_scale_across_rubrics_m10() -> None:
    ddx = load_rubric("ddx").criterion("miss_harm").scale.anchors  # type: ignore[union-attr]
    education = load_rubric("education").criterion("harm_severity").scale.anchors  # type: ignore[union-attr]
    # An unnecessary invasive test is moderate (3) on both; 1.0 had 4 in ddx and 3 here.
    assert "unnecessary invasive test" in ddx[3] and "unnecessary invasive test" in education[3]
    assert all(ddx[n].split(";")[0] == education[n].split(";")[0] for n in (2, 3, 4, 5))


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
    assert "5-8 of 10" in coverage[3]  # M6: a rule for any number of points
    assert "four distractors" in education.criterion("mimics").question
    relevance = education.criterion("clinical_relevance")
    assert "no treatment or follow-up needed" in relevance.question
    # M7: management counts most (1.0 gave two parts without management a 4).
    anchors = relevance.scale.anchors  # type: ignore[union-attr]
    assert "neither of them management" in anchors[2] and "management" not in anchors[4]
    safety = " ".join(education.criterion("safety").question.split())
    assert "omission" in safety and "gives no management for this patient omits nothing" in safety
    assert education.criterion("harm_severity").higher_is_better is False


def test_reference_leaves_the_answer_out_of_the_key_findings_m5() -> None:
    reference = load_rubric("reference")
    assert "the answer itself is not a key finding" in " ".join(
        (reference.instructions or "").split()
    )
    for name in ("findings_correct", "findings_missed"):
        criterion = reference.criterion(name)
        assert criterion.not_applicable and not criterion.required
