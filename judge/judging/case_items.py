"""Judge a case's own checklist one item per call, as HealthBench grades its rubrics.

The grader prompt is openai/simple-evals `healthbench_eval.py`'s `GRADER_TEMPLATE` (commit
ee3b0318d8d1d9d72755a4120879be65f7c07e9e), word for word, in `templates/healthbench_grader.txt`.
Its `<<conversation>>` is the conversation with the judged text as the last assistant turn,
each message rendered `role: content` and joined by a blank line; its `<<rubric_item>>` is the
item as `[points] criterion`. It is sent as one user message after HealthBench's grader system
message. The judge fills `explanation` and `criteria_met` (a boolean), the two fields
HealthBench asks for, through the structured-output schema rather than a JSON block parsed out
of free text.
"""

from __future__ import annotations

import asyncio
import re
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from judge.contracts import CallUsage, Judgment, Prediction, Rubric, RubricItem
from judge.judging.engine import CallResult, Engine, JudgeSpec
from judge.judging.prompts import TEMPLATES, target_text

__all__ = [
    "GRADER_TEMPLATE",
    "ITEM_CRITERION",
    "SYSTEM_MESSAGE",
    "ItemVerdict",
    "conversation",
    "item_judgment",
    "item_messages",
    "judge_items",
]

GRADER_TEMPLATE = "healthbench_grader.txt"
# The system message of simple_evals.py's grading sampler (OPENAI_SYSTEM_MESSAGE_API).
SYSTEM_MESSAGE = "You are a helpful assistant."
# The criterion name of every item judgment (HealthBench's reply field); `step` is the item.
ITEM_CRITERION = "criteria_met"
EXPLANATION_MAX = 2000
_PLACEHOLDER = re.compile(r"<<conversation>>|<<rubric_item>>")


class ItemVerdict(BaseModel):
    """A judge's reply on one rubric item: HealthBench's two fields."""

    model_config = ConfigDict(extra="forbid")

    explanation: str = Field(
        max_length=EXPLANATION_MAX,
        description="Why the response does or does not meet the criteria of the rubric item.",
    )
    criteria_met: bool = Field(
        description="Whether the response meets the criteria of the rubric item."
    )


@cache
def _template() -> str:
    return (TEMPLATES / GRADER_TEMPLATE).read_text(encoding="utf-8").strip()


def conversation(rubric: Rubric, prediction: Prediction, text: str) -> str:
    """The conversation as HealthBench shows it to its grader: the case's messages (each
    `context` field: a list of chat messages as they are, any other text as a user turn) and
    the judged text as the last assistant turn, `role: content`, joined by blank lines."""
    turns: list[tuple[str, str]] = []
    for name in rubric.context:
        value = _field(prediction, name)
        if isinstance(value, list) and all(isinstance(m, dict) for m in value):
            turns += [(str(m.get("role", "")), str(m.get("content", ""))) for m in value]
        elif value is not None and str(value).strip():
            turns.append(("user", str(value)))
    turns.append(("assistant", text))
    return "\n\n".join(f"{role}: {content}" for role, content in turns)


def _field(prediction: Prediction, name: str) -> Any:
    if name in type(prediction).model_fields:
        return getattr(prediction, name)
    return (prediction.model_extra or {}).get(name)


def item_messages(convo: str, item: RubricItem) -> list[dict[str, str]]:
    """The grader's messages for one item. Both placeholders are filled in one pass, so a
    conversation that contains `<<rubric_item>>` is shown as written (HealthBench's two
    `str.replace` calls would substitute inside it)."""
    fill = {"<<conversation>>": convo, "<<rubric_item>>": str(item)}
    prompt = _PLACEHOLDER.sub(lambda m: fill[m.group(0)], _template())
    return [{"role": "system", "content": SYSTEM_MESSAGE}, {"role": "user", "content": prompt}]


async def judge_items(
    engine: Engine,
    judges: list[JudgeSpec],
    samples: int,
    rubric: Rubric,
    prediction: Prediction,
    items: list[RubricItem],
) -> tuple[list[Judgment], list[CallUsage]]:
    """Every item × judge × sample of the case's checklist (`items`), one call each."""
    text = target_text(rubric, prediction)[1]
    if text is None or not items:
        return [], []
    convo = conversation(rubric, prediction, text)
    asks = [
        (step, judge, k)
        for step in range(1, len(items) + 1)
        for judge in judges
        for k in range(samples)
    ]
    results = await asyncio.gather(
        *(
            engine.call(judge, item_messages(convo, items[step - 1]), ItemVerdict, k)
            for step, judge, k in asks
        )
    )
    judgments = [
        item_judgment(step, judge.name, k, result)
        for (step, judge, k), result in zip(asks, results, strict=True)
    ]
    return judgments, [r.usage for r in results]


def item_judgment(step: int, judge: str, sample: int, result: CallResult) -> Judgment:
    """One judge's verdict on item `step`: met (1) or not met (0), or unscored with why."""
    base: dict[str, Any] = {"criterion": ITEM_CRITERION, "judge": judge, "sample": sample}
    base["step"] = step
    met = (result.verdict or {}).get("criteria_met")
    if not isinstance(met, bool):
        reason = result.error or "the judge's reply held no criteria_met"
        return Judgment(**base, status="unscored", reason=reason, retryable=result.retryable)
    explanation = (result.verdict or {}).get("explanation")
    return Judgment(**base, status="scored", score=int(met), rationale=explanation)
