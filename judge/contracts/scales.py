"""The scales a rubric criterion is rated on (ordinal, binary, categorical, continuous, a set
of labels), each with the anchors raters and judges apply. User-authored: unknown keys are
errors."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "BinaryScale",
    "CategoricalScale",
    "ContinuousScale",
    "LabelsScale",
    "Level",
    "OrdinalScale",
    "Scale",
]


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


class LabelsScale(_Strict):
    """A set of labels (none, one or several), each with its meaning: the error types of a
    reasoning step. Only a stage's per-unit criteria may use it."""

    type: Literal["labels"]
    labels: dict[str, str] = Field(min_length=1)

    @property
    def levels(self) -> list[str]:
        return list(self.labels)


Scale = Annotated[
    OrdinalScale | BinaryScale | CategoricalScale | ContinuousScale | LabelsScale,
    Field(discriminator="type"),
]
# A level as a rubric file writes it (`where:` and `when:` conditions).
Level = int | str
