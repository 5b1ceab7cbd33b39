"""A case's own checklist (a rubric with `items: case`, HealthBench's format) judged and
scored: each item met / not met in its own call (judge.judging.case_items), then HealthBench's
scores, overall and by tag (judge.aggregate.case_items)."""

from __future__ import annotations

from judge.aggregate.case_items import case_judgment
from judge.contracts import CallUsage, Judgment, Prediction, Rubric, RubricItem
from judge.judging.case_items import judge_items
from judge.judging.engine import Engine, JudgeSpec
from judge.judging.prompts import target_text
from judge.options import RunOptions

__all__ = ["judge_case_items"]


async def judge_case_items(
    engine: Engine,
    judges: list[JudgeSpec],
    options: RunOptions,
    rubric: Rubric,
    p: Prediction,
    items: list[RubricItem],
) -> tuple[list[Judgment], list[CallUsage], dict[str, float | None]]:
    """Every item of the case (its own `rubrics`, or its key's) judged by every judge ×
    sample, then the case's scores: the judgments (the items' and the score's), the calls,
    and the scores by key."""
    criterion = next(c for c in rubric.criteria if c.method == "case_items")
    if not judges or not items or target_text(rubric, p)[1] is None:
        reason = (
            "no judge configured"
            if not judges
            else "the case carries no rubric items"
            if not items
            else f"no text to judge at {' or '.join(rubric.target)}"
        )
        missing = Judgment(
            criterion=criterion.id,
            judge="none",
            status="unscored",
            reason=reason,
            retryable=not judges,
        )
        return [missing], [], {}
    found, calls = await judge_items(engine, judges, options.samples, rubric, p, items)
    tags_of = (p.model_extra or {}).get("example_tags") or []
    example_tags = [str(t) for t in tags_of] if isinstance(tags_of, list) else []
    overall, scores = case_judgment(criterion, items, found, example_tags, options.aggregate)
    # An item whose call failed in transport is retryable, so the record is redone on a
    # rerun (its other items from the cache).
    return [*found, overall], calls, scores
