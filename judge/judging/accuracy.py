"""Final-answer accuracy, without an LLM: 1 when the letter a prediction chose (read by
judge.load.letters) is the correct answer."""

from __future__ import annotations

from judge.contracts import Criterion, Judgment, Prediction
from judge.load.letters import OPEN_ENDED, extract_letter, letter_in

__all__ = ["DETERMINISTIC", "OPEN_ENDED", "extract_letter", "letter_in", "score_accuracy"]

DETERMINISTIC = "deterministic"


def score_accuracy(criterion: Criterion, prediction: Prediction) -> Judgment:
    """Score a binary `answer_accuracy` criterion: 1 when the chosen letter is correct."""
    letter, where = extract_letter(prediction)
    if letter is None:
        return Judgment(
            criterion=criterion.id, judge=DETERMINISTIC, status="unscored", reason=where
        )
    correct = letter == prediction.correct_answer
    return Judgment(
        criterion=criterion.id,
        judge=DETERMINISTIC,
        status="scored",
        score=int(correct),
        rationale=f"chose {letter} (from {where}); correct answer is {prediction.correct_answer}",
    )
