"""A criterion's score on [0, 1], 1 the best answer, and an item's composite: the one rule that
the report's ranking of the lowest items and promptfoo's grade (`judge serve`) both apply.

(score - low) / (high - low) on the scale's range (0..1 for binary), clipped to [0, 1], and
reversed, 1 - that, on a criterion whose `higher_is_better` is false (the hallucination flag,
where 1 means a finding was invented). Categorical and labels scales have no order.

The composite (`composite`) is the mean of those, weighted by `Criterion.weight`, over the
criteria with a score; a criterion computed as `if_correct` (ddx's `miss_harm`) counts only
on a wrong answer, since on a correct one it would reward correctness twice. A rubric's
`gates:` (safety) override the mean: an item that meets one has composite 0, with the gate's
reason, and its per-criterion scores are kept as they are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from judge.contracts import CategoricalScale, Criterion, LabelsScale, Rubric

__all__ = [
    "Composite",
    "as_number",
    "composite",
    "counts_in_composite",
    "higher_is_better",
    "normalise",
    "scale_range",
    "unit_score",
]


def higher_is_better(criterion: Criterion) -> bool:
    """Whether a higher score is a better answer on this criterion (the rubric says it, so no
    criterion id is special-cased)."""
    return criterion.higher_is_better


def scale_range(criterion: Criterion) -> tuple[float, float]:
    """The lowest and highest score of an ordered scale; ValueError for one with no order."""
    scale = criterion.scale
    if isinstance(scale, CategoricalScale | LabelsScale):
        raise ValueError(f"{criterion.id}: a {scale.type} scale has no order")
    return (0.0, 1.0) if scale.type == "binary" else (float(scale.min), float(scale.max))


def unit_score(score: float, low: float, high: float, better_high: bool = True) -> float:
    """`score` on [0, 1] between `low` and `high` (a zero span counts as 1), 1 the best."""
    value = min(max((float(score) - low) / ((high - low) or 1.0), 0.0), 1.0)
    return value if better_high else 1.0 - value


def normalise(criterion: Criterion, score: float, better_high: bool | None = None) -> float:
    """A score on [0, 1], 1 the best answer, by the criterion's scale and direction
    (`better_high` overrides the criterion's `higher_is_better`)."""
    low, high = scale_range(criterion)
    if better_high is None:
        better_high = higher_is_better(criterion)
    return unit_score(score, low, high, better_high)


@dataclass(frozen=True)
class Composite:
    """An item's composite score in [0, 1] (None when no criterion counted), the reasons of
    the gates it met (then the score is 0), and the criteria the mean counted."""

    score: float | None
    gates: list[str] = field(default_factory=list)
    counted: list[str] = field(default_factory=list)


def counts_in_composite(criterion: Criterion) -> bool:
    """Whether the criterion can enter a composite: an ordered scale and a weight above 0."""
    return criterion.weight > 0 and criterion.scale.type not in ("categorical", "labels")


def as_number(value: Any) -> float | None:
    """A score as a number; None for no score (None, NaN in a frame), a label or a flag."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def composite(rubric: Rubric, scores: Mapping[str, Any]) -> Composite:
    """The item's composite from its per-criterion `scores` (a record's `scores`)."""
    correct = any(
        as_number(scores.get(c.id)) == 1 for c in rubric.criteria if c.method == "answer_accuracy"
    )
    gates = [
        f"{g.reason} ({g.describe()})" for g in rubric.gates if g.fires(scores.get(g.criterion))
    ]
    total = weights = 0.0
    counted = []
    for criterion in rubric.criteria:
        value = as_number(scores.get(criterion.id))
        if value is None or not counts_in_composite(criterion):
            continue
        if criterion.if_correct is not None and correct:
            continue  # no miss, so no harm to count: correctness is final_answer's alone
        total += criterion.weight * normalise(criterion, value)
        weights += criterion.weight
        counted.append(criterion.id)
    if gates:
        return Composite(0.0, gates, counted)
    return Composite(round(total / weights, 4) if weights else None, [], counted)
