"""Cases and predictions: MedThinkVQA rows as they arrive in a predictions file.

Dataset rows keep unknown fields (`extra="allow"`), because MedThinkVQA rows carry many.
A closed-ended case has 2 to 10 options lettered from A without a gap (A-B up to A-J) and a
`correct_answer` among them; an open-ended case (a chat dataset's free-text question) has
neither.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = [
    "LETTERS",
    "MAX_RUBRIC_ITEMS",
    "Case",
    "ImageInfo",
    "Prediction",
    "RubricItem",
    "TwiTrace",
    "lettered",
    "letters_problem",
]

# The option letters a case may use, in order: a case uses the first 2 to 10 of them.
LETTERS = ("A", "B", "C", "D", "E", "F", "G", "H", "I", "J")
MIN_OPTIONS = 2
_IMAGE_FIELD = re.compile(r"^image_(\d+)_(caption|modality|path)$")
# Case fields that are content or model output, never slicing metadata.
_NOT_META = frozenset(
    {"prediction", "prediction_rationale", "prediction_twi", "prediction_discussion"}
)
# Long enough for an ICD-10 chapter's title (the longest, chapter III's, is 99 characters),
# so `--by "ICD Chapter"` slices every case; narrative fields are longer.
_META_MAX_CHARS = 120
# A case's own checklist is judged one call per item: a bound on what one line can cost.
# HealthBench's cases carry 1-48 items (11 on average); 200 leaves room and refuses a line of
# 10,000 items before any call is made.
MAX_RUBRIC_ITEMS = 200
# HealthBench's items carry -10 to 10 points. A bound far beyond that keeps every sum of a
# case's points finite (1e308 + 1e308 is inf, and inf - inf a NaN score).
MAX_POINTS = 1_000_000
# The letter an option of a list carries: "A. …", "A) …", "(A) …", "A: …".
_CARRIED = re.compile(r"^\s*(?:\(([A-Za-z])\)|([A-Za-z])[.):])\s*")


def lettered(items: list[Any]) -> dict[str, str]:
    """A list of options as {letter: text}: by the letters the items carry ("B. …", "A. …"
    in any order), or by position when none carries one. Refuses more options than letters,
    a letter carried twice, and a list where only some items carry one."""
    if len(items) > len(LETTERS):
        raise ValueError(
            f"{len(items)} options, but at most {len(LETTERS)} (A-{LETTERS[-1]}) are read"
        )
    texts = [str(item) for item in items]
    carried = [_CARRIED.match(text) for text in texts]
    if not any(carried):
        return dict(zip(LETTERS, texts, strict=False))
    if not all(carried):
        bare = next(i for i, m in enumerate(carried) if m is None)
        raise ValueError(
            f"option {bare + 1} ({texts[bare][:40]!r}) carries no letter while others do; "
            "letter every option ('A. …') or none"
        )
    options: dict[str, str] = {}
    for text, match in zip(texts, carried, strict=True):
        if match is None:  # not reached: every item carries a letter here
            continue
        letter = (match.group(1) or match.group(2)).upper()
        if letter in options:
            raise ValueError(f"option letter {letter} is carried twice")
        options[letter] = text[match.end() :]
    return dict(sorted(options.items()))


def letters_problem(letters: list[str]) -> str | None:
    """Why these option letters are not a case's (2 to 10, from A without a gap), or None."""
    keys = sorted(letters)
    if MIN_OPTIONS <= len(keys) <= len(LETTERS) and keys == list(LETTERS[: len(keys)]):
        return None
    return (
        f"options must be lettered from A without a gap, {MIN_OPTIONS} to {len(LETTERS)} of "
        f"them (A-B … A-{LETTERS[-1]}), got {', '.join(keys) or 'none'}"
    )


def _span(letters: list[str]) -> str:
    return f"{letters[0]}-{letters[-1]}" if letters else "(none)"


# --------------------------------------------------------------------------- cases


def not_blank_criterion(value: str) -> str:
    """A checklist item's criterion text, refused when it is only whitespace (a case's own
    items, RubricItem, and a case key's, judge.contracts.case_keys.KeyCheck)."""
    if not value.strip():
        raise ValueError("criterion is empty")
    return value


class RubricItem(BaseModel):
    """One item of a case's own checklist, as openai/simple-evals `healthbench_eval.py`'s
    `RubricItem`: a criterion, its points (negative for an undesirable behaviour) and tags
    (`axis:accuracy`, `level:example`, …)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    criterion: str = Field(min_length=1, max_length=4000)
    # Strict numbers: "5" or true is a mistake to report, not a number to guess. An int stays
    # an int, so the item renders as HealthBench renders it ("[5] …", not "[5.0] …").
    points: int | float
    tags: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=50
    )

    @field_validator("points", mode="before")
    @classmethod
    def _a_number(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"points must be a number, got {value!r}"[:120])
        if not math.isfinite(value):  # json.loads reads NaN and Infinity
            raise ValueError(f"points must be a finite number, got {value!r}")
        if abs(value) > MAX_POINTS:
            raise ValueError(
                f"points must be between -{MAX_POINTS:,} and {MAX_POINTS:,}, got {value!r}"
            )
        return value

    _not_blank = field_validator("criterion")(classmethod(lambda cls, v: not_blank_criterion(v)))

    @field_validator("tags")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        # HealthBench asserts that an item carries a tag once (its tag score counts it once).
        if len(set(value)) != len(value):
            raise ValueError("a tag is repeated")
        return value

    def __str__(self) -> str:
        # HealthBench's rendering of an item for its grader: `[points] criterion`.
        return f"[{self.points}] {self.criterion}"


class ImageInfo(BaseModel):
    """One image of a case, gathered from its `image_NN_caption`, `image_NN_modality` and
    `image_NN_path` fields. `path` is the file as the dataset names it (relative to the
    dataset root, `images/case00001/1.jpg`), resolved under `--images` (judge.load.images);
    `path_field` is the field that named it, for errors."""

    index: int
    caption: str | None = None
    modality: str | None = None
    path: str | None = None
    path_field: str | None = None


class Case(BaseModel):
    """A MedThinkVQA-style case. Unknown fields are kept (`extra="allow"`)."""

    model_config = ConfigDict(extra="allow")

    title: str | None = None
    CLINICAL_HISTORY: str | None = None
    IMAGING_FINDINGS: str | None = None
    discussion: str | None = None
    # None: an open-ended case (no options, no letter to choose).
    options: dict[str, str] | None = None
    # Validated even when absent: a case with options needs it.
    correct_answer: str | None = Field(default=None, validate_default=True)
    correct_answer_text: str | None = None
    # Chat-format data (judge.load.chat): the question asked, and the dataset's own answer.
    question: str | None = None
    reference_answer: str | None = None
    # The case's own checklist (HealthBench's `rubrics`), judged item by item by a rubric
    # with `items: case`.
    rubrics: list[RubricItem] | None = Field(default=None, max_length=MAX_RUBRIC_ITEMS)

    @field_validator("options", mode="before")
    @classmethod
    def _options_to_letters(cls, value: Any) -> Any:
        # The dataset has been seen both as {"A": "..."} and as ["A. ...", ...], and either
        # as a JSON string (what a parquet or CSV round trip can make of them).
        if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
            # Not JSON after all (or nested too deeply): the dict check below names the field.
            with contextlib.suppress(ValueError, RecursionError):
                value = json.loads(value)
        if isinstance(value, dict):
            # A parquet struct column has every row's letters: a letter this case lacks is null.
            return {k: v for k, v in value.items() if v is not None}
        return lettered(value) if isinstance(value, list) else value

    @field_validator("options")
    @classmethod
    def _lettered_from_a(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        options = {k.strip().upper(): v for k, v in value.items()}
        if len(options) != len(value):
            raise ValueError(f"option letters repeat once upper-cased, got {sorted(value)}")
        problem = letters_problem(list(options))
        if problem:
            raise ValueError(problem)
        return dict(sorted(options.items()))

    @field_validator("correct_answer")
    @classmethod
    def _letter(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "options" not in info.data:  # the options are invalid: that error is reported
            return value
        options = info.data["options"]
        if value is None:
            if options is not None:
                raise ValueError("required when the case has options")
            return None
        if options is None:
            raise ValueError(
                f"{value!r} given, but the case has no options (an open-ended case has neither)"
            )
        letter = value.strip().strip("().").upper()
        if letter not in options:
            raise ValueError(
                f"correct_answer must be one of the case's letters "
                f"{_span(list(options))}, got {value!r}"
            )
        return letter

    @property
    def letters(self) -> tuple[str, ...]:
        """The case's option letters, in order (empty for an open-ended case)."""
        return tuple(self.options or ())

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
            # An empty path is no image file (a parquet row with fewer images than columns).
            empty_path = match is not None and match.group(2) == "path" and not str(value).strip()
            if match and value is not None and not empty_path:
                parts = found.setdefault(int(match.group(1)), {})
                parts[match.group(2)] = str(value)
                if match.group(2) == "path":
                    parts["path_field"] = key
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
