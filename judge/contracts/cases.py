"""Cases and predictions: MedThinkVQA rows as they arrive in a predictions file.

Dataset rows keep unknown fields (`extra="allow"`), because MedThinkVQA rows carry many.
A closed-ended case has 2 to 10 options lettered from A without a gap (A-B up to A-J) and a
`correct_answer` among them; an open-ended case (a chat dataset's free-text question) has
neither.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = ["LETTERS", "Case", "ImageInfo", "Prediction", "TwiTrace", "lettered", "letters_problem"]

# The option letters a case may use, in order: a case uses the first 2 to 10 of them.
LETTERS = ("A", "B", "C", "D", "E", "F", "G", "H", "I", "J")
MIN_OPTIONS = 2
_IMAGE_FIELD = re.compile(r"^image_(\d+)_(caption|modality)$")
# Case fields that are content or model output, never slicing metadata.
_NOT_META = frozenset(
    {"prediction", "prediction_rationale", "prediction_twi", "prediction_discussion"}
)
_META_MAX_CHARS = 80
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
    # None: an open-ended case (no options, no letter to choose).
    options: dict[str, str] | None = None
    # Validated even when absent: a case with options needs it.
    correct_answer: str | None = Field(default=None, validate_default=True)
    correct_answer_text: str | None = None
    # Chat-format data (judge.load.chat): the question asked, and the dataset's own answer.
    question: str | None = None
    reference_answer: str | None = None

    @field_validator("options", mode="before")
    @classmethod
    def _options_to_letters(cls, value: Any) -> Any:
        # The dataset has been seen both as {"A": "..."} and as ["A. ...", ...].
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
