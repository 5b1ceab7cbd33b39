"""The scorers that need no LLM, by criterion method: one entry point for the run loop.

A new computed metric is a function `(Criterion, Prediction) -> Judgment` registered here;
`judge.run` calls `score_deterministic` for every criterion whose method is not `llm`. An LLM
criterion that is computed in some cases (the harm of a miss, none when the answer is correct)
is settled by `settle_computed` once the judges have answered.
"""

from __future__ import annotations

from collections.abc import Callable

from judge.contracts import Criterion, Judgment, Prediction, Rubric
from judge.judging.accuracy import score_accuracy, score_answered
from judge.judging.harm import settle_from_other, settle_when_correct
from judge.judging.letter_consistency import score_letter_consistency
from judge.judging.rouge import score_rouge

__all__ = ["SCORERS", "score_deterministic", "settle_computed"]

Scorer = Callable[[Criterion, Prediction], Judgment]

SCORERS: dict[str, Scorer] = {
    "answer_accuracy": score_accuracy,
    "answered": score_answered,
    "rouge": score_rouge,
    "letter_consistency": score_letter_consistency,
}


def score_deterministic(criterion: Criterion, prediction: Prediction) -> Judgment:
    """The judgment of a computed criterion (method `answer_accuracy`, `rouge`, …)."""
    scorer = SCORERS.get(criterion.method)
    if scorer is None:
        raise ValueError(f"criterion {criterion.id}: no scorer for method {criterion.method!r}")
    return scorer(criterion, prediction)


def settle_computed(
    rubric: Rubric, prediction: Prediction, judgments: list[Judgment]
) -> list[Judgment]:
    """The item's judgments with the LLM criteria that the case itself settles computed
    (`if_correct:` when the chosen letter is correct, unscored when none was chosen;
    `computed_if:` from another criterion's verdict in the same call)."""
    return settle_from_other(rubric, settle_when_correct(rubric, prediction, judgments))
