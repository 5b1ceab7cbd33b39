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

An LLM criterion with `computed_if:` (education's `harm_severity`, 1 when `safety` is 0) is
settled by another criterion of the same call, judge by judge and sample by sample: when that
judge's verdict on the other criterion meets the condition, its verdict here is replaced by the
computed level (no harm was found, so none has a severity). The computed level is reserved for
that condition: a judge that flags unsafe advice and then rates its severity "no harm" has
contradicted the anchors, and its severity is unscored with the reason rather than counted as
1, which would pull the mean harm down for an item the gate still fails.
"""

from __future__ import annotations

from judge.contracts import Judgment, Prediction, Rubric
from judge.judging.accuracy import DETERMINISTIC, OPEN_ENDED, extract_letter

__all__ = ["settle_from_other", "settle_when_correct"]


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


def settle_from_other(rubric: Rubric, judgments: list[Judgment]) -> list[Judgment]:
    """`judgments` with every `computed_if` criterion computed where its condition holds, and
    unscored where its verdict claims the reserved level without the condition."""
    rules = {c.id: c.computed_if for c in rubric.llm_criteria if c.computed_if is not None}
    if not rules:
        return judgments
    verdicts = {(j.criterion, j.judge, j.sample): j for j in judgments if j.status == "scored"}
    settled: list[Judgment] = []
    for j in judgments:
        rule = rules.get(j.criterion)
        other = verdicts.get((rule.criterion, j.judge, j.sample)) if rule else None
        if rule is None or other is None:
            settled.append(j)  # the other criterion has no verdict: nothing settles this one
        elif other.score == rule.equals:
            said = f" (the judge said {j.score})" if j.status == "scored" else ""
            rationale = f"computed: {rule.criterion} is {rule.equals}, so {rule.level}{said}"
            update = {"status": "scored", "score": rule.level, "reason": None, "retryable": False}
            settled.append(j.model_copy(update=update | {"rationale": rationale}))
        elif j.status == "scored" and j.score == rule.level:
            reason = (
                f"contradictory verdict: {rule.criterion} is {other.score}, yet {j.criterion} is "
                f"{rule.level}, the level reserved for {rule.criterion} = {rule.equals}"
            )
            settled.append(
                j.model_copy(update={"status": "unscored", "score": None, "reason": reason})
            )
        else:
            settled.append(j)
    return settled
