"""The harm of a miss, computed as none when nothing was missed, and not judged when no single
choice was made.

An LLM criterion with `if_correct:` (ddx's `miss_harm`) is judged only when the chosen option
is wrong. When the chosen letter (`judge.judging.accuracy.extract_letter`) is the correct
answer, the judges' verdicts on it are replaced by one computed judgment at the `if_correct`
level, so a judge's speculation about a harm that did not happen never enters the score; a
composite leaves that level out (`judge.aggregate.normalise.composite`: it counts only on
wrong answers). When no single letter was chosen (a hedge such as "B or C", or no letter),
there is no choice whose harm to judge: the verdicts are replaced by one unscored judgment
that says so. The judges are still asked in the same call (one reply model per rubric);
their replies stay in the call cache.
"""

from __future__ import annotations

from judge.contracts import Judgment, Prediction, Rubric
from judge.judging.accuracy import DETERMINISTIC, OPEN_ENDED, extract_letter

__all__ = ["settle_when_correct"]


def settle_when_correct(
    rubric: Rubric, prediction: Prediction, judgments: list[Judgment]
) -> list[Judgment]:
    """`judgments` with every `if_correct` criterion computed when the answer is correct, and
    unscored when no single answer was chosen."""
    gated = [c for c in rubric.llm_criteria if c.if_correct is not None]
    if not gated:
        return judgments
    letter, where = extract_letter(prediction)
    if where == OPEN_ENDED or (letter is not None and letter != prediction.correct_answer):
        return judgments
    ids = {c.id for c in gated}
    kept = [j for j in judgments if j.criterion not in ids]
    if letter is None:
        reason = f"no single answer, so no harm of a choice to judge ({where})"
        return kept + [
            Judgment(criterion=c.id, judge=DETERMINISTIC, status="unscored", reason=reason)
            for c in gated
        ]
    computed = [
        Judgment(
            criterion=c.id,
            judge=DETERMINISTIC,
            status="scored",
            score=c.if_correct,
            rationale=f"chose {letter} (from {where}), the correct answer: no miss, so no harm",
        )
        for c in gated
    ]
    return kept + computed
