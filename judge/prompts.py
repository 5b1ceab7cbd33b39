"""Render the judge's messages from the Jinja templates in `judge/templates/`, and build the
response model a judge must fill: one entry per LLM criterion, each score constrained to its
scale and preceded by a short rationale.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jinja2
from pydantic import BaseModel, ConfigDict, Field, create_model

from judge.contracts import ContinuousScale, Criterion, Prediction, Rubric

__all__ = [
    "Prompt",
    "render_prompt",
    "response_model",
    "template_hash",
]

TEMPLATES = Path(__file__).with_name("templates")
RATIONALE_MAX = 800
_FIELD_TITLES = {
    "CLINICAL_HISTORY": "Clinical history",
    "IMAGING_FINDINGS": "Reference imaging findings",
    "discussion": "Expert discussion",
    "image_captions": "Per-image captions",
    "options": "Candidate diagnoses",
    "correct_answer": "Correct answer",
}


@dataclass(frozen=True)
class Prompt:
    """What a judge is sent for one prediction, and which prediction field it judges."""

    messages: list[dict[str, str]]
    judged_field: str


@dataclass(frozen=True)
class _Section:
    title: str
    text: str


@cache
def _environment() -> jinja2.Environment:
    # Not HTML, so no autoescaping; StrictUndefined makes a template typo an error, not "".
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


@cache
def template_hash() -> str:
    """Hash of the prompt templates, recorded in every result."""
    digest = hashlib.sha256()
    for path in sorted(TEMPLATES.glob("*.j2")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def render_prompt(rubric: Rubric, prediction: Prediction) -> Prompt | None:
    """The chat messages for judging `prediction`, or None when it holds no text to judge."""
    judged_field, candidate = _target(rubric, prediction)
    if candidate is None:
        return None
    # The fence tag is derived from the text itself, so the text cannot contain it (and the
    # prompt stays deterministic for the cache).
    fence = hashlib.sha256(candidate.encode()).hexdigest()[:12]
    env = _environment()
    system = env.get_template("system.j2").render(rubric=rubric, fence=fence)
    user = env.get_template("user.j2").render(
        rubric=rubric,
        criteria=rubric.llm_criteria,
        context=_context(rubric, prediction),
        judged_field=judged_field,
        candidate=candidate,
        fence=fence,
    )
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    return Prompt(messages=messages, judged_field=judged_field)


def _target(rubric: Rubric, prediction: Prediction) -> tuple[str, str | None]:
    for path in rubric.target:
        text = prediction.text_at(path)
        if text is not None:
            return path, text
    return " or ".join(rubric.target), None


def _context(rubric: Rubric, prediction: Prediction) -> list[_Section]:
    sections = []
    for name in rubric.context:
        text = _context_text(name, prediction)
        sections.append(_Section(_FIELD_TITLES.get(name, name), text or "(not given)"))
    return sections


def _context_text(name: str, prediction: Prediction) -> str | None:
    if name == "options":
        return "\n".join(f"{k}. {v}" for k, v in prediction.options.items())
    if name == "correct_answer":
        letter = prediction.correct_answer
        return f"{letter}. {prediction.options.get(letter, '')}".strip()
    if name == "image_captions":
        lines = [
            f"Image {img.index}"
            + (f" ({img.modality})" if img.modality else "")
            + ": "
            + (img.caption or "(no caption)")
            for img in prediction.images
        ]
        return "\n".join(lines) or None
    value = prediction.text_at(name)
    return value


def response_model(rubric: Rubric) -> type[BaseModel]:
    """The pydantic model a judge's reply must validate against, built from the rubric.

    Scores are enums (`Literal`) rather than bounded integers: local grammars (llama.cpp)
    enforce enums but not numeric minimum/maximum.
    """
    fields: dict[str, Any] = {
        c.id: (_verdict_model(c), Field(description=c.question)) for c in rubric.llm_criteria
    }
    return create_model("RubricVerdict", __config__=ConfigDict(extra="forbid"), **fields)


def _verdict_model(criterion: Criterion) -> type[BaseModel]:
    scale = criterion.scale
    if isinstance(scale, ContinuousScale):  # the Criterion validator already forbids this
        raise ValueError(f"criterion {criterion.id}: an LLM cannot answer a continuous scale")
    levels = tuple(scale.levels)
    name = "".join(part.title() for part in criterion.id.split("_")) + "Verdict"
    # An enum of the scale's levels, built at run time (typed Any: it is not a static type).
    score_type: Any = Literal[levels]
    return create_model(
        name,
        __config__=ConfigDict(extra="forbid"),
        rationale=(
            str,
            Field(max_length=RATIONALE_MAX, description="One or two sentences: why this level."),
        ),
        score=(score_type, Field(description=f"One of {list(levels)}")),
    )
