"""The scorers that need no LLM, by criterion method: one entry point for the run loop.

A new computed metric is a function `(Criterion, Prediction) -> Judgment` registered here;
`judge.run` calls `score_deterministic` for every criterion whose method is not `llm`.
"""

from __future__ import annotations

from collections.abc import Callable

from judge.contracts import Criterion, Judgment, Prediction
from judge.judging.accuracy import score_accuracy
from judge.judging.rouge import score_rouge

__all__ = ["SCORERS", "score_deterministic"]

Scorer = Callable[[Criterion, Prediction], Judgment]

SCORERS: dict[str, Scorer] = {
    "answer_accuracy": score_accuracy,
    "rouge": score_rouge,
}


def score_deterministic(criterion: Criterion, prediction: Prediction) -> Judgment:
    """The judgment of a computed criterion (method `answer_accuracy`, `rouge`, …)."""
    scorer = SCORERS.get(criterion.method)
    if scorer is None:
        raise ValueError(f"criterion {criterion.id}: no scorer for method {criterion.method!r}")
    return scorer(criterion, prediction)
