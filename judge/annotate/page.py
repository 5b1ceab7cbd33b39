"""What the rating page shows, built from an item and the rubric, and how its form is read.

The page shows the case as the rubric's `context` lets a judge see it, the text the rubric
judges (its first `target` holding text) with the chosen letter, and every rated criterion
with one radio button per level, labelled with the level's anchor. All of it is plain data:
the templates escape every string (autoescape), model text included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from judge.annotate.store import Answer
from judge.contracts import Criterion, Rubric
from judge.judging.accuracy import extract_letter
from judge.judging.prompts import CHOSEN_TITLE, chosen_answer
from judge.load.images import ImageRoot
from judge.load.inputs import Item

__all__ = [
    "CaseView",
    "CriterionView",
    "FormError",
    "ImageView",
    "LevelView",
    "PredictionView",
    "case_view",
    "criterion_views",
    "field_name",
    "prediction_view",
    "read_scores",
]

# Context names the case view renders in its own place, not as extra fields.
_SHOWN = {
    "CLINICAL_HISTORY",
    "IMAGING_FINDINGS",
    "image_captions",
    "images",
    "options",
    "chosen_answer",
    "final_diagnosis",
    "title",
    "question",
    "reference_answer",
}


class FormError(ValueError):
    """A submitted form that names a level the criterion does not have."""


@dataclass(frozen=True)
class LevelView:
    value: str
    key: str  # the keyboard shortcut that picks it
    anchor: str
    checked: bool


@dataclass(frozen=True)
class CriterionView:
    id: str
    field: str
    question: str
    kind: str
    levels: list[LevelView]

    @property
    def answered(self) -> bool:
        return any(level.checked for level in self.levels)


@dataclass(frozen=True)
class ImageView:
    """One image of the case: its number, modality and caption, and whether the app serves
    its file (`--images` found it)."""

    index: int
    modality: str
    caption: str
    served: bool


@dataclass(frozen=True)
class CaseView:
    title: str
    history: str | None
    findings: str | None
    options: list[tuple[str, str]]
    images: list[ImageView]
    correct: str | None = None
    fields: list[tuple[str, str]] = field(default_factory=list)
    # Chat data: the question asked, and the dataset's answer when the rubric shows it.
    question: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class PredictionView:
    field: str | None
    text: str | None
    letter: str | None
    letter_text: str | None
    # The line the judge's `chosen_answer` section shows, word for word; None when the
    # rubric does not show the judge the candidate's choice (then neither does the page).
    chosen: str | None = None
    chosen_title: str = CHOSEN_TITLE


def field_name(criterion: Criterion) -> str:
    """The form field of a criterion."""
    return f"score_{criterion.id}"


def case_view(item: Item, rubric: Rubric, images: ImageRoot | None = None) -> CaseView:
    """The case: title, history, findings, options, its images with their captions (served
    when `images` holds their files); plus what the rubric's context adds (the correct
    answer, the discussion, other case fields)."""
    p = item.prediction
    extra = p.model_extra or {}
    files = {found.info.index for found in images.images(p)} if images is not None else set()
    fields = []
    for name in rubric.context:
        if name in _SHOWN or name == "correct_answer":
            continue
        value = getattr(p, name, None) if name in type(p).model_fields else extra.get(name)
        if value is not None and str(value).strip():
            fields.append((name.replace("_", " ").capitalize(), str(value)))
    return CaseView(
        title=p.title or item.id,
        history=p.CLINICAL_HISTORY,
        findings=p.IMAGING_FINDINGS,
        # As the judges see them: a rubric that hides the options (ddx-steps-protocol's
        # judges see only the final diagnosis) hides them from people too.
        options=sorted((p.options or {}).items()) if "options" in rubric.context else [],
        images=[
            ImageView(i.index, i.modality or "", i.caption or "", i.index in files)
            for i in p.images
        ],
        correct=p.correct_answer if "correct_answer" in rubric.context else None,
        fields=fields,
        question=p.question,
        reference=p.reference_answer if "reference_answer" in rubric.context else None,
    )


def prediction_view(item: Item, rubric: Rubric) -> PredictionView:
    """The text the rubric judges (first target holding text) and the letter it chose."""
    p = item.prediction
    found = next(((t, p.text_at(t)) for t in rubric.target if p.text_at(t)), (None, None))
    # People see what the judges see: the choice only where the rubric shows it to them.
    shown = "chosen_answer" in rubric.context
    letter = extract_letter(p)[0] if shown else None
    return PredictionView(
        field=found[0],
        text=found[1],
        letter=letter,
        letter_text=(p.options or {}).get(letter) if letter else None,
        chosen=chosen_answer(p) if shown else None,
    )


def criterion_views(criteria: list[Criterion], answer: Answer) -> list[CriterionView]:
    """Each rated criterion with its levels, the rater's earlier choice checked."""
    views = []
    for c in criteria:
        given = answer.scores.get(c.id)
        levels = []
        for position, (level, anchor) in enumerate(_levels(c), start=1):
            # Ordinal and binary levels are typed as themselves; labels by their position.
            key = str(level) if isinstance(level, int) else str(position)
            levels.append(LevelView(str(level), key, anchor, given == level))
        # People answer "not applicable" as judges do (N/A), by leaving the criterion blank.
        question = (
            f"{c.question.strip()} N/A (leave it blank): {c.not_applicable}"
            if c.not_applicable
            else c.question
        )
        views.append(CriterionView(c.id, field_name(c), question, c.scale.type, levels))
    return views


def read_scores(criteria: list[Criterion], form: Mapping[str, str]) -> dict[str, int | str]:
    """The levels a submitted form gives; criteria left blank are absent."""
    scores: dict[str, int | str] = {}
    for c in criteria:
        raw = form.get(field_name(c))
        if raw is None or raw == "":
            continue
        match = [level for level, _ in _levels(c) if str(level) == raw]
        if not match:
            raise FormError(f"{raw!r} is not a level of criterion {c.id}")
        scores[c.id] = match[0]
    return scores


def _levels(c: Criterion) -> list[tuple[int | str, str]]:
    scale = c.scale
    if scale.type == "categorical":
        return list(scale.labels.items())
    if scale.type in ("ordinal", "binary"):
        return [(level, scale.anchors[level]) for level in scale.levels]
    return []  # continuous: computed, never rated
