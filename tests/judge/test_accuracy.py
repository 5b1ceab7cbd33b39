"""Final-answer extraction: from the prediction field, else from the rationale."""

from __future__ import annotations

import pytest

from judge.contracts import Prediction
from judge.judging.accuracy import extract_letter, score_accuracy, score_answered
from judge.judging.deterministic import score_deterministic
from judge.load.rubric import load_rubric

OPTIONS = {
    "A": "Sarcoidosis",
    "B": "Anti-synthetase syndrome",
    "C": "Lymphoma",
    "D": "Tuberculosis",
    "E": "Silicosis",
}


def _pred(prediction: str | None, rationale: str = "") -> Prediction:
    return Prediction(
        title="t",
        options=OPTIONS,
        correct_answer="B",
        prediction=prediction,
        prediction_rationale=rationale,
    )


@pytest.mark.parametrize(
    ("prediction", "rationale", "letter"),
    [
        ("B", "", "B"),
        ("(c)", "", "C"),
        (" d. ", "", "D"),
        ("B. Anti-synthetase syndrome", "", "B"),
        ("The answer is D", "", "D"),
        (None, "Final: B", "B"),
        ("", "I doubt A. The answer is (b).", "B"),
        (None, "**Answer:** C", "C"),
        (None, "Final answer: E. Option A was less likely; the diagnosis is not C", "E"),
        (None, "Sarcoid fits poorly.\nB. Anti-synthetase syndrome", "B"),
        (None, "We choose option D.", "D"),
        ("unsure", "Final diagnosis: A", "A"),
    ],
)
def test_letter_is_found(prediction: str | None, rationale: str, letter: str) -> None:
    assert extract_letter(_pred(prediction, rationale))[0] == letter


@pytest.mark.parametrize(
    ("prediction", "rationale"),
    [(None, "This would answer a question about a patient."), ("", ""), ("unsure", "No idea")],
)
def test_no_letter_scores_zero_with_reason(prediction: str | None, rationale: str) -> None:
    # H1: it was unscored, and the mean left it out (2 correct + 2 without a letter gave 1.00).
    rubric = load_rubric("ddx")
    judgment = score_accuracy(rubric.criterion("final_answer"), _pred(prediction, rationale))
    assert (judgment.status, judgment.score) == ("scored", 0)
    assert judgment.rationale and judgment.rationale.startswith("no single answer: no")
    answered = score_answered(rubric.criterion("answered"), _pred(prediction, rationale))
    assert (answered.status, answered.score) == ("scored", 0)


def test_an_open_ended_case_is_still_unscored() -> None:
    case = Prediction(title="t", prediction="B", prediction_rationale="Final: B")
    for criterion in ("final_answer", "answered"):
        found = score_deterministic(load_rubric("accuracy").criterion(criterion), case)
        assert (found.status, found.reason) == ("unscored", "open-ended case (no options)")


def test_scores_one_for_correct_zero_for_wrong() -> None:
    criterion = load_rubric("ddx").criterion("final_answer")
    assert score_accuracy(criterion, _pred("B")).score == 1
    assert score_accuracy(criterion, _pred("C")).score == 0
    answered = load_rubric("ddx").criterion("answered")
    assert score_answered(answered, _pred("C")).score == 1


@pytest.mark.parametrize(
    ("prediction", "rationale", "offered"),
    [
        ("B and C", "", "B, C"),
        ("A or B", "", "A, B"),
        ("B/C", "", "B, C"),
        ("(B) or (C)", "", "B, C"),
        ("B, C or D.", "", "B, C, D"),
        ("D vs. E", "", "D, E"),
        ("The answer is B or possibly C", "", "B, C"),
        # A hedged prediction is not rescued by a letter in the rationale.
        ("B and C", "Final: B", "B, C"),
        (None, "Final: **B** or **C**", "B, C"),
        (None, "Both fit. Final answer: A and/or B", "A, B"),
    ],
)
def test_a_hedged_answer_scores_zero_with_the_letters_offered(
    prediction: str | None, rationale: str, offered: str
) -> None:
    rubric = load_rubric("ddx")
    judgment = score_accuracy(rubric.criterion("final_answer"), _pred(prediction, rationale))
    assert (judgment.status, judgment.score) == ("scored", 0)
    assert judgment.rationale is not None
    assert f"hedged: offers {offered.count(',') + 1} answers ({offered})" in judgment.rationale
    answered = score_answered(rubric.criterion("answered"), _pred(prediction, rationale))
    assert (answered.status, answered.score) == ("scored", 0)


@pytest.mark.parametrize(
    "prediction",
    [
        "either B or C",
        "Either B or C",
        "Both B and C",
        "B; C",
        "B/C",
        "C or D?",
        "B (or C)",
        "b or c",
        "b; c",
    ],
)
def test_every_form_of_hedge_in_prediction_is_one_and_never_read_elsewhere(
    prediction: str,
) -> None:
    # The rationale and the step-3 reasoning state B, the correct answer: a hedge in
    # `prediction` must not be rescued by them (before the fix "either B or C", "Both B and
    # C", "B; C" and "B (or C)" were read as B, from the rationale or as the first letter).
    twi = {"step3_differential_reasoning": "Final answer: B"}
    case = Prediction.model_validate(
        _pred(prediction, "Final: B").model_dump() | {"prediction_twi": twi}
    )
    letter, why = extract_letter(case)
    assert letter is None and why.startswith("hedged: offers 2 answers") and "in prediction" in why
    assert score_accuracy(load_rubric("ddx").criterion("final_answer"), case).score == 0


@pytest.mark.parametrize(
    "prediction", ["I think it is B", "I think it is B.", "Probably B", "I would go with B", "B?"]
)
def test_one_letter_with_soft_words_is_that_answer(prediction: str) -> None:
    # Before the fix "I think it is B" had no letter and the rationale's D was taken instead.
    assert extract_letter(_pred(prediction, "Final: D")) == ("B", "prediction")


@pytest.mark.parametrize(
    ("prediction", "rationale", "letter"),
    [
        ("D", "", "D"),
        ("D.", "", "D"),
        ("Answer: D", "", "D"),
        ("(D) Tuberculosis", "", "D"),
        ("Final: D\nExplanation: cavitation fits; A and B are less likely.", "", "D"),
        ("Final: D (A and B are less likely)", "", "D"),
        ("Answer: D. A or B would not explain the cavity.", "", "D"),
        ("Answer: D, A and B are less likely", "", "D"),
        ("B, because of the myositis", "", "B"),
        ("B or a CT would tell", "", "B"),  # "a" is the article, not a second letter
        ("B and C both fit, but the answer is C", "", "C"),
        (None, "Final: A or B?\nOn reflection, Final: B", "B"),
        (None, "I weighed A and B against each other.\nFinal: D", "D"),
        (None, "Final answer: E. Option A was less likely; the diagnosis is not C", "E"),
    ],
)
def test_a_clear_answer_beside_other_letters_is_not_a_hedge(
    prediction: str | None, rationale: str, letter: str
) -> None:
    assert extract_letter(_pred(prediction, rationale)) == (
        letter,
        "prediction" if prediction else "prediction_rationale",
    )


def test_the_letter_is_read_from_the_step3_reasoning_when_nothing_else_states_it() -> None:
    twi = {"step3_differential_reasoning": "Myositis with ILD fits. Final answer: B"}
    prediction = _pred(None).model_copy(update={"prediction_rationale": None})
    with_trace = Prediction.model_validate(prediction.model_dump() | {"prediction_twi": twi})
    assert extract_letter(with_trace) == ("B", "prediction_twi.step3_differential_reasoning")
    # The rationale, when it states a letter, still comes first.
    both = with_trace.model_copy(update={"prediction_rationale": "Final: C"})
    assert extract_letter(both) == ("C", "prediction_rationale")
