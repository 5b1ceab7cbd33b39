"""The data contracts of `judge`: cases, predictions, rubrics, judgments and result records.

Everything that crosses a boundary (a user's file, a rubric, a judge's reply, a results line)
is one of these pydantic models. User-authored configuration (rubrics) forbids unknown keys so
a typo is an error; dataset rows keep unknown fields, because MedThinkVQA rows carry many.
"""

from judge.contracts.cases import LETTERS, Case, ImageInfo, Prediction, RubricItem, TwiTrace
from judge.contracts.keys import KEY_ITEMS_MAX, KeyItem, KeyItems
from judge.contracts.results import CallUsage, Judgment, ResultRecord, RubricRef, Score, Segments
from judge.contracts.rubrics import (
    NOT_APPLICABLE,
    BaseRef,
    BinaryScale,
    CategoricalScale,
    ComputedIf,
    ContinuousScale,
    Criterion,
    Gate,
    LabelsScale,
    Level,
    OrdinalScale,
    RougeSpec,
    Rubric,
    RubricExample,
    Scale,
    Stage,
    UnitMeasure,
)

__all__ = [
    "KEY_ITEMS_MAX",
    "LETTERS",
    "NOT_APPLICABLE",
    "BaseRef",
    "BinaryScale",
    "CallUsage",
    "Case",
    "CategoricalScale",
    "ComputedIf",
    "ContinuousScale",
    "Criterion",
    "Gate",
    "ImageInfo",
    "Judgment",
    "KeyItem",
    "KeyItems",
    "LabelsScale",
    "Level",
    "OrdinalScale",
    "Prediction",
    "ResultRecord",
    "RougeSpec",
    "Rubric",
    "RubricExample",
    "RubricItem",
    "RubricRef",
    "Scale",
    "Score",
    "Segments",
    "Stage",
    "TwiTrace",
    "UnitMeasure",
]
