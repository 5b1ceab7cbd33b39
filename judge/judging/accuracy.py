"""Final-answer accuracy and `answered`, without an LLM: the letter a prediction chose (read
by judge.load.letters) against the correct answer. A hedge, a missing letter or one the case
lacks scores 0 on `final_answer` (the MedThinkVQA leaderboard's denominator is every case);
`answered` makes the abstention rate visible beside it."""

from __future__ import annotations

from judge.contracts import Criterion, Judgment, Prediction
from judge.load.letters import OPEN_ENDED, extract_letter, letter_in, stated_letter

__all__ = [
    "DETERMINISTIC",
    "OPEN_ENDED",
    "extract_letter",
    "letter_in",
    "score_accuracy",
    "score_answered",
    "stated_letter",
]

DETERMINISTIC = "deterministic"


def score_accuracy(criterion: Criterion, prediction: Prediction) -> Judgment:
    """Score a binary `answer_accuracy` criterion: 1 when the chosen letter is correct, 0
    when it is another, or when no single letter was chosen (a hedge, none, one the case
    lacks); unscored only for an open-ended case."""
    letter, where = extract_letter(prediction)
    if letter is None:
        return _no_choice(criterion, where)
    correct = letter == prediction.correct_answer
    return Judgment(
        criterion=criterion.id,
        judge=DETERMINISTIC,
        status="scored",
        score=int(correct),
        rationale=f"chose {letter} (from {where}); correct answer is {prediction.correct_answer}",
    )


def score_answered(criterion: Criterion, prediction: Prediction) -> Judgment:
    """Score a binary `answered` criterion: 1 when exactly one of the case's options was
    chosen, 0 for a hedge, no letter or a letter the case lacks; unscored when open-ended."""
    letter, where = extract_letter(prediction)
    if letter is None:
        return _no_choice(criterion, where)
    return Judgment(
        criterion=criterion.id,
        judge=DETERMINISTIC,
        status="scored",
        score=1,
        rationale=f"chose {letter} (from {where})",
    )


def _no_choice(criterion: Criterion, why: str) -> Judgment:
    """0 when no single option was chosen (the denominator is every case); unscored only when
    the case has no options to choose from."""
    if why == OPEN_ENDED:
        return Judgment(criterion=criterion.id, judge=DETERMINISTIC, status="unscored", reason=why)
    return Judgment(
        criterion=criterion.id,
        judge=DETERMINISTIC,
        status="scored",
        score=0,
        rationale=f"no single answer: {why}",
    )
