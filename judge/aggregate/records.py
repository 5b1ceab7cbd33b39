"""Turn judges' verdicts into judgments, and judgments into one result record per item.

The per-criterion score of a record aggregates every judge that scored it: the mean for
ordinal criteria, the majority for binary and categorical ones (a tie is no score, with the
tie named in the reason). Judges are sorted by name first, so the result never depends on
the order they were listed in.
"""

from __future__ import annotations

import statistics
import typing
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Literal

from judge.contracts import (
    NOT_APPLICABLE,
    Criterion,
    Judgment,
    KeyItems,
    ResultRecord,
    Rubric,
    RubricRef,
    Segments,
)
from judge.contracts.case_keys import CaseKey
from judge.judging.engine import CallResult
from judge.options import Aggregate
from judge.version import __version__

__all__ = [
    "aggregate",
    "build_record",
    "judgments_from_call",
    "missing_judges",
    "panel_vote",
    "unscored_all",
]


# The reason of a criterion the judge found not applicable ("N/A").
NA_REASON = "not applicable: "


def judgments_from_call(
    rubric: Rubric, judge: str, result: CallResult, sample: int = 0
) -> list[Judgment]:
    """One judgment per LLM criterion from one call: scored, or unscored with the reason (a
    criterion the judge found not applicable, "N/A", is unscored with its `not_applicable`
    sentence). The judge's own key list (`key_items`), when the rubric asks for one, goes
    into each judgment's `details`."""
    if result.verdict is None:
        return unscored_all(rubric, judge, result.error or "judge failed", result.retryable, sample)
    base: dict[str, Any] = {"judge": judge, "sample": sample}
    if rubric.key_items and result.verdict.get("key_items"):
        listed = KeyItems.model_validate({"key_items": result.verdict["key_items"]})
        base["details"] = listed.model_dump()
    judgments = []
    for criterion in rubric.llm_criteria:
        entry = result.verdict.get(criterion.id) or {}
        score = entry.get("score")
        if score is None:
            judgment = Judgment(
                criterion=criterion.id,
                status="unscored",
                reason="the judge's reply held no score for this criterion",
                **base,
            )
        elif score == NOT_APPLICABLE and criterion.not_applicable:
            judgment = Judgment(
                criterion=criterion.id,
                status="unscored",
                reason=f"{NA_REASON}{criterion.not_applicable}",
                rationale=entry.get("rationale"),
                **base,
            )
        else:
            judgment = Judgment(
                criterion=criterion.id,
                status="scored",
                score=score,
                rationale=entry.get("rationale"),
                **base,
            )
        judgments.append(judgment)
    return judgments


def unscored_all(
    rubric: Rubric, judge: str, reason: str, retryable: bool, sample: int = 0
) -> list[Judgment]:
    return [
        Judgment(
            criterion=c.id,
            judge=judge,
            sample=sample,
            status="unscored",
            reason=reason,
            retryable=retryable,
        )
        for c in rubric.llm_criteria
    ]


# The panel methods RunOptions.aggregate allows.
METHODS: tuple[str, ...] = typing.get_args(Aggregate)


def aggregate(criterion: Criterion, judgments: list[Judgment], method: str = "auto") -> Any:
    """The panel's score on one criterion, or None when no judge scored it (or a tie).

    Each judge's samples are aggregated first, then the judges, with the same method, so a
    judge asked K times weighs as much as a judge asked once. `auto` and `mean` take the mean
    of ordinal scores, `median` their median, `majority` the most common level; binary and
    categorical criteria always take the majority. A tied majority is no score.
    """
    if method not in METHODS:  # RunOptions refuses it: reaching here is a bug
        raise ValueError(f"unknown aggregate method {method!r}; methods are {METHODS}")
    by_judge = _by_judge(judgments)
    if criterion.scale.type not in ("ordinal", "continuous"):
        method = "majority"
    elif method == "auto":
        method = "mean"
    return _vote(by_judge, method)


def panel_vote(criterion: Criterion, judgments: list[Judgment], method: str = "auto") -> Any:
    """Like `aggregate`, and for a labels criterion the sorted labels a majority gave (each
    label voted on alone; a tie on any label is no verdict)."""
    if criterion.scale.type != "labels":
        return aggregate(criterion, judgments, method)
    by_judge = _by_judge(judgments)
    if not by_judge:
        return None
    carried = []
    for label in criterion.scale.levels:
        votes = {judge: [label in s for s in scores] for judge, scores in by_judge.items()}
        verdict = _vote(votes, "majority")
        if verdict is None:
            return None
        if verdict:
            carried.append(label)
    return carried


def _by_judge(judgments: list[Judgment]) -> dict[str, list[Any]]:
    by_judge: dict[str, list[Any]] = {}
    for j in sorted(judgments, key=lambda j: (j.judge, j.sample)):
        if j.status == "scored" and j.score is not None:
            by_judge.setdefault(j.judge, []).append(j.score)
    return by_judge


def _vote(by_judge: dict[str, list[Any]], method: str) -> Any:
    per_judge = [_combine(scores, method) for scores in by_judge.values()]
    return _combine([s for s in per_judge if s is not None], method)


def _combine(scores: list[Any], method: str) -> Any:
    if not scores:
        return None
    if len(scores) == 1:
        return scores[0]
    if method == "mean":
        return round(statistics.fmean(float(s) for s in scores), 4)
    if method == "median":
        return statistics.median(scores)
    if method != "majority":
        raise ValueError(f"unknown aggregate method {method!r}")
    ranked = Counter(scores).most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None  # a tie: no majority
    return ranked[0][0]


def missing_judges(judges: list[str], judgments: list[Judgment]) -> dict[str, list[str]]:
    """Per LLM criterion, the panel's judges that gave it no score (the panel shrank there);
    a judge that answered "N/A" gave its answer, and is not missing."""
    scored = {
        (j.criterion, j.judge)
        for j in judgments
        if j.status == "scored" or (j.reason or "").startswith(NA_REASON)
    }
    asked = sorted({j.criterion for j in judgments if j.judge in judges})
    missing = {c: [x for x in sorted(judges) if (c, x) not in scored] for c in asked}
    return {c: who for c, who in missing.items() if who}


def build_record(
    *,
    item_id: str,
    line: int,
    rubric: Rubric,
    rubric_hash: str,
    prompt_hash: str,
    judges: list[str],
    judgments: list[Judgment],
    calls: list[Any],
    judged_field: str | None = None,
    meta: dict[str, Any] | None = None,
    method: str = "auto",
    segments: dict[str, Segments] | None = None,
    saw_images: list[str] | None = None,
    tag_scores: dict[str, float | None] | None = None,
    key: CaseKey | None = None,
) -> ResultRecord:
    """One record. `tag_scores`: a rubric with `items: case`'s scores by tag, stored beside
    the criteria's (never in place of one). `key`: the case key the judges were shown."""
    scores: dict[str, Any] = {}
    for criterion in rubric.criteria:
        mine = [j for j in judgments if j.criterion == criterion.id]
        scores[criterion.id] = aggregate(criterion, mine, method)
    # A criterion with `required: false` (applies only where the text allows it) does not
    # make a record partial when unscored.
    counted = [v for c in rubric.criteria if c.required for v in [scores[c.id]]]
    n_scored = sum(v is not None for v in counted)
    status: Literal["scored", "partial", "unscored"] = (
        "scored" if n_scored == len(counted) else "unscored" if n_scored == 0 else "partial"
    )
    extra = {k: v for k, v in (tag_scores or {}).items() if k not in scores}
    return ResultRecord(
        id=item_id,
        line=line,
        status=status,
        scores={**scores, **extra},
        judgments=judgments,
        calls=calls,
        judges=sorted(judges),
        judged_field=judged_field,
        missing=missing_judges(judges, judgments),
        meta=meta or {},
        segments=segments or {},
        saw_images=saw_images or [],
        rubric=RubricRef(id=rubric.id, version=rubric.version, hash=rubric_hash),
        prompt_hash=prompt_hash,
        key_hash=key.key_hash() if key else None,
        key_review=(key.review.role if key.review else "draft") if key else None,
        judge_version=__version__,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
