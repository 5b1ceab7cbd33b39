"""The data contracts of `judge`: cases, predictions, rubrics, judgments and result records.

Everything that crosses a boundary (a user's file, a rubric, a judge's reply, a results line)
is one of these pydantic models. User-authored configuration (rubrics) forbids unknown keys so
a typo is an error; dataset rows keep unknown fields, because MedThinkVQA rows carry many.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "LETTERS",
    "BinaryScale",
    "CallUsage",
    "Case",
    "CategoricalScale",
    "ContinuousScale",
    "Criterion",
    "ImageInfo",
    "Judgment",
    "OrdinalScale",
    "Prediction",
    "ResultRecord",
    "RougeSpec",
    "Rubric",
    "RubricRef",
    "Scale",
    "TwiTrace",
]

LETTERS = ("A", "B", "C", "D", "E")
_IMAGE_FIELD = re.compile(r"^image_(\d+)_(caption|modality)$")
_SLUG = r"^[a-z][a-z0-9_\-]*$"
# Criterion ids become field names of the judge's response model: identifiers only.
_FIELD = r"^[a-z][a-z0-9_]*$"

Score = int | float | str
# Case fields that are content or model output, never slicing metadata.
_NOT_META = frozenset(
    {"prediction", "prediction_rationale", "prediction_twi", "prediction_discussion"}
)
_META_MAX_CHARS = 80


# --------------------------------------------------------------------------- cases


class ImageInfo(BaseModel):
    """One image of a case, gathered from the `image_NN_caption` / `image_NN_modality` fields."""

    index: int
    caption: str | None = None
    modality: str | None = None


class Case(BaseModel):
    """A MedThinkVQA-style case. Unknown fields are kept (`extra="allow"`)."""

    model_config = ConfigDict(extra="allow")

    title: str | None = None
    CLINICAL_HISTORY: str | None = None
    IMAGING_FINDINGS: str | None = None
    discussion: str | None = None
    options: dict[str, str]
    correct_answer: str
    correct_answer_text: str | None = None

    @field_validator("options", mode="before")
    @classmethod
    def _options_to_letters(cls, value: Any) -> Any:
        # The dataset has been seen both as {"A": "..."} and as ["A. ...", ...].
        if isinstance(value, list):
            return {
                letter: re.sub(rf"^\s*\(?{letter}[\).:]\s*", "", str(text))
                for letter, text in zip(LETTERS, value, strict=False)
            }
        return value

    @field_validator("options")
    @classmethod
    def _five_options(cls, value: dict[str, str]) -> dict[str, str]:
        keys = sorted(k.strip().upper() for k in value)
        if keys != list(LETTERS):
            raise ValueError(f"options must have the keys A-E, got {sorted(value)}")
        return {k.strip().upper(): v for k, v in value.items()}

    @field_validator("correct_answer")
    @classmethod
    def _letter(cls, value: str) -> str:
        letter = value.strip().strip("().").upper()
        if letter not in LETTERS:
            raise ValueError(f"correct_answer must be one of A-E, got {value!r}")
        return letter

    def metadata(self) -> dict[str, str | int | float | bool | None]:
        """Short scalar fields beyond the MedThinkVQA text fields (modality, ICD chapter,
        longitudinal, …), plus `image_count`: what results are sliced by."""
        meta: dict[str, str | int | float | bool | None] = {"image_count": len(self.images)}
        for key, value in (self.model_extra or {}).items():
            if key in _NOT_META or _IMAGE_FIELD.match(key):
                continue
            if isinstance(value, bool | int | float) or (
                isinstance(value, str) and len(value) <= _META_MAX_CHARS
            ):
                meta[key] = value
        return meta

    @property
    def images(self) -> list[ImageInfo]:
        """Per-image captions and modalities, in image order."""
        found: dict[int, dict[str, str]] = {}
        for key, value in (self.model_extra or {}).items():
            match = _IMAGE_FIELD.match(key)
            if match and value is not None:
                found.setdefault(int(match.group(1)), {})[match.group(2)] = str(value)
        return [ImageInfo(index=i, **found[i]) for i in sorted(found)]


class TwiTrace(BaseModel):
    """A Think-with-Images trace: per-image findings, integrated summary, DDx reasoning."""

    model_config = ConfigDict(extra="allow")

    step1_per_image_findings: list[str] = Field(default_factory=list)
    step2_integrated_summary: str | None = None
    step3_differential_reasoning: str | None = None

    @field_validator("step1_per_image_findings", mode="before")
    @classmethod
    def _findings_as_text(cls, value: Any) -> Any:
        # Accept [{"image": 1, "findings": "..."}] as well as plain strings.
        if isinstance(value, list):
            return [
                v
                if isinstance(v, str)
                else str(v.get("findings") or v.get("text") or v)
                if isinstance(v, dict)
                else v
                for v in value
            ]
        return value


class Prediction(Case):
    """One line of a predictions file: the case's own fields plus the model's output."""

    prediction: str | None = None
    prediction_rationale: str | None = None
    prediction_twi: TwiTrace | None = None

    def text_at(self, path: str) -> str | None:
        """The text at a dotted path (`prediction_twi.step3_differential_reasoning`), or None."""
        value: Any = self
        for part in path.split("."):
            if isinstance(value, BaseModel):
                extra = value.model_extra or {}
                value = (
                    getattr(value, part) if part in type(value).model_fields else extra.get(part)
                )
            elif isinstance(value, dict):
                value = value.get(part)
            else:
                return None
        if isinstance(value, list):
            value = "\n".join(str(v) for v in value)
        if value is None or not str(value).strip():
            return None
        return str(value)


# --------------------------------------------------------------------------- rubrics


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrdinalScale(_Strict):
    """Integer levels min..max, each with one anchoring sentence."""

    type: Literal["ordinal"]
    min: int = 1
    max: int = 5
    anchors: dict[int, str]

    @model_validator(mode="after")
    def _one_anchor_per_level(self) -> OrdinalScale:
        if self.max <= self.min:
            raise ValueError(f"max ({self.max}) must be greater than min ({self.min})")
        wanted = set(range(self.min, self.max + 1))
        if set(self.anchors) != wanted:
            raise ValueError(
                f"anchors must give exactly one sentence for each level {sorted(wanted)}, "
                f"got {sorted(self.anchors)}"
            )
        return self

    @property
    def levels(self) -> list[int]:
        return list(range(self.min, self.max + 1))


class BinaryScale(_Strict):
    """Yes (1) or no (0), each with its meaning."""

    type: Literal["binary"]
    anchors: dict[int, str]

    @field_validator("anchors")
    @classmethod
    def _zero_and_one(cls, value: dict[int, str]) -> dict[int, str]:
        if set(value) != {0, 1}:
            raise ValueError(f"binary anchors must be given for 0 and 1, got {sorted(value)}")
        return value

    @property
    def levels(self) -> list[int]:
        return [0, 1]


class CategoricalScale(_Strict):
    """Unordered labels, each with its meaning."""

    type: Literal["categorical"]
    labels: dict[str, str] = Field(min_length=2)

    @property
    def levels(self) -> list[str]:
        return list(self.labels)


class ContinuousScale(_Strict):
    """A real number in [min, max], computed rather than rated (ROUGE F1 in [0, 1]).

    It has no levels to anchor, so only deterministic methods may use it: a judge's reply is
    constrained to an enum of levels, and a person cannot rate to four decimals.
    """

    type: Literal["continuous"]
    min: float = 0.0
    max: float = 1.0
    description: str = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> ContinuousScale:
        if self.max <= self.min:
            raise ValueError(f"max ({self.max}) must be greater than min ({self.min})")
        return self


Scale = Annotated[
    OrdinalScale | BinaryScale | CategoricalScale | ContinuousScale, Field(discriminator="type")
]


class RougeSpec(_Strict):
    """Which ROUGE F1 a `rouge` criterion reports, and which texts it compares.

    `step1_per_image`: finding i of `prediction_twi.step1_per_image_findings` against image i's
    caption, averaged over images. `step2_summary`: `prediction_twi.step2_integrated_summary`
    against the case's `IMAGING_FINDINGS`.
    """

    metric: Literal["rouge1", "rouge2", "rougeL"]
    compare: Literal["step1_per_image", "step2_summary"]


class Criterion(_Strict):
    """One question of a rubric, answered on its scale by a person or a judge."""

    id: str = Field(pattern=_FIELD)
    question: str = Field(min_length=1)
    scale: Scale
    weight: float = Field(default=1.0, ge=0)
    # False when a high score is bad (a hallucination flag): weighted pass/fail scores use it.
    higher_is_better: bool = True
    # `llm`: asked of the judges. `answer_accuracy`, `rouge`: computed, no LLM.
    method: Literal["llm", "answer_accuracy", "rouge"] = "llm"
    # The ROUGE settings; required by, and only allowed with, method `rouge`.
    rouge: RougeSpec | None = None

    @model_validator(mode="after")
    def _method_fits_scale(self) -> Criterion:
        if self.method == "answer_accuracy" and self.scale.type != "binary":
            raise ValueError("method answer_accuracy needs a binary scale")
        if self.method == "rouge" and (self.scale.type != "continuous" or self.rouge is None):
            raise ValueError("method rouge needs a continuous scale and a `rouge:` setting")
        if self.method != "rouge" and self.rouge is not None:
            raise ValueError("a `rouge:` setting is only allowed with method rouge")
        if self.method == "llm" and self.scale.type == "continuous":
            raise ValueError("method llm needs levels: an ordinal, binary or categorical scale")
        return self


class Rubric(_Strict):
    """A scoring rubric: the one contract shared by human raters and LLM judges."""

    id: str = Field(pattern=_SLUG)
    version: str
    description: str
    # Dotted paths into the prediction; the first one holding text is what is judged.
    target: list[str] = Field(min_length=1)
    # Case fields the judge may see. `options`, `correct_answer` and `image_captions` are
    # rendered specially; any other name is a case field shown as is.
    context: list[str] = Field(default_factory=list)
    instructions: str | None = None
    criteria: list[Criterion] = Field(min_length=1)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @model_validator(mode="after")
    def _unique_criteria(self) -> Rubric:
        ids = [c.id for c in self.criteria]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"criterion ids must be unique, repeated: {dupes}")
        return self

    @property
    def llm_criteria(self) -> list[Criterion]:
        return [c for c in self.criteria if c.method == "llm"]

    def criterion(self, criterion_id: str) -> Criterion:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise KeyError(criterion_id)


# --------------------------------------------------------------------------- results


class Judgment(BaseModel):
    """One score on one criterion by one judge (or the deterministic scorer)."""

    criterion: str
    judge: str
    sample: int = 0
    status: Literal["scored", "unscored"]
    score: Score | None = None
    rationale: str | None = None
    reason: str | None = None
    # True when the failure was the judge's transport (timeout, 429, 5xx, no key), so a
    # rerun tries again; False for a final outcome such as a reply that never validated.
    retryable: bool = False
    # Structured detail of a computed score (ROUGE's per-image values, the counts behind a
    # mismatch), carried into the results file for analysis; None for judges' verdicts.
    details: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _score_or_reason(self) -> Judgment:
        if self.status == "scored" and self.score is None:
            raise ValueError("a scored judgment needs a score")
        if self.status == "unscored" and not self.reason:
            raise ValueError("an unscored judgment needs a reason")
        return self


class CallUsage(BaseModel):
    """What one judge call cost: tokens, money, time; whether the cache answered it."""

    judge: str
    sample: int = 0
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    latency_s: float | None = None
    attempts: int = 0
    cached: bool = False
    error: str | None = None


class RubricRef(BaseModel):
    id: str
    version: str
    hash: str


class ResultRecord(BaseModel):
    """One line of a results file: everything known about one prediction's scoring."""

    id: str
    line: int
    status: Literal["scored", "partial", "unscored"]
    scores: dict[str, Score | None]
    judgments: list[Judgment]
    calls: list[CallUsage] = Field(default_factory=list)
    judges: list[str] = Field(default_factory=list)
    # Which prediction field was judged (the rubric's first target that held text).
    judged_field: str | None = None
    # Per LLM criterion, the judges of the panel that gave no score (the panel shrank).
    missing: dict[str, list[str]] = Field(default_factory=dict)
    # The case's metadata for slicing (modality, ICD chapter, image count, …): see
    # `Case.metadata`.
    meta: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    rubric: RubricRef
    prompt_hash: str
    judge_version: str
    created_at: str

    @property
    def retryable(self) -> bool:
        """Whether a rerun should judge this item again (a transport failure left a gap)."""
        return any(j.retryable for j in self.judgments)
