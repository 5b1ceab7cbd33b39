"""HealthBench rows as predictions: the adapter from openai/simple-evals' row format into the
one `Prediction` model.

A HealthBench row (`healthbench_eval.py`, and its meta-evaluation's rows) carries `prompt_id`,
`prompt` (the conversation so far: chat messages), `rubrics` (the case's items: criterion,
points, tags) and `example_tags`; the model's reply to be judged is its `completion` (a text,
or a list holding one assistant message, as HealthBench's results write it). The row becomes a
Prediction whose id (`title`, unless the row has one) is its `prompt_id`, whose `prediction` is
the completion, and which keeps `prompt`, `rubrics` and `example_tags` for the `healthbench`
rubric. Every other field of the row is kept as it is.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from judge.contracts import Prediction
from judge.contracts.cases import MAX_RUBRIC_ITEMS, RubricItem

__all__ = ["ChatMessage", "HealthBenchRow", "healthbench_prediction", "is_healthbench_row"]


class ChatMessage(BaseModel):
    """One turn of a conversation, as HealthBench's `prompt` holds it."""

    model_config = ConfigDict(extra="forbid")

    role: str = Field(min_length=1, max_length=40)
    content: str


class HealthBenchRow(BaseModel):
    """A HealthBench row: the fields the `healthbench` rubric reads (others are kept)."""

    model_config = ConfigDict(extra="allow")

    prompt_id: str = Field(min_length=1)
    prompt: list[ChatMessage] = Field(min_length=1)
    completion: str | list[ChatMessage] | None = None
    rubrics: list[RubricItem] = Field(max_length=MAX_RUBRIC_ITEMS)
    example_tags: list[str] = Field(default_factory=list)


def is_healthbench_row(row: dict[str, Any]) -> bool:
    """Whether a predictions line is in HealthBench's row format (a `prompt_id`, a `prompt`
    list of messages and `rubrics`), rather than a MedThinkVQA-style case."""
    return "prompt_id" in row and "rubrics" in row and isinstance(row.get("prompt"), list)


def healthbench_prediction(row: dict[str, Any]) -> Prediction:
    """The Prediction of one HealthBench row (raises pydantic's ValidationError, naming the
    field, when the row is not valid)."""
    found = HealthBenchRow.model_validate(row)
    completion = found.completion
    if isinstance(completion, list):
        # HealthBench's results hold the completion as [{"role": "assistant", "content": …}].
        completion = "\n\n".join(m.content for m in completion if m.role == "assistant") or None
    extra = dict(found.model_extra or {})
    fields: dict[str, Any] = {
        **extra,
        "title": extra.get("title") or found.prompt_id,
        "prompt_id": found.prompt_id,
        "prompt": [m.model_dump() for m in found.prompt],
        "prediction": completion,
        "rubrics": [item.model_dump() for item in found.rubrics],
        "example_tags": found.example_tags,
    }
    return Prediction.model_validate(fields)
