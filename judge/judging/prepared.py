"""A rubric prepared for calls (its hash, reply models and prompt hash, computed once per rubric),
and one judge call a scoring would make (for estimates). judge.scorer drives both."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from judge.contracts import Rubric
from judge.judging.engine import JudgeSpec
from judge.judging.key_prompt import keyed_hash
from judge.judging.prompts import (
    response_model,
    rubric_templates,
    stage_model,
    template_hash,
    wants_images,
)
from judge.load.rubric import rubric_hash

__all__ = ["PlannedCall", "Prepared"]


@dataclass(frozen=True)
class PlannedCall:
    """One judge call a scoring would make (for estimates)."""

    judge: JudgeSpec
    messages: list[dict[str, Any]]
    model: type[BaseModel]
    sample: int
    reply_tokens: int


@dataclass(frozen=True)
class Prepared:
    """What a rubric needs per call, computed once per rubric."""

    rubric: Rubric
    hash: str
    model: type[BaseModel]
    # The hash of the prompt templates this rubric uses, recorded in its results.
    prompt_hash: str
    # A multi-stage rubric's reply model per stage.
    stage_models: dict[str, type[BaseModel]] = field(default_factory=dict)
    # Whether a call of this rubric shows the case's images (its context names `images`).
    shows_images: bool = False

    @classmethod
    def of(cls, rubric: Rubric, keyed: bool = False) -> Prepared:
        """`keyed`: the run has case keys, which a rubric listing key items is shown (its
        prompt hash then covers the key section's wording too)."""
        shows = (
            any(wants_images(rubric, stage) for stage in rubric.stages)
            if rubric.stages
            else wants_images(rubric)
        )
        return cls(
            rubric,
            rubric_hash(rubric),
            response_model(rubric),
            keyed_hash(template_hash(rubric_templates(rubric)))
            if keyed and rubric.key_items
            else template_hash(rubric_templates(rubric)),
            {stage.id: stage_model(rubric, stage) for stage in rubric.stages},
            shows,
        )
