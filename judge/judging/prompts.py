"""Render the judge's messages from the Jinja templates in `judge/templates/`, and build the
response model a judge must fill: one entry per LLM criterion, each score constrained to its
scale and preceded by a short rationale.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import jinja2
from pydantic import BaseModel, ConfigDict, Field, create_model

from judge.contracts import (
    KEY_ITEMS_MAX,
    NOT_APPLICABLE,
    ContinuousScale,
    Criterion,
    KeyItem,
    Prediction,
    Rubric,
    Stage,
)
from judge.contracts.case_keys import CaseKey
from judge.judging.accuracy import extract_letter
from judge.judging.key_prompt import KEY_TITLE, key_section

__all__ = [
    "CHOSEN_TITLE",
    "Prompt",
    "case_excerpt",
    "chosen_answer",
    "render_examples",
    "render_prompt",
    "render_stage_prompt",
    "response_model",
    "rubric_templates",
    "stage_model",
    "target_text",
    "template_hash",
    "wants_images",
]

TEMPLATES = Path(__file__).with_name("templates")
RATIONALE_MAX = 800
_FIELD_TITLES = {
    "title": "Title",
    "CLINICAL_HISTORY": "Clinical history",
    "IMAGING_FINDINGS": "Reference imaging findings",
    "discussion": "Expert discussion",
    "image_captions": "Per-image captions",
    "images": "Images",
    "options": "Candidate diagnoses",
    "correct_answer": "Correct answer",
    "teaching_points": "Teaching-point checklist",
    "question": "Question",
    "reference_answer": "Reference answer",
    "chosen_answer": "The candidate's chosen answer",
    "final_diagnosis": "Final diagnosis",
}
# The computed section both the judge (context `chosen_answer`) and the annotation page show.
CHOSEN_TITLE = _FIELD_TITLES["chosen_answer"]
# A hedge's letters as judge.judging.accuracy words its reason ("offers 2 answers (B, C)").
_HEDGED = re.compile(r"offers \d+ answers \(([A-J](?:, [A-J])*)\)")


@dataclass(frozen=True)
class Prompt:
    """What a judge is sent for one prediction, and which prediction field it judges. The
    messages are text: an `images` context entry is rendered as the captions, and a vision
    judge is sent the images on top (judge.judging.images.Sight)."""

    messages: list[dict[str, Any]]
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


SINGLE_TEMPLATES = ("system.j2", "user.j2")
STAGE_TEMPLATES = ("stage_system.j2", "stage_user.j2")
EXAMPLES_TEMPLATE = "examples.j2"


@cache
def template_hash(names: tuple[str, ...] = SINGLE_TEMPLATES) -> str:
    """Hash of the prompt templates a rubric uses, recorded in every result (a change to
    the stage templates does not invalidate results of single-call rubrics)."""
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(name.encode() + b"\0" + (TEMPLATES / name).read_bytes())
    return digest.hexdigest()[:16]


# A rubric with `items: case`: HealthBench's grader prompt (judge.judging.case_items).
ITEM_TEMPLATES = ("healthbench_grader.txt",)


def rubric_templates(rubric: Rubric) -> tuple[str, ...]:
    if rubric.items:
        return ITEM_TEMPLATES
    if rubric.stages:
        return STAGE_TEMPLATES
    # The examples' template counts only where it is used: adding it changed no prompt hash
    # of a rubric without examples (no needless re-judging).
    return (*SINGLE_TEMPLATES, EXAMPLES_TEMPLATE) if rubric.examples else SINGLE_TEMPLATES


def render_examples(rubric: Rubric) -> str:
    """The rubric's worked examples as the judge sees them (after the rubric), each fenced
    as untrusted text with a tag hashed from its own content; "" when it has none."""
    if not rubric.examples:
        return ""
    shown = [
        {**example.model_dump(), "fence": _fence(example.model_dump_json())}
        for example in rubric.examples
    ]
    return _environment().get_template(EXAMPLES_TEMPLATE).render(examples=shown).strip()


def wants_images(rubric: Rubric, stage: Stage | None = None) -> bool:
    """Whether the rubric's (or the stage's own) context shows the case's images."""
    context = stage.context if stage is not None and stage.context is not None else rubric.context
    return "images" in context


def render_prompt(
    rubric: Rubric, prediction: Prediction, key: CaseKey | None = None
) -> Prompt | None:
    """The chat messages for judging `prediction`, or None when it holds no text to judge;
    with the case's `key`, a rubric that lists key items is shown it after the case."""
    judged_field, candidate = target_text(rubric, prediction)
    if candidate is None:
        return None
    system, examples = _rubric_prefix(rubric)
    # With examples, the candidate's tag also hashes them: no example (a model's text
    # too) can hold the marker that would end the candidate's block.
    fence = _fence(f"{examples}\0{candidate}" if examples else candidate)
    user = (
        _environment()
        .get_template("user.j2")
        .render(
            rubric=rubric,
            context=_context(rubric, prediction)
            + ([_Section(KEY_TITLE, key_section(key))] if key and rubric.key_items else []),
            judged_field=judged_field,
            candidate=candidate,
            fence=fence,
        )
    )
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    return Prompt(messages=messages, judged_field=judged_field)


# Each rubric's system message and examples, rendered once per rubric object (a run renders
# them for its first item; ~0.2 ms an item before). Rubrics are frozen models, so a rubric
# object's prefix never changes; an entry goes when its rubric is garbage-collected.
_PREFIXES: dict[int, tuple[weakref.ref[Rubric], str, str]] = {}


def _rubric_prefix(rubric: Rubric) -> tuple[str, str]:
    """The system message (instructions, rubric, examples) and the examples alone."""
    key = id(rubric)
    found = _PREFIXES.get(key)
    if found is not None and found[0]() is rubric:
        return found[1], found[2]
    examples = render_examples(rubric)
    # What is the same for every item (instructions, rubric) comes first and what differs
    # (case, candidate, the fence derived from it) last, so providers' prefix caches (OpenAI's
    # and Anthropic's prompt caching, llama.cpp's slots) reuse the rubric from item to item.
    system = (
        _environment().get_template("system.j2").render(rubric=rubric, criteria=rubric.llm_criteria)
    )
    if examples:
        # The same for every item too: after the rubric, where the prefix cache keeps them.
        system = f"{system.rstrip()}\n\n{examples}\n"
    gone = weakref.ref(rubric, lambda _: _PREFIXES.pop(key, None))
    _PREFIXES[key] = (gone, system, examples)
    return system, examples


def render_stage_prompt(
    rubric: Rubric, stage: Stage, prediction: Prediction, units: list[str] | None = None
) -> Prompt | None:
    """The messages of one stage of a multi-stage rubric: a segment stage sees the case (the
    stage's own `context` when it names one) and the judged text; a judge stage also sees the
    numbered `units` it rates."""
    judged_field, candidate = target_text(rubric, prediction)
    if candidate is None:
        return None
    unit = rubric.stage(stage.per).unit if stage.per else stage.unit
    env = _environment()
    # The stage's task and fields first, the item last (see render_prompt).
    conditions = {c.id: _condition(stage, c) for c in stage.criteria if c.when}
    system = env.get_template("stage_system.j2").render(
        rubric=rubric, stage=stage, unit=unit, conditions=conditions
    )
    user = env.get_template("stage_user.j2").render(
        rubric=rubric,
        stage=stage,
        context=_context(rubric, prediction, stage.context),
        judged_field=judged_field,
        candidate=candidate,
        fence=_fence(candidate),
        unit=unit,
        units=units or [],
        # The units come from a model that saw the first fence: they get a fence of their own.
        units_fence=_fence("\n".join(units or [])),
    )
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    return Prompt(messages=messages, judged_field=judged_field)


def _fence(text: str) -> str:
    # Derived from the text itself, so the text cannot contain it (and the prompt stays
    # deterministic for the cache).
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _condition(stage: Stage, criterion: Criterion) -> str:
    parts = []
    for name, level in (criterion.when or {}).items():
        other = next(c for c in stage.criteria if c.id == name)
        shown = str(bool(level)).lower() if other.scale.type == "binary" else str(level)
        parts.append(f"{name} is {shown}")
    return " and ".join(parts)


def target_text(rubric: Rubric, prediction: Prediction) -> tuple[str, str | None]:
    """The rubric's first target holding text, and that text (None when none does)."""
    for path in rubric.target:
        text = prediction.text_at(path)
        if text is not None:
            return path, text
    return " or ".join(rubric.target), None


def _context(
    rubric: Rubric, prediction: Prediction, only: list[str] | None = None
) -> list[_Section]:
    sections = []
    for name in rubric.context if only is None else only:
        text = _context_text(name, prediction)
        sections.append(_Section(_FIELD_TITLES.get(name, name), text or "(not given)"))
    return sections


def case_excerpt(rubric: Rubric, prediction: Prediction, max_chars: int) -> str:
    """The case as the judge sees it (the rubric's `context`), each section cut to its share
    of `max_chars`: the excerpt of a worked example."""
    sections = [s for s in _context(rubric, prediction) if s.text != "(not given)"]
    share = max(80, max_chars // max(len(sections), 1))
    text = "\n".join(f"{s.title}: {_shorten(' '.join(s.text.split()), share)}" for s in sections)
    return _shorten(text, max_chars) or "(no case material)"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def chosen_answer(prediction: Prediction) -> str | None:
    """The option the candidate chose, as judges and raters are shown it: "C. Hypertrophic
    pyloric stenosis", or "no single answer (hedge: B/C)"; None for an open-ended case. Read
    by judge.judging.accuracy's reader, and never quoting the model's text (it is untrusted,
    and this is shown outside the candidate's markers)."""
    if not prediction.options:
        return None
    letter, why = extract_letter(prediction)
    if letter is not None:
        return f"{letter}. {prediction.options.get(letter, '')}".strip()
    hedged = _HEDGED.search(why)
    if hedged:
        return f"no single answer (hedge: {hedged.group(1).replace(', ', '/')})"
    if why.startswith("hedged"):
        return "no single answer (hedge)"
    return "no single answer (no option letter found)"


def _context_text(name: str, prediction: Prediction) -> str | None:
    # An open-ended case has neither (a rubric that shows them refuses it before judging).
    if name == "chosen_answer":
        return chosen_answer(prediction)
    if name == "final_diagnosis":
        # The MedThinkVQA step judge's "Final diagnosis": the correct option's text, no letter
        # (step3_judge.py _guess_final_diagnosis reads `correct_answer_text` first).
        letter = prediction.correct_answer
        return (prediction.options or {}).get(letter) if letter else None
    if name == "options":
        options = prediction.options or {}
        return "\n".join(f"{k}. {v}" for k, v in options.items()) or None
    if name == "correct_answer":
        letter = prediction.correct_answer
        if letter is None:
            return None
        return f"{letter}. {(prediction.options or {}).get(letter, '')}".strip()
    if name in ("image_captions", "images"):
        lines = [
            f"Image {img.index}"
            + (f" ({img.modality})" if img.modality else "")
            + ": "
            + (img.caption or "(no caption)")
            for img in prediction.images
        ]
        return "\n".join(lines) or None
    value = prediction.text_at(name)
    if value is None and name == "teaching_points" and prediction.rubrics:
        # A case whose checklist is in HealthBench's shape: its desirable items (positive
        # points) are its key points; the undesirable ones are not points to teach.
        wanted = [item.criterion for item in prediction.rubrics if item.points > 0]
        return "\n".join(wanted) or None
    return value


def response_model(rubric: Rubric) -> type[BaseModel]:
    """The pydantic model a judge's reply must validate against, built from the rubric.

    Scores are enums (`Literal`) rather than bounded integers: local grammars (llama.cpp)
    enforce enums but not numeric minimum/maximum.
    """
    fields: dict[str, Any] = {}
    if rubric.key_items:
        # First, so the judge lists the key before it scores against it. Not required: a
        # reply without it still scores (nothing is stored), so a judge (or a test script)
        # that fills only the criteria is not re-asked.
        items: Any = list[KeyItem]
        fields["key_items"] = (
            items,
            Field(
                default_factory=list,
                max_length=KEY_ITEMS_MAX,
                description=rubric.key_items.strip(),
            ),
        )
    fields.update(
        {c.id: (_verdict_model(c), Field(description=c.question)) for c in rubric.llm_criteria}
    )
    return create_model("RubricVerdict", __config__=ConfigDict(extra="forbid"), **fields)


def _verdict_model(criterion: Criterion) -> type[BaseModel]:
    scale = criterion.scale
    if isinstance(scale, ContinuousScale):  # the Criterion validator already forbids this
        raise ValueError(f"criterion {criterion.id}: an LLM cannot answer a continuous scale")
    levels = tuple(scale.levels)
    if criterion.not_applicable:
        levels = (*levels, NOT_APPLICABLE)
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


def stage_model(rubric: Rubric, stage: Stage) -> type[BaseModel]:
    """The reply model of one stage. segment: `{unit}s`, a list of short texts. judge:
    `{unit}s`, one verdict per unit with its number, an explanation and the stage's criteria,
    field for field (binary criteria are booleans, a labels criterion is a list of its labels,
    a criterion asked only `when` others have some level may be empty or null)."""
    if stage.kind == "segment":
        text: Any = Annotated[str, Field(min_length=1, max_length=stage.unit_max_chars)]
        units: dict[str, Any] = {
            stage.unit + "s": (
                list[text],
                Field(min_length=stage.min_units, max_length=stage.max_units),
            )
        }
        return create_model("Segmentation", __config__=ConfigDict(extra="forbid"), **units)
    segment = rubric.stage(stage.per or "")
    fields: dict[str, Any] = {
        segment.unit: (int, Field(ge=1, le=segment.max_units, description="Its number.")),
        "explanation": (
            str,
            Field(min_length=stage.explanation_min, max_length=stage.explanation_max),
        ),
    }
    fields.update({c.id: _unit_field(c) for c in stage.criteria})
    name = "".join(part.title() for part in segment.unit.split("_"))
    verdict: Any = create_model(f"{name}Verdict", __config__=ConfigDict(extra="forbid"), **fields)
    verdicts: dict[str, Any] = {segment.unit + "s": (list[verdict], Field(min_length=1))}
    return create_model(f"{name}Verdicts", __config__=ConfigDict(extra="forbid"), **verdicts)


def _unit_field(criterion: Criterion) -> tuple[Any, Any]:
    scale = criterion.scale
    question = criterion.question.strip()
    levels: Any = tuple(getattr(scale, "levels", ()))
    # Enums built at run time (typed Any: they are not static types).
    label: Any = Literal[levels]
    if scale.type == "labels":
        many: Any = list[label]
        return many, Field(description=question)
    kind: Any = bool if scale.type == "binary" else label
    if criterion.when:  # required but nullable: strict structured outputs need every field
        return kind | None, Field(description=question)
    return kind, Field(description=question)
